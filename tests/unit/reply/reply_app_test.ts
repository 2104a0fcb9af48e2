import { deepStrictEqual, fail, strictEqual } from "node:assert/strict";
import { parseOuttake } from "../../../lib/config/mod.ts";
import { Logger } from "../../../lib/log/logger.ts";
import {
  type PendingOptions,
  type PendingRequest,
  PendingRequests,
  type ReplyEvent,
} from "../../../lib/pending/registry.ts";
import { COLLECT_BELOW, createReplyApp, createReplyFetch } from "../../../lib/reply/reply_app.ts";
import { ReplyHeaderSchema, ReplyParamSchema } from "../../../lib/reply/_schemas.ts";

const ID = "0b7f6a34-3c1e-4c8e-9a57-2f1d2a9b8c01";
const ROUTE = "/uri/{req_id}";
const decoder = new TextDecoder();
const encoder = new TextEncoder();

function setup() {
  const lines: string[] = [];
  const logger = new Logger({
    write: (chunk) => {
      lines.push(...decoder.decode(chunk).split("\n").filter((line) => line !== ""));
      return Promise.resolve();
    },
  });
  const registry = new PendingRequests();
  const app = createReplyApp({ registry, logger, templates: [ROUTE] });
  const open = (overrides: Partial<PendingOptions> = {}, id = ID): PendingRequest =>
    registry.open(id, {
      route: ROUTE,
      rememberMs: 60_000,
      maxReply: 1024,
      collect: false,
      defaultContentType: "application/json",
      ...overrides,
    });
  /** The reasons of the refused replies logged so far. */
  const reasons = async () => {
    await logger.flush();
    return lines.map((line) => JSON.parse(line)).filter((l) => l.msg === "reply_rejected")
      .map((l) => l.reason);
  };
  return { app, registry, open, reasons };
}

/** Front side: waits for the reply event and settles it as delivered. */
async function frontReceives(
  pending: PendingRequest,
): Promise<Extract<ReplyEvent, { kind: "reply" }>> {
  const event = await pending.event;
  if (event.kind !== "reply") fail(`expected a reply event, got ${event.kind}`);
  return event;
}

async function bodyText(body: Uint8Array | ReadableStream<Uint8Array>): Promise<string> {
  return body instanceof ReadableStream ? await new Response(body).text() : decoder.decode(body);
}

async function problemOf(response: Response) {
  strictEqual(response.headers.get("content-type"), "application/problem+json");
  return await response.json();
}

// --- schemas --------------------------------------------------------------------------------

Deno.test("ReplyHeaderSchema refuses an Urocket-Status that is not one code from 200 to 599", () => {
  for (const status of ["99", "199", "600", "abc", "2e2", "200, 201", "", "2000"]) {
    strictEqual(ReplyHeaderSchema.safeParse({ "urocket-status": status }).success, false, status);
  }
});

Deno.test("ReplyHeaderSchema accepts one status code and an absent Urocket-Status", () => {
  deepStrictEqual(ReplyHeaderSchema.parse({ "urocket-status": "201" }), {
    "urocket-status": "201",
  });
  deepStrictEqual(ReplyHeaderSchema.parse({ "urocket-status": " 503 " }), {
    "urocket-status": "503",
  });
  deepStrictEqual(ReplyHeaderSchema.parse({ "content-type": "text/plain" }), {});
});

Deno.test("ReplyParamSchema accepts a UUID in any case and refuses anything else", () => {
  strictEqual(ReplyParamSchema.safeParse({ req_id: ID }).success, true);
  strictEqual(ReplyParamSchema.safeParse({ req_id: ID.toUpperCase() }).success, true);
  for (const id of ["42", "", `${ID}x`, ID.replaceAll("-", ""), "../etc/passwd"]) {
    strictEqual(ReplyParamSchema.safeParse({ req_id: id }).success, false, id);
  }
});

// --- delivery -------------------------------------------------------------------------------

Deno.test("createReplyApp() delivers a reply to the waiting front and answers 200", async () => {
  const { app, open } = setup();
  const pending = open();
  const answer = app.request(`/uri/${ID}`, {
    method: "POST",
    body: '{"id":42}',
    headers: {
      "content-type": "application/json; charset=utf-8",
      "urocket-status": "201",
      "urocket-header-location": "/pets/42",
    },
  });
  const event = await frontReceives(pending);
  strictEqual(event.reply.status, 201);
  strictEqual(event.reply.headers.get("location"), "/pets/42");
  strictEqual(event.reply.headers.get("content-type"), "application/json; charset=utf-8");
  strictEqual(await bodyText(event.reply.body), '{"id":42}');
  event.settle({ kind: "delivered" });
  const response = await answer;
  strictEqual(response.status, 200);
  deepStrictEqual(await response.json(), { status: "delivered", req_id: ID });
});

Deno.test("createReplyApp() accepts a reply sent with PUT", async () => {
  const { app, open } = setup();
  const pending = open();
  const answer = app.request(`/uri/${ID}`, { method: "PUT", body: "ok" });
  const event = await frontReceives(pending);
  strictEqual(event.reply.status, 200);
  event.settle({ kind: "delivered" });
  strictEqual((await answer).status, 200);
});

Deno.test("createReplyApp() matches a request id written in upper case", async () => {
  const { app, open } = setup();
  const pending = open();
  const answer = app.request(`/uri/${ID.toUpperCase()}`, { method: "POST", body: "ok" });
  (await frontReceives(pending)).settle({ kind: "delivered" });
  strictEqual((await answer).status, 200);
});

Deno.test("createReplyApp() gives a reply without Content-Type the operation's default", async () => {
  const { app, open } = setup();
  const pending = open({ defaultContentType: "text/csv" });
  const answer = app.request(`/uri/${ID}`, { method: "POST", body: encoder.encode("a,b\n") });
  const event = await frontReceives(pending);
  strictEqual(event.reply.headers.get("content-type"), "text/csv");
  strictEqual(await bodyText(event.reply.body), "a,b\n");
  event.settle({ kind: "delivered" });
  strictEqual((await answer).status, 200);
});

Deno.test("createReplyApp() delivers a 204 reply without a body or Content-Type", async () => {
  const { app, open } = setup();
  const pending = open();
  const answer = app.request(`/uri/${ID}`, {
    method: "POST",
    headers: { "urocket-status": "204" },
  });
  const event = await frontReceives(pending);
  strictEqual(event.reply.status, 204);
  strictEqual(event.reply.headers.get("content-type"), null);
  strictEqual(await bodyText(event.reply.body), "");
  event.settle({ kind: "delivered" });
  strictEqual((await answer).status, 200);
});

Deno.test("createReplyApp() streams a large reply without Content-Length to the front", async () => {
  const { app, open } = setup();
  const pending = open({ maxReply: 1024 * 1024 });
  const sent = "x".repeat(COLLECT_BELOW + 1);
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(sent.slice(0, 1000)));
      controller.enqueue(encoder.encode(sent.slice(1000)));
      controller.close();
    },
  });
  const answer = app.request(`/uri/${ID}`, { method: "POST", body: stream });
  const event = await frontReceives(pending);
  strictEqual(event.reply.body instanceof ReadableStream, true);
  strictEqual(await bodyText(event.reply.body), sent);
  event.settle({ kind: "delivered" });
  strictEqual((await answer).status, 200);
});

Deno.test("createReplyApp() tells the replier 410 when the front settles gone", async () => {
  const { app, open } = setup();
  const pending = open();
  const answer = app.request(`/uri/${ID}`, { method: "POST", body: "late" });
  (await frontReceives(pending)).settle({ kind: "gone" });
  const response = await answer;
  strictEqual(response.status, 410);
  strictEqual((await problemOf(response)).request_id, ID);
});

Deno.test("createReplyApp() tells the replier 422 with the errors when the front finds the reply invalid", async () => {
  const { app, open } = setup();
  const pending = open();
  const answer = app.request(`/uri/${ID}`, { method: "POST", body: "{}" });
  (await frontReceives(pending)).settle({ kind: "invalid", errors: ["missing property id"] });
  const response = await answer;
  strictEqual(response.status, 422);
  const problem = await problemOf(response);
  deepStrictEqual(problem.errors, ["missing property id"]);
  strictEqual(problem.type, "urn:urocket:problem:invalid_reply");
});

// --- refusals -------------------------------------------------------------------------------

Deno.test("createReplyApp() refuses a malformed request id with 400", async () => {
  const { app, open, registry, reasons } = setup();
  const pending = open();
  const response = await app.request("/uri/not-a-uuid", { method: "POST", body: "x" });
  strictEqual(response.status, 400);
  const problem = await problemOf(response);
  strictEqual(problem.type, "urn:urocket:problem:bad_request");
  strictEqual(problem.detail, "The request id in the path is not a UUID");
  strictEqual(pending.state, "waiting");
  strictEqual(registry.size, 1);
  deepStrictEqual(await reasons(), ["malformed_id"]);
});

Deno.test("createReplyApp() refuses a bad Urocket-Status with 400 and keeps the request waiting", async () => {
  const { app, open, reasons } = setup();
  const pending = open();
  for (const status of ["99", "600", "abc", "2e2", "200, 201"]) {
    const response = await app.request(`/uri/${ID}`, {
      method: "POST",
      body: "x",
      headers: { "urocket-status": status },
    });
    strictEqual(response.status, 400, status);
    const problem = await problemOf(response);
    strictEqual(problem.detail, "Urocket-Status must be one status code from 200 to 599");
    strictEqual(pending.state, "waiting", status);
  }
  deepStrictEqual(await reasons(), Array(5).fill("bad_status"));
  // The request still takes a proper reply.
  const answer = app.request(`/uri/${ID}`, { method: "POST", body: "ok" });
  (await frontReceives(pending)).settle({ kind: "delivered" });
  strictEqual((await answer).status, 200);
});

Deno.test("createReplyApp() refuses Urocket-Header-Connection with 400 and keeps the request waiting", async () => {
  const { app, open, registry, reasons } = setup();
  const pending = open();
  const response = await app.request(`/uri/${ID}`, {
    method: "POST",
    body: "x",
    headers: { "urocket-header-connection": "close" },
  });
  strictEqual(response.status, 400);
  strictEqual(
    (await problemOf(response)).detail,
    "Urocket-Header-connection is not allowed: urocket manages connection itself",
  );
  strictEqual(pending.state, "waiting");
  strictEqual(registry.claim(ID, ROUTE).kind, "claimed");
  deepStrictEqual(await reasons(), ["bad_header"]);
});

Deno.test("createReplyApp() refuses a body on a 204 reply with 400 and keeps the request waiting", async () => {
  const { app, open, reasons } = setup();
  const pending = open();
  const withLength = await app.request(`/uri/${ID}`, {
    method: "POST",
    body: "oops",
    headers: { "urocket-status": "204", "content-length": "4" },
  });
  strictEqual(withLength.status, 400);
  strictEqual((await problemOf(withLength)).detail, "A 204 reply cannot have a body");
  strictEqual(pending.state, "waiting");
  const withoutLength = await app.request(`/uri/${ID}`, {
    method: "POST",
    body: encoder.encode("oops"),
    headers: { "urocket-status": "204" },
  });
  strictEqual(withoutLength.status, 400);
  strictEqual(pending.state, "waiting");
  deepStrictEqual(await reasons(), ["body_not_allowed", "body_not_allowed"]);
});

Deno.test("createReplyApp() answers 404 for an id nobody waits for", async () => {
  const { app, reasons } = setup();
  const response = await app.request(`/uri/${ID}`, { method: "POST", body: "x" });
  strictEqual(response.status, 404);
  const problem = await problemOf(response);
  strictEqual(problem.type, "urn:urocket:problem:not_found");
  strictEqual(problem.request_id, ID);
  strictEqual(response.headers.get("x-request-id"), ID);
  deepStrictEqual(await reasons(), ["unknown_id"]);
});

Deno.test("createReplyApp() answers 404 for an id that waits on another outtake path", async () => {
  const { app, open } = setup();
  const pending = open({ route: "/other/{req_id}" });
  const response = await app.request(`/uri/${ID}`, { method: "POST", body: "x" });
  strictEqual(response.status, 404);
  strictEqual(pending.state, "waiting");
});

Deno.test("createReplyApp() answers 404 for a path that matches no outtake template", async () => {
  const { app, open, reasons } = setup();
  const pending = open();
  for (const path of [`/reply/${ID}`, `/uri/${ID}/extra`, "/", `/${ID}`]) {
    const response = await app.request(path, { method: "POST", body: "x" });
    strictEqual(response.status, 404, path);
    strictEqual(
      (await problemOf(response)).detail,
      `${JSON.stringify(path)} matches no outtake path`,
      path,
    );
  }
  strictEqual(pending.state, "waiting");
  deepStrictEqual(await reasons(), Array(4).fill("unknown_path"));
});

Deno.test("createReplyApp() answers 405 with Allow for other methods on an outtake path, and logs it", async () => {
  const { app, open, reasons } = setup();
  open();
  const response = await app.request(`/uri/${ID}`, { method: "GET" });
  strictEqual(response.status, 405);
  strictEqual(response.headers.get("allow"), "POST, PUT");
  const problem = await problemOf(response);
  strictEqual(problem.status, 405);
  strictEqual(problem.request_id, ID);
  deepStrictEqual(await reasons(), ["method_not_allowed"]);
});

Deno.test("createReplyApp() answers 409 to a second reply for an answered request", async () => {
  const { app, open, reasons } = setup();
  const pending = open();
  const first = app.request(`/uri/${ID}`, { method: "POST", body: "one" });
  (await frontReceives(pending)).settle({ kind: "delivered" });
  strictEqual((await first).status, 200);
  const second = await app.request(`/uri/${ID}`, { method: "POST", body: "two" });
  strictEqual(second.status, 409);
  strictEqual((await problemOf(second)).type, "urn:urocket:problem:conflict");
  deepStrictEqual(await reasons(), ["already_answered"]);
});

Deno.test("createReplyApp() answers 409 while another reply for the id is arriving", async () => {
  const { app, open, registry, reasons } = setup();
  const pending = open();
  strictEqual(registry.claim(ID, ROUTE).kind, "claimed");
  const response = await app.request(`/uri/${ID}`, { method: "POST", body: "second" });
  strictEqual(response.status, 409);
  strictEqual((await problemOf(response)).detail, "Another reply for this request is arriving");
  strictEqual(pending.state, "receiving");
  deepStrictEqual(await reasons(), ["already_answered"]);
});

Deno.test("createReplyApp() answers 410 to a reply for a request that ended", async () => {
  const { app, open, reasons } = setup();
  const pending = open();
  pending.end();
  const response = await app.request(`/uri/${ID}`, { method: "POST", body: "late" });
  strictEqual(response.status, 410);
  strictEqual((await problemOf(response)).type, "urn:urocket:problem:gone");
  deepStrictEqual(await reasons(), ["request_ended"]);
});

Deno.test("createReplyApp() refuses a reply whose Content-Length passes max-reply with 413", async () => {
  const { app, open, reasons } = setup();
  const pending = open({ maxReply: 10 });
  const response = await app.request(`/uri/${ID}`, {
    method: "POST",
    body: "0123456789A",
    headers: { "content-length": "11" },
  });
  strictEqual(response.status, 413);
  strictEqual(
    (await problemOf(response)).detail,
    "The reply is larger than max-reply (10 bytes)",
  );
  deepStrictEqual(await pending.event, { kind: "too_large" });
  strictEqual(pending.open, false);
  deepStrictEqual(await reasons(), ["too_large"]);
});

Deno.test("createReplyApp() refuses a large reply whose Content-Length passes max-reply with 413", async () => {
  const { app, open } = setup();
  const pending = open({ maxReply: COLLECT_BELOW });
  const size = COLLECT_BELOW + 1;
  const response = await app.request(`/uri/${ID}`, {
    method: "POST",
    body: new Uint8Array(size),
    headers: { "content-length": String(size) },
  });
  strictEqual(response.status, 413);
  await response.body?.cancel();
  deepStrictEqual(await pending.event, { kind: "too_large" });
});

Deno.test("createReplyApp() refuses a collected reply without Content-Length once it passes max-reply", async () => {
  const { app, open } = setup();
  const pending = open({ maxReply: 10, collect: true });
  const response = await app.request(`/uri/${ID}`, {
    method: "POST",
    body: encoder.encode("0123456789A"),
  });
  strictEqual(response.status, 413);
  await response.body?.cancel();
  deepStrictEqual(await pending.event, { kind: "too_large" });
});

Deno.test("createReplyApp() serves every configured outtake template", async () => {
  const lines: string[] = [];
  const logger = new Logger({
    write: (chunk) => {
      lines.push(decoder.decode(chunk));
      return Promise.resolve();
    },
  });
  const registry = new PendingRequests();
  const app = createReplyApp({
    registry,
    logger,
    templates: ["/uri/{req_id}", "/v2/{req_id}/reply", "/uri/{req_id}"],
  });
  const pending = registry.open(ID, {
    route: "/v2/{req_id}/reply",
    rememberMs: 1000,
    maxReply: 100,
    collect: true,
    defaultContentType: "application/json",
  });
  const answer = app.request(`/v2/${ID}/reply`, { method: "POST", body: "ok" });
  (await frontReceives(pending)).settle({ kind: "delivered" });
  strictEqual((await answer).status, 200);
  await logger.flush();
});

Deno.test("createReplyApp() delivers on the path of every outtake parseOuttake() accepts, whatever its characters", async () => {
  const logger = new Logger({ write: () => Promise.resolve() });
  const unreachable: string[] = [];
  for (let code = 0x21; code < 0x7f; code++) {
    const char = String.fromCharCode(code);
    for (const segment of [char, `a${char}b`]) {
      const template = parseOuttake(`usocket://r/${segment}/{req_id}`);
      if (typeof template !== "string") continue;
      const registry = new PendingRequests();
      const app = createReplyApp({ registry, logger, templates: [template] });
      const pending = registry.open(ID, {
        route: template,
        rememberMs: 1000,
        maxReply: 100,
        collect: true,
        defaultContentType: "application/json",
      });
      pending.event.then((event) => {
        if (event.kind === "reply") event.settle({ kind: "delivered" });
      });
      // The path as curl sends it: the template's characters as they are.
      const path = template.replace("{req_id}", ID);
      let status: number | string;
      try {
        status = (await app.request(path, { method: "POST", body: "{}" })).status;
      } catch (error) {
        status = `thrown: ${(error as Error).message}`;
      }
      if (status !== 200) unreachable.push(`${template}: ${status}`);
    }
  }
  deepStrictEqual(unreachable, []);
  await logger.flush();
});

Deno.test("createReplyFetch() serves the current templates and those of requests still pending", async () => {
  const logger = new Logger({ write: () => Promise.resolve() });
  const registry = new PendingRequests();
  let templates: readonly string[] = ["/old/{req_id}"];
  const fetch = createReplyFetch({ registry, logger, templates: () => templates });
  const open = (route: string, id: string) =>
    registry.open(id, {
      route,
      rememberMs: 1000,
      maxReply: 100,
      collect: true,
      defaultContentType: "application/json",
    });
  const post = (path: string) =>
    fetch(new Request(`http://localhost${path}`, { method: "POST", body: "{}" }));
  const old = open("/old/{req_id}", ID);
  // A reload: new requests reply on /new, the pending one still on /old.
  templates = ["/new/{req_id}"];
  const other = "1b7f6a34-3c1e-4c8e-9a57-2f1d2a9b8c01";
  const fresh = open("/new/{req_id}", other);
  const toOld = post(`/old/${ID}`);
  (await frontReceives(old)).settle({ kind: "delivered" });
  strictEqual((await toOld).status, 200);
  const toNew = post(`/new/${other}`);
  (await frontReceives(fresh)).settle({ kind: "delivered" });
  strictEqual((await toNew).status, 200);
  // No request pending on /old any more: it is no longer served.
  const gone = await post(`/old/${crypto.randomUUID()}`);
  strictEqual(gone.status, 404);
  strictEqual((await problemOf(gone)).detail.includes("matches no outtake path"), true);
  // The checks of the reply app still hold on the paths served.
  strictEqual((await post("/new/not-a-uuid")).status, 400);
  await logger.flush();
});

Deno.test("createReplyApp() answers 405 without an id when the path's segment is not one (never 500)", async () => {
  const { app, reasons } = setup();
  for (const segment of ["%00", "%20", "not-an-id"]) {
    const response = await app.request(`/uri/${segment}`, { method: "PATCH" });
    strictEqual(response.status, 405, segment);
    strictEqual((await problemOf(response)).request_id, undefined, segment);
  }
  deepStrictEqual(await reasons(), Array(3).fill("method_not_allowed"));
});

Deno.test("createReplyFetch() answers every kind of reply as createReplyApp() does", async () => {
  const templates = ["/r/{req_id}/done", ROUTE];
  const other = "1b7f6a34-3c1e-4c8e-9a57-2f1d2a9b8c01";
  const cases: { method: string; path: string; headers?: Record<string, string>; body?: string }[] =
    [
      { method: "POST", path: `/uri/${ID}` },
      { method: "PUT", path: `/uri/${ID.toUpperCase()}` },
      { method: "POST", path: `/uri/${ID}?x=1#y` },
      { method: "POST", path: `/uri/%30${ID.slice(1)}` },
      { method: "POST", path: `/uri/${ID}`, headers: { "urocket-status": " 201 " } },
      { method: "POST", path: `/uri/${ID}`, headers: { "urocket-status": "205" } },
      { method: "POST", path: `/uri/${ID}`, headers: { "urocket-status": "2xx" } },
      { method: "POST", path: `/uri/${ID}`, headers: { "urocket-status": "" } },
      { method: "POST", path: `/uri/${ID}`, headers: { "urocket-status": "204" }, body: "x" },
      { method: "POST", path: `/uri/${ID}`, headers: { "urocket-header-connection": "x" } },
      { method: "POST", path: "/uri/not-a-uuid" },
      { method: "POST", path: `/uri/${ID.replaceAll("-", "x")}` },
      { method: "POST", path: `/uri/${other}` },
      { method: "POST", path: `/uri/${ID}/` },
      { method: "POST", path: `/r/${ID}` },
      { method: "POST", path: `/r/${ID}/done` },
      { method: "GET", path: `/uri/${ID}` },
      { method: "DELETE", path: `/r/${ID}/done` },
    ];
  for (const { method, path, headers, body } of cases) {
    const answers = [];
    for (const kind of ["app", "fetch"] as const) {
      const lines: string[] = [];
      const logger = new Logger({
        write: (chunk) => {
          lines.push(...decoder.decode(chunk).split("\n").filter((line) => line !== ""));
          return Promise.resolve();
        },
      });
      const registry = new PendingRequests();
      const serve = kind === "app"
        ? createReplyApp({ registry, logger, templates }).fetch
        : createReplyFetch({ registry, logger, templates: () => templates });
      const pending = registry.open(ID, {
        route: ROUTE,
        rememberMs: 60_000,
        maxReply: 1024,
        collect: false,
        defaultContentType: "application/json",
      });
      let delivered: number | undefined;
      pending.event.then((event) => {
        if (event.kind !== "reply") return;
        delivered = event.reply.status;
        event.settle({ kind: "delivered" });
      });
      const response = await serve(
        new Request(`http://localhost${path}`, {
          method,
          headers,
          body: method === "GET" ? undefined : body ?? '{"ok":true}',
        }),
      );
      await logger.flush();
      answers.push({
        status: response.status,
        type: response.headers.get("content-type"),
        allow: response.headers.get("allow"),
        body: await response.text(),
        delivered,
        logged: lines.map((line) => JSON.parse(line)).map(({ msg, reason, req_id, status }) => ({
          msg,
          reason,
          req_id,
          status,
        })),
      });
      pending.end();
    }
    deepStrictEqual(answers[1], answers[0], `${method} ${path} ${JSON.stringify(headers)}`);
  }
});
