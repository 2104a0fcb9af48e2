/**
 * `deno task bench`: urocket's benchmark. Not a test: it asserts nothing
 * about speed, it measures and prints.
 *
 * 1. Builds the C reply handler and the floor harness with the system
 *    compiler (static when possible) and the exec helper; installs wrk with
 *    apt-get when it is missing.
 * 2. Main table: urocket driven by wrk (100-byte JSON POST) at c=1, 8, 64,
 *    and in the same run the floor — the same handler spawned by a C harness
 *    with no HTTP front (sequential for c=1, two workers for c=8/64) — with
 *    req/s, p50, p99, errors, × floor and urocket's RSS (from /proc, outside).
 *    A third floor row, eight workers, is the floor's latency with as many
 *    requests in flight as wrk's c=8: the p99 to compare urocket's with.
 *    Its tail depends on the kernel's session autogroups (printed with the
 *    machine; see BENCHMARKS.md). Last, the bare pipeline
 *    (bench/bare_pipeline.ts): Deno.serve, urocket's spawn server and a reply
 *    socket with nothing of urocket around them, the stack's ceiling.
 * 3. Start-up time on a generated document of several hundred operations.
 * 4. 1,000 requests in flight at once (the handler waits 2 s), all checked,
 *    with urocket's RSS idle and under that load; and the baseline: a bare
 *    Hono app on Deno.serve holding 1,000 requests (bench/baseline_hold.ts).
 * 5. `logstdout` with a handler printing 100 lines: throughput ratio to
 *    the same handler without it.
 * 6. validate-in on a 1 KB JSON body against the same request without it, through the real
 *    server, and the validator alone in memory (bench/validation_bench.ts).
 * 7. Security: wrk at c=8 on the same operation guarded by a bearer JWT (RS256, a key set
 *    file), by http basic (htpasswd, bcrypt cost 10) and by nothing, in alternating rounds.
 * 8. Large real documents (bench/large_document.ts): Stripe's and
 *    DigitalOcean's, every operation wired with validate-in and validate-out:
 *    time to the start line and to ready, RSS at ready against the petstore
 *    example's idle RSS, first-request latency. The documents come from npm
 *    (the section says it is skipped when npm cannot be reached).
 * 9. urocket beside adnanh/webhook when it is installed (bench/webhook.ts):
 *    req/s and p99 at c=1, 8 and 64, each against the floor of its own path,
 *    and where the whole pipeline's CPU goes per request, in interleaved
 *    rounds, medians. `BENCH_ONLY=webhook deno task bench` alone.
 * 10. Reload: wrk at c=8 on a config of 400 operations, without and then
 *    with a SIGHUP every 500 ms; the reloads' own durations (their log
 *    lines). Not in the default set (BENCH_ONLY=reload).
 *
 * Options (environment): BENCH_SECONDS (per wrk run, default 8, at most 10),
 * BENCH_UROCKET (another checkout's folder to measure instead, e.g. a
 * baseline from `git archive`), BENCH_ONLY (comma list of: table, startup,
 * inflight, logstdout, validation, auth, spawn, large, webhook; and reload), BENCH_LARGE (the
 * directory's documents of the large section), BENCH_ROUNDS (rounds of the webhook comparison,
 * default 3), BENCH_WEBHOOK_FLAGS (extra flags for webhook), BENCH_CGROUP=1 (urocket and webhook
 * each in a cpu cgroup of its own, as in a container; root only). Extra environment for urocket
 * itself:
 * BENCH_UROCKET_ENV (e.g. `UROCKET_SPAWN_HELPER=off`).
 *
 * @module
 */

import { launchUrocket } from "../tests/e2e/_harness.ts";
import { largeDocuments } from "./large_document.ts";
import { compareWithWebhook } from "./webhook.ts";

const REPO = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const UROCKET = Deno.env.get("BENCH_UROCKET") ?? REPO;
/** Where the bench builds its handlers and writes its scripts (ignored by git). */
export const OUT = `${REPO}/.bench`;
const SECONDS = Math.min(10, Number(Deno.env.get("BENCH_SECONDS") ?? 8));
const ONLY = new Set(
  (Deno.env.get("BENCH_ONLY") ??
    "table,startup,inflight,logstdout,validation,auth,spawn,large,webhook")
    .split(","),
);
const ROUNDS = Math.max(1, Number(Deno.env.get("BENCH_ROUNDS") ?? 3));
const EXTRA_ENV = Object.fromEntries(
  (Deno.env.get("BENCH_UROCKET_ENV") ?? "").split(/\s+/).filter(Boolean).map((pair) => {
    const at = pair.indexOf("=");
    return [pair.slice(0, at), pair.slice(at + 1)];
  }),
);
/** The request body: 100 bytes of JSON. */
const BODY = JSON.stringify({ bench: "payload", pad: "x".repeat(70) });

// ---------------------------------------------------------------- building

/** Runs `cmd` to its end and reads its output. */
export async function run(cmd: string, args: string[], options: Deno.CommandOptions = {}) {
  const output = await new Deno.Command(cmd, { stdout: "piped", stderr: "piped", ...options, args })
    .output();
  return {
    ok: output.success,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
}

/** Builds `source` into `target`, static when the system has a static libc. */
export async function buildC(source: string, target: string): Promise<string> {
  for (const flags of [["-O2", "-static"], ["-O2"]]) {
    const result = await run("cc", [...flags, "-o", target, source]);
    if (result.ok) return flags.includes("-static") ? "static" : "dynamic";
    if (flags.length === 1) throw new Error(`cc could not build ${source}:\n${result.stderr}`);
  }
  return "dynamic";
}

/** The libc-free trampoline of the spawn candidates (libc build where that fails). */
async function buildTrampoline(): Promise<void> {
  const source = `${REPO}/bench/trampoline.c`;
  const target = `${OUT}/trampoline`;
  const bare = await run("cc", [
    "-O2",
    "-static",
    "-nostdlib",
    "-ffreestanding",
    "-fno-stack-protector",
    "-fno-tree-loop-distribute-patterns",
    "-fno-asynchronous-unwind-tables",
    "-fno-pie",
    "-no-pie",
    "-o",
    target,
    source,
  ]);
  if (!bare.ok) await buildC(source, target);
}

/** Installs wrk with apt-get when it is missing. */
export async function ensureWrk(): Promise<void> {
  if ((await run("sh", ["-c", "command -v wrk"])).ok) return;
  console.error("bench: installing wrk with apt-get");
  const result = await run("sh", [
    "-c",
    "(apt-get install -y -q wrk || (apt-get update -q && apt-get install -y -q wrk)) >/dev/null",
  ]);
  if (!result.ok) throw new Error(`wrk is missing and apt-get could not install it`);
}

// ---------------------------------------------------------------- urocket

/** A urocket (or the bare pipeline) started by the bench. */
export interface Running {
  pid: number;
  url: string;
  log: string;
  stop(): Promise<void>;
}

/** Starts the checkout at `root` (BENCH_UROCKET, else this one) on `config` and `openapi`. */
export async function startUrocket(
  dir: string,
  config: string,
  openapi: string,
  env: Record<string, string> = {},
  root = UROCKET,
): Promise<Running & { startMs: number }> {
  await Deno.writeTextFile(`${dir}/urocket-service.yaml`, config);
  await Deno.writeTextFile(`${dir}/openapi.yaml`, openapi);
  const log = `${dir}/urocket.log`;
  await Deno.writeTextFile(log, "");
  const started = performance.now();
  // As the tests start it, as the measured tree's `deno task start` runs it; logs go through a
  // pipe, as a container runtime takes them (cat stands in for it), and the fd limit is raised for
  // 1,000 in flight. With BENCH_CGROUP=1 it first joins a cpu cgroup of its own.
  const join = await joinCgroup("urocket");
  const child = launchUrocket({
    dir,
    root,
    env: { HOME: Deno.env.get("HOME") ?? "/root", ...join, ...EXTRA_ENV, ...env },
    log: { file: log },
    ...(join.BENCH_JOIN ? { wrap: ["sh", "-c", 'eval "$BENCH_JOIN"; exec "$@"', "sh"] } : {}),
  });
  let start: Record<string, unknown> | undefined;
  let exited = false;
  child.status.then(() => exited = true);
  while (!start) {
    const text = await Deno.readTextFile(log);
    const line = text.split("\n").find((l) => l.includes('"msg":"start"'));
    if (line) start = JSON.parse(line);
    else if (exited || performance.now() - started > 60_000) {
      throw new Error(`urocket did not start:\n${text}`);
    } else await sleep(5);
  }
  const startMs = performance.now() - started;
  const pid = Number(start.pid);
  return {
    pid,
    url: `http://${start.listen}`,
    log,
    startMs,
    async stop() {
      // Twice: nothing is in flight here, and a second signal skips shutdown-delay (5 s).
      Deno.kill(pid, "SIGTERM");
      Deno.kill(pid, "SIGTERM");
      await child.status;
    },
  };
}

/**
 * With BENCH_CGROUP=1: the shell command (BENCH_JOIN) that moves a server,
 * and all it starts, into a cpu cgroup of its own, as in a container or a
 * systemd unit — where the kernel does not schedule each session apart (see
 * README, "How processes are started"). cgroup v1's cpu hierarchy, or v2 with
 * the cpu controller; needs root.
 */
async function joinCgroup(name: string): Promise<Record<string, string>> {
  if (Deno.env.get("BENCH_CGROUP") !== "1") return {};
  const v1 = "/sys/fs/cgroup/cpu";
  const root = await Deno.stat(`${v1}/cgroup.procs`).then(() => v1, () => "/sys/fs/cgroup");
  const dir = `${root}/urocket-bench-${name}`;
  await Deno.mkdir(dir, { recursive: true });
  return { BENCH_JOIN: `echo $$ > ${dir}/cgroup.procs` };
}

function sleep(ms: number) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * CPU time (user + system) urocket has used so far, in ms: all its threads,
 * and its main thread (the event loop) alone — from /proc, read from outside.
 */
export async function cpuMs(pid: number): Promise<{ all: number; main: number }> {
  const ticks = async (path: string) => {
    const stat = await Deno.readTextFile(path);
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]);
  };
  const tick = 1000 / 100; // USER_HZ is 100 on Linux
  return {
    all: (await ticks(`/proc/${pid}/stat`)) * tick,
    main: (await ticks(`/proc/${pid}/task/${pid}/stat`)) * tick,
  };
}

/** urocket's resident memory in KiB, read from outside. */
async function rssKiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}

/** An OpenAPI document with `operations`. */
export function openapi(operations: { path: string; method: string }[]): string {
  const paths = new Map<string, string[]>();
  for (const op of operations) paths.set(op.path, [...(paths.get(op.path) ?? []), op.method]);
  let text = "openapi: 3.0.3\ninfo: { title: bench, version: '1' }\npaths:\n";
  for (const [path, methods] of paths) {
    text += `  ${path}:\n`;
    for (const method of methods) {
      const id = `${method}${path.replace(/[^a-zA-Z0-9]/g, "_")}`;
      text += `    ${method}:\n      operationId: ${id}\n`;
      if (path.includes("{id}")) {
        text += "      parameters:\n        - { name: id, in: path, required: true, " +
          "schema: { type: string } }\n";
      }
      text += "      responses:\n        '200':\n          description: ok\n" +
        "          content: { application/json: {} }\n";
    }
  }
  return text;
}

/** An operation of the bench config. */
export interface BenchOp {
  path: string;
  method: string;
  /** `inject.env` entries. */
  env?: string[];
  logstdout?: boolean;
}

/** The config serving `operations` with the C handler. */
export function config(dir: string, operations: BenchOp[], top = ""): string {
  let text = `listen: 127.0.0.1:0\nsocket: ${dir}/u.sock\nmax-inflight: 512\n${top}paths:\n`;
  const byPath = new Map<string, typeof operations>();
  for (const op of operations) byPath.set(op.path, [...(byPath.get(op.path) ?? []), op]);
  for (const [path, ops] of byPath) {
    text += `  ${path}:\n`;
    for (const op of ops) {
      const env = op.env ? `, env: [${op.env.join(", ")}]` : "";
      text +=
        `    ${op.method}:\n      timeout: 30s\n      inject: { cmd: ${OUT}/handler${env} }\n`;
      if (op.logstdout) text += "      logstdout: true\n";
    }
  }
  return text;
}

// ---------------------------------------------------------------- load

/** What one wrk run measured. */
export interface Load {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  requests: number;
}

const wrkScript = (body: string, headers: Record<string, string> = {}) => `
wrk.method = "POST"
wrk.body = '${body}'
wrk.headers["Content-Type"] = "application/json"
${Object.entries(headers).map(([name, value]) => `wrk.headers["${name}"] = "${value}"`).join("\n")}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"duration_us":%d,"socket_errors":%d,"status_errors":%d,"p50_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99)))
end
`;

/** wrk on `url` with `connections`, POSTing `body`. */
export async function wrk(
  url: string,
  connections: number,
  seconds = SECONDS,
  body = BODY,
  headers: Record<string, string> = {},
): Promise<Load> {
  const script = `${OUT}/post.lua`;
  await Deno.writeTextFile(script, wrkScript(body, headers));
  const result = await run("wrk", [
    "-t1",
    `-c${connections}`,
    `-d${seconds}s`,
    "--timeout",
    "10s",
    "-s",
    script,
    url,
  ]);
  const line = result.stdout.split("\n").reverse().find((l) => l.startsWith("{"));
  if (!result.ok || !line) throw new Error(`wrk failed:\n${result.stdout}${result.stderr}`);
  const r = JSON.parse(line);
  return {
    rps: r.requests / (r.duration_us / 1e6),
    p50: r.p50_us / 1000,
    p99: r.p99_us / 1000,
    errors: r.socket_errors + r.status_errors,
    requests: r.requests,
  };
}

/** bench/floor.c: urocket's path, or with `argv` webhook's (bench/echo.c as the handler). */
async function floor(workers: number, dir: string, argv = false): Promise<Load> {
  const result = await run(`${OUT}/floor`, [
    argv ? `${OUT}/echo` : `${OUT}/handler`,
    String(workers),
    String(SECONDS),
    dir,
    ...(argv ? ["argv"] : []),
  ]);
  if (!result.ok) throw new Error(`floor failed: ${result.stderr}`);
  const r = JSON.parse(result.stdout);
  return { rps: r.rps, p50: r.p50_ms, p99: r.p99_ms, errors: 0, requests: r.count };
}

// ---------------------------------------------------------------- sections

const f1 = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);
const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;

async function table(dir: string): Promise<string> {
  const ops = [{ path: "/bench", method: "post" }];
  const uro = await startUrocket(dir, config(dir, ops), openapi(ops));
  const lines: string[] = [];
  try {
    const idle = await rssKiB(uro.pid);
    await wrk(`${uro.url}/bench`, 8, 2); // warm-up (JIT), not counted
    const floors = { 1: await floor(1, dir), 2: await floor(2, dir), 8: await floor(8, dir) };
    lines.push(
      "| system | connections | req/s | p50 ms | p99 ms | errors | × floor | floor | urocket RSS | urocket CPU ms/req (main thread) |",
      "|---|---|---|---|---|---|---|---|---|---|",
      `| floor: C harness, sequential | 1 | ${f1(floors[1].rps)} | ${f2(floors[1].p50)} | ${
        f2(floors[1].p99)
      } | 0 | 1.00 | itself | — | — |`,
      `| floor: C harness, 2 workers | 2 | ${f1(floors[2].rps)} | ${f2(floors[2].p50)} | ${
        f2(floors[2].p99)
      } | 0 | 1.00 | itself | — | — |`,
      `| floor: C harness, 8 workers (p99 at c=8) | 8 | ${f1(floors[8].rps)} | ${
        f2(floors[8].p50)
      } | ${f2(floors[8].p99)} | 0 | ${f2(floors[8].rps / floors[2].rps)} | 2 workers | — | — |`,
    );
    for (const c of [1, 8, 64]) {
      const before = await cpuMs(uro.pid);
      const load = await wrk(`${uro.url}/bench`, c);
      const after = await cpuMs(uro.pid);
      const base = c === 1 ? floors[1] : floors[2];
      const perRequest = (ms: number) => f2(ms / load.requests);
      lines.push(
        `| urocket | ${c} | ${f1(load.rps)} | ${f2(load.p50)} | ${
          f2(load.p99)
        } | ${load.errors} | ${f2(load.rps / base.rps)} | ${
          c === 1 ? "sequential" : "2 workers"
        } | ${mib(await rssKiB(uro.pid))} | ${perRequest(after.all - before.all)} (${
          perRequest(after.main - before.main)
        }) |`,
      );
    }
    // The stack's ceiling, in the same run: urocket's hops with nothing of urocket around them
    // (urocket sits idle meanwhile).
    const bare = await startBarePipeline(dir);
    try {
      await wrk(`${bare.url}/bench`, 8, 2); // warm-up (JIT), not counted
      for (const c of [1, 8, 64]) {
        const before = await cpuMs(bare.pid);
        const load = await wrk(`${bare.url}/bench`, c);
        const after = await cpuMs(bare.pid);
        const base = c === 1 ? floors[1] : floors[2];
        const perRequest = (ms: number) => f2(ms / load.requests);
        lines.push(
          `| bare pipeline (bench/bare_pipeline.ts) | ${c} | ${f1(load.rps)} | ${f2(load.p50)} | ${
            f2(load.p99)
          } | ${load.errors} | ${f2(load.rps / base.rps)} | ${
            c === 1 ? "sequential" : "2 workers"
          } | — | ${perRequest(after.all - before.all)} (${
            perRequest(after.main - before.main)
          }) |`,
        );
      }
    } finally {
      await bare.stop();
    }
    lines.push("", `urocket RSS idle after start: ${mib(idle)}`);
  } finally {
    await uro.stop();
  }
  return lines.join("\n");
}

/**
 * Starts bench/bare_pipeline.ts: Deno.serve, urocket's spawn server and a
 * reply socket, without urocket's layer, on the bench handler.
 */
async function startBarePipeline(dir: string): Promise<Running> {
  const port = 18_091;
  const work = await Deno.makeTempDir({ dir, prefix: "bare-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--max-semi-space-size=16",
      "--config",
      `${REPO}/deno.json`,
      `${REPO}/bench/bare_pipeline.ts`,
      `${REPO}/build/urocket-spawn`,
      `${OUT}/handler`,
      String(port),
      work,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let said = "";
  while (!said.includes("ready")) {
    const { done, value } = await reader.read();
    if (done) throw new Error("bare_pipeline.ts did not start");
    said += value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  return {
    pid: child.pid,
    url: `http://127.0.0.1:${port}`,
    log: "",
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already gone.
      }
      await child.status;
    },
  };
}

async function startup(dir: string): Promise<string> {
  const times = async (ops: { path: string; method: string }[]) => {
    const ms: number[] = [];
    for (let i = 0; i < 3; i++) {
      const uro = await startUrocket(dir, config(dir, ops), openapi(ops));
      ms.push(uro.startMs);
      await uro.stop();
    }
    return ms.sort((a, b) => a - b)[1];
  };
  const many = manyOperations();
  const one = await times([{ path: "/bench", method: "post" }]);
  const big = await times(many);
  return [
    `start-up (spawn of deno → start line, median of 3): 1 operation ${one.toFixed(0)} ms, ` +
    `${many.length} operations ${big.toFixed(0)} ms (+${(big - one).toFixed(0)} ms)`,
  ].join("\n");
}

/** 400 generated operations, 200 paths with a parameter. */
function manyOperations(): { path: string; method: string }[] {
  const many: { path: string; method: string }[] = [];
  for (let i = 0; i < 200; i++) {
    many.push({ path: `/resource${i}`, method: "post" });
    many.push({ path: `/resource${i}/{id}`, method: "get" });
  }
  return many;
}

async function reload(dir: string): Promise<string> {
  const ops = [{ path: "/bench", method: "post" }, ...manyOperations()];
  const uro = await startUrocket(dir, config(dir, ops), openapi(ops));
  try {
    await wrk(`${uro.url}/bench`, 8, 2); // warm-up (JIT), not counted
    const quiet = await wrk(`${uro.url}/bench`, 8);
    let done = false;
    const signals = (async () => {
      while (!done) {
        await sleep(500);
        if (!done) Deno.kill(uro.pid, "SIGHUP");
      }
    })();
    const loaded = await wrk(`${uro.url}/bench`, 8);
    done = true;
    await signals;
    const reloads = (await Deno.readTextFile(uro.log)).split("\n")
      .filter((line) => line.includes('"msg":"reload"')).map((line) => JSON.parse(line));
    const ms = reloads.map((r) => r.duration_ms as number).sort((a, b) => a - b);
    const applied = reloads.filter((r) => r.outcome === "applied").length;
    return [
      `reload (${ops.length} operations, wrk c=8):`,
      "| SIGHUP | req/s | p50 ms | p99 ms | errors |",
      "|---|---|---|---|---|",
      `| none | ${f1(quiet.rps)} | ${f2(quiet.p50)} | ${f2(quiet.p99)} | ${quiet.errors} |`,
      `| every 500 ms | ${f1(loaded.rps)} | ${f2(loaded.p50)} | ${
        f2(loaded.p99)
      } | ${loaded.errors} |`,
      `${applied}/${reloads.length} reloads applied; duration median ${ms[ms.length >> 1]} ms, ` +
      `max ${ms.at(-1)} ms`,
    ].join("\n");
  } finally {
    await uro.stop();
  }
}

async function inflight(dir: string): Promise<string> {
  const ops = [{ path: "/slow", method: "post", env: ["BENCH_DELAY_MS=2000"] }];
  const uro = await startUrocket(
    dir,
    config(dir, ops).replace("max-inflight: 512", "max-inflight: 1100"),
    openapi(ops),
  );
  try {
    // Idle after a little traffic, so the JIT and buffers are as in service.
    await Promise.all(Array.from({ length: 20 }, async () => {
      await (await fetch(`${uro.url}/slow`, { method: "POST", body: BODY })).body?.cancel();
    }));
    await sleep(500);
    const idle = await rssKiB(uro.pid);
    // Two readings: while all 1,000 wait on their handlers (before the first answer), and the
    // peak, which also covers the 1,000 replies arriving at once.
    let waiting = idle;
    let peak = idle;
    let answered = false;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const rss = await rssKiB(uro.pid);
        if (!answered) waiting = Math.max(waiting, rss);
        peak = Math.max(peak, rss);
        await sleep(50);
      }
    })();
    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: 1000 }, async () => {
      const response = await fetch(`${uro.url}/slow`, { method: "POST", body: BODY });
      answered = true;
      const text = await response.text();
      const id = response.headers.get("x-request-id");
      return response.status === 200 && id !== null && JSON.parse(text).id === id;
    }));
    const wall = performance.now() - started;
    sampling = false;
    await sampler;
    const correct = answers.filter(Boolean).length;
    const perRequest = (rss: number) => `${((rss - idle) / 1000).toFixed(1)} KiB`;
    return [
      `1,000 in flight (handler waits 2 s): ${correct}/1000 answered correctly in ${
        (wall / 1000).toFixed(2)
      } s; RSS idle ${mib(idle)}; all 1,000 waiting ${mib(waiting)}, ${
        perRequest(waiting)
      } per in-flight request; peak with the replies ${mib(peak)}, ${perRequest(peak)}`,
      await baselineHold(),
    ].join("\n");
  } finally {
    await uro.stop();
  }
}

/** The same measure for a bare Hono app on Deno.serve holding 1,000 requests (the baseline). */
async function baselineHold(): Promise<string> {
  const result = await run(Deno.execPath(), [
    "run",
    "-A",
    "--v8-flags=--max-semi-space-size=16,--expose-gc",
    "--config",
    `${REPO}/deno.json`,
    `${REPO}/bench/baseline_hold.ts`,
  ]);
  return result.ok ? `baseline: ${result.stdout.trim()}` : `baseline failed: ${result.stderr}`;
}

async function logstdout(dir: string): Promise<string> {
  const ops = [
    { path: "/quiet", method: "post", env: ["BENCH_LINES=100"] },
    { path: "/chatty", method: "post", env: ["BENCH_LINES=100"], logstdout: true },
  ];
  const uro = await startUrocket(dir, config(dir, ops), openapi(ops));
  try {
    await wrk(`${uro.url}/quiet`, 8, 2);
    const quiet = await wrk(`${uro.url}/quiet`, 8);
    const chatty = await wrk(`${uro.url}/chatty`, 8);
    return `logstdout, handler printing 100 lines, c=8: ${f1(chatty.rps)} req/s vs ${
      f1(quiet.rps)
    } without logstdout = ${
      f2(chatty.rps / quiet.rps)
    }× (goal ≥ 0.90); errors ${chatty.errors}/${quiet.errors}`;
  } finally {
    await uro.stop();
  }
}

/** A 1 KB JSON body that the validated operation's schema accepts. */
const PET_BODY = JSON.stringify({
  name: "Rex",
  tag: "dog",
  birth: "2020-02-29",
  owner: { id: 7, email: "owner@example.com" },
  vaccinations: Array.from({ length: 12 }, (_, i) => ({ name: `vaccine-${i}`, year: 2010 + i })),
  notes: "n".repeat(506),
});

const VALIDATED_OPENAPI = `openapi: 3.0.3
info: { title: bench, version: "1" }
paths:
  /plain:
    post:
      operationId: plain
      requestBody: { $ref: "#/components/requestBodies/Pet" }
      responses: { "200": { description: ok, content: { application/json: {} } } }
  /validated:
    post:
      operationId: validated
      requestBody: { $ref: "#/components/requestBodies/Pet" }
      responses: { "200": { description: ok, content: { application/json: {} } } }
components:
  requestBodies:
    Pet:
      required: true
      content:
        application/json:
          schema:
            type: object
            required: [name, owner]
            additionalProperties: false
            properties:
              name: { type: string, minLength: 1, maxLength: 64 }
              tag: { type: string, nullable: true }
              birth: { type: string, format: date }
              owner:
                type: object
                required: [id]
                properties:
                  id: { type: integer, format: int64, minimum: 1 }
                  email: { type: string, format: email }
              vaccinations:
                type: array
                maxItems: 50
                items:
                  type: object
                  required: [name, year]
                  properties:
                    name: { type: string }
                    year: { type: integer, minimum: 1900 }
              notes: { type: string, maxLength: 2000 }
`;

/**
 * `validate-in` on a 1 KB JSON body through the real server: the same
 * request to an operation that validates it and to one that does not, at
 * c=8 (goal ≥ 0.95). Alternated twice, so that drift over the run does not
 * favour either.
 */
async function validateIn(dir: string): Promise<string> {
  const config = `listen: 127.0.0.1:0\nsocket: ${dir}/u.sock\nmax-inflight: 512\npaths:\n` +
    ["plain", "validated"].map((name) =>
      `  /${name}:\n    post:\n      validate-in: ${name === "validated"}\n` +
      `      inject: { cmd: ${OUT}/handler }\n`
    ).join("");
  const uro = await startUrocket(dir, config, VALIDATED_OPENAPI);
  try {
    await wrk(`${uro.url}/validated`, 8, 2, PET_BODY);
    const plain: Load[] = [];
    const validated: Load[] = [];
    for (let round = 0; round < 2; round++) {
      plain.push(await wrk(`${uro.url}/plain`, 8, SECONDS / 2, PET_BODY));
      validated.push(await wrk(`${uro.url}/validated`, 8, SECONDS / 2, PET_BODY));
    }
    const rps = (loads: Load[]) => loads.reduce((sum, l) => sum + l.rps, 0) / loads.length;
    const errors = (loads: Load[]) => loads.reduce((sum, l) => sum + l.errors, 0);
    return `validate-in, ${new TextEncoder().encode(PET_BODY).length}-byte JSON body, c=8: ` +
      `${f1(rps(validated))} req/s vs ${f1(rps(plain))} without = ` +
      `${f2(rps(validated) / rps(plain))}× (goal ≥ 0.95); errors ${errors(validated)}/` +
      `${errors(plain)}`;
  } finally {
    await uro.stop();
  }
}

/**
 * The cost of security schemes: the same handler behind a bearer JWT, behind http basic, and
 * unguarded. Basic's successful checks are remembered (60 s), so after the first request it
 * measures the cache, which is what a client sending the same password sees.
 */
async function authSchemes(dir: string): Promise<string> {
  const { exportJWK, generateKeyPair, SignJWT } = await import("jose");
  const { hashSync } = await import("bcryptjs");
  const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
  const jwk = { ...await exportJWK(publicKey), kid: "bench", alg: "RS256" };
  await Deno.writeTextFile(`${dir}/jwks.json`, JSON.stringify({ keys: [jwk] }));
  await Deno.writeTextFile(`${dir}/htpasswd`, `bench:${hashSync("bench-password", 10)}\n`, {
    mode: 0o600,
  });
  const token = await new SignJWT({ sub: "bench", scope: "bench" })
    .setProtectedHeader({ alg: "RS256", kid: "bench" })
    .setIssuer("https://issuer.bench/").setAudience("bench").setExpirationTime("1h")
    .sign(privateKey);
  const names = ["none", "bearer", "basic"] as const;
  const openapi = "openapi: 3.0.3\ninfo: { title: bench, version: '1' }\ncomponents:\n" +
    "  securitySchemes:\n    bearer: { type: http, scheme: bearer }\n" +
    "    basic: { type: http, scheme: basic }\npaths:\n" +
    names.map((name) =>
      `  /${name}:\n    post:\n      operationId: ${name}\n` +
      `      security: [${name === "none" ? "" : `{ ${name}: [] }`}]\n` +
      "      responses: { '200': { description: ok } }\n"
    ).join("");
  const config = `listen: 127.0.0.1:0\nsocket: ${dir}/u.sock\nmax-inflight: 512\nsecurity:\n` +
    `  bearer: { jwks: ${dir}/jwks.json, issuer: "https://issuer.bench/", audience: bench }\n` +
    `  basic: { htpasswd: ${dir}/htpasswd }\npaths:\n` +
    names.map((name) => `  /${name}:\n    post:\n      inject: { cmd: ${OUT}/handler }\n`)
      .join("");
  const headers: Record<(typeof names)[number], Record<string, string>> = {
    none: {},
    bearer: { Authorization: `Bearer ${token}` },
    basic: { Authorization: `Basic ${btoa("bench:bench-password")}` },
  };
  const uro = await startUrocket(dir, config, openapi);
  try {
    for (const name of names) await wrk(`${uro.url}/${name}`, 8, 1, BODY, headers[name]);
    const loads: Record<string, Load[]> = { none: [], bearer: [], basic: [] };
    for (let round = 0; round < 2; round++) {
      for (const name of names) {
        loads[name].push(await wrk(`${uro.url}/${name}`, 8, SECONDS / 2, BODY, headers[name]));
      }
    }
    const rps = (name: string) => loads[name].reduce((sum, l) => sum + l.rps, 0) / 2;
    const errors = (name: string) => loads[name].reduce((sum, l) => sum + l.errors, 0);
    return `security schemes, c=8: none ${f1(rps("none"))} req/s; bearer JWT (RS256) ` +
      `${f1(rps("bearer"))} = ${f2(rps("bearer") / rps("none"))}×; basic (bcrypt 10, cached) ` +
      `${f1(rps("basic"))} = ${f2(rps("basic") / rps("none"))}×; errors ` +
      names.map(errors).join("/");
  } finally {
    await uro.stop();
  }
}

/** The validator alone, in memory (bench/validation_bench.ts), as `deno bench` prints it. */
async function validationMicro(): Promise<string> {
  const result = await run(Deno.execPath(), ["bench", "-A", `${REPO}/bench/validation_bench.ts`], {
    env: { NO_COLOR: "1" },
  });
  if (!result.ok) return `validation micro-benchmark failed:\n${result.stderr}`;
  return "validation, in memory (deno bench bench/validation_bench.ts):\n" + result.stdout.trim();
}

async function spawnCandidates(): Promise<string> {
  const result = await run(Deno.execPath(), [
    "run",
    "-A",
    `${REPO}/bench/spawn_candidates.ts`,
  ], { env: { BENCH_SECONDS: String(Math.min(SECONDS, 3)) } });
  if (!result.ok) throw new Error(result.stderr);
  return result.stdout.trim();
}

/** urocket beside webhook (bench/webhook.ts), on the main table's operation. */
function webhookComparison(dir: string): Promise<string> {
  const ops = [{ path: "/bench", method: "post" }];
  return compareWithWebhook({
    out: OUT,
    dir,
    seconds: SECONDS,
    rounds: ROUNDS,
    startUrocket: () => startUrocket(dir, config(dir, ops), openapi(ops)),
    wrk: (url, connections, seconds) => wrk(url, connections, seconds),
    floor: (workers, argv) => floor(workers, dir, argv),
    join: joinCgroup,
  });
}

/** The CPU's model name, from /proc/cpuinfo. */
async function cpuModel(): Promise<string> {
  const text = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  return /^model name\s*:\s*(.+)$/m.exec(text)?.[1] ?? Deno.build.target;
}

// ---------------------------------------------------------------- main

async function main() {
  await Deno.mkdir(OUT, { recursive: true });
  const handler = await buildC(`${REPO}/bench/handler.c`, `${OUT}/handler`);
  await buildC(`${REPO}/bench/floor.c`, `${OUT}/floor`);
  await buildC(`${REPO}/bench/echo.c`, `${OUT}/echo`);
  await buildTrampoline();
  const helper = await run(Deno.execPath(), ["run", "-q", "-P", `${REPO}/tools/build_helper.ts`], {
    cwd: REPO,
  });
  if (!helper.ok) console.error(helper.stderr);
  await ensureWrk();
  const dir = await Deno.makeTempDir({ prefix: "urocket-bench-" });
  const uptime = (await run("uptime", [])).stdout.trim();
  // Each handler runs in a session of its own, which is a scheduling group of its own when the
  // kernel groups by session (outside containers' CPU cgroups): that shapes latency tails.
  const autogroup = await Deno.readTextFile("/proc/sys/kernel/sched_autogroup_enabled")
    .then((text) => text.trim() === "1" ? "on" : "off", () => "n/a");
  const sections: string[] = [
    `urocket bench — ${new Date().toISOString()}, ${UROCKET}, ${SECONDS} s per run, ` +
    `handler ${handler}, wrk -t1, 100-byte JSON POST`,
    `machine: ${await cpuModel()} × ${navigator.hardwareConcurrency}, Linux ${Deno.osRelease()}, ` +
    `sched_autogroup ${autogroup}; before: ${uptime}`,
    Object.keys(EXTRA_ENV).length ? `urocket env: ${JSON.stringify(EXTRA_ENV)}` : "",
  ].filter(Boolean);
  // Each section is printed as soon as it is measured.
  console.log(sections.join("\n\n") + "\n");
  const say = (text: string) => console.log(text + "\n");
  try {
    if (ONLY.has("table")) say(await table(dir));
    if (ONLY.has("startup")) say(await startup(dir));
    if (ONLY.has("inflight")) say(await inflight(dir));
    if (ONLY.has("logstdout")) say(await logstdout(dir));
    if (ONLY.has("validation")) say(await validateIn(dir));
    if (ONLY.has("validation")) say(await validationMicro());
    if (ONLY.has("auth")) say(await authSchemes(dir));
    if (ONLY.has("spawn")) say("spawn candidates:\n" + await spawnCandidates());
    if (ONLY.has("large")) say(await largeDocuments(UROCKET));
    if (ONLY.has("reload")) say(await reload(dir));
    if (ONLY.has("webhook")) say(await webhookComparison(dir));
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  say(`after: ${(await run("uptime", [])).stdout.trim()}`);
}

if (import.meta.main) await main();
