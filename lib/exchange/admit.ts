/**
 * Admission: whether a request may have a process, decided before one is
 * spawned — urocket still spawns and has room, the body arrives within its
 * bounds, the request passes `validate-in`, its payload and environment fit
 * what the kernel hands a program — and then its place taken.
 *
 * @module
 */

import { HttpProblem } from "../http/mod.ts";
import { buildChildEnv, checkExecSize, type Slot } from "../process/mod.ts";
import type { ExchangeDeps, ExchangeRequest } from "./deps.ts";
import type { Admitted } from "./guard.ts";
import { Refusal, shuttingDown } from "./outcome.ts";
import { encodePayload, type Payload, payloadArgument } from "./payload.ts";
import { bodyLimitsOf, readBody } from "./request_body.ts";

/** What the process is started with, and the place it takes among the live groups. */
export interface Admission {
  args: string[];
  env: Record<string, string>;
  /** The payload, for `channel: stdin`. */
  stdin?: Uint8Array<ArrayBuffer>;
  /** Taken for the spawn: it counts for `max-inflight` from the moment it is decided. */
  slot: Slot;
}

/**
 * Admits `request`: room first (before the body is read, which may take up
 * to body-timeout and max-body bytes), then its body (the one the guard
 * read, if it did), then what the process gets — and room again, with the
 * place taken in the same turn, so that requests arriving while this spawn
 * is under way count it. Throws the problem the client gets otherwise.
 */
export async function admit(
  deps: ExchangeDeps,
  request: ExchangeRequest,
  admitted: Admitted | undefined,
): Promise<Admission> {
  refuseWhenFull(deps, request);
  const body = admitted?.body ??
    await readBody(request.request, bodyLimitsOf(request.operation.config, deps.bodies));
  const input = processInput(deps, request, body, admitted);
  // Again: the state may have changed while the body arrived.
  refuseWhenFull(deps, request);
  return { ...input, slot: deps.processes.reserve(request.operation.key) };
}

/**
 * Refuses the request when urocket no longer spawns (503, shutting down) or
 * when `max-inflight` process groups are live (503 with `Retry-After`).
 */
function refuseWhenFull(deps: ExchangeDeps, { operation, generation }: ExchangeRequest): void {
  if (deps.stopping?.aborted) throw new Refusal("shutdown", shuttingDown());
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

/**
 * What the process of `request` gets from its `body`: validated
 * (`validate-in`), turned into the payload, the argument list and the
 * environment, which must fit the kernel's limits.
 */
function processInput(
  deps: ExchangeDeps,
  request: ExchangeRequest,
  body: Uint8Array<ArrayBuffer>,
  admitted: Admitted | undefined,
): Omit<Admission, "slot"> {
  const op = request.operation.config;
  const validator = request.operation.validator;
  if (op.validateIn && validator) {
    const verdict = validator.checkRequest({
      params: request.params,
      url: request.url,
      headers: request.request.headers,
      body,
    });
    if (!verdict.ok) {
      const problem = new HttpProblem(verdict.kind, verdict.detail, {
        extra: { errors: verdict.errors },
      });
      throw new Refusal("rejected", problem, { errors: verdict.errors });
    }
  }
  const payload = encodePayload(body, request.request.headers.get("content-type"), op.encoding);
  const args = op.channel === "cmdline" ? [...op.args, payloadArgument(payload.bytes)] : op.args;
  const env = environment(deps, request, payload, admitted);
  const tooLarge = checkExecSize([op.program, ...args], env);
  if (tooLarge) {
    throw new HttpProblem(
      tooLarge.status === 414 ? "uri_too_long" : "headers_too_large",
      tooLarge.detail,
    );
  }
  return { args, env, ...(op.channel === "stdin" ? { stdin: payload.bytes } : {}) };
}

/** The process's environment: the request's facts, the operation's `env`, urocket's own few. */
function environment(
  deps: ExchangeDeps,
  { request, requestId, operation, generation, params, url, trace }: ExchangeRequest,
  payload: Payload,
  admitted: Admitted | undefined,
): Record<string, string> {
  const op = operation.config;
  for (const [name, value] of Object.entries(params)) {
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
  return buildChildEnv(
    {
      requestId,
      uriPath: url.pathname,
      method: request.method,
      queryString: admitted?.queryString ?? rawQuery(request.url),
      contentType: payload.contentType,
      contentLength: payload.bytes.length,
      pathParams: params,
      headers,
      socket: generation.config.socket,
      replyUrl: `http://localhost${replyPath}`,
      deadlineMs: Date.now() + op.timeoutMs,
      traceparent: trace?.traceparent,
      tracestate: trace?.tracestate,
      auth: admitted?.identity && { ...admitted.identity, claims: admitted.claims },
    },
    op.env,
    op.user?.home ? { ...deps.inheritedEnv, HOME: op.user.home } : deps.inheritedEnv,
  );
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
