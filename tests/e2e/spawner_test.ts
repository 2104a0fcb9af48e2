import assert from "node:assert/strict";
import { skipWhen } from "../_skip.ts";
import {
  E2E,
  FIXTURES,
  isAlive,
  runUrocket,
  startUrocket,
  TEST_OPENAPI,
  withUrocket,
} from "./_harness.ts";

const BUILT = new URL("../../build/urocket-spawn", import.meta.url).pathname;
/** `deno task test` builds the helper first; without a C compiler there is none. */
const built = await Deno.stat(BUILT).then(() => true, () => false);
const NOT_BUILT = built ? undefined : `the spawn helper is not built (no C compiler): ${BUILT}`;

const STUBBORN = `
paths:
  /run:
    post:
      timeout: 1s
      kill-grace: 300ms
      inject: { cmd: "{{fixtures}}/stubborn.sh" }
  /run/{name}:
    get:
      inject: { cmd: "{{fixtures}}/pgid.sh" }
`;

/** Times out a handler that ignores SIGTERM and has a grandchild; both must be gone. */
async function assertTreeKilled(uro: Awaited<ReturnType<typeof startUrocket>>) {
  const answer = await uro.call("/run", { method: "POST" });
  assert.equal(answer.status, 504);
  const id = answer.headers.get("x-request-id");
  const pids = await uro.waitForLog((l) => l.req_id === id && String(l.line).startsWith("pids "));
  const [child, grandchild] = String(pids.line).split(" ").slice(1).map(Number);
  const exit = await uro.waitForLog((l) => l.msg === "process_exit" && l.req_id === id);
  assert.equal(exit.kill_reason, "timeout");
  assert.equal(exit.signal, "SIGKILL");
  assert.ok(!isAlive(child), "the direct child is gone");
  assert.ok(!isAlive(grandchild), "the grandchild is gone too");
  const leader = await uro.call("/run/x");
  const { pid, pgid, sid } = leader.json();
  assert.equal(pgid, pid, "the handler leads its process group");
  assert.equal(sid, pid, "and its session");
}

Deno.test({
  ...skipWhen(
    NOT_BUILT,
    "urocket spawns through the spawn server, says so at start, and kills the whole tree",
  ),
  ...E2E,
  async fn() {
    const uro = await startUrocket({ config: STUBBORN });
    let serverPid = 0;
    try {
      const line = await uro.waitForLog((l) => l.msg === "spawner");
      assert.equal(line.mode, "spawn_server");
      assert.equal(line.level, "info");
      serverPid = Number(line.server_pid);
      assert.ok(serverPid > 0);
      await assertTreeKilled(uro);
    } finally {
      await uro.stop();
    }
    assert.ok(!isAlive(serverPid), "the spawn server stops with urocket");
  },
});

Deno.test({
  name:
    "urocket with UROCKET_SPAWN_HELPER=off warns once that it uses detached: true, and still kills the whole tree",
  ...E2E,
  async fn() {
    await withUrocket({ config: STUBBORN, env: { UROCKET_SPAWN_HELPER: "off" } }, async (uro) => {
      const line = await uro.waitForLog((l) => l.msg === "spawner");
      assert.equal(line.mode, "detached");
      assert.equal(line.level, "warn");
      assert.match(String(line.reason), /UROCKET_SPAWN_HELPER=off/);
      await assertTreeKilled(uro);
      assert.equal(uro.find((l) => l.msg === "spawner").length, 1, "said once");
    });
  },
});

Deno.test({
  name:
    "urocket refuses to start when UROCKET_SPAWN_HELPER names a program that is no spawn helper",
  ...E2E,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "urocket-e2e-" });
    try {
      await Deno.writeTextFile(`${dir}/openapi.yaml`, TEST_OPENAPI);
      await Deno.writeTextFile(
        `${dir}/urocket-service.yaml`,
        `listen: 127.0.0.1:0\nsocket: ${dir}/u.sock\npaths:\n  /run:\n    post:\n` +
          `      inject: { cmd: "${FIXTURES}/reply.sh" }\n`,
      );
      const result = await runUrocket(["-c", `${dir}/urocket-service.yaml`], {
        env: { UROCKET_SPAWN_HELPER: "/bin/true" },
      });
      assert.equal(result.code, 2);
      assert.match(
        result.stderr,
        /UROCKET_SPAWN_HELPER: Cannot use the spawn helper "\/bin\/true"/,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  ...skipWhen(
    NOT_BUILT,
    "urocket restarts a spawn server that died, and later requests are answered",
  ),
  ...E2E,
  async fn() {
    await withUrocket({
      config: `
paths:
  /run:
    post:
      inject: { cmd: "{{fixtures}}/count.sh", encoding: raw }
`,
    }, async (uro) => {
      const line = await uro.waitForLog((l) => l.msg === "spawner");
      Deno.kill(Number(line.server_pid), "SIGKILL");
      await uro.waitForLog((l) => l.msg === "spawner" && l.level === "error");
      const answer = await uro.call("/run", { method: "POST", body: "abc" });
      assert.deepEqual(answer.json(), { bytes: 3 });
      // Restarted, not fallen back to detached: true for good.
      const restarted = await uro.waitForLog((l) =>
        l.msg === "spawner" && l.message === "spawn server restarted"
      );
      assert.equal(restarted.level, "warn");
      assert.deepEqual(uro.find((l) => l.msg === "spawner" && l.mode === "detached"), []);
      const again = await uro.call("/run", { method: "POST", body: "abcd" });
      assert.deepEqual(again.json(), { bytes: 4 });
      assert.deepEqual(uro.find((l) => l.msg === "spawner" && l.mode === "detached"), []);
    });
  },
});

Deno.test({
  ...skipWhen(
    NOT_BUILT,
    "a request whose handler still runs when the spawn server dies is still answered by its reply",
  ),
  ...E2E,
  async fn() {
    await withUrocket({
      config: `
paths:
  /run:
    post:
      inject: { cmd: "{{fixtures}}/hold.sh" }
`,
    }, async (uro) => {
      const line = await uro.waitForLog((l) => l.msg === "spawner");
      const answer = uro.call("/run", { method: "POST" });
      const [held] = await uro.held(1);
      Deno.kill(Number(line.server_pid), "SIGKILL");
      await uro.waitForLog((l) => l.msg === "spawner" && l.level === "error");
      // The window in which the request used to be answered 502 as if its handler had exited
      // (the exit grace, 250 ms): a negative check needs one.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      assert.ok(isAlive(held.pid));
      assert.equal((await uro.reply(`/uri/${held.reqId}`, { body: '{"late":false}' })).status, 200);
      const answered = await answer;
      assert.equal(answered.status, 200);
      assert.deepEqual(answered.json(), { late: false });
      await uro.release(held.pid);
    });
  },
});

Deno.test({
  name:
    "urocket hands a payload to stdin exactly, below, at and above the 64 KiB the spawn server pipes itself",
  ...E2E,
  async fn() {
    await withUrocket({
      config: `
paths:
  /run:
    post:
      inject: { cmd: "{{fixtures}}/count.sh", encoding: raw }
`,
    }, async (uro) => {
      for (const size of [1, 65_535, 65_536, 65_537, 300_000]) {
        const answer = await uro.call("/run", { method: "POST", body: "p".repeat(size) });
        assert.deepEqual(answer.json(), { bytes: size }, `${size} bytes`);
      }
    });
  },
});
