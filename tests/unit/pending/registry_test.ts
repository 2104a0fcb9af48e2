import { deepStrictEqual, fail, strictEqual } from "node:assert/strict";
import {
  type PendingOptions,
  type PendingRequest,
  PendingRequests,
  type Reply,
} from "../../../lib/pending/registry.ts";

const ROUTE = "/uri/{req_id}";
const ID = "0b7f6a34-3c1e-4c8e-9a57-2f1d2a9b8c01";

function options(overrides: Partial<PendingOptions> = {}): PendingOptions {
  return {
    route: ROUTE,
    rememberMs: 60_000,
    maxReply: 1024,
    collect: false,
    defaultContentType: "application/json",
    ...overrides,
  };
}

function reply(text = '{"ok":true}'): Reply {
  return {
    status: 201,
    headers: new Headers({ "content-type": "application/json" }),
    body: new TextEncoder().encode(text),
  };
}

/** A registry with a clock the test moves by hand. */
function withClock(maxRemembered?: number) {
  const clock = { now: 1_000_000 };
  const registry = new PendingRequests({ now: () => clock.now, maxRemembered });
  return { clock, registry };
}

function claimed(registry: PendingRequests, id: string, route = ROUTE): PendingRequest {
  const claim = registry.claim(id, route);
  if (claim.kind !== "claimed") fail(`expected claimed, got ${claim.kind}`);
  return claim.request;
}

Deno.test("PendingRequests.open() adds a waiting request", () => {
  const registry = new PendingRequests();
  const pending = registry.open(ID, options());
  strictEqual(pending.id, ID);
  strictEqual(pending.state, "waiting");
  strictEqual(pending.open, true);
  strictEqual(registry.size, 1);
});

Deno.test("PendingRequests.claim() hands the waiting request to the replier", () => {
  const registry = new PendingRequests();
  const pending = registry.open(ID, options());
  const claim = registry.claim(ID, ROUTE);
  deepStrictEqual(claim, { kind: "claimed", request: pending });
  strictEqual(pending.state, "receiving");
});

Deno.test("PendingRequests.claim() answers unknown for an id never opened", () => {
  const registry = new PendingRequests();
  registry.open(ID, options());
  deepStrictEqual(registry.claim("7c1c1111-0000-4000-8000-000000000000", ROUTE), {
    kind: "unknown",
  });
});

Deno.test("PendingRequests.claim() answers unknown for an id claimed on another route", () => {
  const registry = new PendingRequests();
  const pending = registry.open(ID, options({ route: "/replies/{req_id}" }));
  deepStrictEqual(registry.claim(ID, ROUTE), { kind: "unknown" });
  strictEqual(pending.state, "waiting");
  strictEqual(claimed(registry, ID, "/replies/{req_id}"), pending);
});

Deno.test("PendingRequests.claim() answers busy while another reply is arriving", () => {
  const registry = new PendingRequests();
  registry.open(ID, options());
  claimed(registry, ID);
  deepStrictEqual(registry.claim(ID, ROUTE), { kind: "busy" });
});

Deno.test("PendingRequest.abandon() puts the request back to waiting", () => {
  const registry = new PendingRequests();
  const pending = registry.open(ID, options());
  claimed(registry, ID).abandon();
  strictEqual(pending.state, "waiting");
  strictEqual(pending.open, true);
  strictEqual(claimed(registry, ID), pending);
});

Deno.test("PendingRequest.deliver() resolves the front's event with the reply", async () => {
  const registry = new PendingRequests();
  const pending = registry.open(ID, options());
  const sent = reply();
  const delivery = claimed(registry, ID).deliver(sent);
  const event = await pending.event;
  if (event.kind !== "reply") fail(`expected a reply event, got ${event.kind}`);
  strictEqual(event.reply, sent);
  event.settle({ kind: "delivered" });
  deepStrictEqual(await delivery, { kind: "delivered" });
});

Deno.test("PendingRequest.deliver() returns whatever the front settles", async () => {
  const registry = new PendingRequests();
  const pending = registry.open(ID, options());
  const delivery = claimed(registry, ID).deliver(reply());
  const event = await pending.event;
  if (event.kind !== "reply") fail(`expected a reply event, got ${event.kind}`);
  event.settle({ kind: "invalid", errors: ["status 201 is not declared"] });
  deepStrictEqual(await delivery, { kind: "invalid", errors: ["status 201 is not declared"] });
});

Deno.test("PendingRequest.deliver() finishes the request so later claims are answered", () => {
  const registry = new PendingRequests();
  const pending = registry.open(ID, options());
  void claimed(registry, ID).deliver(reply());
  strictEqual(pending.state, "done");
  strictEqual(pending.open, false);
  strictEqual(registry.size, 0);
  deepStrictEqual(registry.claim(ID, ROUTE), { kind: "answered" });
});

Deno.test("PendingRequest.deliver() answers gone at once after the front ended the request", async () => {
  const registry = new PendingRequests();
  const pending = registry.open(ID, options());
  const request = claimed(registry, ID);
  pending.end();
  deepStrictEqual(await request.deliver(reply()), { kind: "gone" });
  deepStrictEqual(registry.claim(ID, ROUTE), { kind: "gone" });
});

Deno.test("PendingRequest.end() makes later claims gone", () => {
  const registry = new PendingRequests();
  const pending = registry.open(ID, options());
  pending.end();
  strictEqual(pending.open, false);
  strictEqual(registry.size, 0);
  deepStrictEqual(registry.claim(ID, ROUTE), { kind: "gone" });
});

Deno.test("PendingRequest.end() after a delivery keeps the id answered", () => {
  const registry = new PendingRequests();
  const pending = registry.open(ID, options());
  void claimed(registry, ID).deliver(reply());
  pending.end();
  deepStrictEqual(registry.claim(ID, ROUTE), { kind: "answered" });
});

Deno.test("PendingRequest.refuseTooLarge() tells the front and ends the request", async () => {
  const registry = new PendingRequests();
  const pending = registry.open(ID, options());
  claimed(registry, ID).refuseTooLarge();
  deepStrictEqual(await pending.event, { kind: "too_large" });
  strictEqual(pending.open, false);
  deepStrictEqual(registry.claim(ID, ROUTE), { kind: "gone" });
});

Deno.test("PendingRequests.claim() forgets a finished id after rememberMs", () => {
  const { clock, registry } = withClock();
  registry.open(ID, options({ rememberMs: 5_000 })).end();
  clock.now += 4_999;
  deepStrictEqual(registry.claim(ID, ROUTE), { kind: "gone" });
  clock.now += 1;
  deepStrictEqual(registry.claim(ID, ROUTE), { kind: "unknown" });
});

Deno.test("PendingRequests.claim() remembers an answered id for rememberMs from its delivery", () => {
  const { clock, registry } = withClock();
  const pending = registry.open(ID, options({ rememberMs: 1_000 }));
  clock.now += 50_000; // waiting does not count against the memory
  void claimed(registry, ID).deliver(reply());
  clock.now += 999;
  deepStrictEqual(registry.claim(ID, ROUTE), { kind: "answered" });
  clock.now += 1;
  deepStrictEqual(registry.claim(ID, ROUTE), { kind: "unknown" });
  strictEqual(pending.open, false);
});

Deno.test("PendingRequests forgets the oldest finished ids beyond maxRemembered", () => {
  const { registry } = withClock(2);
  const ids = ["id-1", "id-2", "id-3"];
  for (const id of ids) registry.open(id, options()).end();
  deepStrictEqual(ids.map((id) => registry.claim(id, ROUTE).kind), ["unknown", "gone", "gone"]);
});

Deno.test("PendingRequests does not forget a request that is still waiting", () => {
  const { clock, registry } = withClock(1);
  const waiting = registry.open("waiting", options({ rememberMs: 10 }));
  for (const id of ["a", "b", "c"]) registry.open(id, options({ rememberMs: 10 })).end();
  clock.now += 1_000_000;
  strictEqual(registry.size, 1);
  strictEqual(claimed(registry, "waiting"), waiting);
});

Deno.test("PendingRequests.routes() lists the outtake templates of pending requests, and routesVersion moves with them", () => {
  const registry = new PendingRequests();
  const v0 = registry.routesVersion;
  const a = registry.open(ID, options());
  const b = registry.open("1b7f6a34-3c1e-4c8e-9a57-2f1d2a9b8c01", options());
  const c = registry.open(
    "2b7f6a34-3c1e-4c8e-9a57-2f1d2a9b8c01",
    options({ route: "/v2/{req_id}" }),
  );
  deepStrictEqual([...registry.routes()], [ROUTE, "/v2/{req_id}"]);
  const v1 = registry.routesVersion;
  strictEqual(v1 > v0, true);
  a.end();
  strictEqual(registry.routesVersion, v1, "a template still in use stays");
  b.end();
  c.end();
  deepStrictEqual([...registry.routes()], []);
  strictEqual(registry.routesVersion > v1, true);
});
