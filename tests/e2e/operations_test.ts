import assert from "node:assert/strict";
import {
  call,
  E2E,
  runUrocket,
  scrapeMetrics,
  startUrocket,
  type Urocket,
  withUrocket,
} from "./_harness.ts";

/** The admin listener's base URL, from the start line. */
function adminUrl(uro: Urocket): string {
  const start = uro.logs.find((l) => l.msg === "start");
  assert.ok(typeof start?.admin === "string", "the start line names the admin address");
  return `http://${start.admin}`;
}

/** A scrape of /metrics as `name{labels}` → value. */
function scrape(uro: Urocket): Promise<Map<string, number>> {
  return scrapeMetrics(new URL(adminUrl(uro)).host);
}

/** A port free right now, for configs that must name one (health reads it from the file). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

const METRICS_OPENAPI = `openapi: 3.0.3
info: { title: metrics, version: "1" }
paths:
  /run:
    post: { operationId: run, responses: { "200": { description: ok } } }
  /small:
    post: { operationId: small, responses: { "200": { description: ok } } }
  /slow:
    post: { operationId: slow, responses: { "200": { description: ok } } }
  /exit:
    post: { responses: { "200": { description: ok } } }
  /vanished:
    post: { operationId: vanished, responses: { "200": { description: ok } } }
  /unwired:
    get: { operationId: unwired, responses: { "200": { description: ok } } }
  /checked:
    post:
      operationId: checked
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: { type: object, required: [id], properties: { id: { type: integer } } }
`;

const METRICS_CONFIG = `admin: 127.0.0.1:0
paths:
  /run:
    post:
      inject: { cmd: "{{fixtures}}/hold.sh" }
  /small:
    post:
      max-reply: 16
      inject: { cmd: "{{fixtures}}/hold.sh" }
  /slow:
    post:
      timeout: 300ms
      inject: { cmd: "{{fixtures}}/hold.sh" }
  /exit:
    post:
      inject: { cmd: ["{{fixtures}}/exit.sh", "3"] }
  /vanished:
    post:
      inject: { cmd: "./vanish.sh" }
  /checked:
    post:
      validate-out: true
      inject: { cmd: "{{fixtures}}/hold.sh" }
`;

Deno.test({
  name: "the metrics move as expected after a known mix of requests, scraped on the admin listener",
  ...E2E,
  async fn() {
    await withUrocket({
      config: METRICS_CONFIG,
      openapi: METRICS_OPENAPI,
      files: { "vanish.sh": { text: "#!/bin/sh\n", mode: 0o755 } },
    }, async (uro) => {
      const before = await scrape(uro);
      assert.equal(before.get('urocket_build_info{version="0.1.0"}'), 1);
      assert.ok(![...before.keys()].some((k) => k.startsWith("urocket_requests_total")));
      assert.equal(before.get("urocket_process_groups_alive"), 0);

      // Replied, after a refused Urocket-Status (400); a second reply is refused (409).
      const run = await uro.hold("/run", { method: "POST" });
      const json = { "content-type": "application/json" };
      assert.equal((await run.reply({ headers: { "urocket-status": "99" } })).status, 400);
      const during = await scrape(uro);
      assert.equal(during.get("urocket_process_groups_alive"), 1);
      assert.equal(during.get("urocket_requests_pending"), 1);
      assert.equal((await run.reply({ headers: json, body: "{}" })).status, 200);
      assert.equal((await run.answer).status, 200);
      assert.equal((await run.reply({ headers: json, body: "{}" })).status, 409);
      await run.release();

      // A reply over max-reply: the replier gets 413, the client 502.
      const small = await uro.hold("/small", { method: "POST" });
      const big = JSON.stringify({ much: "more than sixteen bytes" });
      assert.equal((await small.reply({ headers: json, body: big })).status, 413);
      assert.equal((await small.answer).status, 502);
      await small.release();

      // A reply that breaks the contract: the replier gets 422, the client 502.
      const checked = await uro.hold("/checked", { method: "POST" });
      const wrong = JSON.stringify({ id: "not a number" });
      const invalid = await checked.reply({ headers: json, body: wrong });
      assert.equal(invalid.status, 422);
      assert.equal((await checked.answer).status, 502);
      await checked.release();

      // No reply in time: 504, the group killed; a late reply gets 410.
      const slow = await uro.call("/slow", { method: "POST" });
      assert.equal(slow.status, 504);
      const c = slow.headers.get("x-request-id")!;
      assert.equal((await uro.reply(`/uri/${c}`, { headers: json, body: "{}" })).status, 410);
      await uro.waitForLog((l) => l.msg === "process_exit" && l.req_id === c);

      // Exit without a reply; a command gone since start-up; an unwired operation; no operation.
      const exit = await uro.call("/exit", { method: "POST" });
      assert.equal(exit.status, 502);
      await uro.waitForLog((l) =>
        l.msg === "process_exit" && l.req_id === exit.headers.get("x-request-id")
      );
      await Deno.remove(`${uro.dir}/vanish.sh`);
      assert.equal((await uro.call("/vanished", { method: "POST" })).status, 502);
      assert.equal((await uro.call("/unwired")).status, 501);
      assert.equal((await uro.call("/nowhere/0b7f6a34-3c1e-4c8e-9a57-2f1d2a9b8c01")).status, 404);

      // Replies for ids nobody waits for, and a malformed id.
      const unknown = "/uri/00000000-0000-4000-8000-000000000000";
      assert.equal((await uro.reply(unknown, { headers: json, body: "{}" })).status, 404);
      assert.equal((await uro.reply("/uri/not-an-id", { headers: json, body: "{}" })).status, 400);

      const after = await scrape(uro);
      const requests = [...after].filter(([k]) => k.startsWith("urocket_requests_total{"));
      assert.deepEqual(
        new Map(requests),
        new Map([
          ['urocket_requests_total{operation="run",status="200",outcome="replied"}', 1],
          ['urocket_requests_total{operation="small",status="502",outcome="reply_too_large"}', 1],
          ['urocket_requests_total{operation="checked",status="502",outcome="invalid_reply"}', 1],
          ['urocket_requests_total{operation="slow",status="504",outcome="timeout"}', 1],
          ['urocket_requests_total{operation="POST /exit",status="502",outcome="no_reply"}', 1],
          ['urocket_requests_total{operation="vanished",status="502",outcome="spawn_failed"}', 1],
          ['urocket_requests_total{operation="unwired",status="501",outcome="rejected"}', 1],
          ['urocket_requests_total{operation="",status="404",outcome="rejected"}', 1],
        ]),
      );
      const rejected = [...after].filter(([k]) => k.startsWith("urocket_replies_rejected_total"));
      assert.deepEqual(
        new Map(rejected),
        new Map([
          ['urocket_replies_rejected_total{status="400",reason="bad_status"}', 1],
          ['urocket_replies_rejected_total{status="409",reason="already_answered"}', 1],
          ['urocket_replies_rejected_total{status="413",reason="too_large"}', 1],
          ['urocket_replies_rejected_total{status="422",reason="invalid_reply"}', 1],
          ['urocket_replies_rejected_total{status="410",reason="request_ended"}', 1],
          ['urocket_replies_rejected_total{status="404",reason="unknown_id"}', 1],
          ['urocket_replies_rejected_total{status="400",reason="malformed_id"}', 1],
        ]),
      );
      assert.equal(after.get('urocket_timeouts_total{operation="slow"}'), 1);
      assert.equal(after.get('urocket_spawn_failures_total{operation="vanished"}'), 1);
      for (
        const op of ["run", "small", "checked", "slow", "POST /exit", "vanished", "unwired", ""]
      ) {
        assert.equal(after.get(`urocket_time_to_answer_seconds_count{operation="${op}"}`), 1, op);
      }
      for (const op of ["run", "small", "checked", "slow", "POST /exit"]) {
        assert.equal(after.get(`urocket_process_lifetime_seconds_count{operation="${op}"}`), 1, op);
      }
      assert.ok(after.get('urocket_process_lifetime_seconds_sum{operation="slow"}')! >= 0.3);
      assert.equal(
        after.get('urocket_process_lifetime_seconds_count{operation="vanished"}'),
        undefined,
      );
      assert.equal(after.get("urocket_process_groups_alive"), 0);
      assert.equal(after.get("urocket_requests_pending"), 0);
      assert.equal(after.get("urocket_log_lines_dropped_total"), 0);
      // Bounded labels: no request id, no raw path.
      for (const key of after.keys()) {
        assert.doesNotMatch(key, /[0-9a-f]{8}-[0-9a-f]{4}-|nowhere|not-an-id/, key);
      }
    });
  },
});

Deno.test({
  name: "/readyz turns 503 as soon as shutdown starts, /healthz stays 200, and health follows",
  ...E2E,
  async fn() {
    const port = freePort();
    const uro = await startUrocket({
      config: `admin: 127.0.0.1:${port}
paths:
  /run:
    post:
      inject: { cmd: "{{fixtures}}/hold.sh" }
`,
    });
    const admin = `http://127.0.0.1:${port}`;
    const config = ["--config", `${uro.dir}/urocket-service.yaml`];
    try {
      assert.equal((await call(`${admin}/readyz`)).status, 200);
      assert.equal((await call(`${admin}/healthz`)).status, 200);
      const ready = await runUrocket(["health", ...config]);
      assert.equal(ready.code, 0, ready.stderr);
      assert.equal(ready.stdout, `ready: ${admin}/readyz\n`);
      assert.equal((await runUrocket(["health", "--admin", `127.0.0.1:${port}`])).code, 0);

      // A request in flight keeps the drain going while we look.
      const pending = uro.call("/run", { method: "POST" });
      const [held] = await uro.held(1);
      const start = uro.logs.find((l) => l.msg === "start")!;
      Deno.kill(Number(start.pid), "SIGTERM");
      await uro.waitForLog((l) => l.msg === "shutdown");
      let readyz = await call(`${admin}/readyz`);
      for (let i = 0; i < 50 && readyz.status === 200; i++) readyz = await call(`${admin}/readyz`);
      assert.equal(readyz.status, 503);
      assert.equal(readyz.text, "draining\n");
      assert.equal((await call(`${admin}/healthz`)).status, 200, "alive while draining");
      const draining = await runUrocket(["health", ...config]);
      assert.equal(draining.code, 1);
      assert.match(draining.stderr, new RegExp(`not ready: ${admin}/readyz answered 503 draining`));

      await uro.release(held.pid);
      assert.equal((await pending).status, 502, "the in-flight request still got its answer");
      await uro.waitForLog((l) => l.msg === "stopped");
      await assert.rejects(Deno.lstat(uro.socket), Deno.errors.NotFound, "the socket file is gone");
      const gone = await runUrocket(["health", "--admin", `127.0.0.1:${port}`]);
      assert.equal(gone.code, 1);
      assert.match(gone.stderr, new RegExp(`cannot reach ${admin}/readyz \\(--admin\\)`));
    } finally {
      const { code } = await uro.stop({ check: false });
      assert.equal(code, 0);
    }
  },
});

Deno.test({
  name: "urocket refuses to start with exit 2 when the admin address is taken, leaving no socket",
  ...E2E,
  async fn() {
    const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const dir = await Deno.makeTempDir({ prefix: "urocket-admin-" });
    try {
      await Deno.writeTextFile(
        `${dir}/openapi.yaml`,
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n",
      );
      await Deno.writeTextFile(
        `${dir}/urocket-service.yaml`,
        `listen: 127.0.0.1:0\nadmin: 127.0.0.1:${taken.addr.port}\nsocket: ${dir}/u.sock\n`,
      );
      const result = await runUrocket(["-c", `${dir}/urocket-service.yaml`]);
      assert.equal(result.code, 2);
      assert.match(
        result.stderr,
        new RegExp(
          `urocket-service\\.yaml: admin: Cannot listen on 127\\.0\\.0\\.1:${taken.addr.port}: `,
        ),
      );
      await assert.rejects(Deno.lstat(`${dir}/u.sock`), Deno.errors.NotFound);
    } finally {
      taken.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "urocket health exits 1 when nothing listens, and 2 for a malformed --admin",
  ...E2E,
  async fn() {
    const port = freePort();
    const down = await runUrocket(["health", "--admin", `127.0.0.1:${port}`]);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /urocket health: cannot reach/);
    const bad = await runUrocket(["health", "--admin", "localhost"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /urocket health: --admin: Invalid admin address "localhost"/);
    const dir = await Deno.makeTempDir();
    try {
      // No config in the folder: the default address is asked, whatever answers there.
      const result = await runUrocket(["health"], { cwd: dir });
      assert.match(result.code === 0 ? result.stdout : result.stderr, /127\.0\.0\.1:9090/);
      const missing = await runUrocket(["health", "--config", `${dir}/nope.yaml`]);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /cannot read .*nope\.yaml/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

// --- tracing --------------------------------------------------------------------------------

const TRACE = "0af7651916cd43dd8448eb211c80319c";
const PARENT = "b7ad6b7169203331";
const VALID = `00-${TRACE}-${PARENT}-01`;
const ECHO_CONFIG = `
paths:
  /run:
    post:
      inject: { cmd: ["{{deno}}", "run", "-A", "{{fixtures}}/echo.ts"] }
`;

/** Calls /run with `headers` and returns the process's TRACEPARENT / TRACESTATE and the access line. */
async function traced(uro: Urocket, headers: Record<string, string>) {
  const answer = await uro.call("/run", { method: "POST", headers });
  assert.equal(answer.status, 200);
  const { env } = answer.json();
  const id = answer.headers.get("x-request-id");
  const access = await uro.waitForLog((l) => l.msg === "access" && l.req_id === id);
  return { traceparent: env.TRACEPARENT, tracestate: env.TRACESTATE, access };
}

Deno.test({
  name:
    "a client's traceparent reaches the process as TRACEPARENT and its trace id the access line",
  ...E2E,
  async fn() {
    await withUrocket({ config: ECHO_CONFIG }, async (uro) => {
      const kept = await traced(uro, { traceparent: VALID, tracestate: "congo=t61rcWkgMzE" });
      assert.equal(kept.traceparent, VALID);
      assert.equal(kept.tracestate, "congo=t61rcWkgMzE");
      assert.equal(kept.access.trace_id, TRACE);

      const invalid = await traced(uro, {
        traceparent: `00-${TRACE.toUpperCase()}-${PARENT}-01`,
        tracestate: "congo=t61rcWkgMzE",
      });
      assert.match(invalid.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      assert.notEqual(invalid.traceparent.slice(3, 35), TRACE, "an invalid one starts a new trace");
      assert.equal(invalid.tracestate, undefined, "tracestate goes with a valid traceparent only");
      assert.equal(invalid.access.trace_id, invalid.traceparent.slice(3, 35));

      const none = await traced(uro, {});
      assert.match(none.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      assert.equal(none.access.trace_id, none.traceparent.slice(3, 35));
      assert.notEqual(none.access.trace_id, invalid.access.trace_id);

      // Even a request urocket refuses is logged with its trace.
      const refused = await uro.call("/nowhere", { headers: { traceparent: VALID } });
      const line = await uro.waitForLog((l) =>
        l.msg === "access" && l.req_id === refused.headers.get("x-request-id")
      );
      assert.equal(line.trace_id, TRACE);
    });
  },
});

Deno.test({
  name:
    "with OTEL_DENO=true the process continues urocket's own server span, in the client's trace",
  ...E2E,
  async fn() {
    await withUrocket({
      config: ECHO_CONFIG,
      // Spans are exported nowhere: the collector address refuses connections.
      env: { OTEL_DENO: "true", OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9" },
    }, async (uro) => {
      const { traceparent, access } = await traced(uro, { traceparent: VALID });
      const [, trace, parent, flags] = traceparent.split("-");
      assert.equal(trace, TRACE, "the same trace");
      assert.notEqual(parent, PARENT, "the parent is Deno's server span, not the client's");
      assert.match(parent, /^[0-9a-f]{16}$/);
      assert.equal(flags, "01");
      assert.equal(access.trace_id, TRACE);
    });
  },
});
