import { deepStrictEqual, match, notStrictEqual, ok, strictEqual } from "node:assert/strict";
import { buildChildEnv } from "../../../lib/process/env.ts";
import { parseTraceparent, traceContext } from "../../../lib/front/trace.ts";

const TRACE = "0af7651916cd43dd8448eb211c80319c";
const PARENT = "b7ad6b7169203331";
const VALID = `00-${TRACE}-${PARENT}-01`;

function headers(init: Record<string, string>): Headers {
  return new Headers(init);
}

Deno.test("parseTraceparent() reads a version 00 traceparent", () => {
  deepStrictEqual(parseTraceparent(VALID), { traceId: TRACE, parentId: PARENT, flags: "01" });
  deepStrictEqual(parseTraceparent(` ${VALID} `)?.traceId, TRACE, "surrounding spaces are ignored");
});

Deno.test("parseTraceparent() reads a later version by its first four fields", () => {
  deepStrictEqual(parseTraceparent(`cc-${TRACE}-${PARENT}-01-what-the-future-holds`), {
    traceId: TRACE,
    parentId: PARENT,
    flags: "01",
  });
  deepStrictEqual(parseTraceparent(`01-${TRACE}-${PARENT}-00`)?.flags, "00");
});

Deno.test("parseTraceparent() refuses what the W3C format forbids", () => {
  const invalid = [
    "",
    "garbage",
    `ff-${TRACE}-${PARENT}-01`, // version ff is forbidden
    `00-${TRACE}-${PARENT}-01-extra`, // version 00 has exactly four fields
    `cc-${TRACE}-${PARENT}-01extra`, // later fields need a dash
    `00-${TRACE.toUpperCase()}-${PARENT}-01`, // upper-case hex
    `00-${"0".repeat(32)}-${PARENT}-01`, // all-zero trace id
    `00-${TRACE}-${"0".repeat(16)}-01`, // all-zero parent id
    `00-${TRACE.slice(1)}-${PARENT}-01`, // short trace id
    `00-${TRACE}-${PARENT}-1`, // short flags
    `00_${TRACE}_${PARENT}_01`,
    `${VALID}, 00-${TRACE}-${PARENT}-00`, // two traceparent headers, joined
    `cc-${TRACE}-${PARENT}-01-x, cc-${TRACE}-${PARENT}-00-x`, // two of a later version, joined
  ];
  for (const value of invalid) strictEqual(parseTraceparent(value), undefined, value);
  strictEqual(parseTraceparent(null), undefined);
});

Deno.test("traceContext() passes a valid traceparent and its tracestate through unchanged", () => {
  deepStrictEqual(
    traceContext(headers({ traceparent: VALID, tracestate: "congo=t61rcWkgMzE,rojo=00f067" })),
    { traceId: TRACE, traceparent: VALID, tracestate: "congo=t61rcWkgMzE,rojo=00f067" },
  );
});

Deno.test("traceContext() writes a later-version traceparent as version 00", () => {
  strictEqual(
    traceContext(headers({ traceparent: `cc-${TRACE}-${PARENT}-01-more` })).traceparent,
    VALID,
  );
});

Deno.test("traceContext() starts a new sampled trace without a traceparent", () => {
  let n = 0;
  const trace = traceContext(headers({}), {
    random: (bytes) => bytes.forEach((_, i) => bytes[i] = ++n),
  });
  strictEqual(trace.traceId, "0102030405060708090a0b0c0d0e0f10");
  strictEqual(trace.traceparent, "00-0102030405060708090a0b0c0d0e0f10-1112131415161718-01");
  strictEqual(trace.tracestate, undefined);
});

Deno.test("traceContext() starts a new trace, dropping tracestate, when traceparent is invalid", () => {
  const trace = traceContext(
    headers({ traceparent: `ff-${TRACE}-${PARENT}-01`, tracestate: "a=b" }),
  );
  notStrictEqual(trace.traceId, TRACE);
  match(trace.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  ok(parseTraceparent(trace.traceparent), "the new traceparent is itself valid");
  strictEqual(trace.tracestate, undefined);
});

Deno.test("traceContext() starts a different trace for every request", () => {
  const ids = new Set(Array.from({ length: 50 }, () => traceContext(headers({})).traceId));
  strictEqual(ids.size, 50);
});

Deno.test("traceContext() drops a tracestate that is blank, too long or not printable ASCII", () => {
  for (const state of [" ", "a=" + "x".repeat(5000), "a=é"]) {
    strictEqual(
      traceContext(headers({ traceparent: VALID, tracestate: state })).tracestate,
      undefined,
      state.slice(0, 20),
    );
  }
});

Deno.test("traceContext() hands the process the runtime's active span when there is one", () => {
  const activeSpan = () => ({ traceId: TRACE, spanId: "1111111111111111", traceFlags: 1 });
  deepStrictEqual(
    traceContext(headers({ traceparent: VALID, tracestate: "a=b" }), { activeSpan }),
    { traceId: TRACE, traceparent: `00-${TRACE}-1111111111111111-01`, tracestate: "a=b" },
  );
  const other = "22222222222222222222222222222222";
  deepStrictEqual(
    traceContext(headers({ tracestate: "a=b" }), {
      activeSpan: () => ({ traceId: other, spanId: "3333333333333333", traceFlags: 0 }),
    }),
    { traceId: other, traceparent: `00-${other}-3333333333333333-00` },
    "a span that started its own trace carries no client tracestate",
  );
});

Deno.test("traceContext() ignores an active span whose ids are not valid", () => {
  const trace = traceContext(headers({ traceparent: VALID }), {
    activeSpan: () => ({ traceId: "", spanId: "", traceFlags: 0 }),
  });
  strictEqual(trace.traceparent, VALID);
});

Deno.test("buildChildEnv() hands the trace to the process as TRACEPARENT and TRACESTATE", () => {
  const facts = {
    requestId: "0b7f6a34-3c1e-4c8e-9a57-2f1d2a9b8c01",
    uriPath: "/",
    method: "GET",
    queryString: "",
    contentType: "",
    contentLength: 0,
    pathParams: {},
    headers: {},
    socket: "/tmp/u.sock",
    replyUrl: "http://localhost/uri/x",
    deadlineMs: 0,
  };
  const env = buildChildEnv({ ...facts, traceparent: VALID, tracestate: "a=b" }, {}, {});
  strictEqual(env.TRACEPARENT, VALID);
  strictEqual(env.TRACESTATE, "a=b");
  const bare = buildChildEnv({ ...facts, traceparent: VALID }, {}, {});
  ok(!("TRACESTATE" in bare), "no TRACESTATE without one");
});
