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
  const skipped = results.filter((r) => r.skipped);
  const accepted = tried.filter((r) => r.check!.result === "ok");
  const started = tried.filter((r) => r.serve?.started);
  const reasons = new Map<string, Set<string>>();
  for (const r of tried.filter((r) => r.check!.result !== "ok")) {
    const kinds = r.check!.result === "refused"
      ? new Set(r.check!.problems.filter((l) => !l.startsWith("urocket check:")).map(reasonOf))
      : new Set([r.check!.result]);
    for (const kind of kinds) {
      reasons.set(kind, (reasons.get(kind) ?? new Set()).add(r.document.id));
    }
  }
  const outcomes = tried.flatMap((r) => r.serve?.outcomes ?? []);
  const valid = outcomes.filter((o) => o.request.kind === "valid");
  const invalid = outcomes.filter((o) => o.request.kind === "invalid");
  const errors = outcomes.filter((o) => o.verdict === "server_error");
  const say = (label: string, value: string | number) =>
    console.log(`${label.padEnd(44)} ${value}`);
  console.log("\nReal OpenAPI documents: totals");
  say("documents", `${results.length} (${skipped.length} skipped: not OpenAPI 3 or unparsable)`);
  say("documents `check` accepts", `${accepted.length} / ${tried.length}`);
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
  say(
    "valid requests answered 500",
    `${count(valid, "server_error")} / ${valid.length} in ${
      new Set(errors.map((o) => o.request.operation.path)).size
    } operations`,
  );
  say(
    "valid requests reaching the handler",
    `${
      valid.length - count(valid, "refused") -
      count(valid, "server_error") - count(valid, "not_found") - count(valid, "other")
    } / ${valid.length}`,
  );
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
  say("`check` time (median / p90 / max)", stats(tried.map((r) => r.check!.ms / 1000), 1, "s"));
  say(
    "`check` CPU time (median / p90 / max)",
    stats(tried.filter((r) => r.check!.cpuMs).map((r) => r.check!.cpuMs! / 1000), 1, "s"),
  );
  say(
    "time to ready (median / p90 / max)",
    stats(started.map((r) => r.serve!.readyMs! / 1000), 1, "s"),
  );
  say(
    "CPU time to ready (median / p90 / max)",
    stats(
      started.filter((r) => r.serve!.readyCpuMs).map((r) => r.serve!.readyCpuMs! / 1000),
      1,
      "s",
    ),
  );
  say("RSS at ready (median / p90 / max)", stats(started.map((r) => r.serve!.rssMiB!), 0, "MiB"));
  if (reasons.size > 0) {
    console.log("\n`check` refusals by reason (documents):");
    for (const [reason, ids] of [...reasons].sort((a, b) => b[1].size - a[1].size)) {
      console.log(
        `  ${String(ids.size).padStart(3)}  ${reason}  [${[...ids].slice(0, 4).join(", ")}${
          ids.size > 4 ? ", …" : ""
        }]`,
      );
    }
  }
  const failed = tried.filter((r) => r.serve && !r.serve.started && r.check!.result === "ok");
  for (const r of failed) console.log(`\nserve refused ${r.document.id}:\n${r.serve!.failure}`);
  if (errors.length > 0) {
    console.log("\n500s, by document (operations, first log line):");
    for (const r of tried) {
      const bad = (r.serve?.outcomes ?? []).filter((o) => o.verdict === "server_error");
      if (bad.length === 0) continue;
      const ops = new Set(bad.map((o) => `${o.request.method} ${o.request.operation.path}`));
      console.log(
        `  ${r.document.id}: ${bad.length} × 500 in ${ops.size} operations, e.g. ${[...ops][0]}`,
      );
      const log = bad.find((o) => o.log)?.log;
      if (log) console.log(`    ${log.split("\n")[0].slice(0, 300)}`);
    }
  }
  const refusedValid = valid.filter((o) =>
    o.verdict === "refused" || o.verdict === "reply_refused"
  );
  if (refusedValid.length > 0) {
    const kinds = new Map<string, number>();
    for (const o of refusedValid) {
      const key = `${o.verdict} ${o.status}: ${reasonOf(o.detail.split("; ")[0])}`;
      kinds.set(key, (kinds.get(key) ?? 0) + 1);
    }
    console.log("\nvalid requests refused, by first error (sampler mistakes or urocket's):");
    for (const [kind, n] of [...kinds].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
      console.log(`  ${String(n).padStart(4)}  ${kind}`);
    }
  }
}
