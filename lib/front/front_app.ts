/**
 * The TCP edge: a Hono app that routes each request to its OpenAPI
 * operation, runs the exchange with the process, turns every error into
 * problem+json and writes the access line.
 *
 * @module
 */

import { Hono } from "hono";
import { BodyBudget, HttpProblem, problemResponse, toProblem } from "../http/mod.ts";
import type { Generation, Operation } from "../generation/mod.ts";
import {
  type AccessRecord,
  admit,
  bodyLimits,
  exchange,
  type FrontDeps,
  rawQuery,
} from "../exchange/mod.ts";
import { annotateDenoSpan, denoActiveSpan, traceContext } from "./trace.ts";

export type { FrontDeps } from "../exchange/mod.ts";

/** Longest client `X-Request-Id` copied into the log. */
const MAX_CLIENT_ID = 128;

/**
 * Builds the front app. Serve it with `Deno.serve(options, app.fetch)`.
 *
 * @example
 * ```ts
 * const app = createFrontApp({ generation: () => current, registry, processes, spawner, logger, inheritedEnv });
 * const response = await app.request("/pets"); // routed, spawned, answered
 * ```
 */
export function createFrontApp(deps: FrontDeps): Hono {
  const app = new Hono();
  const front: FrontDeps = {
    ...deps,
    bodies: deps.bodies ?? new BodyBudget(() => deps.generation().config.maxBodyMemory),
  };
  app.all("*", (c) => handle(c.req.raw, front));
  return app;
}

async function handle(request: Request, deps: FrontDeps): Promise<Response> {
  const requestId = crypto.randomUUID();
  const started = performance.now();
  const generation = deps.generation();
  const url = new URL(request.url);
  const record: AccessRecord = {};
  // Read before anything is awaited: Deno's OpenTelemetry span lives in this async context.
  const trace = traceContext(request.headers, { activeSpan: denoActiveSpan });
  let operation: Operation | undefined;
  /** The metrics' operation label: bounded, never a raw path (see lib/metrics/metrics.ts). */
  let label = "";
  let answeredMs = 0;
  const answered = () => {
    answeredMs = Math.round(performance.now() - started);
    deps.metrics?.answered(label, answeredMs / 1000);
  };
  const logAccess = (status: number) => {
    const clientId = request.headers.get("x-request-id");
    const outcome = record.outcome ?? "rejected";
    deps.metrics?.requestEnded({ operation: label, status, outcome });
    deps.observer?.finished({
      reqId: requestId,
      operation: operation?.name,
      method: request.method,
      path: url.pathname,
      status,
      outcome,
      durationMs: answeredMs || Math.round(performance.now() - started),
    });
    deps.logger.info("access", {
      req_id: requestId,
      trace_id: trace.traceId,
      ...(clientId !== null ? { client_request_id: clientId.slice(0, MAX_CLIENT_ID) } : {}),
      method: request.method,
      path: url.pathname,
      operation: operation?.name,
      status,
      duration_ms: answeredMs || Math.round(performance.now() - started),
      outcome,
      pid: record.pid,
      ...(record.bytes !== undefined ? { bytes: record.bytes } : {}),
      ...(record.droppedLines ? { dropped_lines: record.droppedLines } : {}),
      ...(record.errors ? { errors: record.errors } : {}),
      ...(record.authScheme !== undefined ? { auth_scheme: record.authScheme } : {}),
      ...(record.authSubject !== undefined ? { auth_subject: record.authSubject } : {}),
      ...(record.authError !== undefined ? { auth_error: record.authError } : {}),
    });
  };
  try {
    const match = generation.router.match(request.method, url.pathname);
    if (match.kind === "not_found") {
      throw new HttpProblem("not_found", notFoundDetail(generation.router, url.pathname));
    }
    if (match.kind === "bad_path") throw new HttpProblem("bad_request", match.detail);
    if (match.kind === "method_not_allowed") {
      throw new HttpProblem(
        "method_not_allowed",
        `${request.method} is not an operation of ${match.template}: use ${match.allow.join(", ")}`,
        { headers: { allow: match.allow.join(", ") } },
      );
    }
    annotateDenoSpan({ method: request.method, template: match.template }, requestId);
    if (match.value === null) {
      // A document operation without config: bounded by the document, so it may be a label.
      const method = request.method.toLowerCase();
      label = generation.document.operations.find((op) =>
        op.path === match.template && op.method === method
      )?.operationId ?? `${method.toUpperCase()} ${match.template}`;
      throw new HttpProblem(
        "not_implemented",
        `${request.method} ${match.template} is in the OpenAPI document but has no handler configured`,
      );
    }
    operation = match.value;
    label = operation.name;
    deps.observer?.admitted({
      reqId: requestId,
      operation: operation.name,
      method: request.method,
      path: url.pathname,
    });
    // Security before the body is read, validation and the spawn (lib/exchange/guard.ts).
    const admitted = operation.guard &&
      await admit(operation.guard, {
        request,
        requestId,
        query: rawQuery(request.url),
        bodyLimits: bodyLimits(deps, operation.config),
        record,
        logger: deps.logger,
      });
    const response = await exchange(deps, {
      request,
      requestId,
      operation,
      generation,
      params: match.params,
      url,
      record,
      trace,
      onComplete: logAccess,
      admitted,
    });
    if (record.outcome === "client_gone") {
      answeredMs = Math.round(performance.now() - started);
      logAccess(499);
    } else {
      answered();
    }
    return closeWhenDraining(response, deps);
  } catch (error) {
    const problem = toProblem(error);
    if (problem.kind === "internal") {
      deps.logger.error("internal_error", {
        req_id: requestId,
        error: error instanceof Error ? error.stack ?? error.message : String(error),
      });
    }
    answered();
    logAccess(problem.status);
    return closeWhenDraining(problemResponse(problem, requestId), deps);
  }
}

/**
 * While urocket drains, `Connection: close` on every answer: a keep-alive
 * client then opens a new connection for its next request (to another
 * instance) instead of sending it on one that is about to close.
 */
function closeWhenDraining(response: Response, deps: FrontDeps): Response {
  if (deps.draining?.aborted) response.headers.set("connection", "close");
  return response;
}

/**
 * The detail of a 404: when the path would match an operation under the
 * base path (it lacks the prefix, or has another), it says so — every route
 * of a document whose `servers[0].url` is `https://host/api/v3` lives under
 * `/api/v3`, which a client reading only `paths` does not expect.
 */
function notFoundDetail(router: Generation["router"], path: string): string {
  const detail = `No operation at ${JSON.stringify(path)}`;
  const suggested = router.suggest(path);
  if (suggested === undefined) return detail;
  return `${detail} (the base path is ${JSON.stringify(router.prefix || "/")}): ` +
    `did you mean ${JSON.stringify(suggested)}?`;
}
