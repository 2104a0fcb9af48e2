/**
 * The end of an exchange: how the wait for the reply ended becomes its
 * outcome — the reply delivered (whole, or streamed within `max-reply` and
 * `stream-timeout`), after `validate-out` when it is on; or the problem the
 * client gets instead.
 *
 * @module
 */

// The backstop is the config's: stream-timeout's bound leaves room for it below a timer's limit.
import { STREAM_KILL_BACKSTOP_MS } from "../config/mod.ts";
import type { Operation } from "../generation/mod.ts";
import { HttpProblem } from "../http/mod.ts";
import type { Verdict } from "../openapi/validation/mod.ts";
import type { ReplyEvent } from "../pending/mod.ts";
import type { ProcessGroup } from "../process/mod.ts";
import type { ExchangeDeps, ExchangeRequest } from "./deps.ts";
import { type Outcome, type OutcomeKind, shuttingDown, type StreamEnd } from "./outcome.ts";
import { streamReply, type StreamReplyEnd } from "./stream_reply.ts";
import type { Waited } from "./wait.ts";

type Delivered = Extract<ReplyEvent, { kind: "reply" }>;

/** The outcome of a request whose process `group` was waited for until `waited`. */
export function respond(
  deps: ExchangeDeps,
  request: ExchangeRequest,
  group: ProcessGroup,
  waited: Waited,
): Outcome {
  const { operation } = request;
  const op = operation.config;
  switch (waited.kind) {
    case "reply":
      return deliver(deps, request, group, waited.event);
    case "too_large":
      return failed(
        "reply_too_large",
        "bad_gateway",
        "The handler's reply was larger than max-reply",
      );
    case "timeout":
      deps.metrics?.timedOut(operation.name);
      group.kill("timeout");
      return failed("timeout", "timeout", `The handler did not reply within ${op.timeoutMs} ms`);
    case "exited":
      return failed("no_reply", "bad_gateway", "The handler exited without replying");
    case "oom":
      return failed(
        "oom_killed",
        "bad_gateway",
        "The handler was killed for exceeding its memory limit" +
          (op.limits?.memoryBytes !== undefined
            ? ` (limits.memory: ${formatBytes(op.limits.memoryBytes)})`
            : ""),
      );
    case "shutdown":
      group.kill("shutdown");
      return { kind: "shutdown", answer: { kind: "problem", error: shuttingDown() } };
    case "client_gone":
      group.kill("client_gone");
      return { kind: "client_gone", answer: { kind: "client_gone" } };
  }
}

function failed(
  kind: OutcomeKind,
  problem: "bad_gateway" | "timeout",
  detail: string,
): Outcome {
  return { kind, answer: { kind: "problem", error: new HttpProblem(problem, detail) } };
}

/** The reply, checked against the contract when `validate-out` is on, goes to the client. */
function deliver(
  deps: ExchangeDeps,
  request: ExchangeRequest,
  group: ProcessGroup,
  event: Delivered,
): Outcome {
  const { operation, requestId } = request;
  if (operation.config.validateOut && operation.validator) {
    const refused = checkReply(event, operation);
    if (refused) return refused;
  }
  const { reply, settle } = event;
  // The reply's own Headers, built for this reply alone: no copy needed.
  reply.headers.set("x-request-id", requestId);
  const head = request.request.method === "HEAD";
  if (reply.body instanceof Uint8Array) {
    settle({ kind: "delivered" });
    return {
      kind: "replied",
      answer: {
        kind: "reply",
        status: reply.status,
        headers: reply.headers,
        body: reply.body.length ? reply.body : null,
      },
      bytes: head ? 0 : reply.body.length,
    };
  }
  deps.observer?.streaming(requestId);
  const { body, streamed } = stream(deps, request, group, event);
  if (head) {
    // The answer to a HEAD has no body, so nothing would read this one and the replier would
    // wait for stream-timeout: it is read here, within the same bounds, and dropped.
    body.pipeTo(new WritableStream()).catch(() => {});
  }
  return {
    kind: "replied",
    answer: {
      kind: "reply",
      status: reply.status,
      headers: reply.headers,
      body: head ? null : body,
    },
    streamed,
  };
}

/**
 * A reply whose body streams: while it does, `stream-timeout` (from now)
 * replaces `timeout` as the kill deadline. The stream is cut at
 * `stream-timeout` and the group killed here; the group's own deadline is a
 * backstop a little later, so that the kill never breaks the stream first
 * (which would read as the replier breaking off).
 */
function stream(
  deps: ExchangeDeps,
  request: ExchangeRequest,
  group: ProcessGroup,
  { reply, settle }: Delivered,
): { body: ReadableStream<Uint8Array>; streamed: Promise<StreamEnd> } {
  const op = request.operation.config;
  const head = request.request.method === "HEAD";
  const deadline = group.moveDeadline(
    op.streamTimeoutMs + STREAM_KILL_BACKSTOP_MS,
    "stream_timeout",
  );
  let ended!: (end: StreamEnd) => void;
  const streamed = new Promise<StreamEnd>((resolve) => ended = resolve);
  const body = streamReply(reply.body as ReadableStream<Uint8Array>, {
    maxBytes: op.maxReply,
    timeoutMs: op.streamTimeoutMs,
    onEnd(end, bytes) {
      const kind = STREAM_OUTCOME[end];
      if (end === "delivered") {
        settle({ kind: "delivered" });
        group.restoreDeadline(deadline);
      } else if (end === "client_gone") {
        settle({ kind: "gone" });
        group.kill("client_gone");
      } else {
        deps.logger.warn("reply_cut", { req_id: request.requestId, reason: kind, bytes });
        if (end === "timeout") {
          settle({ kind: "gone" });
          group.kill("stream_timeout");
        } else {
          settle({ kind: end === "too_large" ? "too_large" : "gone" });
          group.restoreDeadline(deadline);
        }
      }
      ended({ kind, bytes: head ? 0 : bytes });
    },
  });
  return { body, streamed };
}

const STREAM_OUTCOME: Record<StreamReplyEnd, OutcomeKind> = {
  delivered: "replied",
  client_gone: "client_gone",
  too_large: "reply_too_large",
  broken: "reply_broken",
  timeout: "stream_timeout",
};

/**
 * With `validate-out`: a reply that breaks the contract never reaches the
 * client, who gets a 502 without internals; the replier gets the errors (422)
 * and the id is consumed.
 */
function checkReply(event: Delivered, operation: Operation): Outcome | undefined {
  const { reply, settle } = event;
  // validate-out replies are always collected whole (see PendingOptions.collect).
  if (!(reply.body instanceof Uint8Array)) return undefined;
  let verdict: Verdict;
  try {
    verdict = operation.validator!.checkReply({
      status: reply.status,
      headers: reply.headers,
      body: reply.body,
    });
  } catch (error) {
    // Never leave the replier waiting; the client gets a 500 and the error is logged.
    settle({
      kind: "invalid",
      errors: [{ in: "body", pointer: "", message: "cannot be validated" }],
    });
    throw error;
  }
  if (verdict.ok) return undefined;
  settle({ kind: "invalid", errors: verdict.errors });
  return {
    ...failed("invalid_reply", "bad_gateway", "The handler's reply did not match the API contract"),
    errors: verdict.errors,
  };
}

/** `268435456` → `256 MiB`; bytes as they are when not a whole number of KiB, MiB or GiB. */
function formatBytes(bytes: number): string {
  for (const [unit, size] of [["GiB", 1024 ** 3], ["MiB", 1024 ** 2], ["KiB", 1024]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return `${bytes} bytes`;
}
