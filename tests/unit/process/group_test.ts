import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { ProcessGroup } from "../../../lib/process/group.ts";
import type {
  ExitStatus,
  GroupUsage,
  OutputRelay,
  OutputSink,
  Spawned,
} from "../../../lib/process/spawn.ts";

/** A process that has already exited with `status`, its group empty, released as `group`. */
function exited(status: Partial<ExitStatus>, group?: GroupUsage | null): Spawned {
  const empty = () => new ReadableStream<Uint8Array>({ start: (c) => c.close() });
  return {
    pid: 999_999,
    status: Promise.resolve({ success: true, code: 0, signal: null, groupAlive: false, ...status }),
    stdin: null,
    output: { kind: "streams", stdout: null, stderr: empty() },
    ...(group !== null ? { release: () => Promise.resolve(group) } : {}),
  };
}

async function end(spawned: Spawned) {
  const group = await ProcessGroup.start({
    program: "/bin/true",
    args: [],
    cwd: "/",
    env: {},
    stdin: false,
    stdout: false,
  }, { spawner: () => spawned, timeoutMs: 60_000, killGraceMs: 10, onOutput: () => {} });
  return await group.ended;
}

const WAIT4 = { userUs: 12_345, sysUs: 678, maxRssKb: 4096 };

Deno.test("ProcessGroup.ended takes the cgroup's figures when the release read CPU and memory", async () => {
  const result = await end(exited(
    { usage: WAIT4, oomKills: 0 },
    { userUs: 250_000, sysUs: 120_000, peakBytes: 104_857_600, oomKills: 0, removed: true },
  ));
  deepStrictEqual(result.stats, {
    source: "cgroup",
    cpuUserMs: 250,
    cpuSysMs: 120,
    maxRssKb: 102_400,
  });
  strictEqual(result.oomKilled, undefined);
});

Deno.test("ProcessGroup.ended falls back to wait4's figures, and reports none without them", async () => {
  const partial = await end(exited({ usage: WAIT4 }, { userUs: 1, sysUs: 1, removed: false }));
  deepStrictEqual(partial.stats, {
    source: "wait4",
    cpuUserMs: 12.345,
    cpuSysMs: 0.678,
    maxRssKb: 4096,
  });
  const gone = await end(exited({ usage: WAIT4 }, undefined));
  strictEqual(gone.stats?.source, "wait4");
  const none = await end(exited({}, null));
  strictEqual(none.stats, undefined);
});

Deno.test("ProcessGroup.ended says oomKilled when the cgroup, or the exit, counted an OOM kill", async () => {
  const released = await end(exited({ oomKills: 0 }, { oomKills: 2, removed: true }));
  strictEqual(released.oomKilled, true);
  const atExit = await end(exited({ oomKills: 1 }, undefined));
  strictEqual(atExit.oomKilled, true);
});

/** A relay driven by the test: what urocket's spawn server would push. */
function testRelay() {
  let sink: OutputSink | undefined;
  let dropped = 0;
  const relay: OutputRelay = {
    kind: "relay",
    streams: ["stderr", "stdout"],
    attach: (s) => sink = s,
    drop: () => {
      dropped++;
      sink!.end("stderr");
      sink!.end("stdout");
    },
  };
  return { relay, sink: () => sink!, dropped: () => dropped };
}

/** Starts a group on `spawned`, collecting its output lines. */
async function startWith(spawned: Spawned, lines: string[]) {
  return await ProcessGroup.start({
    program: "/bin/true",
    args: [],
    cwd: "/",
    env: {},
    stdin: false,
    stdout: true,
  }, {
    spawner: () => spawned,
    timeoutMs: 60_000,
    killGraceMs: 10,
    onOutput: (stream, line) => lines.push(`${stream}: ${line}`),
  });
}

Deno.test("ProcessGroup splits relayed output into lines and ends when every stream has ended", async () => {
  const { relay, sink, dropped } = testRelay();
  let exit!: (status: ExitStatus) => void;
  const spawned: Spawned = {
    ...exited({}, null),
    status: new Promise((resolve) => exit = resolve),
    output: relay,
  };
  const lines: string[] = [];
  const group = await startWith(spawned, lines);
  const encode = (text: string) => new TextEncoder().encode(text);
  sink().data("stderr", encode("one\ntw"));
  sink().data("stdout", encode("out\n"));
  sink().data("stderr", encode("o\nlast"));
  sink().end("stderr");
  sink().end("stdout");
  exit({ success: true, code: 0, signal: null, groupAlive: false });
  const ended = await group.ended;
  strictEqual(ended.exitCode, 0);
  deepStrictEqual(lines, ["stderr: one", "stdout: out", "stderr: two", "stderr: last"]);
  strictEqual(dropped(), 0, "output that ended is not dropped");
});

Deno.test("ProcessGroup drops a relay still open once the group is gone, and ends anyway", async () => {
  const { relay, sink, dropped } = testRelay();
  const spawned: Spawned = { ...exited({}, null), output: relay };
  const lines: string[] = [];
  const group = await startWith(spawned, lines);
  // An escaped process keeps the pipe: output arrives, the end never does.
  sink().data("stderr", new TextEncoder().encode("still here\n"));
  await group.ended;
  strictEqual(dropped(), 1);
  deepStrictEqual(lines, ["stderr: still here"]);
});

Deno.test("ProcessGroup stops logging output past logLimit, says so once, and counts the rest", async () => {
  const { relay, sink } = testRelay();
  let exit!: (status: ExitStatus) => void;
  const spawned: Spawned = {
    ...exited({}, null),
    status: new Promise((resolve) => exit = resolve),
    output: relay,
  };
  const lines: string[] = [];
  const cuts: string[] = [];
  const group = await ProcessGroup.start({
    program: "/bin/true",
    args: [],
    cwd: "/",
    env: {},
    stdin: false,
    stdout: true,
  }, {
    spawner: () => spawned,
    timeoutMs: 60_000,
    killGraceMs: 10,
    onOutput: (stream, line) => lines.push(`${stream}: ${line}`),
    // "12345\n" and "é\n" (3 bytes: é is 2 in UTF-8) fit in 10 bytes; "abc\n" does not.
    logLimit: 10,
    onTruncated: (stream, bytes) => cuts.push(`${stream} ${bytes}`),
  });
  const encode = (text: string) => new TextEncoder().encode(text);
  sink().data("stdout", encode("12345\n"));
  sink().data("stderr", encode("é\nabc\nd\n"));
  sink().data("stdout", encode("x".repeat(1000)));
  sink().end("stderr");
  sink().end("stdout");
  exit({ success: true, code: 0, signal: null, groupAlive: false });
  const ended = await group.ended;
  deepStrictEqual(lines, ["stdout: 12345", "stderr: é"]);
  deepStrictEqual(cuts, ["stderr 9"]);
  strictEqual(ended.discardedBytes, 4 + 2 + 1000);
});

Deno.test("ProcessGroup.ended has no discardedBytes when the output stayed within logLimit", async () => {
  const ended = await end(exited({}));
  strictEqual(ended.discardedBytes, undefined);
});
