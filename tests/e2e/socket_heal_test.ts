/**
 * The reply socket removed or replaced while urocket runs (a tmp cleaner,
 * an operator): urocket notices, says so, recreates it with the configured
 * mode (and the folders it had), serves again, and reports not-ready while
 * it cannot; a reload after the removal is applied.
 *
 * @module
 */

import assert from "node:assert/strict";
import { call, E2E, startUrocket, type Urocket } from "./_harness.ts";

/** Starts urocket with its socket in a folder of its own (mode 0751) and an admin listener. */
async function startWithSocketFolder(): Promise<{ uro: Urocket; folder: string; admin: string }> {
  const folder = await Deno.makeTempDir({ prefix: "urocket-sock-" });
  await Deno.chmod(folder, 0o751);
  const uro = await startUrocket({
    config: `
socket: ${folder}/u.sock
socket-mode: "0660"
admin: 127.0.0.1:0
paths:
  /run:
    post:
      inject: { cmd: "{{fixtures}}/reply.sh" }
`,
  });
  const admin = `http://${String(uro.logs.find((l) => l.msg === "start")!.admin)}`;
  return { uro, folder, admin };
}

Deno.test({
  name: "urocket recreates its reply socket with the configured mode after the file is removed",
  ...E2E,
  async fn() {
    const { uro, folder } = await startWithSocketFolder();
    try {
      assert.equal((await uro.call("/run", { method: "POST", body: "{}" })).status, 200);
      const before = await Deno.lstat(`${folder}/u.sock`);
      await Deno.remove(`${folder}/u.sock`);

      const missing = await uro.waitForLog((l) => l.msg === "socket_missing", "socket_missing");
      assert.equal(missing.level, "error");
      assert.equal(missing.socket, `${folder}/u.sock`);
      const recreated = await uro.waitForLog((l) => l.msg === "socket_recreated");
      assert.equal(recreated.mode, "0660");
      const after = await Deno.lstat(`${folder}/u.sock`);
      assert.ok(after.isSocket);
      assert.notEqual(after.ino, before.ino);
      assert.equal(after.mode! & 0o777, 0o660);

      const answer = await uro.call("/run", { method: "POST", body: "{}" });
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.json(), { ok: true });
    } finally {
      await uro.stop();
      await Deno.remove(folder, { recursive: true });
    }
  },
});

Deno.test({
  name: "urocket answers not-ready while its socket folder is replaced by a file, " +
    "and recreates folder and socket once the path is free",
  ...E2E,
  async fn() {
    const { uro, folder, admin } = await startWithSocketFolder();
    try {
      assert.equal((await call(`${admin}/readyz`)).status, 200);
      await Deno.remove(folder, { recursive: true });
      // Something that is not urocket's takes the folder's place: urocket never deletes it.
      await Deno.writeTextFile(folder, "not a folder\n");
      const failed = await uro.waitForLog(
        (l) => l.msg === "socket_missing" && typeof l.error === "string",
        "socket_missing with the error",
      );
      assert.equal(failed.level, "error");
      const readyz = await call(`${admin}/readyz`);
      assert.equal(readyz.status, 503);
      assert.equal(readyz.text, "socket_missing\n");
      const refused = await uro.call("/run", { method: "POST", body: "{}" });
      assert.equal(refused.status, 502);

      await Deno.remove(folder);
      await uro.waitForLog((l) => l.msg === "socket_recreated", "socket_recreated");
      const info = await Deno.stat(folder);
      assert.ok(info.isDirectory);
      assert.equal(info.mode! & 0o7777, 0o751);
      assert.equal((await call(`${admin}/readyz`)).status, 200);
      assert.equal((await uro.call("/run", { method: "POST", body: "{}" })).status, 200);
    } finally {
      await uro.stop();
      await Deno.remove(folder, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "urocket applies a reload (SIGHUP) after its reply socket was removed",
  ...E2E,
  async fn() {
    const { uro, folder } = await startWithSocketFolder();
    try {
      await Deno.remove(`${folder}/u.sock`);
      Deno.kill(uro.pid, "SIGHUP");
      const reload = await uro.waitForLog((l) => l.msg === "reload", "the reload line");
      assert.equal(reload.outcome, "applied", JSON.stringify(reload));
      assert.ok((await Deno.lstat(`${folder}/u.sock`)).isSocket);
      assert.equal((await uro.call("/run", { method: "POST", body: "{}" })).status, 200);
    } finally {
      await uro.stop();
      await Deno.remove(folder, { recursive: true });
    }
  },
});
