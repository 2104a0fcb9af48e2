/**
 * The README's walk-through, typed as a user would: its `sh` blocks run as
 * they are (a line ending in `&` starts urocket in the background), and each
 * `$ command` of its `console` blocks must print what the README shows under
 * it. `…` in the README stands for anything; request ids differ per run.
 */

import assert from "node:assert/strict";
import { skipWhen } from "../_skip.ts";
import { copyCheckout } from "./_checkout.ts";
import { E2E } from "./_harness.ts";
import { sandboxUnavailable, startSandboxShell, terminalEnv } from "./_sandbox.ts";

const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const SECTION = "## Your first operation, in five minutes";

/** One fenced block of the walk-through. */
interface Block {
  language: string;
  text: string;
}

/** The fenced blocks of the README's walk-through, in order. */
async function walkthrough(): Promise<Block[]> {
  const readme = await Deno.readTextFile(`${REPO}/README.md`);
  const section = readme.split(SECTION)[1]?.split(/^## /m)[0];
  assert.ok(section, `README.md has no "${SECTION}" section`);
  return [...section.matchAll(/^```(\w+)\n([\s\S]*?)^```$/gm)].map((m) => ({
    language: m[1],
    text: m[2],
  }));
}

/** A `console` block's commands, each with the lines the README shows it printing. */
function commands(text: string): { command: string; shown: string[] }[] {
  const out: { command: string; shown: string[] }[] = [];
  for (const line of text.trimEnd().split("\n")) {
    if (line.startsWith("$ ")) out.push({ command: line.slice(2), shown: [] });
    else out.at(-1)?.shown.push(line);
  }
  return out;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** A shown line as a pattern: `…` is anything, a request id is any request id. */
function pattern(shown: string): RegExp {
  const escaped = shown.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(
    `^${escaped.replaceAll("…", ".*").replace(UUID, "[0-9a-f-]{36}")}$`,
  );
}

/** Whether every shown line is printed, in order (other lines may come between). */
function assertShown(output: string, shown: string[], command: string): void {
  const printed = output.split("\n");
  let at = 0;
  for (const line of shown) {
    const match = pattern(line);
    while (at < printed.length && !match.test(printed[at])) at++;
    assert.ok(
      at < printed.length,
      `${command}: the README shows\n${line}\nbut it printed\n${output}`,
    );
    at++;
  }
}

const unavailable = await sandboxUnavailable();

Deno.test({
  ...skipWhen(unavailable, "the README's walk-through runs as written, and prints what it shows"),
  ...E2E,
  async fn(t) {
    const blocks = await walkthrough();
    assert.ok(blocks.some((b) => b.language === "console"), "the walk-through shows no output");
    const dir = await Deno.makeTempDir({ prefix: "urocket-readme-" });
    await copyCheckout(dir);
    const shell = startSandboxShell({ cwd: dir, keep: [dir], env: terminalEnv() });
    try {
      for (const [i, block] of blocks.entries()) {
        await t.step(`block ${i + 1} (${block.language})`, async () => {
          if (block.language === "sh" && block.text.trimEnd().endsWith("&")) {
            const started = shell.lines.filter((l) => l.includes('"msg":"start"')).length;
            await shell.type(block.text.trimEnd());
            await shell.waitFor(
              () => shell.lines.filter((l) => l.includes('"msg":"start"')).length > started,
              `the start line of ${block.text.trim()}`,
            );
          } else if (block.language === "sh") {
            const { output, code } = await shell.run(block.text);
            assert.equal(code, 0, output);
          } else if (block.language === "console") {
            for (const { command, shown } of commands(block.text)) {
              const { output, code } = await shell.run(command);
              assert.equal(code, 0, `${command}:\n${output}`);
              assertShown(output, shown, command);
            }
          } else {
            assert.fail(`a ${block.language} block in the walk-through: sh or console only`);
          }
        });
      }
      // What the README says the log shows for the reply that broke the contract.
      const access = await shell.waitFor(
        (l) => l.includes('"outcome":"invalid_reply"'),
        "the access line of the reply that broke the contract",
      );
      assert.match(access, /"status":502/);
      assert.match(access, /"pointer":"\/greeting"/);
    } finally {
      await shell.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
