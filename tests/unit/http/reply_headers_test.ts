import { deepStrictEqual, fail, strictEqual } from "node:assert/strict";
import { isBodiless, parseReplyHeaders } from "../../../lib/http/reply_headers.ts";

function parsed(init: HeadersInit): [string, string][] {
  const result = parseReplyHeaders(new Headers(init));
  if (typeof result === "string") fail(`expected headers, got ${JSON.stringify(result)}`);
  return [...result];
}

Deno.test("parseReplyHeaders() turns Urocket-Header-<Name> into <Name>", () => {
  deepStrictEqual(
    parsed({
      "Urocket-Header-Location": "/pets/42",
      "urocket-header-x-custom": "a, b",
      "Urocket-Header-Cache-Control": "no-store",
      "Urocket-Header-Set-Cookie": "sid=1; HttpOnly",
    }),
    [
      ["cache-control", "no-store"],
      ["location", "/pets/42"],
      ["set-cookie", "sid=1; HttpOnly"],
      ["x-custom", "a, b"],
    ],
  );
});

Deno.test("parseReplyHeaders() ignores the reply request's other headers", () => {
  deepStrictEqual(
    parsed({
      "Content-Type": "application/json",
      "Content-Length": "2",
      "Urocket-Status": "201",
      "Host": "localhost",
      "X-Other": "1",
      "Urocket-Headers-Typo": "1",
    }),
    [],
  );
});

Deno.test("parseReplyHeaders() refuses hop-by-hop and framing headers as targets", () => {
  const targets = [
    "Connection",
    "Keep-Alive",
    "Proxy-Connection",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "TE",
    "Trailer",
    "Transfer-Encoding",
    "Upgrade",
    "Content-Length",
    "X-Request-Id",
  ];
  for (const target of targets) {
    const result = parseReplyHeaders(
      new Headers({ [`Urocket-Header-${target}`]: "x", "Urocket-Header-Location": "/a" }),
    );
    strictEqual(
      result,
      `Urocket-Header-${target.toLowerCase()} is not allowed: urocket manages ` +
        `${target.toLowerCase()} itself`,
      target,
    );
  }
});

Deno.test("parseReplyHeaders() refuses Content-Type as a target, pointing to the reply's own", () => {
  strictEqual(
    parseReplyHeaders(new Headers({ "Urocket-Header-Content-Type": "text/html" })),
    "Set the reply's own Content-Type instead of Urocket-Header-Content-Type",
  );
});

Deno.test("parseReplyHeaders() refuses Urocket-Header- without a name", () => {
  strictEqual(
    parseReplyHeaders(new Headers({ "Urocket-Header-": "x" })),
    '"urocket-header-" names no header',
  );
});

Deno.test("isBodiless() is true for 204, 205 and 304 only", () => {
  deepStrictEqual(
    [200, 201, 204, 205, 206, 301, 304, 400, 404, 500].filter(isBodiless),
    [204, 205, 304],
  );
});

Deno.test("parseReplyHeaders() keeps repeated Set-Cookie lines apart, Expires dates and all", () => {
  const cookies = [
    "a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Path=/",
    "b=2; HttpOnly",
    "c=; Max-Age=0",
  ];
  // As they arrive: repeated lines of one name, which Headers joins with ", ".
  const request = new Headers();
  for (const cookie of cookies) request.append("Urocket-Header-Set-Cookie", cookie);
  const result = parseReplyHeaders(request);
  if (typeof result === "string") fail(result);
  deepStrictEqual(result.getSetCookie(), cookies);
});
