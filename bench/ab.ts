/**
 * `deno task bench:ab <before> [<after>]`: two trees of urocket, the same C
 * handler, under wrk in alternating rounds, so that a change of the request
 * path can be judged on a shared, noisy machine. Not a test: it measures and
 * prints.
 *
 * `before` and `after` are git refs of this repository (exported with `git
 * archive` into a temporary folder) or folders holding a checkout; `after`
 * is this checkout's working tree by default. Each tree runs with its own
 * spawn helper (built from its own `native/`), as `deno task start` runs it.
 *
 * Each round runs both trees, in turn (before-after, then after-before, …):
 * a warm-up, then wrk for AB_SECONDS; req/s, and urocket's CPU time per
 * request (all threads, and the main thread — the event loop — alone) read
 * from /proc, outside. The medians of the rounds and their ratios close the
 * report; `uptime` before and after says how loaded the machine was.
 *
 * Options (environment): AB_ROUNDS (default 6), AB_SECONDS (per run, default
 * 5), AB_CONNECTIONS (default 8).
 *
 * @module
 */

import { buildC, config, cpuMs, ensureWrk, openapi, OUT, run, startUrocket, wrk } from "./run.ts";

const REPO = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const ROUNDS = Number(Deno.env.get("AB_ROUNDS") ?? 6);
const SECONDS = Number(Deno.env.get("AB_SECONDS") ?? 5);
const CONNECTIONS = Number(Deno.env.get("AB_CONNECTIONS") ?? 8);

/** One tree to measure. */
interface Tree {
  name: string;
  /** What it was given as: a ref or a folder. */
  source: string;
  root: string;
}

/** What one run of a tree measured. */
interface Sample {
  rps: number;
  /** urocket's CPU ms per request, all threads. */
  cpu: number;
  /** The same, its main thread alone. */
  main: number;
  errors: number;
}

/** A folder holding `source`: itself when it is one, else the ref exported into `work`. */
async function checkout(name: string, source: string, work: string): Promise<Tree> {
  const isDir = await Deno.stat(source).then((info) => info.isDirectory, () => false);
  if (isDir) return { name, source, root: source.replace(/\/$/, "") };
  const root = `${work}/${name}`;
  await Deno.mkdir(root);
  const exported = await run("sh", [
    "-c",
    'git -C "$1" archive "$2" | tar -x -C "$3"',
    "sh",
    REPO,
    source,
    root,
  ]);
  if (!exported.ok) throw new Error(`Cannot export ${source}: ${exported.stderr}`);
  return { name, source, root };
}

/** Builds the tree's own spawn helper, as `deno task start` does. */
async function buildHelper(tree: Tree): Promise<void> {
  const built = await run(Deno.execPath(), ["run", "-q", "-P", "tools/build_helper.ts"], {
    cwd: tree.root,
  });
  if (!built.ok) throw new Error(`Cannot build the spawn helper of ${tree.name}: ${built.stderr}`);
}

/** One run of `tree`: started, warmed up, measured, stopped. */
async function measure(tree: Tree, dir: string): Promise<Sample> {
  const ops = [{ path: "/bench", method: "post" }];
  const uro = await startUrocket(dir, config(dir, ops), openapi(ops), {}, tree.root);
  try {
    await wrk(`${uro.url}/bench`, CONNECTIONS, 2); // warm-up (JIT), not counted
    const before = await cpuMs(uro.pid);
    const load = await wrk(`${uro.url}/bench`, CONNECTIONS, SECONDS);
    const after = await cpuMs(uro.pid);
    return {
      rps: load.rps,
      cpu: (after.all - before.all) / load.requests,
      main: (after.main - before.main) / load.requests,
      errors: load.errors,
    };
  } finally {
    await uro.stop();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function main(): Promise<void> {
  const [beforeSource, afterSource = REPO] = Deno.args;
  if (!beforeSource) {
    console.error("Usage: deno task bench:ab <before: ref or folder> [<after: ref or folder>]");
    Deno.exit(2);
  }
  await Deno.mkdir(OUT, { recursive: true });
  await buildC(`${REPO}/bench/handler.c`, `${OUT}/handler`);
  await ensureWrk();
  const work = await Deno.makeTempDir({ prefix: "urocket-ab-" });
  try {
    const trees = [
      await checkout("before", beforeSource, work),
      await checkout("after", afterSource, work),
    ];
    for (const tree of trees) await buildHelper(tree);
    console.log(
      `urocket A/B — ${new Date().toISOString()}: ${ROUNDS} rounds, wrk -t1 -c${CONNECTIONS} ` +
        `${SECONDS} s, 100-byte JSON POST, the C handler\n` +
        trees.map((t) => `${t.name}: ${t.source}`).join("\n") +
        `\nbefore: ${(await run("uptime", [])).stdout.trim()}\n`,
    );
    console.log(
      "| round | tree | req/s | CPU ms/req (main thread) | errors |\n|---|---|---|---|---|",
    );
    const samples = new Map<string, Sample[]>(trees.map((t) => [t.name, []]));
    for (let round = 1; round <= ROUNDS; round++) {
      // Each round swaps the order, so that neither tree always runs on a warmer machine.
      for (const tree of round % 2 ? trees : [...trees].reverse()) {
        const dir = await Deno.makeTempDir({ dir: work, prefix: `${tree.name}-` });
        const sample = await measure(tree, dir);
        samples.get(tree.name)!.push(sample);
        console.log(
          `| ${round} | ${tree.name} | ${sample.rps.toFixed(1)} | ${sample.cpu.toFixed(3)} ` +
            `(${sample.main.toFixed(3)}) | ${sample.errors} |`,
        );
      }
    }
    const summary = (name: string) => {
      const runs = samples.get(name)!;
      return {
        rps: median(runs.map((s) => s.rps)),
        cpu: median(runs.map((s) => s.cpu)),
        main: median(runs.map((s) => s.main)),
      };
    };
    const [a, b] = [summary("before"), summary("after")];
    console.log(
      `\nmedians: before ${a.rps.toFixed(1)} req/s, ${a.cpu.toFixed(3)} (${a.main.toFixed(3)}) ` +
        `CPU ms/req; after ${b.rps.toFixed(1)} req/s, ${b.cpu.toFixed(3)} (${b.main.toFixed(3)})` +
        `\nafter / before: req/s ${(b.rps / a.rps).toFixed(3)}, CPU per request ` +
        `${(b.cpu / a.cpu).toFixed(3)} (main thread ${(b.main / a.main).toFixed(3)})` +
        `\nafter: ${(await run("uptime", [])).stdout.trim()}`,
    );
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) await main();
