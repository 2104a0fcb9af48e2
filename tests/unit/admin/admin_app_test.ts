import { strictEqual } from "node:assert/strict";
import { createAdminApp, type Readiness } from "../../../lib/admin/admin_app.ts";

function setup(state: Readiness = "ready") {
  const current = { state, scrapes: 0 };
  const app = createAdminApp({
    readiness: () => current.state,
    metrics: () => `m_total ${++current.scrapes}\n`,
    metricsContentType: "text/plain; version=0.0.4; charset=utf-8",
  });
  return { app, current };
}

Deno.test("createAdminApp() answers /healthz 200 whatever the readiness", async () => {
  const { app, current } = setup();
  for (const state of ["starting", "ready", "draining"] as const) {
    current.state = state;
    const response = await app.request("/healthz");
    strictEqual(response.status, 200, state);
    strictEqual(await response.text(), "ok\n");
  }
});

Deno.test("createAdminApp() answers /readyz 200 only when ready, 503 while starting, draining, not accepting or without socket", async () => {
  const { app, current } = setup("starting");
  const expected = {
    starting: 503,
    ready: 200,
    draining: 503,
    not_accepting: 503,
    socket_missing: 503,
  } as const;
  for (const state of Object.keys(expected) as (keyof typeof expected)[]) {
    current.state = state;
    const response = await app.request("/readyz");
    strictEqual(response.status, expected[state], state);
    strictEqual(await response.text(), `${state}\n`);
    strictEqual(response.headers.get("cache-control"), "no-store");
  }
});

Deno.test("createAdminApp() renders the metrics afresh on every /metrics, as Prometheus text", async () => {
  const { app } = setup();
  const first = await app.request("/metrics");
  strictEqual(first.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  strictEqual(await first.text(), "m_total 1\n");
  strictEqual(await (await app.request("/metrics")).text(), "m_total 2\n");
});

Deno.test("createAdminApp() answers 404 elsewhere, naming its paths", async () => {
  const { app } = setup();
  const response = await app.request("/pets");
  strictEqual(response.status, 404);
  strictEqual(await response.text(), "Not found: try /healthz, /readyz or /metrics\n");
  strictEqual((await app.request("/readyz", { method: "POST" })).status, 404);
});
