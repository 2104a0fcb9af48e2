/**
 * One request's exchange with its process: payload, environment, spawn, then
 * waiting for whichever comes first — the reply, the timeout, the process
 * exiting without replying, or the client leaving.
 *
 * @module
 */

// The backstop is the config's: stream-timeout's bound leaves room for it below a timer's limit.
import { STREAM_KILL_BACKSTOP_MS } from "../config/mod.ts";
import { type BodyBudget, HttpProblem } from "../http/mod.ts";
import type { Generation, Operation } from "../generation/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { Metrics } from "../metrics/mod.ts";
import type { ExchangeObserver } from "../console/mod.ts";
import type { ValidationError, Verdict } from "../openapi/validation/mod.ts";
import type { PendingRequest, PendingRequests, ReplyEvent } from "../pending/mod.ts";
import {
  buildChildEnv,
  checkExecSize,
  ProcessGroup,
  type ProcessTable,
  type Spawner,
} from "../process/mod.ts";
import type { Admitted } from "./guard.ts";
import { type BodyLimits, encodePayload, payloadArgument, readBody } from "./payload.ts";
import { relay } from "./stream_reply.ts";

/** What the front needs from the rest of urocket. */
export interface FrontDeps {
  /** The generation new requests use; read once per request. */
  generation: () => Generation;
  registry: PendingRequests;
  processes: ProcessTable;
  spawner: Spawner;
  logger: Logger;
  /** The variables every process inherits from urocket (PATH, HOME, LANG, TZ). */
  inheritedEnv: Record<string, string>;
  /** Where requests, spawns and process lifetimes are counted; optional so that tests may leave it out. */
  metrics?: Metrics;
  /**
   * Aborted when urocket's shutdown stops waiting (`shutdown-timeout` passed,
   * or a second signal): requests still waiting get 503 and their process
   * groups are killed; none is spawned any more.
   */
  stopping?: AbortSignal;
  /**
   * Aborted when urocket starts to drain (the first signal): every answer
   * then carries `Connection: close`, so that keep-alive clients open a new
   * connection (to another instance) rather than reuse one about to close.
   */
  draining?: AbortSignal;
  /**
   * Counts the bytes of request bodies being received (`max-body-memory`);
   * the front app makes one when none is given.
   */
  bodies?: BodyBudget;
  /** Told each step of every request's life (the console); optional. */
  observer?: ExchangeObserver;
}

/** How a request ended, for the access line. */
export type Outcome =
  | "replied"
  | "timeout"
  | "no_reply"
  | "spawn_failed"
  | "client_gone"
  | "rejected"
  | "reply_too_large"
  | "reply_broken"
  | "stream_timeout"
  | "invalid_reply"
  | "oom_killed"
  | "shutdown"
  // Refused by the operation's security (lib/exchange/guard.ts).
  | "unauthorized"
  | "forbidden"
  | "auth_busy"
  | "auth_unavailable";

/** Facts about a request the access line reports, filled in as it goes. */
export interface AccessRecord {
  outcome?: Outcome;
  pid?: number;
  /** Output lines of the process dropped because the log queue was full. */
  droppedLines?: number;
  /** Bytes of the reply body sent to the client. */
  bytes?: number;
  /** How the request or the reply broke the contract (capped list). */
  errors?: ValidationError[];
  /** The scheme(s) the caller passed, and who it is: never a credential. */
  authScheme?: string;
  authSubject?: string;
  /** Why credentials were refused (`scheme: reason`), for the log only. */
  authError?: string;
}

/** Everything an exchange starts from. */
export interface ExchangeInput {
  request: Request;
  requestId: string;
  operation: Operation;
  generation: Generation;
  params: Record<string, string>;
  url: URL;
  /** Filled in for the access line. */
  record: AccessRecord;
  /** The request's trace, handed to the process as TRACEPARENT / TRACESTATE. */
  trace?: { traceparent: string; tracestate?: string };
  /** Called once the response is complete (for a streamed reply: when its body has ended). */
  onComplete: (status: number) => void;
  /** What the operation's security let through (absent when it has none). */
  admitted?: Admitted;
}

/**
 * After the direct child exits without replying, how long a reply racing
 * the exit (say, a backgrounded curl) may still arrive.
 */
const EXIT_REPLY_GRACE_MS = 250;
/** How long finished ids are remembered beyond the operation's timeout. */
const REMEMBER_EXTRA_MS = 60_000;

/**
 * Runs the exchange for one request and returns the client's response.
 * Problems the client must hear about are thrown as {@link HttpProblem}.
 */
export async function exchange(deps: FrontDeps, input: ExchangeInput): Promise<Response> {
  const { request, requestId, operation, record } = input;
  const op = operation.config;
  const { pending, group } = await start(deps, input);
  const waited = await waitForReply(pending, group, {
    signal: request.signal,
    stopping: deps.stopping,
    timeoutMs: op.timeoutMs,
    afterExit: op.afterExit,
  });
  switch (waited.kind) {
    case "reply":
      if (op.validateOut && operation.validator) checkReply(waited.event, operation, record);
      record.outcome = "replied";
      if (!(waited.event.reply.body instanceof Uint8Array)) deps.observer?.streaming(requestId);
      return respond(waited.event, {
        requestId,
        operation,
        group,
        record,
        logger: deps.logger,
        onComplete: input.onComplete,
        head: request.method === "HEAD",
      });
    case "too_large":
      record.outcome = "reply_too_large";
      throw new HttpProblem("bad_gateway", "The handler's reply was larger than max-reply");
    case "timeout":
      record.outcome = "timeout";
      deps.metrics?.timedOut(operation.name);
      group.kill("timeout");
      throw new HttpProblem("timeout", `The handler did not reply within ${op.timeoutMs} ms`);
    case "exited":
      record.outcome = "no_reply";
      throw new HttpProblem("bad_gateway", "The handler exited without replying");
    case "oom":
      record.outcome = "oom_killed";
      throw new HttpProblem(
        "bad_gateway",
        "The handler was killed for exceeding its memory limit" +
          (op.limits?.memoryBytes !== undefined
            ? ` (limits.memory: ${formatBytes(op.limits.memoryBytes)})`
            : ""),
      );
    case "shutdown":
      record.outcome = "shutdown";
      group.kill("shutdown");
      throw shuttingDown();
    case "client_gone":
      record.outcome = "client_gone";
      group.kill("client_gone");
      return new Response(null, { status: 499 });
  }
}

/**
 * Everything before the wait: payload, checks, environment, the pending
 * entry, the spawn. Its own function so that what only the spawn needs (the
 * body, the payload, the environment) is garbage once the process runs,
 * rather than held by the waiting exchange's frame for as long as it waits.
 */
async function start(
  deps: FrontDeps,
  input: ExchangeInput,
): Promise<{ pending: PendingRequest; group: ProcessGroup }> {
  const { request, requestId, operation, generation, record } = input;
  const op = operation.config;
  const config = generation.config;

  // Refused before the body is read, which may take up to body-timeout and max-body bytes.
  refuseWhenFull(deps, input);
  const body = input.admitted?.body ?? await readBody(request, bodyLimits(deps, op));
  if (op.validateIn && operation.validator) {
    const verdict = operation.validator.checkRequest({
      params: input.params,
      url: input.url,
      headers: request.headers,
      body,
    });
    if (!verdict.ok) {
      record.errors = verdict.errors;
      throw new HttpProblem(verdict.kind, verdict.detail, { extra: { errors: verdict.errors } });
    }
  }
  const payload = encodePayload(body, request.headers.get("content-type"), op.encoding);
  const args = op.channel === "cmdline" ? [...op.args, payloadArgument(payload.bytes)] : op.args;

  for (const [name, value] of Object.entries(input.params)) {
    if (value.includes("\0")) {
      throw new HttpProblem("bad_request", `Path parameter ${JSON.stringify(name)} contains NUL`);
    }
  }
  const headers: Record<string, string> = {};
  for (const name of op.passHeaders) {
    const value = request.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  const replyPath = op.outtake.replace("{req_id}", requestId);
  const deadlineMs = Date.now() + op.timeoutMs;
  const env = buildChildEnv(
    {
      requestId,
      uriPath: input.url.pathname,
      method: request.method,
      queryString: input.admitted?.queryString ?? rawQuery(request.url),
      contentType: payload.contentType,
      contentLength: payload.bytes.length,
      pathParams: input.params,
      headers,
      socket: config.socket,
      replyUrl: `http://localhost${replyPath}`,
      deadlineMs,
      traceparent: input.trace?.traceparent,
      tracestate: input.trace?.tracestate,
      auth: input.admitted?.identity &&
        { ...input.admitted.identity, claims: input.admitted.claims },
    },
    op.env,
    op.user?.home ? { ...deps.inheritedEnv, HOME: op.user.home } : deps.inheritedEnv,
  );
  const tooLarge = checkExecSize([op.program, ...args], env);
  if (tooLarge) {
    throw new HttpProblem(
      tooLarge.status === 414 ? "uri_too_long" : "headers_too_large",
      tooLarge.detail,
    );
  }

  // Again: the state may have changed while the body arrived.
  refuseWhenFull(deps, input);
  // Taken in the same turn as the check above: requests arriving while this spawn is under way
  // count it.
  const slot = deps.processes.reserve(operation.key);
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
      args,
      cwd: op.wd,
      env,
      stdin: op.channel === "stdin",
      stdout: op.logStdout,
      ...(op.limits ? { limits: op.limits } : {}),
      ...(op.user ? { user: op.user } : {}),
    }, {
      spawner: deps.spawner,
      payload: op.channel === "stdin" ? payload.bytes : undefined,
      timeoutMs: op.timeoutMs,
      killGraceMs: op.killGraceMs,
      onOutput: (stream, line, truncated) => {
        deps.observer?.output(requestId, stream, line);
        const kept = deps.logger.offerOutput(stream, requestId, line, truncated);
        if (!kept) record.droppedLines = (record.droppedLines ?? 0) + 1;
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
    });
  } catch (error) {
    slot.failed();
    pending.end();
    record.outcome = "spawn_failed";
    deps.metrics?.spawnFailed(operation.name);
    deps.logger.error("spawn_failed", {
      req_id: requestId,
      operation: operation.name,
      program: op.program,
      error: (error as Error).message,
    });
    if ((error as { code?: string }).code === "E2BIG") {
      throw op.channel === "cmdline"
        ? new HttpProblem(
          "payload_too_large",
          'The payload is too large for the command line: configure "channel: stdin"',
        )
        : new HttpProblem("headers_too_large", "The request is too large to hand to the process");
    }
    throw new HttpProblem("bad_gateway", "The handler process could not be started", {
      cause: error,
    });
  }
  record.pid = group.pid;
  slot.started(group);
  deps.observer?.spawned(requestId, group.pid);
  group.ended.then((end) => {
    deps.observer?.processEnded(requestId, {
      pid: end.pid,
      exitCode: end.exitCode,
      signal: end.signal,
      killReason: end.killReason,
      lifetimeMs: end.lifetimeMs,
      cpuMs: end.stats && round3(end.stats.cpuUserMs + end.stats.cpuSysMs),
      maxRssKb: end.stats?.maxRssKb,
      statsSource: end.stats?.source ?? "none",
    });
    deps.logger.info("process_exit", {
      req_id: requestId,
      operation: operation.name,
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
      ...(record.droppedLines ? { dropped_lines: record.droppedLines } : {}),
      ...(end.discardedBytes !== undefined ? { discarded_bytes: end.discardedBytes } : {}),
    });
    deps.metrics?.processEnded({
      operation: operation.name,
      lifetimeMs: end.lifetimeMs,
      ...(end.stats
        ? {
          cpuSeconds: (end.stats.cpuUserMs + end.stats.cpuSysMs) / 1000,
          peakMemoryBytes: end.stats.maxRssKb * 1024,
        }
        : {}),
    });
  });
  return { pending, group };
}

/** The bounds of `operation`'s request body, counted in the front's body budget. */
export function bodyLimits(deps: FrontDeps, op: Operation["config"]): BodyLimits {
  return { maxBody: op.maxBody, bodyTimeoutMs: op.bodyTimeoutMs, budget: deps.bodies };
}

/**
 * Refuses the request when urocket no longer spawns (503, shutting down) or
 * when `max-inflight` process groups are live (503 with `Retry-After`).
 */
function refuseWhenFull(deps: FrontDeps, { operation, generation, record }: ExchangeInput): void {
  if (deps.stopping?.aborted) {
    record.outcome = "shutdown";
    throw shuttingDown();
  }
  const max = operation.config.maxInflight;
  if (
    deps.processes.live >= generation.config.maxInflight ||
    (max !== undefined && deps.processes.liveFor(operation.key) >= max)
  ) {
    throw new HttpProblem("overloaded", "Too many requests in flight: try again shortly", {
      headers: { "retry-after": "1" },
    });
  }
}

type Waited =
  | { kind: "reply"; event: Extract<ReplyEvent, { kind: "reply" }> }
  | { kind: "too_large" }
  | { kind: "timeout" }
  | { kind: "exited" }
  | { kind: "oom" }
  | { kind: "client_gone" }
  | { kind: "shutdown" };

/** The answer to a request urocket no longer serves because it is stopping. */
function shuttingDown(): HttpProblem {
  return new HttpProblem("shutting_down", "urocket is shutting down: try again", {
    headers: { "retry-after": "1" },
  });
}

/**
 * The query of `url` (a request's own, as Deno hands it over) exactly as the
 * client sent it, without `?`: `URL.search` re-encodes `"`, `'`, `<` and `>`.
 */
export function rawQuery(url: string): string {
  const start = url.indexOf("?");
  if (start === -1) return "";
  const end = url.indexOf("#", start);
  return url.slice(start + 1, end === -1 ? undefined : end);
}

/** `268435456` → `256 MiB`; bytes as they are when not a whole number of KiB, MiB or GiB. */
function formatBytes(bytes: number): string {
  for (const [unit, size] of [["GiB", 1024 ** 3], ["MiB", 1024 ** 2], ["KiB", 1024]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return `${bytes} bytes`;
}

/** Milliseconds to the microsecond the sources give. */
function round3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** What {@link waitForReply} waits on besides the reply. */
interface WaitOptions {
  /** The client's request signal: aborted when it leaves. */
  signal: AbortSignal;
  /** Aborted when urocket stops waiting for in-flight requests. */
  stopping?: AbortSignal;
  timeoutMs: number;
  afterExit: "fail" | "wait";
}

/**
 * Waits for the first of: the reply, the deadline, the exit of the direct
 * child (unless `after-exit: wait` — but an OOM kill always counts), the
 * client leaving, urocket giving up on in-flight requests. Whatever wins,
 * the pending entry is closed to late repliers unless a reply was delivered.
 *
 * One promise settled by listeners rather than a race of promises: it runs
 * once per request and its state lives as long as the request waits, so
 * every promise, reaction and closure less counts (see BENCHMARKS.md).
 */
function waitForReply(
  pending: PendingRequest,
  group: ProcessGroup,
  { signal, stopping, timeoutMs, afterExit }: WaitOptions,
): Promise<Waited> {
  return new Promise<Waited>((resolve) => {
    let settled = false;
    // Set once the wait is armed; `finish` may run before that.
    let deadline: ReturnType<typeof setTimeout> | undefined = undefined;
    let grace: ReturnType<typeof setTimeout> | undefined;
    const finish = (waited: Waited) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      if (grace !== undefined) clearTimeout(grace);
      signal.removeEventListener("abort", onAbort);
      stopping?.removeEventListener("abort", onStop);
      if (waited.kind !== "reply") {
        pending.end();
        // A reply delivered in the same turn that lost the race would wait for its answer forever
        // (and hold the reply server's shutdown): it is told the request is gone (410).
        pending.event.then((event) => {
          if (event.kind === "reply") event.settle({ kind: "gone" });
        });
      }
      resolve(waited);
    };
    const onAbort = () => finish({ kind: "client_gone" });
    const onStop = () => finish({ kind: "shutdown" });
    // Decided before the wait began (the client left during the spawn, say): nothing is armed,
    // so nothing is left on `stopping`, which lives as long as urocket.
    if (signal.aborted) return onAbort();
    if (stopping?.aborted) return onStop();
    signal.addEventListener("abort", onAbort, { once: true });
    stopping?.addEventListener("abort", onStop, { once: true });
    deadline = setTimeout(() => finish({ kind: "timeout" }), timeoutMs);
    pending.event.then((event) =>
      finish(event.kind === "reply" ? { kind: "reply", event } : { kind: "too_large" })
    );
    const exited = (oom: boolean) => {
      // Exiting after the race was decided (the usual case: reply, then exit) starts no timer.
      if (settled || (afterExit === "wait" && !oom)) return;
      const check = () => {
        grace = setTimeout(() => {
          // A reply that is arriving now may still win: looked at again after another grace, for
          // it may also break off (the deadline bounds one that neither ends nor breaks).
          if (pending.state === "receiving") check();
          else finish({ kind: oom ? "oom" : "exited" });
        }, EXIT_REPLY_GRACE_MS);
      };
      check();
    };
    group.exited.then((status) => {
      // The spawn server died and took the exit with it; the process may still run and reply.
      // The end of its group (which the group polls for) is then the exit.
      if (status.lost) group.ended.then(() => exited(false));
      else exited((status.oomKills ?? 0) > 0);
    });
  });
}

/**
 * With `validate-out`: a reply that breaks the contract never reaches the
 * client, who gets a 502 without internals; the replier gets the errors (422)
 * and the id is consumed.
 */
function checkReply(
  event: Extract<ReplyEvent, { kind: "reply" }>,
  operation: Operation,
  record: AccessRecord,
): void {
  const { reply, settle } = event;
  // validate-out replies are always collected whole (see PendingOptions.collect).
  if (!(reply.body instanceof Uint8Array)) return;
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
  if (verdict.ok) return;
  record.outcome = "invalid_reply";
  record.errors = verdict.errors;
  settle({ kind: "invalid", errors: verdict.errors });
  throw new HttpProblem("bad_gateway", "The handler's reply did not match the API contract");
}

/** Builds the client's response from a delivered reply and reports back to the replier. */
function respond(
  event: Extract<ReplyEvent, { kind: "reply" }>,
  context: {
    requestId: string;
    operation: Operation;
    group: ProcessGroup;
    record: AccessRecord;
    logger: Logger;
    onComplete: (status: number) => void;
    /** A HEAD request: the client gets no body. */
    head: boolean;
  },
): Response {
  const { reply, settle } = event;
  const { requestId, record, group, head } = context;
  const op = context.operation.config;
  // The reply's own Headers, built for this reply alone: no copy needed.
  const headers = reply.headers;
  headers.set("x-request-id", requestId);
  if (reply.body instanceof Uint8Array) {
    record.bytes = head ? 0 : reply.body.length;
    settle({ kind: "delivered" });
    context.onComplete(reply.status);
    return new Response(reply.body.length ? reply.body : null, { status: reply.status, headers });
  }
  // While the reply streams, stream-timeout (from now) replaces timeout as the kill deadline.
  // The relay cuts the stream at stream-timeout and kills the group itself; the group's own
  // deadline is a backstop a little later, so that the kill never breaks the stream first (which
  // would read as the replier breaking off).
  const deadline = group.moveDeadline(
    op.streamTimeoutMs + STREAM_KILL_BACKSTOP_MS,
    "stream_timeout",
  );
  const body = relay(reply.body, {
    maxBytes: op.maxReply,
    timeoutMs: op.streamTimeoutMs,
    onEnd(end, bytes) {
      record.bytes = head ? 0 : bytes;
      if (end === "delivered") {
        settle({ kind: "delivered" });
        group.restoreDeadline(deadline);
      } else if (end === "client_gone") {
        record.outcome = "client_gone";
        settle({ kind: "gone" });
        group.kill("client_gone");
      } else {
        record.outcome = STREAM_OUTCOME[end];
        context.logger.warn("reply_cut", { req_id: requestId, reason: record.outcome, bytes });
        if (end === "timeout") {
          settle({ kind: "gone" });
          group.kill("stream_timeout");
        } else {
          settle({ kind: end === "too_large" ? "too_large" : "gone" });
          group.restoreDeadline(deadline);
        }
      }
      context.onComplete(reply.status);
    },
  });
  if (head) {
    // The answer to a HEAD has no body, so nothing would read this one and the replier would
    // wait for stream-timeout: it is read here, within the same bounds, and dropped.
    body.pipeTo(new WritableStream()).catch(() => {});
    return new Response(null, { status: reply.status, headers });
  }
  return new Response(body, { status: reply.status, headers });
}

const STREAM_OUTCOME = {
  too_large: "reply_too_large",
  broken: "reply_broken",
  timeout: "stream_timeout",
} as const;
