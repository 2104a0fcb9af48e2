import { deepStrictEqual, match, rejects, strictEqual, throws } from "node:assert/strict";
import { encodePayload, mediaType, payloadArgument } from "../../../lib/exchange/payload.ts";
import { readBody } from "../../../lib/exchange/request_body.ts";
import { MAX_ARG_BYTES } from "../../../lib/process/env.ts";
import { HttpProblem } from "../../../lib/http/problem.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = (text: string) => encoder.encode(text);
const FORM = "application/x-www-form-urlencoded";

/** Checks that `error` is an HttpProblem of `kind` and `status`. */
function isProblem(kind: string, status: number) {
  return (error: unknown) => {
    if (!(error instanceof HttpProblem)) return false;
    strictEqual(error.kind, kind);
    strictEqual(error.status, status);
    return true;
  };
}

/** A body stream that sends `chunks` and records whether it was cancelled. */
function streamOf(chunks: Uint8Array[]) {
  const state = { cancelled: false, pulled: 0 };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[state.pulled++];
      if (chunk) controller.enqueue(chunk);
      else controller.close();
    },
    cancel() {
      state.cancelled = true;
    },
  }, { highWaterMark: 0 });
  return { stream, state };
}

Deno.test("encodePayload() turns a form body into a JSON object with json encoding", () => {
  const payload = encodePayload(bytes("name=Rex&kind=dog+%26+co"), FORM, "json");
  strictEqual(payload.contentType, "application/json");
  deepStrictEqual(JSON.parse(decoder.decode(payload.bytes)), { name: "Rex", kind: "dog & co" });
});

Deno.test("encodePayload() makes a repeated form field an array", () => {
  const payload = encodePayload(bytes("a=1&b=x&a=2&a=3"), FORM, "json");
  deepStrictEqual(JSON.parse(decoder.decode(payload.bytes)), { a: ["1", "2", "3"], b: "x" });
});

Deno.test("encodePayload() keeps form fields named like Object.prototype members as sent", () => {
  const payload = encodePayload(
    bytes("constructor=a&toString=b&toString=c&hasOwnProperty=d&__proto__=e&valueOf=f"),
    FORM,
    "json",
  );
  deepStrictEqual(JSON.parse(decoder.decode(payload.bytes)), {
    constructor: "a",
    toString: ["b", "c"],
    hasOwnProperty: "d",
    ["__proto__"]: "e",
    valueOf: "f",
  });
});

Deno.test("encodePayload() recognises a form content type with parameters and any case", () => {
  const payload = encodePayload(
    bytes("x=1"),
    "Application/X-WWW-Form-Urlencoded; charset=UTF-8",
    "json",
  );
  strictEqual(payload.contentType, "application/json");
  deepStrictEqual(JSON.parse(decoder.decode(payload.bytes)), { x: "1" });
});

Deno.test("encodePayload() turns an empty body into {} with json encoding", () => {
  for (const type of [null, "", FORM, "text/plain"]) {
    const payload = encodePayload(new Uint8Array(), type, "json");
    strictEqual(decoder.decode(payload.bytes), "{}", String(type));
    strictEqual(payload.contentType, "application/json", String(type));
  }
});

Deno.test("encodePayload() passes other content types through unchanged with json encoding", () => {
  const cases: [string, string | null][] = [
    ['{"name":"Rex"}', "application/json"],
    ["<pet/>", "application/xml"],
    ["plain", null],
  ];
  for (const [text, type] of cases) {
    const body = bytes(text);
    const payload = encodePayload(body, type, "json");
    strictEqual(payload.bytes, body);
    strictEqual(payload.contentType, type ?? "");
  }
});

Deno.test("encodePayload() passes every body through unchanged with raw encoding", () => {
  const form = bytes("a=1&a=2");
  deepStrictEqual(encodePayload(form, FORM, "raw"), { bytes: form, contentType: FORM });
  const empty = new Uint8Array();
  deepStrictEqual(encodePayload(empty, null, "raw"), { bytes: empty, contentType: "" });
});

Deno.test("mediaType() drops parameters and lower-cases", () => {
  strictEqual(mediaType(" Text/HTML ; charset=utf-8"), "text/html");
  strictEqual(mediaType(""), "");
});

Deno.test("payloadArgument() returns the payload as text", () => {
  strictEqual(payloadArgument(bytes('{"name":"Réx"}')), '{"name":"Réx"}');
  strictEqual(payloadArgument(new Uint8Array()), "");
});

Deno.test("payloadArgument() keeps a leading byte order mark, byte for byte", () => {
  // A UTF-8 BOM is valid UTF-8: the argument is the payload, whose length CONTENT_LENGTH gives.
  const payload = new Uint8Array([0xef, 0xbb, 0xbf, ...bytes("hello")]);
  const argument = payloadArgument(payload);
  strictEqual(argument, "\ufeffhello");
  deepStrictEqual(encoder.encode(argument), payload);
});

Deno.test("payloadArgument() refuses invalid UTF-8 with 400", () => {
  throws(() => payloadArgument(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])), (error: unknown) => {
    isProblem("bad_request", 400)(error);
    match((error as Error).message, /not valid UTF-8/);
    match((error as Error).message, /channel: stdin/);
    return true;
  });
});

Deno.test("payloadArgument() refuses a NUL byte with 400", () => {
  throws(() => payloadArgument(bytes("a\0b")), (error: unknown) => {
    isProblem("bad_request", 400)(error);
    match((error as Error).message, /NUL byte/);
    return true;
  });
});

Deno.test("payloadArgument() refuses a payload of MAX_ARG_BYTES or more with 413", () => {
  strictEqual(MAX_ARG_BYTES, 131_072);
  strictEqual(payloadArgument(new Uint8Array(MAX_ARG_BYTES - 1).fill(0x61)).length, 131_071);
  throws(
    () => payloadArgument(new Uint8Array(MAX_ARG_BYTES).fill(0x61)),
    isProblem("payload_too_large", 413),
  );
});

Deno.test("readBody() reads a body within max-body", async () => {
  const request = new Request("http://front/pets", { method: "POST", body: "hello" });
  deepStrictEqual(await readBody(request, { maxBody: 5 }), bytes("hello"));
});

Deno.test("readBody() reads a request without a body as empty", async () => {
  const request = new Request("http://front/pets");
  deepStrictEqual(await readBody(request, { maxBody: 0 }), new Uint8Array());
});

Deno.test("readBody() refuses a declared Content-Length over max-body with 413 before reading", async () => {
  const { stream, state } = streamOf([bytes("0123456789")]);
  const request = new Request("http://front/pets", {
    method: "POST",
    body: stream,
    headers: { "content-length": "10" },
  });
  await rejects(readBody(request, { maxBody: 9 }), (error: unknown) => {
    isProblem("payload_too_large", 413)(error);
    match((error as Error).message, /max-body \(9 bytes\)/);
    return true;
  });
  strictEqual(state.pulled, 0);
  await request.body!.cancel();
});

Deno.test("readBody() refuses a body without Content-Length once it passes max-body", async () => {
  const { stream, state } = streamOf([bytes("01234"), bytes("56789"), bytes("abcde")]);
  const request = new Request("http://front/pets", { method: "POST", body: stream });
  strictEqual(request.headers.get("content-length"), null);
  await rejects(readBody(request, { maxBody: 9 }), isProblem("payload_too_large", 413));
  strictEqual(state.cancelled, true);
  strictEqual(state.pulled <= 2, true, "read on after the limit was passed");
});

Deno.test("readBody() accepts a streamed body of exactly max-body", async () => {
  const { stream } = streamOf([bytes("01234"), bytes("5678")]);
  const request = new Request("http://front/pets", { method: "POST", body: stream });
  deepStrictEqual(await readBody(request, { maxBody: 9 }), bytes("012345678"));
});

Deno.test("readBody() answers 400, not 500, to a body that breaks off (the client left mid-body)", async () => {
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.error(new TypeError("connection reset"));
    },
  });
  const request = new Request("http://front/pets", { method: "POST", body: stream });
  await rejects(readBody(request, { maxBody: 100 }), (error: unknown) => {
    isProblem("bad_request", 400)(error);
    strictEqual((error as Error).message, "The request body ended before it was complete");
    strictEqual(((error as Error).cause as Error).message, "connection reset");
    return true;
  });
});
