/**
 * The TCP edge: a Hono app that routes each request to its OpenAPI
 * operation, hands it to the exchange, and turns the outcome into the HTTP
 * answer and the access line.
 *
 * @module
 */

import { Hono } from "hono";
import { exchange, type ExchangeDeps, type Outcome } from "../exchange/mod.ts";
import type { Generation } from "../generation/mod.ts";
import { BodyBudget } from "../http/mod.ts";
import { type AccessContext, answer } from "./answer.ts";
import { route } from "./route.ts";
import { denoActiveSpan, traceContext } from "./trace.ts";

/** What the front needs from the rest of urocket: the exchange's, and its own. */
export interface FrontDeps extends ExchangeDeps {
  /** The generation new requests use; read once per request. */
  generation: () => Generation;
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
}

/**
 * Builds the front app. Serve it with `Deno.serve(options, app.fetch)`.
 *
 * @example
 * ```ts
 * import { Logger } from "../log/mod.ts";
 * import { PendingRequests } from "../pending/mod.ts";
 * import { detachedSpawner, ProcessTable } from "../process/mod.ts";
 * import type { Generation } from "../generation/mod.ts";
 *
 * declare const current: Generation;
 * const app = createFrontApp({
 *   generation: () => current,
 *   registry: new PendingRequests(),
 *   processes: new ProcessTable(),
 *   spawner: detachedSpawner,
 *   logger: new Logger({ write: () => Promise.resolve() }),
 *   inheritedEnv: { PATH: "/usr/bin:/bin" },
 * });
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

/** One request, top to bottom: routed, exchanged, answered. */
async function handle(request: Request, deps: FrontDeps): Promise<Response> {
  const requestId = crypto.randomUUID();
  const started = performance.now();
  const generation = deps.generation();
  const url = new URL(request.url);
  // Read before anything is awaited: Deno's OpenTelemetry span lives in this async context.
  const trace = traceContext(request.headers, { activeSpan: denoActiveSpan });
  const context: AccessContext = {
    request,
    requestId,
    traceId: trace.traceId,
    path: url.pathname,
    label: "",
    started,
  };
  let outcome: Outcome;
  try {
    const routed = route(generation, request, { path: url.pathname, requestId });
    if (routed.kind === "refused") {
      context.label = routed.label;
      outcome = { kind: "rejected", answer: { kind: "problem", error: routed.problem } };
    } else {
      context.operation = context.label = routed.operation.name;
      outcome = await exchange(deps, {
        request,
        requestId,
        operation: routed.operation,
        generation,
        params: routed.params,
        url,
        trace,
      });
    }
  } catch (error) {
    // The exchange never throws; routing should not either: any bug still gets its 500.
    outcome = { kind: "rejected", answer: { kind: "problem", error } };
  }
  return answer(deps, outcome, context);
}
