/**
 * The `process_exit` line: how a request's process group ended and what it
 * used, written once its last process is gone.
 *
 * @module
 */

import type { Logger } from "../log/mod.ts";
import type { ProcessEnd, ProcessStats } from "./group.ts";

/** Which request a process group served, for its `process_exit` line. */
export interface ExitContext {
  reqId: string;
  /** The operation's name (`operationId`, else `METHOD /path`). */
  operation: string;
}

/** Logs the `process_exit` line of the group that ended with `end`. */
export function logProcessExit(logger: Logger, end: ProcessEnd, context: ExitContext): void {
  logger.info("process_exit", {
    req_id: context.reqId,
    operation: context.operation,
    pid: end.pid,
    ...(end.signal ? { signal: end.signal } : { exit_code: end.exitCode }),
    killed: end.killed,
    ...(end.killReason ? { kill_reason: end.killReason } : {}),
    ...(end.lingering ? { lingering: true } : {}),
    ...(end.oomKilled ? { oom_killed: true } : {}),
    lifetime_ms: end.lifetimeMs,
    ...(end.stats
      ? {
        cpu_user_ms: round3(end.stats.cpuUserMs),
        cpu_sys_ms: round3(end.stats.cpuSysMs),
        max_rss_kb: end.stats.maxRssKb,
      }
      : {}),
    stats_source: end.stats?.source ?? "none",
    ...(end.droppedLines ? { dropped_lines: end.droppedLines } : {}),
    ...(end.discardedBytes !== undefined ? { discarded_bytes: end.discardedBytes } : {}),
  });
}

/** User + system CPU time of `stats`, in milliseconds to the microsecond the sources give. */
export function cpuMs(stats: ProcessStats): number {
  return round3(stats.cpuUserMs + stats.cpuSysMs);
}

/** Milliseconds to the microsecond. */
function round3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
