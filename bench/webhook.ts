/**
 * urocket beside adnanh/webhook, in the same run (`BENCH_ONLY=webhook`, and
 * part of the default set when `webhook` is installed: Debian's package
 * `webhook`). Both serve a 100-byte JSON POST with a static C handler:
 * urocket's replies over its socket (bench/handler.c), webhook's echoes the
 * payload it gets as its argument (bench/echo.c), which webhook returns as
 * the response (`include-command-output-in-response`). webhook runs as
 * Debian's service runs it (no `-verbose`: it logs nothing per request),
 * bound to 127.0.0.1, its output through a pipe like urocket's log;
 * BENCH_WEBHOOK_FLAGS adds flags (say `-verbose`).
 *
 * Each round measures, interleaved: each path's floor (bench/floor.c —
 * urocket's: the reply over a socket, in a session of its own; webhook's,
 * `argv`: the payload as argument, the combined output read, the child
 * reaped), then wrk at c=1, 8 and 64 on both servers, the order alternating
 * from round to round. Around each wrk run it reads where the pipeline's CPU
 * went (bench/pipeline_cpu.ts). It prints the medians over BENCH_ROUNDS
 * rounds (default 3) and every round's req/s.
 *
 * @module
 */

import {
  type Breakdown,
  breakdown,
  childrenOf,
  perfCountsInstructions,
  perfInstructions,
  read,
  type Roles,
} from "./pipeline_cpu.ts";
import type { Load } from "./run.ts";

/** What the comparison needs from bench/run.ts. */
export interface CompareDeps {
  /** The folder of the built handlers (`.bench`). */
  out: string;
  /** A scratch folder for sockets, configs and logs. */
  dir: string;
  seconds: number;
  rounds: number;
  /** Starts urocket on the bench operation; its pid (deno) and base URL. */
  startUrocket(): Promise<{ pid: number; url: string; stop(): Promise<void> }>;
  wrk(url: string, connections: number, seconds?: number): Promise<Load>;
  /** bench/floor.c with `workers`; `argv`: webhook's path. */
  floor(workers: number, argv: boolean): Promise<Load>;
  /** Environment that puts a server in a cpu cgroup of its own (BENCH_CGROUP), or none. */
  join(name: string): Promise<Record<string, string>>;
}

const LEVELS = [1, 8, 64] as const;
type Level = typeof LEVELS[number];
type System = "urocket" | "webhook";

interface Sample {
  load: Load;
  /** `load.rps` ÷ the same round's floor of this system's path. */
  ratio: number;
  cpu: Breakdown;
  /** Instructions per request (perf), when the machine counts them. */
  instructions?: { processes: number; machine: number };
}

/** Whether webhook is installed, and its version line. */
export async function webhookVersion(): Promise<string | undefined> {
  try {
    const output = await new Deno.Command("webhook", { args: ["-version"], stdout: "piped" })
      .output();
    return output.success ? new TextDecoder().decode(output.stdout).trim() : undefined;
  } catch {
    return undefined;
  }
}

/** A free TCP port on 127.0.0.1. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Starts webhook with one hook running `echo`, its output piped into `cat`. */
async function startWebhook(deps: CompareDeps) {
  const { out, dir } = deps;
  const hooks = `${dir}/hooks.json`;
  await Deno.writeTextFile(
    hooks,
    JSON.stringify([{
      id: "bench",
      "execute-command": `${out}/echo`,
      "command-working-directory": dir,
      "include-command-output-in-response": true,
      "pass-arguments-to-command": [{ source: "entire-payload" }],
    }]),
  );
  const port = freePort();
  const flags = (Deno.env.get("BENCH_WEBHOOK_FLAGS") ?? "").split(/\s+/).filter(Boolean);
  const shell = new Deno.Command("sh", {
    args: [
      "-c",
      'eval "${BENCH_JOIN:-:}"; webhook "$@" 2>&1 | cat >/dev/null',
      "sh",
      "-hooks",
      hooks,
      "-ip",
      "127.0.0.1",
      "-port",
      String(port),
      ...flags,
    ],
    cwd: dir,
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: Deno.env.get("HOME") ?? "/root",
      ...await deps.join("webhook"),
    },
    stdin: "null",
  }).spawn();
  const started = performance.now();
  for (;;) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      if (performance.now() - started > 10_000) throw new Error("webhook did not start");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  const children = await childrenOf(shell.pid);
  const server = children.find((c) => c.name === "webhook")?.pid;
  if (server === undefined) throw new Error("webhook's pid not found");
  return {
    url: `http://127.0.0.1:${port}/hooks/bench`,
    roles: { server, logReader: children.find((c) => c.name === "cat")?.pid } as Roles,
    async stop() {
      Deno.kill(server, "SIGTERM");
      await shell.status;
    },
  };
}

/** urocket's roles: deno, its spawn helper, and the `cat` beside it reading its log. */
async function urocketRoles(pid: number): Promise<Roles> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  return {
    server: pid,
    helper: (await childrenOf(pid)).find((c) => c.name === "urocket-spawn")?.pid,
    logReader: (await childrenOf(parent)).find((c) => c.name === "cat")?.pid,
  };
}

/** Measures one wrk run with the CPU breakdown (and instructions, when perf counts them). */
async function measure(
  deps: CompareDeps,
  url: string,
  roles: Roles,
  connections: number,
  perf: boolean,
): Promise<Omit<Sample, "ratio">> {
  const before = await read(roles);
  const pids = [roles.server, roles.helper].filter((pid): pid is number => pid !== undefined);
  const [load, instructions] = await Promise.all([
    deps.wrk(url, connections),
    perf ? perfInstructions(pids, deps.seconds) : undefined,
  ]);
  const after = await read(roles);
  const cpu = breakdown(before, after, load.requests);
  if (!instructions) return { load, cpu };
  return {
    load,
    cpu,
    instructions: {
      processes: instructions.processes / load.requests,
      machine: instructions.machine / load.requests,
    },
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const f1 = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);
const f3 = (n: number) => n.toFixed(3);

/** Runs the comparison and returns its tables. */
export async function compareWithWebhook(deps: CompareDeps): Promise<string> {
  const version = await webhookVersion();
  if (!version) {
    return "webhook: not installed (Debian: apt-get install webhook); comparison skipped";
  }
  const perf = await perfCountsInstructions();
  const samples = {
    urocket: new Map<Level, Sample[]>(LEVELS.map((c) => [c, []])),
    webhook: new Map<Level, Sample[]>(LEVELS.map((c) => [c, []])),
  };
  const floors: Record<System, { seq: number[]; two: number[] }> = {
    urocket: { seq: [], two: [] },
    webhook: { seq: [], two: [] },
  };
  const uro = await deps.startUrocket();
  const hook = await startWebhook(deps);
  try {
    const urls: Record<System, string> = { urocket: `${uro.url}/bench`, webhook: hook.url };
    const roles: Record<System, Roles> = {
      urocket: await urocketRoles(uro.pid),
      webhook: hook.roles,
    };
    // Warm-up (JIT, Go's runtime), not counted.
    await deps.wrk(urls.urocket, 8, 2);
    await deps.wrk(urls.webhook, 8, 2);
    for (let round = 0; round < deps.rounds; round++) {
      const order: System[] = round % 2 ? ["webhook", "urocket"] : ["urocket", "webhook"];
      const floor: Record<System, { seq: number; two: number }> = {
        urocket: { seq: 0, two: 0 },
        webhook: { seq: 0, two: 0 },
      };
      for (const system of order) {
        floor[system] = {
          seq: (await deps.floor(1, system === "webhook")).rps,
          two: (await deps.floor(2, system === "webhook")).rps,
        };
        floors[system].seq.push(floor[system].seq);
        floors[system].two.push(floor[system].two);
      }
      for (const c of LEVELS) {
        for (const system of order) {
          const sample = await measure(deps, urls[system], roles[system], c, perf);
          const base = c === 1 ? floor[system].seq : floor[system].two;
          samples[system].get(c)!.push({ ...sample, ratio: sample.load.rps / base });
        }
      }
    }
  } finally {
    await hook.stop();
    await uro.stop();
  }
  return report(samples, floors, { version, perf, rounds: deps.rounds, seconds: deps.seconds });
}

function report(
  samples: Record<System, Map<Level, Sample[]>>,
  floors: Record<System, { seq: number[]; two: number[] }>,
  info: { version: string; perf: boolean; rounds: number; seconds: number },
): string {
  const m = (system: System, c: Level, pick: (s: Sample) => number) =>
    median(samples[system].get(c)!.map(pick));
  const flags = Deno.env.get("BENCH_WEBHOOK_FLAGS") || "none";
  const lines = [
    `urocket beside ${info.version} (extra flags: ${flags}), same run: ${info.rounds} rounds, ` +
    `${info.seconds} s per wrk run, medians; each server in a cpu cgroup of its own: ` +
    (Deno.env.get("BENCH_CGROUP") === "1" ? "yes" : "no"),
    "",
    "| c | urocket req/s | webhook req/s | urocket ÷ webhook | urocket p99 ms | webhook p99 ms | " +
    "urocket × its floor | webhook × its floor | errors |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  for (const c of LEVELS) {
    const errors = (system: System) =>
      samples[system].get(c)!.reduce((sum, s) => sum + s.load.errors, 0);
    const ratios = samples.urocket.get(c)!.map((s, i) =>
      s.load.rps / samples.webhook.get(c)![i].load.rps
    );
    lines.push(
      `| ${c} | ${f1(m("urocket", c, (s) => s.load.rps))} | ${
        f1(m("webhook", c, (s) => s.load.rps))
      } | ${f2(median(ratios))} | ${f2(m("urocket", c, (s) => s.load.p99))} | ${
        f2(m("webhook", c, (s) => s.load.p99))
      } | ${f2(m("urocket", c, (s) => s.ratio))} | ${f2(m("webhook", c, (s) => s.ratio))} | ${
        errors("urocket")
      } / ${errors("webhook")} |`,
    );
  }
  lines.push(
    "",
    `floors (spawns/s, sequential / 2 workers): urocket's path ${
      f1(median(floors.urocket.seq))
    } / ${f1(median(floors.urocket.two))}, webhook's path ${f1(median(floors.webhook.seq))} / ${
      f1(median(floors.webhook.two))
    }`,
    "",
    "CPU per request, ms (medians; from /proc; handlers = children reaped by the spawn helper " +
      "or by webhook; rest = wrk, the kernel's own work and anything else running):",
    "",
    "| system | c | main thread | other threads | spawn helper | handlers | log reader | rest | " +
      "idle | all busy |",
    "|---|---|---|---|---|---|---|---|---|---|",
  );
  for (const system of ["urocket", "webhook"] as const) {
    for (const c of LEVELS) {
      const cpu = (key: keyof Breakdown) => m(system, c, (s) => s.cpu[key]);
      const busy = m(
        system,
        c,
        (s) =>
          s.cpu.serverMain + s.cpu.serverOther + s.cpu.helper + s.cpu.handlers +
          s.cpu.logReader + s.cpu.rest,
      );
      lines.push(
        `| ${system} | ${c} | ${f3(cpu("serverMain"))} | ${f3(cpu("serverOther"))} | ${
          system === "urocket" ? f3(cpu("helper")) : "—"
        } | ${f3(cpu("handlers"))} | ${f3(cpu("logReader"))} | ${f3(cpu("rest"))} | ${
          f3(cpu("idle"))
        } | ${f3(busy)} |`,
      );
    }
  }
  lines.push("");
  if (info.perf) {
    lines.push(
      "instructions per request (perf stat; servers: all threads, urocket with its helper):",
    );
    for (const system of ["urocket", "webhook"] as const) {
      lines.push(
        `  ${system}: ` +
          LEVELS.map((c) =>
            `c=${c} ${(m(system, c, (s) => s.instructions?.processes ?? NaN) / 1e3).toFixed(0)}k ` +
            `(machine ${(m(system, c, (s) => s.instructions?.machine ?? NaN) / 1e3).toFixed(0)}k)`
          ).join(", "),
      );
    }
  } else {
    lines.push("instructions: perf cannot count them on this system (no hardware counters)");
  }
  lines.push(
    "each round's req/s: " +
      (["urocket", "webhook"] as const).map((system) =>
        `${system} ` +
        LEVELS.map((c) =>
          `c=${c} ${samples[system].get(c)!.map((s) => s.load.rps.toFixed(0)).join("/")}`
        ).join(", ")
      ).join("; "),
  );
  return lines.join("\n");
}
