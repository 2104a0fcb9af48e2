import assert from "node:assert/strict";
import { skipWhen } from "../_skip.ts";
import { E2E, startUrocket, urocketCommand } from "./_harness.ts";

const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const EXAMPLE = `${REPO}/examples/container`;

/** Whether php runs here with proc_open (the handlers start `urocket reply` with it). */
async function phpInstalled(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("php", {
      args: ["-r", 'exit(function_exists("proc_open") ? 0 : 1);'],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

/**
 * The example's config as the image has it, but with the addresses, socket
 * and handler folder of this machine.
 */
async function localConfig(): Promise<string> {
  let text = await Deno.readTextFile(`${EXAMPLE}/urocket-service.yaml`);
  for (
    const [pattern, value] of [
      [/^listen: .*$/m, "listen: 127.0.0.1:0"],
      [/^admin: .*$/m, "admin: 127.0.0.1:0"],
      [/^socket: .*$/m, "socket: {{dir}}/u.sock"],
      [/\/srv\/app/g, EXAMPLE],
    ] as const
  ) {
    assert.match(text, pattern, `the example config has no ${pattern}`);
    text = text.replace(pattern, value);
  }
  return text;
}

Deno.test({
  ...skipWhen(
    await phpInstalled() ? undefined : "php is not installed",
    "the container example's PHP handlers answer through urocket reply",
  ),
  ...E2E,
  async fn() {
    // The image has urocket on PATH; here it is urocket's own command line (or UROCKET_BINARY).
    const bin = await Deno.makeTempDir({ prefix: "urocket-bin-" });
    const command = urocketCommand(Deno.env.get("UROCKET_BINARY"));
    await Deno.writeTextFile(
      `${bin}/urocket`,
      `#!/bin/sh\nexec ${command.map((word) => `'${word}'`).join(" ")} "$@"\n`,
    );
    await Deno.chmod(`${bin}/urocket`, 0o755);
    const uro = await startUrocket({
      config: await localConfig(),
      openapi: await Deno.readTextFile(`${EXAMPLE}/openapi.yaml`),
      env: { PATH: `${bin}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}` },
    });
    try {
      const named = await uro.call("/hello?name=container");
      assert.equal(named.status, 200, named.text);
      assert.equal(named.headers.get("content-type"), "application/json");
      assert.deepEqual(named.json(), { hello: "container" });

      const anonymous = await uro.call("/hello");
      assert.deepEqual(anonymous.json(), { hello: "world" });

      const made = await uro.call("/greetings", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ name: "Ada" }),
      });
      assert.equal(made.status, 201, made.text);
      assert.deepEqual(made.json(), { greeting: "Hello, Ada!" });

      const nameless = await uro.call("/greetings", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: "{}",
      });
      assert.equal(nameless.status, 422, nameless.text);
      assert.deepEqual(nameless.json(), { error: 'the body needs a "name" string' });
    } finally {
      await uro.stop();
      await Deno.remove(bin, { recursive: true });
    }
  },
});
