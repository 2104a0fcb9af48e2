/**
 * One permission set, kept in deno.json, used by every task that runs or
 * builds urocket and by the end-to-end harness, and explained in docs/permissions.md.
 */

import assert from "node:assert/strict";
import denoJson from "../../../deno.json" with { type: "json" };
import { urocketCommand } from "../../e2e/_harness.ts";

const REPO = new URL("../../../", import.meta.url).pathname.replace(/\/$/, "");

/** The flags that grant permissions besides the set. */
const GRANTS = /(^|\s)(-A|--allow-[a-z]+|-[RWNESI])(=|\s|$)/;

/** The permission names the table of docs/permissions.md explains, in order. */
async function documented(): Promise<string[]> {
  const page = await Deno.readTextFile(`${REPO}/docs/permissions.md`);
  const section = page.split(/^## The set$/m)[1]?.split(/^## /m)[0];
  assert.ok(section, 'docs/permissions.md has no "## The set" section');
  return [...section.matchAll(/^\| `([a-z]+)` +\|/gm)].map((m) => m[1]);
}

Deno.test({
  name: "deno.json's permission set is exactly the one docs/permissions.md explains, with no -A",
  async fn() {
    const set = denoJson.permissions.default as Record<string, unknown>;
    assert.deepEqual(Object.keys(set), await documented());
    assert.equal(set.all, undefined, "the set grants everything");
  },
});

/**
 * Tasks that are measuring tools around urocket, not urocket: they read
 * urocket's /proc entries from outside, which Deno allows only with -A (and
 * the corpus fetches documents with npm). They start urocket itself with -P.
 */
const MEASURING_TOOLS = ["bench", "bench:ab", "soak", "corpus"];

Deno.test({
  name: "every task that runs or builds urocket uses the permission set and grants nothing else",
  fn() {
    const tasks = denoJson.tasks as Record<string, string>;
    let checked = 0;
    for (const [name, task] of Object.entries(tasks)) {
      if (MEASURING_TOOLS.includes(name)) continue;
      for (const command of task.split(/&&|\|\||;|\|/).map((c) => c.trim())) {
        if (!/^deno (run|compile)\b/.test(command)) continue;
        checked++;
        // -q: Deno's warning that permission sets in deno.json are experimental is not for users.
        assert.match(command, /^deno (run|compile) -q -P /, `task ${name}: ${command}`);
        assert.doesNotMatch(command.replace(/^deno \w+ -q -P/, ""), GRANTS, `task ${name}`);
      }
    }
    assert.match(
      tasks.start,
      /(^|&& )deno run -q -P (--v8-flags=\S+ )?main\.ts$/,
      "deno task start does not run urocket",
    );
    assert.ok(checked >= 4, `only ${checked} deno run/compile commands found in the tasks`);
  },
});

Deno.test({
  name: "the compile task passes the permission set to deno compile",
  async fn() {
    const { compileArgs } = await import("../../../tools/compile.ts");
    const args = compileArgs({ target: "x86_64-unknown-linux-gnu", output: "/tmp/urocket" });
    assert.deepEqual(args.slice(0, 3), ["compile", "-q", "-P"]);
    assert.equal(args[args.indexOf("--config") + 1], `${REPO}/deno.json`);
    assert.doesNotMatch(args.join(" "), GRANTS);
  },
});

Deno.test({
  name: "the end-to-end harness starts urocket with the permission set and nothing else",
  fn() {
    const command = urocketCommand();
    assert.deepEqual(command.slice(1, 4), ["run", "-q", "-P"]);
    assert.equal(command[command.indexOf("--config") + 1], `${REPO}/deno.json`);
    assert.equal(command.at(-1), `${REPO}/main.ts`);
    assert.doesNotMatch(command.join(" "), GRANTS);
  },
});
