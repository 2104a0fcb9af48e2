/**
 * urocket at its limit on open descriptors (RLIMIT_NOFILE), under the real
 * kernel limit set with prlimit(1): idle connections fill the table, and
 * urocket must keep running, finish what is in flight, say so, refuse new
 * connections meanwhile, report not-ready, and serve again once
 * descriptors free up — without a restart.
 *
 * @module
 */

import assert from "node:assert/strict";
import { call, E2E, startUrocket, withUrocket } from "./_harness.ts";

const HELPER = new URL("../../build/urocket-spawn", import.meta.url).pathname;
const built = await Deno.stat(HELPER).then(() => true, () => false);

/** Requests in flight while urocket is at its limit. */
const IN_FLIGHT = 8;

const CONFIG = `
admin: 127.0.0.1:0
max-inflight: 16
paths:
  /run:
    post:
      inject: { cmd: "{{fixtures}}/hold.sh" }
  /other:
    post:
      inject: { cmd: "{{fixtures}}/reply.sh" }
`;

/** Opens idle connections to `target` until one is refused or reset (the listener is gone). */
async function fillWithIdleConnections(
  target: { hostname: string; port: number },
  most: number,
): Promise<Deno.Conn[]> {
  const connections: Deno.Conn[] = [];
  for (let i = 0; i < most; i++) {
    try {
      connections.push(await Deno.connect(target));
    } catch {
      break;
    }
  }
  return connections;
}

/** The soft limit on open files of process `pid`, as the kernel has it. */
async function softNofile(pid: number): Promise<number> {
  const limits = await Deno.readTextFile(`/proc/${pid}/limits`);
  const line = limits.split("\n").find((l) => l.startsWith("Max open files"))!;
  return Number(line.split(/\s+/)[3]);
}

for (const helper of [true, false]) {
  Deno.test({
    name: "urocket keeps running at its descriptor limit, refuses new connections, " +
      "finishes the request in flight, and serves again once descriptors free up " +
      (helper ? "(spawn server)" : "(detached: true)"),
    ...E2E,
    ignore: helper && !built,
    fn: () => atTheLimit(helper ? {} : { UROCKET_SPAWN_HELPER: "off" }),
  });
}

/** Fills urocket's descriptor table with idle connections and checks how it copes. */
async function atTheLimit(env: Record<string, string>) {
  const uro = await startUrocket({
    config: CONFIG,
    wrap: ["prlimit", "--nofile=256:256", "--"],
    env,
  });
  const start = uro.logs.find((l) => l.msg === "start")!;
  const admin = `http://${String(start.admin)}`;
  if (env.UROCKET_SPAWN_HELPER === "off") {
    // Without the helper urocket cannot read its limit, and says so.
    assert.equal(start.nofile, null);
    assert.match(String(start.nofile_unknown), /no spawn helper/);
  }
  let idle: Deno.Conn[] = [];
  try {
    // Requests in flight before the table fills: their handlers wait for the test to reply.
    const inFlight = Array.from(
      { length: IN_FLIGHT },
      () => uro.call("/run", { method: "POST", body: "{}" }),
    );
    // Awaited below; a urocket that dies meanwhile must fail the test there, not the runner.
    for (const request of inFlight) request.catch(() => {});
    const held = await uro.held(IN_FLIGHT);

    const { hostname, port } = new URL(uro.url);
    idle = await fillWithIdleConnections({ hostname, port: Number(port) }, 2000);
    const limit = await uro.waitForLog(
      (l) => l.msg === "descriptor_limit",
      "the descriptor_limit line",
    );
    assert.equal(limit.level, "warn");
    assert.equal(limit.listener, "front");
    assert.match(String(limit.error), /too many open files/i);

    // Not ready while the front cannot accept; a new connection is refused.
    const readyz = await call(`${admin}/readyz`);
    assert.equal(readyz.status, 503);
    assert.equal(readyz.text, "not_accepting\n");
    await assert.rejects(
      fetch(`${uro.url}/other`, { method: "POST", body: "{}" }).then((r) => r.text()),
    );

    // The requests in flight still get their answers: their replies, all at once, reach the
    // socket (each takes a descriptor: the reserve urocket released is there for them).
    const replies = await Promise.all(
      held.map((h) => uro.reply(`/uri/${h.reqId}`, { body: `{"late":"${h.reqId}"}` })),
    );
    assert.deepEqual(replies.map((r) => r.status), held.map(() => 200));
    for (const request of inFlight) {
      const answer = await request;
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.json(), { late: answer.headers.get("x-request-id") });
    }
    for (const h of held) await uro.release(h.pid);

    // The idle clients leave: urocket binds its port again, without a restart.
    for (const connection of idle) connection.close();
    idle = [];
    const back = await uro.waitForLog((l) => l.msg === "accepting", "the accepting line");
    assert.equal(back.listener, "front");
    assert.equal((await call(`${admin}/readyz`)).status, 200);
    const after = await uro.call("/other", { method: "POST", body: "{}" });
    assert.equal(after.status, 200);
    assert.equal(
      uro.find((l) => l.msg === "descriptor_limit").length,
      1,
      "one line, not one per connection",
    );
  } finally {
    for (const connection of idle) connection.close();
    const { code } = await uro.stop();
    assert.equal(code, 0);
  }
}

Deno.test({
  name: "urocket raises its soft descriptor limit to the hard limit and says it in its start line",
  ...E2E,
  ignore: !built,
  async fn() {
    await withUrocket({
      config: CONFIG,
      wrap: ["prlimit", "--nofile=200:300", "--"],
    }, async (uro) => {
      assert.equal(await softNofile(uro.pid), 300);
      const start = uro.logs.find((l) => l.msg === "start")!;
      assert.equal(start.nofile, 300);
    });
  },
});

Deno.test({
  name: "urocket-spawn --nofile raises another process's soft descriptor limit to its hard limit",
  ...E2E,
  ignore: !built,
  async fn() {
    const sleeper = new Deno.Command("prlimit", {
      args: ["--nofile=100:400", "--", "sh", "-c", "echo ready; exec sleep 60"],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const output = sleeper.stdout.getReader();
    try {
      // It says ready once prlimit has set the limit and exec'ed the shell.
      assert.equal(new TextDecoder().decode((await output.read()).value), "ready\n");
      assert.equal(await softNofile(sleeper.pid), 100);
      const out = await new Deno.Command(HELPER, {
        args: ["--nofile", String(sleeper.pid)],
        stdout: "piped",
      }).output();
      assert.equal(new TextDecoder().decode(out.stdout), "nofile 400 400\n");
      assert.equal(await softNofile(sleeper.pid), 400);
    } finally {
      sleeper.kill("SIGKILL");
      await output.cancel();
      await sleeper.status;
    }
  },
});
