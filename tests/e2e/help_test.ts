/**
 * `urocket --help` as a user reads it: every command listed, each with an
 * example, and every example runs as shown, from a checkout's root, with the
 * files it names.
 */

import assert from "node:assert/strict";
import { skipWhen } from "../_skip.ts";
import { copyCheckout } from "./_checkout.ts";
import { DENO, E2E, runUrocket } from "./_harness.ts";
import {
  type SandboxShell,
  sandboxUnavailable,
  startSandboxShell,
  terminalEnv,
} from "./_sandbox.ts";

const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** The `e.g.` lines of `urocket --help`. */
async function helpExamples(): Promise<string[]> {
  const help = await runUrocket(["--help"]);
  assert.equal(help.code, 0);
  return [...help.stdout.matchAll(/^ +e\.g\. (urocket .*)$/gm)].map((m) => m[1]);
}

Deno.test({
  name: "urocket --help lists every command with an example of each",
  ...E2E,
  async fn() {
    const help = await runUrocket(["--help"]);
    assert.equal(help.code, 0);
    for (const command of ["serve", "check", "reply", "health", "schema"]) {
      assert.match(
        help.stdout,
        new RegExp(`^  urocket (\\[${command}\\]|${command})`, "m"),
        command,
      );
    }
    const commands = (await helpExamples()).map((line) => line.split(" ")[1]);
    assert.deepEqual(commands, ["--config", "check", "reply", "health", "schema"]);
    assert.equal((await runUrocket(["reply", "--help"])).stdout, help.stdout);
    assert.equal(help.stderr, "");
  },
});

/** Starts a server with `line` in the background and returns its start line. */
async function serveInBackground(
  shell: SandboxShell,
  line: string,
  listen: string,
): Promise<{ pid: number }> {
  await shell.type(`${line} &`);
  const start = await shell.waitFor(
    (l) => l.includes('"msg":"start"') && l.includes(`"listen":"${listen}"`),
    `the start line of ${line}`,
  );
  return JSON.parse(start);
}

const unavailable = await sandboxUnavailable();

Deno.test({
  ...skipWhen(unavailable, "every example urocket --help shows runs as shown from a checkout"),
  ...E2E,
  async fn(t) {
    const examples = await helpExamples();
    const dir = await Deno.makeTempDir({ prefix: "urocket-help-" });
    const checkout = `${dir}/urocket`;
    await copyCheckout(checkout);
    // The binary of the examples: urocket from the checkout, as the compiled one would be.
    await Deno.mkdir(`${dir}/bin`);
    await Deno.writeTextFile(
      `${dir}/bin/urocket`,
      `#!/bin/sh\nexec '${DENO}' run -q -P --config '${checkout}/deno.json' ` +
        `'${checkout}/main.ts' "$@"\n`,
    );
    await Deno.chmod(`${dir}/bin/urocket`, 0o755);
    // A handler that runs the reply example, as a handler would.
    const reply = examples.find((line) => line.startsWith("urocket reply "));
    assert.ok(reply, "no reply example");
    await Deno.mkdir(`${dir}/replier`);
    await Deno.writeTextFile(
      `${dir}/replier/openapi.yaml`,
      'openapi: 3.0.3\ninfo: { title: replier, version: "1" }\npaths:\n  /run:\n    post:\n' +
        '      responses: { "201": { description: ok } }\n',
    );
    await Deno.writeTextFile(
      `${dir}/replier/urocket-service.yaml`,
      `listen: 127.0.0.1:8081\nsocket: /tmp/replier.sock\npaths:\n  /run:\n    post:\n` +
        `      inject: { cmd: ["sh", "-c", ${JSON.stringify(reply)}] }\n`,
    );
    const env = terminalEnv();
    env.PATH = `${dir}/bin:${env.PATH ?? "/usr/bin:/bin"}`;
    const shell = startSandboxShell({ cwd: checkout, keep: [dir], env });
    try {
      const serve = examples.find((line) => line.split(" ")[1] === "--config");
      assert.ok(serve, "no serve example");
      const server = await serveInBackground(shell, serve, "0.0.0.0:8080");
      const replier = await serveInBackground(
        shell,
        `urocket --config ${dir}/replier/urocket-service.yaml`,
        "127.0.0.1:8081",
      );
      for (const line of examples.filter((l) => l !== serve)) {
        await t.step(line, async () => {
          const command = line.split(" ")[1];
          if (command === "reply") {
            const answer = await shell.run(`curl -s -w ' %{http_code}' -X POST localhost:8081/run`);
            assert.equal(answer.output, '{"id":7} 201');
            return;
          }
          const { output, code } = await shell.run(line);
          assert.equal(code, 0, output);
          if (command === "health") assert.match(output, /^ready: /);
          if (command === "check") assert.match(output, /ok, urocket would start with it/);
          if (command === "schema") {
            assert.equal(
              await Deno.readTextFile(`${checkout}/urocket-service.schema.json`),
              await Deno.readTextFile(`${REPO}/urocket-service.schema.json`),
            );
          }
          assert.ok(["check", "health", "schema"].includes(command), `no check for ${line}`);
        });
      }
      for (const { pid } of [server, replier]) await shell.run(`kill ${pid}`);
      await shell.waitFor(
        () => shell.lines.filter((l) => l.includes('"msg":"stopped"')).length === 2,
        "both stopped lines",
      );
    } finally {
      await shell.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
