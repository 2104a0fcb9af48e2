/**
 * The soak: drives the real urocket (started exactly as `deno task start`
 * does, with the permission set of deno.json) with a random mix of every way
 * a request can go, twice to warm up and once measured, then checks from
 * the outside that nothing leaked: every request got its expected status, no
 * spawned process is alive, urocket's open descriptors and resident memory
 * are back to their level, nothing is pending. A hostile phase runs the mix
 * again beside hostile clients (idle connections, a log reader that stops
 * reading) and reports resident memory and descriptors after it; an attack
 * phase then runs it while attackers (bench/soak_hostile.ts) work on request
 * bodies.
 *
 * Usage: deno task soak [--requests N] [--concurrency C] [--seed S]
 * (defaults 20,000 requests at concurrency 32). It reads /proc, so it runs
 * with -A; urocket itself does not. Exit code 0 when every check passes,
 * 1 when one fails, 2 for a bad command line.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { allowedGrowthMiB, type Check, evaluate, type SoakMeasurements } from "./soak_checks.ts";
import {
  attackChecks,
  type Attacker,
  idleConnections,
  stalledUploads,
  stoppedLogReader,
  tinyChunkBodies,
} from "./soak_hostile.ts";
import { describeFds, extra, openFds, settledFds } from "./soak_fds.ts";
import { denoEnv } from "../tests/e2e/_harness.ts";
import { random } from "./random.ts";

const REPO = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const HANDLER = `${REPO}/bench/soak_handler.sh`;

/** The kinds of request in the mix, with their weights. */
const MIX = [
  ["replied", 30],
  ["slow", 15],
  ["timeout", 5],
  ["crash", 5],
  ["exit", 8],
  ["duplicate", 10],
  ["late", 10],
  ["abort", 7],
  ["payload", 10],
] as const;

type Kind = typeof MIX[number][0];

/** What the client and the access line must show for each kind. */
const EXPECTED: Record<Kind, { status: number; outcome: string }> = {
  replied: { status: 200, outcome: "replied" },
  slow: { status: 200, outcome: "replied" },
  timeout: { status: 504, outcome: "timeout" },
  crash: { status: 502, outcome: "no_reply" },
  exit: { status: 502, outcome: "no_reply" },
  duplicate: { status: 200, outcome: "replied" },
  late: { status: 502, outcome: "no_reply" },
  abort: { status: 499, outcome: "client_gone" },
  payload: { status: 200, outcome: "replied" },
};

/** Payloads of the `payload` kind: from 2 to 4 MiB. */
const PAYLOAD_MIN = 2 * 1024 * 1024;
const PAYLOAD_MAX = 4 * 1024 * 1024;
/** How long a phase may take to settle (all access and process_exit lines in) once answered. */
const SETTLE_MS = 60_000;
/** Longest wait for any one answer: far past every timeout, so that the soak always ends. */
const ANSWER_LIMIT_MS = 120_000;
/** max-body-memory of the soak's config (its default: 64 MiB, above its max-body of 8 MiB). */
const HOSTILE_BODY_MEMORY_MIB = 64;
/** How long urocket may take to stop after SIGTERM before it is killed (and the soak fails). */
const STOP_LIMIT_MS = 60_000;
/** Idle connections held open to the front through the hostile phase. */
const IDLE_CONNECTIONS = 256;
/**
 * The kinds of the hostile phase's mix: those whose outcome the client sees
 * alone, since log lines may be dropped while the log reader is stopped
 * (`abort` and `duplicate` are checked on the handler's stderr lines); and
 * not `payload`, whose multi-MiB bodies leave more in the heap than the
 * hostile clients do (measured: +90 to +140 MiB over 3,000 requests of this
 * mix with payloads, with or without hostile clients), which would hide
 * what they cost.
 */
const HOSTILE_KINDS: readonly Kind[] = ["replied", "slow", "timeout", "crash", "exit", "late"];

/** Options of {@link runSoak}. */
export interface SoakOptions {
  requests: number;
  concurrency: number;
  seed: number;
  /** Where the report goes, line by line. */
  print: (line: string) => void;
}

/** The outcome of a soak. */
export interface SoakResult {
  checks: Check[];
  ok: boolean;
}

type LogLine = Record<string, unknown> & { msg: string };

/** urocket as the soak runs it: a child process and what it logs. */
class Server {
  readonly #child: Deno.ChildProcess;
  readonly #listeners = new Set<(line: LogLine) => void>();
  /** Resolved while urocket's stdout is read; a pending promise while the reader is stopped. */
  #reading: Promise<void> = Promise.resolve();
  readonly done: Promise<void>;
  readonly stderr: Promise<string>;
  shutdown?: LogLine;
  start?: LogLine;

  constructor(configFile: string) {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-q",
        "-P",
        "--config",
        `${REPO}/deno.json`,
        `${REPO}/main.ts`,
        "-c",
        configFile,
      ],
      env: {
        PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
        HOME: Deno.env.get("HOME") ?? "/",
        ...denoEnv(),
      },
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.done = this.#read();
    this.stderr = new Response(this.#child.stderr).text();
  }

  async #read(): Promise<void> {
    let buffer = "";
    for await (const chunk of this.#child.stdout.pipeThrough(new TextDecoderStream())) {
      // While stopped, nothing more is taken from the pipe: urocket's writes to stdout wait.
      await this.#reading;
      buffer += chunk;
      let nl;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const text = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        let line: LogLine;
        try {
          line = JSON.parse(text);
        } catch {
          line = { msg: "non_json", text };
        }
        if (line.msg === "start") this.start = line;
        if (line.msg === "shutdown") this.shutdown = line;
        for (const listener of this.#listeners) listener(line);
      }
    }
  }

  /** Stops reading urocket's stdout, as a log collector that hangs would; returns what resumes it. */
  stopReading(): () => void {
    let resume!: () => void;
    this.#reading = new Promise<void>((resolve) => resume = resolve);
    return resume;
  }

  /** Calls `listener` for every line from now on; returns a function that stops it. */
  listen(listener: (line: LogLine) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get pid(): number {
    return Number(this.start?.pid);
  }

  async started(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      if (this.start) return resolve();
      const stop = this.listen((line) => {
        if (line.msg === "start") {
          stop();
          resolve();
        }
      });
      this.done.then(async () => reject(new Error(`urocket did not start: ${await this.stderr}`)));
    });
  }

  /** SIGTERM, then SIGKILL if urocket has not stopped within {@link STOP_LIMIT_MS}. */
  async stop(): Promise<{ status: Deno.CommandStatus; killed: boolean }> {
    const signal = (name: Deno.Signal) => {
      try {
        this.#child.kill(name);
      } catch {
        // Already gone.
      }
    };
    signal("SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<true>((resolve) =>
      timer = setTimeout(() => resolve(true), STOP_LIMIT_MS)
    );
    const killed = await Promise.race([this.#child.status.then(() => false), late]);
    clearTimeout(timer);
    if (killed) signal("SIGKILL");
    const status = await this.#child.status;
    await this.done;
    await this.stderr;
    return { status, killed };
  }
}

function pick(rng: () => number, kinds?: readonly Kind[]): Kind {
  const mix: readonly (readonly [Kind, number])[] = kinds
    ? MIX.filter(([kind]) => kinds.includes(kind))
    : MIX;
  const total = mix.reduce((sum, [, weight]) => sum + weight, 0);
  let r = rng() * total;
  for (const [kind, weight] of mix) {
    if ((r -= weight) < 0) return kind;
  }
  return mix[0][0];
}

/** What one phase saw. */
interface PhaseResult {
  requests: number;
  seconds: number;
  answeredAsExpected: number;
  mismatches: string[];
  counts: Record<string, number>;
}

/** Options of {@link runPhase}. */
interface PhaseOptions {
  name: string;
  requests: number;
  concurrency: number;
  rng: () => number;
  /** The kinds to draw from; default the whole mix. */
  kinds?: readonly Kind[];
  /**
   * Set while log lines may be dropped (the log reader stopped): a request
   * without an access line is judged by its answer alone, and the phase has
   * settled once `settled` says so instead of once every line is in.
   */
  logMayDrop?: { settled: () => boolean };
}

/** One phase: `requests` requests of the mix, `concurrency` at a time, then settling. */
async function runPhase(server: Server, options: PhaseOptions): Promise<PhaseResult> {
  const url = `http://${server.start!.listen}`;
  const front = Deno.createHttpClient({});
  const socket = Deno.createHttpClient({
    proxy: { transport: "unix", path: String(server.start!.socket) },
  });
  const payload = new Uint8Array(PAYLOAD_MAX);
  for (let i = 0; i < payload.length; i += 4096) payload[i] = Math.floor(options.rng() * 256);

  const access = new Map<string, LogLine>();
  const exited = new Set<string>();
  const secondReply = new Map<string, string>();
  const aborters = new Map<string, () => void>();
  const mismatches: string[] = [];
  let changed: () => void = () => {};
  let onChange = new Promise<void>((resolve) => changed = resolve);
  const stopListening = server.listen((line) => {
    const text = typeof line.line === "string" ? line.line : "";
    if (line.msg === "access" && typeof line.client_request_id === "string") {
      access.set(line.client_request_id, line);
    } else if (line.msg === "process_exit") {
      exited.add(String(line.req_id));
    } else if (line.msg === "stderr" && text.startsWith("ready ")) {
      aborters.get(text.slice(6))?.();
    } else if (line.msg === "stderr" && text.startsWith("second reply ")) {
      secondReply.set(String(line.req_id), text.slice(13));
    } else if (line.level === "error" || line.msg === "non_json" || line.msg === "stderr") {
      mismatches.push(`${options.name}: urocket logged ${JSON.stringify(line).slice(0, 300)}`);
    }
    changed();
    onChange = new Promise<void>((resolve) => changed = resolve);
  });

  // Multi-MiB payloads take a slot of their own, so that their transient memory peaks alike in
  // every phase and the measured growth is not the luck of how many arrived together.
  const payloadSlots = Math.max(1, Math.floor(options.concurrency / 8));
  let payloadsInFlight = 0;
  const payloadQueue: (() => void)[] = [];
  const acquirePayload = async () => {
    while (payloadsInFlight >= payloadSlots) {
      await new Promise<void>((resolve) => payloadQueue.push(resolve));
    }
    payloadsInFlight++;
  };
  const releasePayload = () => {
    payloadsInFlight--;
    payloadQueue.shift()?.();
  };

  const kinds = new Map<string, Kind>();
  const clientOk = new Set<string>();
  const counts: Record<string, number> = {};
  let next = 0;
  const started = performance.now();

  const one = async (index: number) => {
    const kind = pick(options.rng, options.kinds);
    if (kind !== "payload") return await send(index, kind);
    await acquirePayload();
    try {
      await send(index, kind);
    } finally {
      releasePayload();
    }
  };

  const send = async (index: number, kind: Kind) => {
    const id = `${options.name}-${index}-${kind}`;
    kinds.set(id, kind);
    counts[kind] = (counts[kind] ?? 0) + 1;
    const controller = new AbortController();
    if (kind === "abort") aborters.set(id, () => controller.abort());
    const size = PAYLOAD_MIN + Math.floor(options.rng() * (PAYLOAD_MAX - PAYLOAD_MIN));
    const delay = (0.05 + options.rng() * 0.25).toFixed(3);
    const fail = (what: string) => mismatches.push(`${id}: ${what}`);
    let response: Response;
    try {
      response = await fetch(`${url}/${kind}`, {
        method: "POST",
        client: front,
        signal: AbortSignal.any([controller.signal, AbortSignal.timeout(ANSWER_LIMIT_MS)]),
        headers: {
          "x-request-id": id,
          "x-soak-delay": delay,
          "content-type": kind === "payload" ? "application/octet-stream" : "application/json",
        },
        body: kind === "payload" ? payload.subarray(0, size) : "{}",
      });
    } catch (error) {
      if (kind === "abort" && controller.signal.aborted) clientOk.add(id);
      else fail(`request failed: ${(error as Error).message}`);
      return;
    } finally {
      aborters.delete(id);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      return fail(`the answer broke off: ${(error as Error).message}`);
    }
    if (response.status !== EXPECTED[kind].status) {
      return fail(`status ${response.status}, expected ${EXPECTED[kind].status}: ${text}`);
    }
    if (response.status === 200) {
      let body: { id?: string; bytes?: number };
      try {
        body = JSON.parse(text);
      } catch {
        return fail(`reply is not JSON: ${text.slice(0, 100)}`);
      }
      if (body.id !== id) return fail(`got the reply of ${body.id}`);
      if (kind === "payload" && body.bytes !== size) {
        return fail(`the process read ${body.bytes} of ${size} payload bytes`);
      }
    }
    if (kind === "late") {
      try {
        const late = await fetch(`http://localhost/uri/${response.headers.get("x-request-id")}`, {
          method: "POST",
          client: socket,
          headers: { "content-type": "application/json" },
          body: "{}",
          signal: AbortSignal.timeout(ANSWER_LIMIT_MS),
        });
        await late.body?.cancel();
        if (late.status !== 410) return fail(`a late reply got ${late.status}, expected 410`);
      } catch (error) {
        return fail(`a late reply failed: ${(error as Error).message}`);
      }
    }
    clientOk.add(id);
  };

  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (next < options.requests) await one(next++);
    }),
  );
  const seconds = (performance.now() - started) / 1000;

  // Settle: every access line in, and every spawned group gone.
  const deadline = Date.now() + SETTLE_MS;
  const settled = options.logMayDrop?.settled ?? (() =>
    access.size === kinds.size &&
    [...access.values()].every((l) => typeof l.pid !== "number" || exited.has(String(l.req_id))));
  while (!settled() && Date.now() < deadline) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([onChange, new Promise((r) => timer = setTimeout(r, 1000))]);
    clearTimeout(timer);
  }
  stopListening();
  front.close();
  socket.close();

  let answeredAsExpected = 0;
  for (const [id, kind] of kinds) {
    const line = access.get(id);
    const fail = (what: string) => mismatches.push(`${id}: ${what}`);
    if (!line && options.logMayDrop) {
      if (clientOk.has(id)) answeredAsExpected++;
      continue;
    }
    if (!line) {
      fail("no access line");
      continue;
    }
    if (line.status !== EXPECTED[kind].status || line.outcome !== EXPECTED[kind].outcome) {
      fail(`access line says ${line.status} ${line.outcome}`);
      continue;
    }
    if (typeof line.pid === "number" && !exited.has(String(line.req_id))) {
      fail("its process group never ended");
      continue;
    }
    if (kind === "duplicate" && secondReply.get(String(line.req_id)) !== "409") {
      fail(`the second reply got ${secondReply.get(String(line.req_id))}, expected 409`);
      continue;
    }
    if (clientOk.has(id)) answeredAsExpected++;
  }
  return { requests: options.requests, seconds, answeredAsExpected, mismatches, counts };
}

/**
 * The value of metric `name` on urocket's admin listener. Through a client
 * of its own, closed after: fetch's shared pool would keep the connection
 * open (for 90 s when idle), one more descriptor of urocket's when the next
 * phase counts them.
 */
async function scrape(server: Server, name: string): Promise<number> {
  const client = Deno.createHttpClient({});
  try {
    const metrics = await fetch(`http://${server.start!.admin}/metrics`, { client });
    const text = await metrics.text();
    const line = text.split("\n").find((l) => l.startsWith(`${name} `));
    return line ? Number(line.slice(name.length + 1)) : NaN;
  } finally {
    client.close();
  }
}

/** The descriptors of `after` that `baseline` did not have, with what each socket is. */
function extraFds(server: Server, baseline: string[], after: string[]): string[] {
  return describeFds(server.pid, extra(baseline, after), {
    [String(server.start!.listen)]: "front",
    [String(server.start!.admin)]: "admin",
  });
}

/** Runs `work`, sampling the resident memory of `pid` every 50 ms; resolves with its peak. */
async function peakRssDuring<T>(pid: number, work: Promise<T>): Promise<[T, number]> {
  let peak = rssMiB(pid);
  const sampler = setInterval(() => peak = Math.max(peak, rssMiB(pid)), 50);
  try {
    return [await work, peak];
  } finally {
    clearInterval(sampler);
  }
}

/** Resident memory of `pid` in MiB. */
function rssMiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

/** pids of live processes whose environment holds `marker` (every process urocket spawned for this soak). */
function processesWith(marker: string): number[] {
  const found: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const environ = Deno.readTextFileSync(`/proc/${entry.name}/environ`);
      if (environ.split("\0").includes(marker)) found.push(Number(entry.name));
    } catch {
      // Gone, or not ours to read.
    }
  }
  return found;
}

/**
 * Operations whose config differs from the rest: `timeout` times out, and
 * `payload`'s multi-MiB bodies have more than the stalled uploads' 10 s to
 * arrive — beside the attack phase's one-byte chunks on a busy 2-core
 * machine, one took longer (a 408 that said more about the machine than
 * about urocket).
 */
const OPERATION_EXTRAS: Partial<Record<Kind, Record<string, unknown>>> = {
  timeout: { timeout: "300ms", "kill-grace": "200ms" },
  payload: { "body-timeout": "60s" },
};

function configFor(dir: string, marker: string): unknown {
  const op = (kind: Kind, extra: Record<string, unknown> = {}) => ({
    post: {
      ...extra,
      inject: {
        cmd: [HANDLER, kind],
        env: [marker],
        "pass-headers": ["X-Request-Id", "X-Soak-Delay"],
        ...(kind === "payload" ? { encoding: "raw" } : {}),
      },
    },
  });
  return {
    openapi: `${dir}/openapi.json`,
    listen: "127.0.0.1:0",
    admin: "127.0.0.1:0",
    socket: `${dir}/u.sock`,
    "max-inflight": 1024,
    timeout: "30s",
    "kill-grace": "1s",
    "max-body": "8MiB",
    // Short enough for the attack phase's stalled uploads (on /replied) to time out within it.
    "body-timeout": "10s",
    paths: Object.fromEntries(
      MIX.map(([kind]) => [`/${kind}`, op(kind, OPERATION_EXTRAS[kind] ?? {})]),
    ),
  };
}

function openapiFor(): unknown {
  return {
    openapi: "3.0.3",
    info: { title: "urocket soak", version: "1" },
    paths: Object.fromEntries(
      MIX.map(([kind]) => [`/${kind}`, {
        post: { operationId: kind, responses: { "200": { description: "ok" } } },
      }]),
    ),
  };
}

/**
 * The attack phase, after the hostile one: the mix again, while attackers
 * work on request bodies (see bench/soak_hostile.ts); then urocket's resident memory
 * and descriptors once they have left. Its checks: the mix answered as
 * expected, each attacker got only the answers it may, the peak stayed within twice
 * max-body-memory and the measured run's own bound above the warm-ups, and the descriptors came
 * back.
 */
async function attackPhase(
  server: Server,
  options: { requests: number; concurrency: number; rng: () => number },
  baseline: { rss: number; fds: string[]; print: (line: string) => void },
): Promise<Check[]> {
  const pid = server.pid;
  const [hostname, port] = String(server.start!.listen).split(/:(?=\d+$)/);
  const target = { hostname, port: Number(port) };
  const attackers: Attacker[] = [
    tinyChunkBodies(target, { path: "/payload", chunks: 50_000, clients: 1 }),
    // 40 MiB of the 64 MiB max-body-memory: the mix's payloads (4 at a time, up to 4 MiB) still fit.
    stalledUploads(target, { path: "/replied", size: 1024 * 1024, connections: 40 }),
  ];
  const [result, peak] = await peakRssDuring(
    pid,
    attacked(runPhase(server, { name: "attack", ...options }), attackers),
  );
  const reports = await Promise.all(attackers.map((attacker) => attacker.stop()));
  const fds = await settledFds(pid, baseline.fds.length);
  const rss = rssMiB(pid);
  baseline.print(
    `${"attack".padEnd(12)} ${String(result.requests).padStart(8)} ${
      result.seconds.toFixed(1).padStart(8)
    } ${(result.requests / result.seconds).toFixed(0).padStart(7)} ${rss.toFixed(1).padStart(9)} ${
      peak.toFixed(1).padStart(10)
    } ${String(fds.length).padStart(5)}`,
  );
  // The bodies being received (max-body-memory), as much again of bodies already answered whose
  // buffers V8 has not collected yet (it collects them as they pile up, not as they die: from +98
  // to +188 MiB over the warm-ups' peak in 10 runs on 2 busy cores), and the measured run's bound.
  // Bodies that cost their chunks rather than their bytes cost gigabytes here.
  const bound = 2 * HOSTILE_BODY_MEMORY_MIB + allowedGrowthMiB(options.requests);
  return [
    {
      name: "attack: the mix got its expected answers alongside the attackers",
      ok: result.answeredAsExpected === result.requests && result.mismatches.length === 0,
      detail: `${result.answeredAsExpected}/${result.requests}` +
        (result.mismatches.length ? `; first: ${result.mismatches.slice(0, 5).join("; ")}` : ""),
    },
    ...attackChecks(reports),
    {
      name: "attack: peak resident memory within twice max-body-memory above the warm-ups",
      ok: peak - baseline.rss <= bound,
      detail: `${baseline.rss.toFixed(1)} → peak ${peak.toFixed(1)} MiB, bound +${
        bound.toFixed(1)
      } MiB (max-body-memory ${HOSTILE_BODY_MEMORY_MIB} MiB twice, and the measured run's bound)`,
    },
    {
      name: "attack: open file descriptors back to their level once the attackers left",
      ok: fds.length <= baseline.fds.length,
      detail: `${baseline.fds.length} → ${fds.length}` +
        (fds.length > baseline.fds.length
          ? `; extra: ${extraFds(server, baseline.fds, fds).join(", ")}`
          : ""),
    },
  ];
}

/**
 * `phase`, and then as long as an attacker has had no answer yet (up to
 * {@link ANSWER_LIMIT_MS}; one without answers fails its check).
 */
async function attacked<T>(phase: Promise<T>, attackers: Attacker[]): Promise<T> {
  const result = await phase;
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    Promise.all(attackers.map((attacker) => attacker.answered)),
    new Promise((resolve) => timer = setTimeout(resolve, ANSWER_LIMIT_MS)),
  ]);
  clearTimeout(timer);
  return result;
}

/** Runs the soak and reports on `print`. */
export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const { print } = options;
  const dir = await Deno.makeTempDir({ prefix: "urocket-soak-" });
  const marker = `UROCKET_SOAK_RUN=${crypto.randomUUID()}`.replace("UROCKET_", "");
  await Deno.writeTextFile(`${dir}/openapi.json`, JSON.stringify(openapiFor()));
  await Deno.writeTextFile(`${dir}/urocket-service.json`, JSON.stringify(configFor(dir, marker)));
  const server = new Server(`${dir}/urocket-service.json`);
  const rng = random(options.seed);
  print(
    `urocket soak: ${options.requests} requests at concurrency ${options.concurrency}, ` +
      `after two warm-ups of the same (seed ${options.seed})`,
  );
  print(`mix: ${MIX.map(([kind, weight]) => `${kind} ${weight}%`).join(", ")}`);
  try {
    await server.started();
    const pid = server.pid;
    print(`urocket pid ${pid}: ${rssMiB(pid).toFixed(1)} MiB resident, ${openFds(pid).length} fds`);
    print("phase        requests  seconds   req/s   RSS MiB   peak MiB   fds");
    const phase = async (name: string) => {
      const [result, peak] = await peakRssDuring(
        pid,
        runPhase(server, {
          name,
          requests: options.requests,
          concurrency: options.concurrency,
          rng,
        }),
      );
      const fds = await settledFds(pid);
      const rss = rssMiB(pid);
      print(
        `${name.padEnd(12)} ${String(result.requests).padStart(8)} ${
          result.seconds.toFixed(1).padStart(8)
        } ${(result.requests / result.seconds).toFixed(0).padStart(7)} ${
          rss.toFixed(1).padStart(9)
        } ${peak.toFixed(1).padStart(10)} ${String(fds.length).padStart(5)}`,
      );
      return { result, fds, rss, peak };
    };
    const warm1 = await phase("warm-up 1");
    const warm2 = await phase("warm-up 2");
    const baselineFds = warm2.fds;
    // The warm-ups' peak, not their last value: how much of a multi-MiB payload is still
    // uncollected when a phase ends is luck; a leak shows as the measured run ending above
    // everything the warm-ups reached.
    const baselineRss = Math.max(warm1.peak, warm2.peak, warm2.rss);
    const [measured, measuredPeak] = await peakRssDuring(
      pid,
      runPhase(server, {
        name: "measured",
        requests: options.requests,
        concurrency: options.concurrency,
        rng,
      }),
    );
    const afterFds = await settledFds(pid, baselineFds.length);
    const afterExtra = extraFds(server, baselineFds, afterFds);
    const afterRss = rssMiB(pid);
    print(
      `${"measured".padEnd(12)} ${String(measured.requests).padStart(8)} ${
        measured.seconds.toFixed(1).padStart(8)
      } ${(measured.requests / measured.seconds).toFixed(0).padStart(7)} ${
        afterRss.toFixed(1).padStart(9)
      } ${measuredPeak.toFixed(1).padStart(10)} ${String(afterFds.length).padStart(5)}`,
    );
    print(
      `measured mix: ${
        Object.entries(measured.counts).map(([kind, n]) => `${kind} ${n}`).join(", ")
      }`,
    );
    // The hostile phase: the mix again, beside clients that try to exhaust urocket. Each actor
    // starts before the mix and is ended after it; descriptors and memory are read once they left.
    const actors = [
      await idleConnections(String(server.start!.listen), IDLE_CONNECTIONS),
      stoppedLogReader(server),
    ];
    let hostile: PhaseResult;
    let hostilePeak: number;
    try {
      [hostile, hostilePeak] = await peakRssDuring(
        pid,
        runPhase(server, {
          name: "hostile",
          requests: options.requests,
          concurrency: options.concurrency,
          rng,
          kinds: HOSTILE_KINDS,
          logMayDrop: { settled: () => processesWith(marker).length === 0 },
        }),
      );
    } finally {
      for (const end of actors) end();
    }
    const hostileFds = await settledFds(pid, baselineFds.length);
    const hostileRss = rssMiB(pid);
    const logDropped = await scrape(server, "urocket_log_dropped_total");
    print(
      `${"hostile".padEnd(12)} ${String(hostile.requests).padStart(8)} ${
        hostile.seconds.toFixed(1).padStart(8)
      } ${(hostile.requests / hostile.seconds).toFixed(0).padStart(7)} ${
        hostileRss.toFixed(1).padStart(9)
      } ${hostilePeak.toFixed(1).padStart(10)} ${String(hostileFds.length).padStart(5)}`,
    );
    print(
      `hostile: ${IDLE_CONNECTIONS} idle connections and a stopped log reader beside the mix; ` +
        `${logDropped} log lines dropped meanwhile`,
    );
    const attack = await attackPhase(server, {
      requests: options.requests,
      concurrency: options.concurrency,
      rng,
    }, { rss: baselineRss, fds: baselineFds, print });
    const aliveBeforeStop = processesWith(marker);
    const { status, killed } = await server.stop();
    const alive = [...new Set([...aliveBeforeStop, ...processesWith(marker)])];
    const measurements: SoakMeasurements = {
      requests: measured.requests,
      sent: warm1.result.requests + warm2.result.requests + measured.requests,
      answeredAsExpected: warm1.result.answeredAsExpected + warm2.result.answeredAsExpected +
        measured.answeredAsExpected,
      mismatches: [
        ...warm1.result.mismatches,
        ...warm2.result.mismatches,
        ...measured.mismatches,
        ...(killed ? [`urocket did not stop within ${STOP_LIMIT_MS} ms of SIGTERM`] : []),
        ...(status.code !== 0 ? [`urocket exited with ${status.code}`] : []),
      ],
      aliveProcesses: alive,
      fds: {
        baseline: baselineFds.length,
        after: afterFds.length,
        extra: afterExtra,
      },
      shutdown: server.shutdown
        ? {
          inFlight: Number(server.shutdown.in_flight),
          processes: Number(server.shutdown.processes),
        }
        : undefined,
      rssMiB: { baseline: baselineRss, after: afterRss },
      hostile: {
        sent: hostile.requests,
        answeredAsExpected: hostile.answeredAsExpected,
        mismatches: hostile.mismatches,
        fdsAfter: hostileFds.length,
        rssMiBAfter: hostileRss,
        logDropped,
      },
    };
    const checks = [...evaluate(measurements), ...attack];
    print("checks:");
    for (const check of checks) {
      print(`  ${check.ok ? "ok  " : "FAIL"} ${check.name}: ${check.detail}`);
    }
    const ok = checks.every((check) => check.ok);
    print(ok ? "soak passed" : "soak FAILED");
    return { checks, ok };
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

const USAGE = `Usage: deno task soak [--requests N] [--concurrency C] [--seed S]

Drives urocket with a random mix (replied, slow, timeout, crash, exit without
reply, duplicate reply, late reply, client abort, multi-MiB payload): two
warm-ups, then the measured run, then a hostile phase (the mix alongside
bodies of one-byte chunks and stalled uploads), each of N requests (default
20000) at concurrency C (default 32). Exits 1 when a check fails.`;

if (import.meta.main) {
  let values;
  try {
    ({ values } = parseArgs({
      args: Deno.args,
      options: {
        requests: { type: "string", default: "20000" },
        concurrency: { type: "string", default: "32" },
        seed: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (error) {
    console.error(`soak: ${(error as Error).message}\n${USAGE}`);
    Deno.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const requests = Number(values.requests);
  const concurrency = Number(values.concurrency);
  const seed = values.seed !== undefined
    ? Number(values.seed)
    : Math.floor(Math.random() * 2 ** 31);
  if (
    ![requests, concurrency, seed].every(Number.isSafeInteger) || requests < 1 || concurrency < 1
  ) {
    console.error(`soak: --requests, --concurrency and --seed take whole numbers\n${USAGE}`);
    Deno.exit(2);
  }
  const result = await runSoak({ requests, concurrency, seed, print: (line) => console.log(line) });
  Deno.exit(result.ok ? 0 : 1);
}
