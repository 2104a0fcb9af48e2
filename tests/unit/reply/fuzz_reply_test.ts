import { ok, strictEqual } from "node:assert/strict";
import fc from "fast-check";
import { Logger } from "../../../lib/log/logger.ts";
import { PendingRequests } from "../../../lib/pending/registry.ts";
import { createReplyApp } from "../../../lib/reply/reply_app.ts";
import { ReplyHeaderSchema, ReplyParamSchema } from "../../../lib/reply/_schemas.ts";
import { parseReplyHeaders } from "../../../lib/http/reply_headers.ts";
import { check } from "../_fuzz.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Strings a hostile replier might put where the request id goes. */
const hostileId = fc.oneof(
  fc.string({ unit: "binary", maxLength: 80 }),
  fc.uuid().map((id) => id.toUpperCase()),
  fc.tuple(fc.uuid(), fc.constantFrom("..", "%2f", "%2F", "%00", "\0", "/", "x", " ", "\n"))
    .chain(([id, bad]) =>
      fc.constantFrom(`${id}${bad}`, `${bad}${id}`, `${id.slice(0, 18)}${bad}${id.slice(18)}`)
    ),
  fc.integer({ min: 37, max: 100_000 }).map((n) => "a".repeat(n)),
);

Deno.test("ReplyParamSchema accepts exactly the UUIDs, whatever else a replier puts in the path", async () => {
  await check(
    fc.property(hostileId, (id) => {
      const parsed = ReplyParamSchema.safeParse({ req_id: id });
      strictEqual(parsed.success, UUID.test(id), JSON.stringify(id.slice(0, 60)));
    }),
    1000,
  );
  await check(
    fc.property(fc.uuid({ version: [1, 2, 3, 4, 5, 6, 7, 8] }), fc.boolean(), (id, upper) => {
      ok(ReplyParamSchema.safeParse({ req_id: upper ? id.toUpperCase() : id }).success);
    }),
    200,
  );
});

/** Values a replier might send as Urocket-Status. */
const statusValue = fc.oneof(
  fc.integer({ min: -1000, max: 2000 }).map(String),
  fc.constantFrom("2e2", "0x1f4", "200.0", "+200", "200, 201", "200 201", "２００", "", " "),
  fc.tuple(
    fc.constantFrom("", " ", "\t"),
    fc.integer({ min: 100, max: 699 }),
    fc.constantFrom("", " ", "\t"),
  )
    .map(([a, n, b]) => `${a}${n}${b}`),
  fc.string({ maxLength: 6 }),
);

Deno.test("ReplyHeaderSchema accepts one status from 200 to 599 but 205, and nothing else", async () => {
  await check(
    fc.property(statusValue, (value) => {
      const parsed = ReplyHeaderSchema.safeParse({ "urocket-status": value });
      const trimmed = value.trim();
      const expected = /^[0-9]{3}$/.test(trimmed) && Number(trimmed) >= 200 &&
        Number(trimmed) <= 599 && trimmed !== "205";
      strictEqual(parsed.success, expected, JSON.stringify(value));
      if (parsed.success) {
        const status = Number(parsed.data["urocket-status"]);
        ok(Number.isInteger(status) && status >= 200 && status <= 599);
      }
    }),
    1000,
  );
});

const TOKEN = fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,20}$/);
const FORBIDDEN = [
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "content-length",
  "content-type",
  "x-request-id",
];
/** A header value Headers accepts: no CR, LF or NUL, no surrounding whitespace. */
const headerValue = fc.string({ maxLength: 20 }).map((v) => v.replace(/[\r\n\0]/g, "").trim());

Deno.test("parseReplyHeaders() refuses exactly the forbidden targets and passes every other one through", async () => {
  await check(
    fc.property(
      fc.array(
        fc.tuple(
          fc.oneof(
            { weight: 3, arbitrary: TOKEN.map((name) => `urocket-header-${name}`) },
            {
              weight: 1,
              arbitrary: fc.constantFrom(...FORBIDDEN).chain((name) =>
                fc.constantFrom(`urocket-header-${name}`, `Urocket-Header-${name.toUpperCase()}`)
              ),
            },
            { weight: 1, arbitrary: TOKEN },
          ),
          headerValue,
        ),
        { maxLength: 6 },
      ),
      (pairs) => {
        const request = new Headers();
        for (const [name, value] of pairs) request.append(name, value);
        const result = parseReplyHeaders(request);
        const targets = [...request.keys()].filter((n) => n.startsWith("urocket-header-"))
          .map((n) => n.slice("urocket-header-".length));
        const refused = targets.some((t) => t === "" || FORBIDDEN.includes(t));
        strictEqual(typeof result === "string", refused, JSON.stringify(pairs));
        if (typeof result !== "string") {
          strictEqual([...result.keys()].sort().join(), targets.sort().join());
          // Repeated lines come joined, as iterating the request's Headers gives them (which, for
          // two empty lines, is not what get() says: "" against ", ").
          const joined = new Map(request);
          for (const target of targets) {
            strictEqual(result.get(target), joined.get(`urocket-header-${target}`));
          }
        }
      },
    ),
    500,
  );
});

Deno.test("createReplyApp() answers any path or header a replier sends with 400, 404 or 405 problem+json, never 500", async () => {
  const registry = new PendingRequests();
  const logger = new Logger({ write: () => Promise.resolve() });
  const app = createReplyApp({
    registry,
    logger,
    templates: ["/uri/{req_id}", "/r/{req_id}/done"],
  });
  const segment = fc.oneof(
    fc.constantFrom("uri", "r", "done", "..", ".", "%2e%2e", "%2f", "%00", "%", "%zz", ""),
    fc.uuid(),
    fc.string({ maxLength: 8 }).map(encodeURIComponent),
  );
  await check(
    fc.asyncProperty(
      fc.array(segment, { maxLength: 4 }).map((s) => "/" + s.join("/")),
      fc.constantFrom("POST", "PUT", "GET", "DELETE", "PATCH"),
      // Header values are bytes: Latin-1 without CR, LF or NUL.
      fc.option(
        statusValue.filter((v) => [...v].every((c) => c <= "\xff" && !"\r\n\0".includes(c))),
        {
          nil: undefined,
        },
      ),
      async (path, method, status) => {
        const headers: Record<string, string> = status === undefined
          ? {}
          : { "urocket-status": status };
        const body = method === "GET" ? undefined : "{}";
        const response = await app.request(path, { method, headers, body });
        await response.body?.cancel();
        ok([400, 404, 405].includes(response.status), `${method} ${path}: ${response.status}`);
        strictEqual(response.headers.get("content-type"), "application/problem+json");
      },
    ),
    300,
  );
  strictEqual(registry.size, 0);
  await logger.flush();
});
