/**
 * urocket as PID 1, as in a container without an init: in a new PID
 * namespace (`unshare --pid --fork`), handlers orphan a grandchild that
 * exits; re-parented to PID 1, it is reaped only when PID 1 is an init.
 */

import assert from "node:assert/strict";
import { skipWhen } from "../_skip.ts";
import { E2E, type LogLine, startUrocket, type Urocket } from "./_harness.ts";

/** Requests sent, each orphaning one grandchild. */
const ORPHANS = 5;

/**
 * The namespace: `--kill-child` ends it (its PID 1, and so everything in it)
 * if this test dies first; `--mount-proc` gives it a /proc of its own.
 */
const UNSHARE = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc"];

/** A static tini first: the one the Dockerfile uses. */
const TINIS = ["/usr/bin/tini-static", "/usr/bin/tini", "/usr/local/bin/tini", "/sbin/tini"];

const CONFIG = `timeout: 1s
kill-grace: 100ms
paths:
  /run:
    post:
      inject:
        cmd: {{fixtures}}/orphan_exit.sh
`;

/** Why a new PID namespace cannot be made here, or undefined when it can. */
async function cannotUnshare(): Promise<string | undefined> {
  try {
    const out = await new Deno.Command(UNSHARE[0], {
      args: [...UNSHARE.slice(1), "true"],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    if (out.success) return undefined;
    return `${UNSHARE.join(" ")} fails (root is needed): ` +
      new TextDecoder().decode(out.stderr).trim();
  } catch (error) {
    return `unshare cannot run: ${(error as Error).message}`;
  }
}

async function findTini(): Promise<string | undefined> {
  for (const path of TINIS) {
    try {
      if ((await Deno.stat(path)).isFile) return path;
    } catch {
      // Not there; try the next.
    }
  }
  return undefined;
}

/** One process as /proc tells it. */
interface Proc {
  pid: number;
  ppid: number;
  /** `R`, `S`, `Z` (zombie), … */
  state: string;
}

/** Every process of the machine, from /proc/<pid>/stat. */
async function processes(): Promise<Proc[]> {
  const procs: Proc[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    let stat: string;
    try {
      stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
    } catch {
      continue; // Gone meanwhile.
    }
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
    const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    procs.push({ pid: Number(entry.name), ppid: Number(ppid), state });
  }
  return procs;
}

/** The processes below `root`, at any depth. */
async function descendants(root: number): Promise<Proc[]> {
  const all = await processes();
  const found: Proc[] = [];
  let parents = new Set([root]);
  while (parents.size > 0) {
    const children = all.filter((p) => parents.has(p.ppid));
    found.push(...children);
    parents = new Set(children.map((p) => p.pid));
  }
  return found;
}

/** The only child of `pid` (its pid in this namespace). */
async function childOf(pid: number): Promise<number> {
  const children = (await processes()).filter((p) => p.ppid === pid);
  assert.equal(children.length, 1, `expected one child of ${pid}, found ${children.length}`);
  return children[0].pid;
}

/** Sends the requests, each answered by the handler before its grandchild exits. */
async function orphan(uro: Urocket): Promise<LogLine[]> {
  const answers = await Promise.all(
    Array.from({ length: ORPHANS }, () => uro.call("/run", { method: "POST", body: "{}" })),
  );
  for (const answer of answers) {
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(answer.json(), { orphaned: true });
  }
  // A group is gone only when its last member is: the state below is settled once each is logged.
  return await Promise.all(answers.map((answer) => {
    const id = answer.headers.get("x-request-id");
    return uro.waitForLog(
      (l) => l.msg === "process_exit" && l.req_id === id,
      `the process_exit line of ${id}`,
    );
  }));
}

/** Stops urocket through `target` (the namespace's PID 1) and checks the drain. */
async function stop(uro: Urocket, target: number): Promise<void> {
  // unshare does not pass signals on; the namespace's PID 1 gets SIGTERM since urocket (and tini)
  // handle it.
  const { code, stderr } = await uro.stop({
    check: false,
    signal: () => Deno.kill(target, "SIGTERM"),
  });
  assert.equal(code, 0, stderr);
  const shutdown = uro.find((l) => l.msg === "shutdown")[0];
  assert.ok(shutdown, "urocket logged no shutdown line");
  assert.equal(shutdown.in_flight, 0);
  assert.equal(shutdown.processes, 0);
  assert.deepEqual(uro.junk, []);
}

const NO_NAMESPACE = await cannotUnshare();
const tini = await findTini();

Deno.test({
  ...skipWhen(
    NO_NAMESPACE,
    "urocket as PID 1 without an init leaves orphaned grandchildren as zombies",
  ),
  ...E2E,
  async fn() {
    const uro = await startUrocket({ config: CONFIG, wrap: UNSHARE });
    let stopped = false;
    try {
      const urocket = await childOf(uro.pid);
      const start = await uro.waitForLog((l) => l.msg === "start");
      assert.equal(start.pid, 1, "urocket is not PID 1 of its namespace");

      const exits = await orphan(uro);
      // Deno reaps only the children it spawned: each re-parented grandchild stays a zombie, and
      // keeps its group alive past SIGKILL, so the group is given up on as lingering.
      const zombies = (await descendants(urocket)).filter((p) => p.state === "Z");
      assert.equal(zombies.length, ORPHANS, `zombies: ${JSON.stringify(zombies)}`);
      assert.ok(zombies.every((z) => z.ppid === urocket), "the zombies are not urocket's");
      for (const exit of exits) {
        assert.equal(exit.killed, true);
        assert.equal(exit.kill_reason, "timeout");
        assert.equal(exit.lingering, true);
      }
      stopped = true;
      await stop(uro, urocket);
    } finally {
      // unshare ignores SIGTERM; killed, it takes the namespace with it (--kill-child).
      if (!stopped) await uro.stop({ check: false, signal: () => Deno.kill(uro.pid, "SIGKILL") });
    }
  },
});

Deno.test({
  ...skipWhen(
    NO_NAMESPACE ?? (tini ? undefined : `tini is not installed (apt-get install tini): ${TINIS}`),
    "urocket under tini as PID 1 leaves no zombie, and orphaning groups end without a kill",
  ),
  ...E2E,
  async fn() {
    assert.ok(tini);
    const uro = await startUrocket({ config: CONFIG, wrap: [...UNSHARE, tini, "--"] });
    let stopped = false;
    try {
      const init = await childOf(uro.pid);
      const urocket = await childOf(init);
      const start = await uro.waitForLog((l) => l.msg === "start");
      assert.equal(start.pid, 2, "urocket is not tini's child in its namespace");

      const exits = await orphan(uro);
      const below = await descendants(init);
      assert.ok(below.some((p) => p.pid === urocket), "urocket is not below tini");
      const zombies = below.filter((p) => p.state === "Z");
      assert.deepEqual(zombies, [], "tini left zombies");
      for (const exit of exits) {
        assert.equal(exit.killed, false, `group ${exit.pid} was killed: ${JSON.stringify(exit)}`);
        assert.equal(exit.lingering, undefined);
      }
      stopped = true;
      await stop(uro, init);
    } finally {
      // unshare ignores SIGTERM; killed, it takes the namespace with it (--kill-child).
      if (!stopped) await uro.stop({ check: false, signal: () => Deno.kill(uro.pid, "SIGKILL") });
    }
  },
});
