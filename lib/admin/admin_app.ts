/**
 * The admin listener's app: liveness, readiness and metrics, on an address
 * of their own so that nothing collides with the OpenAPI document's paths.
 *
 * @module
 */

import { Hono } from "hono";

/**
 * Where the service is in its life, as readiness reports it: only `ready`
 * answers 200. `not_accepting`: the front or the reply socket cannot
 * accept connections (at the limit on open descriptors); `socket_missing`:
 * the reply socket file is gone or replaced, and not yet recreated.
 */
export type Readiness = "starting" | "ready" | "draining" | "not_accepting" | "socket_missing";

/** What the admin app needs. */
export interface AdminDeps {
  /** The service's current state; read on every `/readyz`. */
  readiness: () => Readiness;
  /** The metrics in Prometheus text format. */
  metrics: () => string;
  /** The content type of {@link metrics}' text. */
  metricsContentType: string;
  /** The console's routes (`/`, `/api/…`), mounted beside the probes when given. */
  console?: Hono;
}

const TEXT = { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" };

/**
 * Builds the admin app. Serve it with `Deno.serve(options, app.fetch)`.
 *
 * - `GET /healthz`: 200 while the process runs (liveness).
 * - `GET /readyz`: 200 when config is loaded and the front and the socket
 *   listen; 503 while starting or draining, while the front cannot accept,
 *   and while the reply socket is missing (readiness).
 * - `GET /metrics`: Prometheus text.
 * - `GET /` and `/api/…`: the console, when `deps.console` is given.
 *
 * @example
 * ```ts
 * const app = createAdminApp({ readiness: () => "ready", metrics: () => "", metricsContentType: "text/plain" });
 * (await app.request("/readyz")).status; // 200
 * ```
 */
export function createAdminApp(deps: AdminDeps): Hono {
  const app = new Hono();
  app.get("/healthz", () => new Response("ok\n", { headers: TEXT }));
  app.get("/readyz", () => {
    const state = deps.readiness();
    return new Response(`${state}\n`, { status: state === "ready" ? 200 : 503, headers: TEXT });
  });
  app.get("/metrics", () =>
    new Response(deps.metrics(), {
      headers: { "content-type": deps.metricsContentType, "cache-control": "no-store" },
    }));
  if (deps.console) app.route("/", deps.console);
  app.notFound(() =>
    new Response("Not found: try /healthz, /readyz or /metrics\n", { status: 404, headers: TEXT })
  );
  return app;
}
