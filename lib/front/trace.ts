/**
 * W3C Trace Context for one request: continue the client's trace (or start
 * one) and hand it to the process as `TRACEPARENT` / `TRACESTATE`, so that a
 * handler's own spans join the caller's trace.
 *
 * When Deno's built-in OpenTelemetry is on (`OTEL_DENO=true`), `Deno.serve`
 * has already opened a server span for the request, continuing the client's
 * `traceparent`; the process is then handed that span, so that its spans
 * nest under urocket's. Without it, urocket records no span of its own and
 * passes a valid `traceparent` through unchanged, like a proxy that does not
 * trace.
 *
 * @module
 */

/** The trace a request belongs to and what the process is told about it. */
export interface TraceContext {
  /** 32 lowercase hex digits. */
  traceId: string;
  /** The `traceparent` handed to the process (version 00). */
  traceparent: string;
  /** The client's `tracestate`, passed only with a valid `traceparent`. */
  tracestate?: string;
}

/** A span's identity, as OpenTelemetry's `SpanContext` has it. */
export interface SpanIdentity {
  traceId: string;
  spanId: string;
  traceFlags: number;
}

/** Options of {@link traceContext}. */
export interface TraceOptions {
  /** The span the runtime opened for this request, if any (see {@link denoActiveSpan}). */
  activeSpan?: () => SpanIdentity | undefined;
  /** Random bytes; injectable for tests. */
  random?: (bytes: Uint8Array<ArrayBuffer>) => void;
}

/** Longest `tracestate` passed on; the spec asks for at least 512 characters to survive. */
const MAX_TRACESTATE = 4096;

const HEX_32 = /^[0-9a-f]{32}$/;
const HEX_16 = /^[0-9a-f]{16}$/;

/**
 * Parses a `traceparent` header by the W3C Trace Context rules: version 00
 * exactly, a later version by its first four fields; `ff`, upper case, all-zero
 * ids and repeated headers (joined by a comma) are invalid.
 *
 * @returns the parts, or undefined when the value is invalid.
 */
export function parseTraceparent(
  value: string | null,
): { traceId: string; parentId: string; flags: string } | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  // A later version's extra fields could otherwise swallow a second, comma-joined header.
  if (v.includes(",")) return undefined;
  const match = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(.*)$/.exec(v);
  if (!match) return undefined;
  const [, version, traceId, parentId, flags, rest] = match;
  if (version === "ff") return undefined;
  // Version 00 has exactly four fields; later versions may append more after a dash.
  if (version === "00" ? rest !== "" : rest !== "" && !rest.startsWith("-")) return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(parentId)) return undefined;
  return { traceId, parentId, flags };
}

/**
 * The trace of a request with `headers`: the runtime's active span when there
 * is one, else the client's valid `traceparent` unchanged, else a new trace
 * (random ids, sampled).
 */
export function traceContext(headers: Headers, options: TraceOptions = {}): TraceContext {
  const incoming = parseTraceparent(headers.get("traceparent"));
  const state = headers.get("tracestate");
  const tracestate = incoming && state !== null && state.length <= MAX_TRACESTATE &&
      /^[\x20-\x7e]*$/.test(state) && state.trim() !== ""
    ? state.trim()
    : undefined;
  const span = options.activeSpan?.();
  if (span && HEX_32.test(span.traceId) && HEX_16.test(span.spanId)) {
    const flags = (span.traceFlags & 0xff).toString(16).padStart(2, "0");
    return {
      traceId: span.traceId,
      traceparent: `00-${span.traceId}-${span.spanId}-${flags}`,
      // Deno's span continues the client's trace only when the client sent one.
      ...(incoming?.traceId === span.traceId && tracestate ? { tracestate } : {}),
    };
  }
  if (incoming) {
    const { traceId, parentId, flags } = incoming;
    return {
      traceId,
      traceparent: `00-${traceId}-${parentId}-${flags}`,
      ...(tracestate ? { tracestate } : {}),
    };
  }
  const random = options.random ?? ((bytes) => crypto.getRandomValues(bytes));
  // One draw for both ids: the trace id is the first 16 bytes, the span id the last 8.
  do random(IDS); while (allZero(0, 16) || allZero(16, 24));
  const traceId = hexOf(0, 16);
  return { traceId, traceparent: `00-${traceId}-${hexOf(16, 24)}-01` };
}

/** Two hex digits per byte value, so that an id is built with one lookup per byte. */
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

/**
 * The random bytes of a new trace's ids, drawn into one buffer reused by every request: a
 * Uint8Array and a draw per id cost about 2 µs a request, this about a quarter of that.
 */
const IDS = new Uint8Array(24);

/** An all-zero id is invalid; a random one is all zeros with negligible odds, but never mind them. */
function allZero(from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (IDS[i] !== 0) return false;
  return true;
}

/** The digits of a trace id and of a span id, by length. */
const PARTS: Record<number, string[]> = { 16: new Array(16).fill(""), 8: new Array(8).fill("") };

function hexOf(from: number, to: number): string {
  // Joined rather than appended: `+=` leaves a chain of cons-strings that lives as long as the
  // request does.
  const parts = PARTS[to - from];
  for (let i = from; i < to; i++) parts[i - from] = HEX[IDS[i]];
  return parts.join("");
}

/** The key under which OpenTelemetry's API keeps the active span in a context. */
const SPAN_KEY = Symbol.for("OpenTelemetry Context Key SPAN");

interface OtelSpan {
  spanContext(): SpanIdentity;
  setAttribute?(key: string, value: string): void;
  updateName?(name: string): void;
}

function activeOtelSpan(): OtelSpan | undefined {
  // Present in every Deno 2; it holds a span only when OTEL_DENO=true and Deno.serve opened one.
  const telemetry = (Deno as unknown as {
    telemetry?: { contextManager?: { active(): { getValue(key: symbol): unknown } } };
  }).telemetry;
  try {
    const span = telemetry?.contextManager?.active().getValue(SPAN_KEY) as OtelSpan | undefined;
    return typeof span?.spanContext === "function" ? span : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The span Deno's built-in OpenTelemetry opened for the request being
 * handled, when `OTEL_DENO=true`; undefined otherwise. Call it in the
 * request's own async context (before the handler awaits anything foreign).
 */
export function denoActiveSpan(): SpanIdentity | undefined {
  const context = activeOtelSpan()?.spanContext();
  return context && context.traceId && context.spanId ? context : undefined;
}

/**
 * Names Deno's server span after the operation (`POST /pets/{petId}`) and
 * tags it with the request id, so traces group by route rather than by raw
 * path. Does nothing without OpenTelemetry.
 */
export function annotateDenoSpan(
  route: { method: string; template: string } | undefined,
  requestId: string,
): void {
  const span = activeOtelSpan();
  if (!span) return;
  try {
    span.setAttribute?.("urocket.request_id", requestId);
    if (route) {
      span.setAttribute?.("http.route", route.template);
      span.updateName?.(`${route.method} ${route.template}`);
    }
  } catch {
    // Tracing is best effort; it never fails a request.
  }
}
