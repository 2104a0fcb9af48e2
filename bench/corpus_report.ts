/**
 * The totals `deno task corpus` prints: documents accepted and refused (by
 * reason), served, the 500s, where the valid and invalid requests ended, and
 * `check` time, time to ready and RSS at ready as median / p90 / max.
 *
 * @module
 */

import type { DocumentResult } from "./corpus.ts";
import type { RequestOutcome } from "./corpus_probe.ts";

/** A problem line reduced to its kind: file, pointer and quoted values left out. */
export function reasonOf(line: string): string {
  const message = line
    .replace(/^\S+?:(\d+:)? /, "")
    .replace(/^(\/|paths\.|#)\S*: /, "")
    .replace(/^[A-Z]+ \/\S*: /, "")
    .replace(/ \(in a schema .* validates\)$/, "")
    .replace(/"(?:[^"\\]|\\.)*"/g, '"…"')
    .replace(/\d+/g, "N");
  return message.length > 110 ? message.slice(0, 110) + "…" : message;
}

function stats(values: number[], digits: number, unit: string): string {
  if (values.length === 0) return "-";
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return `${at(0.5).toFixed(digits)} / ${at(0.9).toFixed(digits)} / ${
    sorted[sorted.length - 1].toFixed(digits)
  } ${unit}`;
}

function count(outcomes: RequestOutcome[], verdict: string): number {
  return outcomes.filter((o) => o.verdict === verdict).length;
}

/** Prints the totals of a run. */
export function printTotals(results: readonly DocumentResult[]): void {
  const tried = results.filter((r) => r.check);
  printCounts(results, tried);
  printRefusals(tried);
  const failed = tried.filter((r) => r.serve && !r.serve.started && r.check!.result === "ok");
  for (const r of failed) console.log(`\nserve refused ${r.document.id}:\n${r.serve!.failure}`);
  printServerErrors(tried);
  printRefusedValid(tried.flatMap((r) => r.serve?.outcomes ?? []));
}

function say(label: string, value: string | number): void {
  console.log(`${label.padEnd(44)} ${value}`);
}

function printCounts(results: readonly DocumentResult[], tried: readonly DocumentResult[]): void {
  const started = tried.filter((r) => r.serve?.started);
  const outcomes = tried.flatMap((r) => r.serve?.outcomes ?? []);
  const valid = outcomes.filter((o) => o.request.kind === "valid");
  const invalid = outcomes.filter((o) => o.request.kind === "invalid");
  const errors = outcomes.filter((o) => o.verdict === "server_error");
  const skipped = results.length - tried.length;
  console.log("\nReal OpenAPI documents: totals");
  say("documents", `${results.length} (${skipped} skipped: not OpenAPI 3 or unparsable)`);
  say(
    "documents `check` accepts",
    `${tried.filter((r) => r.check!.result === "ok").length} / ${tried.length}`,
  );
  say("documents `serve` starts", `${started.length} / ${tried.length}`);
  say(
    "  started after `check` refused",
    tried.filter((r) => r.check!.result !== "ok" && r.serve?.started).length,
  );
  say(
    "  refused although `check` accepted",
    tried.filter((r) => r.check!.result === "ok" && !r.serve?.started).length,
  );
  say("crashed while serving", tried.filter((r) => r.serve?.crashed).length);
  say("operations wired (all documents tried)", tried.reduce((n, r) => n + r.operations, 0));
  const operations = new Set(errors.map((o) => `${o.request.method} ${o.request.operation.path}`));
  say(
    "valid requests answered 500",
    `${count(valid, "server_error")} / ${valid.length} in ${operations.size} operations`,
  );
  const reached = count(valid, "handled") + count(valid, "reply_refused");
  say("valid requests reaching the handler", `${reached} / ${valid.length}`);
  say("  of which the reply was refused (502)", count(valid, "reply_refused"));
  say("  valid requests refused (400/415)", count(valid, "refused"));
  say("  valid requests 404/405", count(valid, "not_found"));
  say("  valid requests, other answers", count(valid, "other"));
  say("invalid requests refused with 400", `${count(invalid, "refused")} / ${invalid.length}`);
  say("  invalid requests answered 500", count(invalid, "server_error"));
  say(
    "  invalid requests let through",
    count(invalid, "handled") + count(invalid, "reply_refused"),
  );
  const seconds = (values: (number | undefined)[]) =>
    stats(values.filter((v) => v !== undefined).map((v) => v! / 1000), 1, "s");
  say("`check` time (median / p90 / max)", seconds(tried.map((r) => r.check!.ms)));
  say("`check` CPU time (median / p90 / max)", seconds(tried.map((r) => r.check!.cpuMs)));
  say("time to ready (median / p90 / max)", seconds(started.map((r) => r.serve!.readyMs)));
  say("CPU time to ready (median / p90 / max)", seconds(started.map((r) => r.serve!.readyCpuMs)));
  say("RSS at ready (median / p90 / max)", stats(started.map((r) => r.serve!.rssMiB!), 0, "MiB"));
}

function printRefusals(tried: readonly DocumentResult[]): void {
  const reasons = new Map<string, Set<string>>();
  for (const r of tried.filter((r) => r.check!.result !== "ok")) {
    const kinds = r.check!.result === "refused"
      ? new Set(r.check!.problems.filter((l) => !l.startsWith("urocket check:")).map(reasonOf))
      : new Set([r.check!.result]);
    for (const kind of kinds) {
      reasons.set(kind, (reasons.get(kind) ?? new Set()).add(r.document.id));
    }
  }
  if (reasons.size === 0) return;
  console.log("\n`check` refusals by reason (documents):");
  for (const [reason, ids] of [...reasons].sort((a, b) => b[1].size - a[1].size)) {
    const some = [...ids].slice(0, 4).join(", ") + (ids.size > 4 ? ", …" : "");
    console.log(`  ${String(ids.size).padStart(3)}  ${reason}  [${some}]`);
  }
}

function printServerErrors(tried: readonly DocumentResult[]): void {
  const bad = tried.map((r) => ({
    r,
    bad: (r.serve?.outcomes ?? []).filter((o) => o.verdict === "server_error"),
  })).filter(({ bad }) => bad.length > 0);
  if (bad.length === 0) return;
  console.log("\n500s, by document (operations, first log line):");
  for (const { r, bad: outcomes } of bad) {
    const ops = new Set(outcomes.map((o) => `${o.request.method} ${o.request.operation.path}`));
    console.log(
      `  ${r.document.id}: ${outcomes.length} × 500 in ${ops.size} operations, e.g. ${[...ops][0]}`,
    );
    const log = outcomes.find((o) => o.log)?.log;
    if (log) console.log(`    ${log.split("\n")[0].slice(0, 300)}`);
  }
}

function printRefusedValid(outcomes: readonly RequestOutcome[]): void {
  const refused = outcomes.filter((o) =>
    o.request.kind === "valid" && (o.verdict === "refused" || o.verdict === "reply_refused")
  );
  if (refused.length === 0) return;
  const kinds = new Map<string, number>();
  for (const o of refused) {
    const key = `${o.verdict} ${o.status}: ${reasonOf(o.detail.split("; ")[0])}`;
    kinds.set(key, (kinds.get(key) ?? 0) + 1);
  }
  console.log("\nvalid requests refused, by first error (sampler mistakes or urocket's):");
  for (const [kind, n] of [...kinds].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    console.log(`  ${String(n).padStart(4)}  ${kind}`);
  }
}
