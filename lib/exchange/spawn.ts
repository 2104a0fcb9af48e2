/**
 * The request's process group, started: a place in the process table and
 * the pending entry its reply will come to, then the spawn; and what is
 * said when the group has ended.
 *
 * @module
 */

import { HttpProblem } from "../http/mod.ts";
import type { PendingRequest } from "../pending/mod.ts";
import {
  cpuMs,
  type ExitContext,
  logProcessExit,
  type ProcessEnd,
  ProcessGroup,
  type ProcessGroupOptions,
} from "../process/mod.ts";
import type { Admission } from "./admit.ts";
import type { ExchangeDeps, ExchangeRequest } from "./deps.ts";
import { Refusal } from "./outcome.ts";

/** A request's running process, and the pending entry its reply comes to. */
export interface Started {
  pending: PendingRequest;
  group: ProcessGroup;
}

/** How long finished ids are remembered beyond the operation's timeout. */
const REMEMBER_EXTRA_MS = 60_000;

/**
 * Spawns the process of an admitted request, in the place its admission
 * took, once its pending entry is open (a reply may come before the spawn
 * is even answered).
 *
 * @throws {Refusal} `spawn_failed` when it cannot be started.
 */
export async function spawnRequest(
  deps: ExchangeDeps,
  request: ExchangeRequest,
  admission: Admission,
): Promise<Started> {
  const { requestId, operation } = request;
  const op = operation.config;
  const { slot } = admission;
  const pending = deps.registry.open(requestId, {
    route: op.outtake,
    rememberMs: op.timeoutMs + REMEMBER_EXTRA_MS,
    maxReply: op.maxReply,
    collect: op.validateOut,
    defaultContentType: operation.defaultContentType,
  });
  let group: ProcessGroup;
  try {
    group = await ProcessGroup.start({
      program: op.program,
      args: admission.args,
      cwd: op.wd,
      env: admission.env,
      stdin: op.channel === "stdin",
      stdout: op.logStdout,
      ...(op.limits ? { limits: op.limits } : {}),
      ...(op.user ? { user: op.user } : {}),
    }, groupOptions(deps, request, admission));
  } catch (error) {
    slot.failed();
    pending.end();
    throw spawnFailed(deps, request, error);
  }
  slot.started(group);
  deps.observer?.spawned(requestId, group.pid);
  // Only the names are kept for the end: the request itself may be long gone by then.
  group.ended.then((end) => ended(deps, end, { reqId: requestId, operation: operation.name }));
  return { pending, group };
}

/** The group's deadline, its output (to the log, line by line) and its stdin. */
function groupOptions(
  deps: ExchangeDeps,
  { requestId, operation }: ExchangeRequest,
  admission: Admission,
): ProcessGroupOptions {
  const op = operation.config;
  return {
    spawner: deps.spawner,
    payload: admission.stdin,
    timeoutMs: op.timeoutMs,
    killGraceMs: op.killGraceMs,
    onOutput: (stream, line, truncated) => {
      deps.observer?.output(requestId, stream, line);
      return deps.logger.offerOutput(stream, requestId, line, truncated);
    },
    logLimit: op.logLimit,
    onTruncated: (stream, bytes) =>
      deps.logger.warn("output_truncated", {
        req_id: requestId,
        operation: operation.name,
        stream,
        bytes,
        log_limit: op.logLimit,
        message: "the process passed log-limit: the rest of its output is read and discarded",
      }),
  };
}

/** Counts and logs a spawn that failed, and gives what the client is told. */
function spawnFailed(
  deps: ExchangeDeps,
  { requestId, operation }: ExchangeRequest,
  error: unknown,
): Refusal {
  const op = operation.config;
  deps.metrics?.spawnFailed(operation.name);
  deps.logger.error("spawn_failed", {
    req_id: requestId,
    operation: operation.name,
    program: op.program,
    error: (error as Error).message,
  });
  if ((error as { code?: string }).code === "E2BIG") {
    return new Refusal(
      "spawn_failed",
      op.channel === "cmdline"
        ? new HttpProblem(
          "payload_too_large",
          'The payload is too large for the command line: configure "channel: stdin"',
        )
        : new HttpProblem("headers_too_large", "The request is too large to hand to the process"),
    );
  }
  return new Refusal(
    "spawn_failed",
    new HttpProblem("bad_gateway", "The handler process could not be started", { cause: error }),
  );
}

/** The group is gone: the console, the `process_exit` line and the metrics are told. */
function ended(deps: ExchangeDeps, end: ProcessEnd, context: ExitContext): void {
  deps.observer?.processEnded(context.reqId, {
    pid: end.pid,
    exitCode: end.exitCode,
    signal: end.signal,
    killReason: end.killReason,
    lifetimeMs: end.lifetimeMs,
    cpuMs: end.stats && cpuMs(end.stats),
    maxRssKb: end.stats?.maxRssKb,
    statsSource: end.stats?.source ?? "none",
  });
  logProcessExit(deps.logger, end, context);
  deps.metrics?.processEnded({
    operation: context.operation,
    lifetimeMs: end.lifetimeMs,
    ...(end.stats
      ? {
        cpuSeconds: (end.stats.cpuUserMs + end.stats.cpuSysMs) / 1000,
        peakMemoryBytes: end.stats.maxRssKb * 1024,
      }
      : {}),
  });
}
