/**
 * `deno task corpus`: urocket against real public OpenAPI documents. Not a
 * test and not in CI (it downloads): it measures and prints.
 *
 * For each document: every operation is wired with `validate-in` and
 * `validate-out` on to a handler that replies with a response sampled from
 * the operation's schema; `urocket check` runs; the server starts; up to
 * `--max-ops` operations get a sampled valid request and, where one can be
 * made, an invalid one. Totals: documents `check` accepts and refuses (by
 * reason), documents `serve` starts, 500s (document, operation, log
 * excerpt), valid requests reaching the handler, invalid ones refused with
 * 400, `check` time, time to ready and RSS at ready.
 *
 * Usage:
 *   deno task corpus [--sample N] [--seed S] [--official] [--names a,b] [--file PATH]…
 *                    [--max-ops N] [--timeout SECONDS] [--cache DIR] [--keep]
 *
 * - `--sample N`: N documents of the APIs-guru directory, a third each small
 *   (< 100 KB), medium and large (≥ 1 MB), drawn with `--seed` (default 1).
 * - `--official`: the documents vendors publish on npm (GitHub, Directus,
 *   Blockfrost, Figma).
 * - `--names`: directory ids (`stripe.com`, `microsoft.com/graph`).
 * - `--file`: any local document (e.g. one brought from a repository).
 * - `--all`: every document of the directory (hours).
 * - `--report FILE`: prints the totals of a past run's `results.json` again.
 * Without a selection: `--sample 60 --official`. Packages are fetched with
 * `npm pack` into `--cache` (default `$TMPDIR/urocket-corpus-cache`), never
 * into the repository. `CORPUS_UROCKET=DIR` runs another checkout of urocket
 * (e.g. a baseline made with `git archive`) with the same documents.
 *
 * @module
 */

import { parse as parseYaml } from "yaml";
import { CACHE, type CorpusDocument, loadSources, stratifiedSample } from "./corpus_sources.ts";
import {
  basePath,
  configText,
  type CorpusReply,
  type CorpusRequest,
  deref,
  listOperations,
  type Obj,
  REPLY_SH,
  sampleReply,
} from "./corpus_wire.ts";
import { buildRequests } from "./corpus_requests.ts";
import { type CheckOutcome, runCheck, runServe, type ServeOutcome } from "./corpus_probe.ts";
import { printTotals } from "./corpus_report.ts";

/** What one document gave. */
export interface DocumentResult {
  document: CorpusDocument;
  version: string;
  operations: number;
  /** Why the document was not tried (unparsable, not OpenAPI 3). */
  skipped?: string;
  check?: CheckOutcome;
  serve?: ServeOutcome;
}

interface Options {
  sample: number;
  seed: number;
  official: boolean;
  all: boolean;
  names: string[];
  files: string[];
  maxOps: number;
  timeoutMs: number;
  cache: string;
  keep: boolean;
}

function parseArgs(args: string[]): Options {
  const options: Options = {
    sample: 0,
    seed: 1,
    official: false,
    all: false,
    names: [],
    files: [],
    maxOps: 25,
    timeoutMs: 120_000,
    cache: CACHE,
    keep: false,
  };
  for (let i = 0; i < args.length; i++) {
    const value = () => args[++i] ?? "";
    switch (args[i]) {
      case "--sample":
        options.sample = Number(value());
        break;
      case "--seed":
        options.seed = Number(value());
        break;
      case "--official":
        options.official = true;
        break;
      case "--all":
        options.all = true;
        break;
      case "--names":
        options.names.push(...value().split(",").filter(Boolean));
        break;
      case "--file":
        options.files.push(value());
        break;
      case "--max-ops":
        options.maxOps = Number(value());
        break;
      case "--timeout":
        options.timeoutMs = Number(value()) * 1000;
        break;
      case "--cache":
        options.cache = value();
        break;
      case "--keep":
        options.keep = true;
        break;
      default:
        throw new Error(`Unknown argument ${JSON.stringify(args[i])}: see bench/corpus.ts`);
    }
  }
  if (!options.all && options.sample === 0 && options.names.length === 0 && !options.official) {
    if (options.files.length === 0) {
      options.sample = 60;
      options.official = true;
    }
  }
  return options;
}

async function select(options: Options): Promise<CorpusDocument[]> {
  const { directory, official } = await loadSources(options.cache);
  const picked: CorpusDocument[] = options.all
    ? [...directory]
    : stratifiedSample(directory, options.sample, options.seed);
  for (const name of options.names) {
    const found = directory.find((d) => d.id === name) ?? official.find((d) => d.id === name);
    if (!found) throw new Error(`No document ${JSON.stringify(name)} in the corpus`);
    if (!picked.includes(found)) picked.push(found);
  }
  if (options.official) picked.push(...official);
  for (const file of options.files) {
    const path = await Deno.realPath(file);
    picked.push({ id: `file:${file}`, path, size: (await Deno.stat(path)).size });
  }
  return picked;
}

/** Spreads `count` picks evenly over `items`. */
function spread<T>(items: readonly T[], count: number): T[] {
  if (items.length <= count) return [...items];
  return Array.from({ length: count }, (_, i) => items[Math.floor(i * items.length / count)]);
}

async function tryDocument(
  document: CorpusDocument,
  dir: string,
  options: Options,
): Promise<DocumentResult> {
  const text = await Deno.readTextFile(document.path);
  let doc: Obj;
  try {
    doc = (document.path.endsWith(".json") ? JSON.parse(text) : parseYaml(text)) as Obj;
  } catch (error) {
    return { document, version: "?", operations: 0, skipped: (error as Error).message };
  }
  const version = String(doc.openapi ?? doc.swagger ?? "?");
  if (!version.startsWith("3.")) {
    return { document, version, operations: 0, skipped: `not OpenAPI 3 (${version})` };
  }
  const operations = listOperations(doc);
  const ext = document.path.endsWith(".json") ? "json" : "yaml";
  await Deno.writeTextFile(`${dir}/openapi.${ext}`, text);
  await Deno.writeTextFile(`${dir}/reply.sh`, REPLY_SH);
  await Deno.writeTextFile(
    `${dir}/urocket-service.yaml`,
    configText(dir, operations).replace("openapi.json", `openapi.${ext}`),
  );
  const check = await runCheck(dir, options.timeoutMs);
  const base = basePath(doc);
  // A path with "#" or "?" (JSON-RPC style documents) cannot be requested as written, nor a
  // required body sent with GET by fetch.
  const probed = spread(
    operations.filter((op) =>
      op.method !== "head" && !/[#?]/.test(op.path) &&
      !(op.method === "get" && (deref(doc, op.op.requestBody) as Obj | undefined)?.required)
    ),
    options.maxOps,
  );
  const replies = new Map<number, CorpusReply>();
  const requests: CorpusRequest[] = [];
  await Deno.mkdir(`${dir}/r`);
  for (const op of probed) {
    const reply = sampleReply(doc, op);
    replies.set(op.index, reply);
    await Deno.writeTextFile(`${dir}/r/${op.index}.status`, String(reply.status));
    await Deno.writeTextFile(`${dir}/r/${op.index}.type`, reply.contentType);
    await Deno.writeTextFile(`${dir}/r/${op.index}.body`, reply.body);
    requests.push(...buildRequests(doc, op, base));
  }
  const serve = await runServe(dir, { requests, replies, timeoutMs: options.timeoutMs });
  return { document, version, operations: operations.length, check, serve };
}

/** JSON replacer: an operation is saved as its index, method and path, not its whole object. */
function slim(key: string, value: unknown): unknown {
  if (key !== "operation" || typeof value !== "object" || value === null) return value;
  const { index, method, path } = value as { index: number; method: string; path: string };
  return { index, method, path };
}

async function main() {
  if (Deno.args[0] === "--report") {
    printTotals(JSON.parse(await Deno.readTextFile(Deno.args[1])));
    return;
  }
  const options = parseArgs(Deno.args);
  const documents = await select(options);
  const work = await Deno.makeTempDir({ prefix: "urocket-corpus-" });
  console.error(`corpus: ${documents.length} documents, work folder ${work}`);
  const results: DocumentResult[] = [];
  for (const [i, document] of documents.entries()) {
    const dir = `${work}/${i}`;
    await Deno.mkdir(dir);
    const result = await tryDocument(document, dir, options);
    results.push(result);
    const s = result.serve;
    const bad = s?.outcomes.filter((o) => o.verdict === "server_error").length ?? 0;
    console.error(
      `corpus: [${i + 1}/${documents.length}] ${document.id} (${
        (document.size / 1e6).toFixed(2)
      } MB, ${result.operations} ops): check ${result.check?.result ?? result.skipped} ` +
        `${((result.check?.ms ?? 0) / 1000).toFixed(1)} s, serve ${
          s ? (s.started ? `ready ${(s.readyMs! / 1000).toFixed(1)} s` : "refused") : "-"
        }${bad ? `, ${bad} × 500` : ""}${s?.crashed ? ", CRASHED" : ""}`,
    );
    const keep = options.keep || bad > 0 || s?.crashed ||
      (result.check?.result === "ok") !== (s?.started ?? false);
    if (!keep) {
      await Deno.remove(dir, { recursive: true });
    } else {
      await Deno.remove(`${dir}/openapi.json`).catch(() => {});
      await Deno.remove(`${dir}/openapi.yaml`).catch(() => {});
    }
  }
  await Deno.writeTextFile(`${work}/results.json`, JSON.stringify(results, slim, 1));
  printTotals(results);
  console.log(`\ndetails: ${work}/results.json (logs of documents with a 500 or a mismatch kept)`);
}

if (import.meta.main) await main();
