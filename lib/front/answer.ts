/**
 * The front's last step: an exchange's outcome becomes the client's HTTP
 * answer (the reply, problem+json, or nothing for a client that left) and
 * the request's one access line — at once, or when a streamed reply's body
 * has ended.
 *
 * @module
 */

import type { ExchangeObserver } from "../console/mod.ts";
import type { Outcome, OutcomeKind } from "../exchange/mod.ts";
import { problemResponse, toProblem } from "../http/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { Metrics } from "../metrics/mod.ts";

/** What {@link answer} tells besides the client. */
export interface AnswerDeps {
  logger: Logger;
  metrics?: Metrics;
  observer?: ExchangeObserver;
  /** Aborted when urocket starts to drain: every answer then carries `Connection: close`. */
  draining?: AbortSignal;
}

/** What the access line says of a request besides its outcome. */
export interface AccessContext {
  request: Request;
  requestId: string;
  traceId: string;
  /** The request path, without its query. */
  path: string;
  /** The operation's name, when one was routed. */
  operation?: string;
  /** The metrics' operation label: bounded, never a raw path (see lib/metrics/metrics.ts). */
  label: string;
  /** When the request arrived, in performance.now() time. */
  started: number;
}

/** Longest client `X-Request-Id` copied into the log. */
const MAX_CLIENT_ID = 128;

/** The client's response for `outcome`; the access line is written (or will be) with it. */
export function answer(deps: AnswerDeps, outcome: Outcome, context: AccessContext): Response {
  const reply = outcome.answer;
  const answeredMs = Math.round(performance.now() - context.started);
  if (reply.kind === "client_gone") {
    writeAccess(deps, outcome, context, { status: 499, durationMs: answeredMs });
    return closeWhenDraining(new Response(null, { status: 499 }), deps);
  }
  if (reply.kind === "problem") {
    const problem = toProblem(reply.error);
    if (problem.kind === "internal") {
      const error = reply.error;
      deps.logger.error("internal_error", {
        req_id: context.requestId,
        error: error instanceof Error ? error.stack ?? error.message : String(error),
      });
    }
    deps.metrics?.answered(context.label, answeredMs / 1000);
    writeAccess(deps, outcome, context, { status: problem.status, durationMs: answeredMs });
    return closeWhenDraining(problemResponse(problem, context.requestId), deps);
  }
  deps.metrics?.answered(context.label, answeredMs / 1000);
  const line = { status: reply.status, durationMs: answeredMs };
  if (outcome.streamed) {
    outcome.streamed.then((end) => writeAccess(deps, outcome, context, { ...line, ...end }));
  } else {
    writeAccess(deps, outcome, context, line);
  }
  return closeWhenDraining(
    new Response(reply.body, { status: reply.status, headers: reply.headers }),
    deps,
  );
}

/** What the access line says that the outcome alone does not. */
interface LineFacts {
  status: number;
  durationMs: number;
  /** How a streamed reply ended, when it did: replaces the outcome's. */
  kind?: OutcomeKind;
  bytes?: number;
}

/** The request's one access line, and the metrics and the console told alike. */
function writeAccess(
  deps: AnswerDeps,
  outcome: Outcome,
  context: AccessContext,
  { status, durationMs, kind = outcome.kind, bytes = outcome.bytes }: LineFacts,
): void {
  const { request } = context;
  const clientId = request.headers.get("x-request-id");
  const auth = outcome.auth;
  const droppedLines = outcome.process?.droppedLines;
  deps.metrics?.requestEnded({ operation: context.label, status, outcome: kind });
  deps.observer?.finished({
    reqId: context.requestId,
    operation: context.operation,
    method: request.method,
    path: context.path,
    status,
    outcome: kind,
    durationMs,
  });
  deps.logger.info("access", {
    req_id: context.requestId,
    trace_id: context.traceId,
    ...(clientId !== null ? { client_request_id: clientId.slice(0, MAX_CLIENT_ID) } : {}),
    method: request.method,
    path: context.path,
    operation: context.operation,
    status,
    duration_ms: durationMs,
    outcome: kind,
    pid: outcome.process?.pid,
    ...(bytes !== undefined ? { bytes } : {}),
    ...(droppedLines ? { dropped_lines: droppedLines } : {}),
    ...(outcome.errors ? { errors: outcome.errors } : {}),
    ...(auth?.scheme !== undefined ? { auth_scheme: auth.scheme } : {}),
    ...(auth?.subject !== undefined ? { auth_subject: auth.subject } : {}),
    ...(auth?.error !== undefined ? { auth_error: auth.error } : {}),
  });
}

/**
 * While urocket drains, `Connection: close` on every answer: a keep-alive
 * client then opens a new connection for its next request (to another
 * instance) instead of sending it on one that is about to close.
 */
function closeWhenDraining(response: Response, deps: AnswerDeps): Response {
  if (deps.draining?.aborted) response.headers.set("connection", "close");
  return response;
}
