/**
 * One permission set, kept in deno.json, used by every task that runs or
 * builds urocket and by the end-to-end harness, and explained in the README.
 */

import assert from "node:assert/strict";
import denoJson from "../../deno.json" with { type: "json" };
import { urocketCommand } from "../e2e/_harness.ts";

const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** The flags that grant permissions besides the set. */
const GRANTS = /(^|\s)(-A|--allow-[a-z]+|-[RWNESI])(=|\s|$)/;

/** The permission names the README's "Permissions" table explains, in order. */
async function documented(): Promise<string[]> {
  const readme = await Deno.readTextFile(`${REPO}/README.md`);
  const section = readme.split(/^## Permissions$/m)[1]?.split(/^## /m)[0];
  assert.ok(section, 'README.md has no "## Permissions" section');
  return [...section.matchAll(/^\| `([a-z]+)` +\|/gm)].map((m) => m[1]);
}

Deno.test({
  name: "deno.json's permission set is exactly the one the README explains, with no -A",
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
const MEASURING_TOOLS = ["bench", "soak", "corpus"];

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
        assert.match(command, /^deno (run|compile) -P /, `task ${name}: ${command}`);
        assert.doesNotMatch(command.replace(/^deno \w+ -P/, ""), GRANTS, `task ${name}`);
      }
    }
    assert.match(
      tasks.start,
      /(^|&& )deno run -P (--v8-flags=\S+ )?main\.ts$/,
      "deno task start does not run urocket",
    );
    assert.ok(checked >= 4, `only ${checked} deno run/compile commands found in the tasks`);
  },
});

Deno.test({
  name: "the compile task passes the permission set to deno compile",
  async fn() {
    const { compileArgs } = await import("../../tools/compile.ts");
    const args = compileArgs({ target: "x86_64-unknown-linux-gnu", output: "/tmp/urocket" });
    assert.deepEqual(args.slice(0, 2), ["compile", "-P"]);
    assert.equal(args[args.indexOf("--config") + 1], `${REPO}/deno.json`);
    assert.doesNotMatch(args.join(" "), GRANTS);
  },
});

Deno.test({
  name: "the end-to-end harness starts urocket with the permission set and nothing else",
  fn() {
    const command = urocketCommand();
    assert.deepEqual(command.slice(1, 3), ["run", "-P"]);
    assert.equal(command[command.indexOf("--config") + 1], `${REPO}/deno.json`);
    assert.equal(command.at(-1), `${REPO}/main.ts`);
    assert.doesNotMatch(command.join(" "), GRANTS);
  },
});
