/**
 * Raw HTTP/1.1 over TCP or a unix socket, for the hostile-input tests: the
 * bytes are written exactly as given (fetch would fix or refuse most of
 * them), and the answer is read until it is complete or the peer closes.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Urocket } from "./_harness.ts";

/**
 * Where to connect: urocket's front, or its reply socket. `track` is told the
 * request id of every answer that has one, so that the test's stop waits for
 * its process like for the others.
 */
export type Target = ({ hostname: string; port: number } | { path: string }) & {
  track?: (requestId: string) => void;
};

/** What came back on a raw connection. */
export interface RawAnswer {
  /** The status, when a response arrived. */
  status?: number;
  headers: Headers;
  body: string;
  /** Whether the peer closed (or reset) the connection. */
  closed: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The front's address of a running urocket. */
export function front(uro: Urocket): Target {
  const { hostname, port } = new URL(uro.url);
  return { hostname, port: Number(port), track: uro.track };
}

/** Connects to `target`. */
export function connect(target: Target): Promise<Deno.Conn> {
  return "path" in target
    ? Deno.connect({ transport: "unix", path: target.path })
    : Deno.connect(target);
}

/**
 * Encodes a request given as bytes, or as text: one byte per character when
 * every character fits in one (so "\xff" sends the byte 0xff), else UTF-8.
 */
export function bytes(request: string | Uint8Array): Uint8Array {
  if (typeof request !== "string") return request;
  return [...request].every((c) => c <= "\xff")
    ? Uint8Array.from(request, (c) => c.charCodeAt(0))
    : encoder.encode(request);
}

/** Options of {@link exchangeRaw}. */
export interface RawOptions {
  /** Shut the write side after sending, as a client that gives up would. */
  closeWrite?: boolean;
}

/**
 * Sends `request` on a new connection and reads one response: until it is
 * complete (by Content-Length or chunked framing) or the peer closes.
 */
export async function exchangeRaw(
  target: Target,
  request: string | Uint8Array,
  options: RawOptions = {},
): Promise<RawAnswer> {
  const connection = await connect(target);
  try {
    try {
      await writeAll(connection, bytes(request));
      if (options.closeWrite) await connection.closeWrite();
    } catch {
      // The server may close before reading everything (it answered early); read what it said.
    }
    const answer = await readResponse(connection);
    const id = answer.headers.get("x-request-id");
    if (id) target.track?.(id);
    return answer;
  } finally {
    try {
      connection.close();
    } catch {
      // Already closed.
    }
  }
}

/** Writes every byte of `data`. */
export async function writeAll(connection: Deno.Conn, data: Uint8Array): Promise<void> {
  let written = 0;
  while (written < data.length) written += await connection.write(data.subarray(written));
}

/** Reads one response from `connection`; see {@link RawAnswer}. */
export async function readResponse(connection: Deno.Conn): Promise<RawAnswer> {
  let received = new Uint8Array(0);
  const buffer = new Uint8Array(64 * 1024);
  let closed = false;
  for (;;) {
    const parsed = parse(received);
    if (parsed?.complete) return { ...parsed.answer, closed };
    let n: number | null;
    try {
      n = await connection.read(buffer);
    } catch {
      n = null; // Reset by the peer: as good as closed.
    }
    if (n === null) {
      closed = true;
      const last = parse(received);
      return last ? { ...last.answer, closed } : { headers: new Headers(), body: "", closed };
    }
    const next = new Uint8Array(received.length + n);
    next.set(received);
    next.set(buffer.subarray(0, n), received.length);
    received = next;
  }
}

function parse(
  data: Uint8Array,
): { answer: Omit<RawAnswer, "closed">; complete: boolean } | undefined {
  let end = -1;
  for (let i = 0; i + 3 < data.length; i++) {
    if (data[i] === 13 && data[i + 1] === 10 && data[i + 2] === 13 && data[i + 3] === 10) {
      end = i;
      break;
    }
  }
  if (end < 0) return undefined;
  const [statusLine, ...lines] = decoder.decode(data.subarray(0, end)).split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  const rest = data.subarray(end + 4);
  const length = headers.get("content-length");
  if (length !== null) {
    const body = decoder.decode(rest.subarray(0, Number(length)));
    return { answer: { status, headers, body }, complete: rest.length >= Number(length) };
  }
  if (headers.get("transfer-encoding")?.includes("chunked")) {
    const body = dechunk(decoder.decode(rest));
    return { answer: { status, headers, body: body ?? "" }, complete: body !== undefined };
  }
  return { answer: { status, headers, body: decoder.decode(rest) }, complete: false };
}

function dechunk(text: string): string | undefined {
  let out = "";
  let at = 0;
  for (;;) {
    const eol = text.indexOf("\r\n", at);
    if (eol < 0) return undefined;
    const size = parseInt(text.slice(at, eol), 16);
    if (size === 0) return out;
    if (text.length < eol + 2 + size + 2) return undefined;
    out += text.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * Asserts that urocket itself answered `status` as RFC 9457 problem+json
 * carrying the request id, also in `X-Request-Id`.
 */
export function assertProblem(answer: RawAnswer, status: number, what = ""): void {
  assert.equal(answer.status, status, `${what}: ${answer.status} ${answer.body}`);
  assert.equal(answer.headers.get("content-type"), "application/problem+json", what);
  const problem = JSON.parse(answer.body);
  assert.equal(problem.status, status, what);
  assert.match(problem.request_id, UUID, what);
  assert.equal(answer.headers.get("x-request-id"), problem.request_id, what);
}

/**
 * Asserts that a request too malformed for urocket was refused: either Deno's
 * HTTP layer answered by itself with a bare 4xx, or it closed the
 * connection, or (had it reached urocket) urocket answered a 4xx problem.
 */
export function assertRefused(answer: RawAnswer, what = ""): void {
  if (answer.status === undefined) {
    assert.ok(answer.closed, `${what}: no answer, yet the connection stayed open`);
    return;
  }
  assert.ok(answer.status >= 400 && answer.status < 500, `${what}: got ${answer.status}`);
  if (answer.headers.get("content-type") === "application/problem+json") {
    assertProblem(answer, answer.status, what);
  } else {
    assert.equal(answer.headers.get("x-request-id"), null, `${what}: urocket answers problem+json`);
  }
}

/**
 * The check that follows every hostile case: a normal request is answered
 * by its own process, with its own payload and id.
 */
export async function assertStillServes(uro: Urocket, path = "/run"): Promise<void> {
  const note = crypto.randomUUID();
  const answer = await uro.call(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ note }),
  });
  assert.equal(answer.status, 200, `the next normal request: ${answer.text}`);
  const echo = answer.json();
  assert.deepEqual(JSON.parse(echo.stdin), { note }, "the process got this request's payload");
  assert.equal(echo.env.REQUEST_ID, answer.headers.get("x-request-id"));
}
