/**
 * Graceful shutdown: /readyz 503 at once, the front still serving for
 * shutdown-delay, then a bounded drain (shutdown-timeout), 503 for what is
 * left, every process group killed, the socket file removed, exit 0 — and a
 * second signal that cuts it all short.
 */

import assert from "node:assert/strict";
import {
  call,
  E2E,
  isAlive,
  launchUrocket,
  makeFolder,
  spawnedPids,
  startUrocket,
  TEST_OPENAPI,
  type Urocket,
} from "./_harness.ts";

/** Sends `signal` to urocket itself (the harness's stop would send a second SIGTERM). */
function signal(uro: Urocket, name: Deno.Signal): void {
  Deno.kill(uro.pid, name);
}

const stopped = new WeakSet<Urocket>();

/** Waits for urocket's own exit without signalling it again, and checks what it left behind. */
async function exited(uro: Urocket): Promise<number> {
  const socket = uro.socket;
  const pids = spawnedPids(uro.logs);
  stopped.add(uro);
  const { code } = await uro.stop({ check: false, signal: () => {} });
  for (const pid of pids) assert.ok(!isAlive(pid), `process ${pid} is still alive`);
  await assert.rejects(Deno.lstat(socket), Deno.errors.NotFound, "the socket file is gone");
  return code;
}

Deno.test({
  name: "during shutdown-delay /readyz answers 503 while the front still serves new requests",
  ...E2E,
  async fn() {
    const uro = await startUrocket({
      config: `admin: 127.0.0.1:0
shutdown-delay: 3s
paths:
  /run:
    post:
      inject: { cmd: "{{fixtures}}/hold.sh" }
  /other:
    post:
      inject: { cmd: "{{fixtures}}/reply.sh" }
`,
    });
    const admin = `http://${uro.logs.find((l) => l.msg === "start")!.admin}`;
    try {
      assert.equal((await call(`${admin}/readyz`)).status, 200);
      signal(uro, "SIGTERM");
      const shutdown = await uro.waitForLog((l) => l.msg === "shutdown");
      assert.equal(shutdown.delay_ms, 3000);
      assert.equal(shutdown.timeout_ms, 25000, "the default shutdown-timeout");
      const readyz = await call(`${admin}/readyz`);
      assert.equal(readyz.status, 503);
      assert.equal(readyz.text, "draining\n");

      // Still served: a request answered at once, and one that is still in flight when the
      // front stops accepting.
      const served = await call(`${uro.url}/other`, { method: "POST" });
      assert.equal(served.status, 200, served.text);
      const held = call(`${uro.url}/run`, { method: "POST" });
      const [process] = await uro.held(1);
      assert.equal(uro.find((l) => l.msg === "draining").length, 0, "still within the delay");

      await uro.waitForLog((l) => l.msg === "draining");
      await assert.rejects(call(`${uro.url}/other`, { method: "POST" }), "no longer accepting");
      assert.equal((await call(`${admin}/readyz`)).status, 503, "the admin listener stays up");
      const reply = await uro.reply(`/uri/${process.reqId}`, {
        headers: { "content-type": "application/json" },
        body: '{"late":true}',
      });
      assert.equal(reply.status, 200, "the reply socket stays up while a request is in flight");
      const answer = await held;
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.json(), { late: true });
      await uro.release(process.pid);
      assert.equal(await exited(uro), 0);
      assert.ok(uro.find((l) => l.msg === "stopped").length === 1);
    } finally {
      if (!stopped.has(uro)) await uro.stop({ check: false });
    }
  },
});

Deno.test({
  name:
    "after shutdown-timeout the requests still waiting get 503, every group is killed, and urocket exits 0",
  ...E2E,
  async fn() {
    const uro = await startUrocket({
      config: `shutdown-timeout: 1s
paths:
  /run:
    post:
      inject: { cmd: "{{fixtures}}/hold.sh" }
  /other:
    post:
      inject: { cmd: "{{fixtures}}/stubborn.sh" }
`,
    });
    try {
      // One request finishes during the drain; one never gets a reply; one whose process
      // ignores SIGTERM and has a grandchild. Which of the two /run requests is held first is
      // the scheduler's choice: the one replied to is told apart by its id.
      const runs = [uro.call("/run", { method: "POST" }), uro.call("/run", { method: "POST" })];
      const stubborn = uro.call("/other", { method: "POST" });
      const [first] = await uro.held(2);
      const pids = await uro.waitForLog((l) => String(l.line).startsWith("pids "));
      const grandchild = Number(String(pids.line).split(" ")[2]);
      signal(uro, "SIGTERM");
      const shutdown = await uro.waitForLog((l) => l.msg === "shutdown");
      assert.equal(shutdown.in_flight, 3);
      assert.equal(
        (await uro.reply(`/uri/${first.reqId}`, {
          headers: { "content-type": "application/json" },
          body: "{}",
        })).status,
        200,
      );
      const finished = await Promise.race(runs);
      assert.equal(finished.status, 200, "a request that finished within the timeout");
      assert.equal(finished.headers.get("x-request-id"), first.reqId);
      await uro.waitForLog((l) => l.msg === "shutdown_timeout");
      const waiting = (await Promise.all(runs)).find((answer) => answer !== finished)!;
      for (const answer of [waiting, await stubborn]) {
        assert.equal(answer.status, 503);
        assert.equal(answer.headers.get("content-type"), "application/problem+json");
        assert.equal(answer.headers.get("retry-after"), "1");
        assert.equal(answer.json().type, "urn:urocket:problem:shutting_down");
        assert.equal(answer.json().request_id, answer.headers.get("x-request-id"));
      }
      assert.equal(await exited(uro), 0);
      assert.ok(!isAlive(grandchild), "the grandchild that ignores SIGTERM is gone too");
      const outcomes = uro.find((l) => l.msg === "access").map((l) => l.outcome).sort();
      assert.deepEqual(outcomes, ["replied", "shutdown", "shutdown"]);
      const exits = uro.find((l) => l.msg === "process_exit");
      assert.equal(exits.length, 3, "every group ended before urocket did");
      assert.equal(exits.filter((l) => l.kill_reason === "shutdown").length, 3);
      const order = uro.logs.map((l) => l.msg).filter((m) =>
        ["shutdown", "draining", "shutdown_timeout", "stopped"].includes(m)
      );
      assert.deepEqual(order, ["shutdown", "draining", "shutdown_timeout", "stopped"]);
    } finally {
      if (!stopped.has(uro)) await uro.stop({ check: false });
    }
  },
});

Deno.test({
  name: "a second signal kills every process group and exits at once, the waiting clients get 503",
  ...E2E,
  async fn() {
    const uro = await startUrocket({
      // Without the second signal this shutdown would outlast the test's own timeout.
      config: `shutdown-delay: 5m
shutdown-timeout: 5m
kill-grace: 5m
paths:
  /other:
    post:
      inject: { cmd: "{{fixtures}}/stubborn.sh" }
`,
    });
    try {
      const waiting = uro.call("/other", { method: "POST" });
      const pids = await uro.waitForLog((l) => String(l.line).startsWith("pids "));
      const [child, grandchild] = String(pids.line).split(" ").slice(1).map(Number);
      signal(uro, "SIGINT");
      await uro.waitForLog((l) => l.msg === "shutdown");
      signal(uro, "SIGTERM");
      await uro.waitForLog((l) => l.msg === "shutdown_forced");
      assert.equal((await waiting).status, 503);
      assert.equal(await exited(uro), 0);
      assert.ok(!isAlive(child) && !isAlive(grandchild), "the whole group was SIGKILLed");
      const stopped = uro.find((l) => l.msg === "stopped")[0];
      assert.equal(stopped.forced, true);
      const exit = uro.find((l) => l.msg === "process_exit")[0];
      assert.equal(exit.signal, "SIGKILL");
    } finally {
      if (!stopped.has(uro)) await uro.stop({ check: false });
    }
  },
});

Deno.test({
  name:
    "urocket still exits when its stdout stops draining: a stalled log collector cannot hold it",
  ...E2E,
  async fn() {
    const dir = await makeFolder("urocket-e2e-", {
      "openapi.yaml": TEST_OPENAPI,
      // 2 MB on stderr: far more than the pipe to the log collector holds.
      "chatty.sh": {
        text: "#!/bin/sh\nhead -c 2000000 /dev/zero | tr '\\0' x | fold -w 100 >&2\n",
        mode: 0o755,
      },
      "urocket-service.yaml": "listen: 127.0.0.1:0\nsocket: {{dir}}/u.sock\nshutdown-delay: 0s\n" +
        'paths:\n  /run:\n    post:\n      inject: { cmd: "{{dir}}/chatty.sh" }\n',
    });
    const child = launchUrocket({ dir, log: "piped" });
    const stderr = new Response(child.stderr).text();
    // The log collector reads up to the start line, then stops reading.
    const reader = child.stdout.getReader();
    const decoder = new TextDecoder();
    let text = "";
    while (!text.includes('"msg":"start"')) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`urocket did not start: ${await stderr}`);
      text += decoder.decode(value, { stream: true });
    }
    const start = JSON.parse(text.split("\n").find((line) => line.includes('"msg":"start"'))!);
    // The handler prints its 2 MB and exits without replying. By its 502, urocket holds more log
    // than the pipe takes, and its write to stdout waits for a reader that never comes.
    const answer = await call(`http://${start.listen}/run`, { method: "POST", body: "{}" });
    assert.equal(answer.status, 502);

    Deno.kill(child.pid, "SIGTERM");
    const { code } = await child.status;
    assert.equal(code, 0);
    await stderr;
    await reader.cancel();
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name:
    "urocket still stops cleanly, exit 0, when something it cannot remove sits at the socket path",
  ...E2E,
  async fn() {
    const uro = await startUrocket({ config: "paths: {}\n" });
    // A folder with a file in it, where the socket was: not urocket's to remove.
    await Deno.remove(uro.socket);
    await Deno.mkdir(uro.socket);
    await Deno.writeTextFile(`${uro.socket}/kept`, "");
    const { code, stderr } = await uro.stop({ check: false });
    assert.equal(code, 0, stderr);
    const warning = uro.logs.find((l) => l.msg === "socket_not_removed");
    assert.ok(warning, "no socket_not_removed line");
    assert.equal(warning.level, "warn");
    assert.equal(warning.socket, uro.socket);
    assert.match(String(warning.error), /did not create .*: it is left alone/);
    assert.ok(uro.logs.some((l) => l.msg === "stopped"), "no stopped line");
  },
});
