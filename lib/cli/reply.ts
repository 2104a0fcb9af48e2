/**
 * `urocket reply`: the reply client for handlers, built in, so that a handler
 * in an image without curl can answer. It reads where to reply from the
 * environment urocket gave the process, sends the body (the argument, or
 * stdin), and says in one line — and in its exit code — what became of it.
 *
 * @module
 */

import { isBodiless, NO_205 } from "../http/mod.ts";
import type { CliOutput } from "./output.ts";

/** Exit codes of `urocket reply`, one per case a handler may want to tell apart. */
export const REPLY_EXIT = {
  delivered: 0,
  /** Anything else: the connection broke, an unexpected answer. */
  failed: 1,
  /** A wrong option, or not run by urocket (no UROCKET_REPLY_URL / UROCKET_SOCKET). */
  usage: 2,
  /** The socket file is missing or nobody answers on it. */
  socket: 3,
  /** 400: a bad Urocket-Status or header, a 205, a body with 204/304, a body that broke off. */
  badReply: 4,
  /** 404: no request with this id waits (never did, or long forgotten). */
  unknownId: 5,
  /** 409: the request was already answered. */
  alreadyAnswered: 6,
  /** 410: the request timed out, its process exited, or its client left. */
  gone: 7,
  /** 413: the body is over max-reply. */
  tooLarge: 8,
  /** 422: the reply does not match the OpenAPI document (validate-out). */
  invalid: 9,
} as const;

/** What each refusal of the reply socket means, by status. */
const REFUSALS: Record<number, { what: string; code: number }> = {
  400: { what: "bad reply", code: REPLY_EXIT.badReply },
  404: { what: "unknown id", code: REPLY_EXIT.unknownId },
  409: { what: "already answered", code: REPLY_EXIT.alreadyAnswered },
  410: { what: "timed out or client gone", code: REPLY_EXIT.gone },
  413: { what: "too large", code: REPLY_EXIT.tooLarge },
  422: { what: "invalid reply", code: REPLY_EXIT.invalid },
};

const HEADER = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/;
/** What no header value may hold: CR, LF and the other controls (tab is allowed). */
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

/**
 * A header value as the bytes of its UTF-8 encoding, one character per byte:
 * what curl sends for the same text. `Headers` takes only such byte strings
 * (a character over U+00FF throws) and would send `é` as the single byte E9.
 */
function utf8ByteString(text: string): string {
  if (!/[^\x20-\x7e\t]/.test(text)) return text;
  let out = "";
  for (const byte of new TextEncoder().encode(text)) out += String.fromCharCode(byte);
  return out;
}

/** Options of {@link sendReply}, as given on the command line. */
export interface ReplyOptions {
  /** `--status`, a status code from 200 to 599; default 200. */
  status?: string;
  /** `--header 'Name: value'`, each becoming response header `Name`. */
  headers?: string[];
  /** `--content-type`. */
  contentType?: string;
  /** `--stream`: send stdin as it is read (chunked) instead of reading it whole first. */
  stream?: boolean;
  /** The body; when absent, stdin is. */
  body?: string;
  /** Reads a variable of the handler's environment (undefined when unset or not permitted). */
  env: (name: string) => string | undefined;
  /** The handler's stdin, read only when there is no body argument. */
  stdin: ReadableStream<Uint8Array>;
  output: CliOutput;
}

/**
 * Sends the reply and returns the exit code ({@link REPLY_EXIT}). Quiet when
 * the reply was delivered; one line on stderr otherwise.
 *
 * @example
 * ```ts
 * const code = await sendReply({
 *   status: "201",
 *   body: '{"id":7}',
 *   contentType: "application/json",
 *   env: (name) => Deno.env.get(name),
 *   stdin: Deno.stdin.readable,
 *   output: { out: console.log, err: console.error },
 * });
 * ```
 */
export async function sendReply(options: ReplyOptions): Promise<number> {
  const fail = (code: number, message: string) => {
    options.output.err(`urocket reply: ${message}`);
    return code;
  };
  const target = replyTarget(options);
  if ("error" in target) return fail(REPLY_EXIT.usage, target.error);
  if (options.stream && options.body !== undefined) {
    return fail(REPLY_EXIT.usage, "--stream sends stdin: give either BODY or --stream, not both");
  }
  const head = replyHead(options);
  if ("error" in head) return fail(REPLY_EXIT.usage, head.error);
  const { socket } = target;
  const missing = await socketMissing(socket);
  if (missing) return fail(REPLY_EXIT.socket, `socket missing: ${missing}`);

  let body: Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array>;
  if (options.body !== undefined) body = new TextEncoder().encode(options.body);
  else if (isBodiless(head.status)) body = new Uint8Array(); // stdin is not read
  else if (options.stream) body = options.stdin;
  else body = new Uint8Array(await new Response(options.stdin).arrayBuffer());

  const about = target.requestId ? ` for request ${target.requestId}` : "";
  const client = Deno.createHttpClient({ proxy: { transport: "unix", path: socket } });
  try {
    let response: Response;
    try {
      response = await fetch(target.url, { method: "POST", headers: head.headers, body, client });
    } catch (error) {
      const message = describe(error);
      if (/refused|not found|no such file/i.test(message)) {
        return fail(REPLY_EXIT.socket, `socket not answering: ${socket}: ${message}`);
      }
      return fail(REPLY_EXIT.failed, `reply not delivered${about}: ${message}`);
    }
    const text = await response.text().catch(() => "");
    if (response.status === 200) return REPLY_EXIT.delivered;
    const refusal = REFUSALS[response.status];
    const detail = problemDetail(text);
    return fail(
      refusal?.code ?? REPLY_EXIT.failed,
      `${refusal?.what ?? "unexpected answer"} (${response.status})${about}` +
        (detail ? `: ${detail}` : ""),
    );
  } finally {
    client.close();
  }
}

/** Where the reply goes, from the handler's environment; or what is wrong with it. */
function replyTarget(
  options: ReplyOptions,
): { url: URL; socket: string; requestId?: string } | { error: string } {
  const replyUrl = options.env("UROCKET_REPLY_URL");
  const socket = options.env("UROCKET_SOCKET");
  for (const [name, value] of [["UROCKET_REPLY_URL", replyUrl], ["UROCKET_SOCKET", socket]]) {
    if (!value) {
      return {
        error: `${name} is not set: urocket reply runs inside a handler that urocket started`,
      };
    }
  }
  try {
    return { url: new URL(replyUrl!), socket: socket!, requestId: options.env("REQUEST_ID") };
  } catch {
    return { error: `UROCKET_REPLY_URL is not a URL: ${JSON.stringify(replyUrl)}` };
  }
}

/**
 * The reply's status and headers (`Urocket-Status`, `Urocket-Header-<Name>`,
 * its Content-Type, the request's trace); or what is wrong with the options.
 */
function replyHead(
  options: ReplyOptions,
): { status: number; headers: Headers } | { error: string } {
  const headers = new Headers();
  if (!/^[2-5][0-9]{2}$/.test(options.status ?? "200")) {
    return {
      error: `--status must be one status code from 200 to 599, not ${
        JSON.stringify(options.status)
      }`,
    };
  }
  const status = Number(options.status ?? 200);
  if (status === 205) return { error: NO_205.replace("Urocket-Status", "--status") };
  if (options.status !== undefined) headers.set("urocket-status", String(status));
  for (const header of options.headers ?? []) {
    const match = HEADER.exec(header);
    if (!match) return { error: `--header must be "Name: value", not ${JSON.stringify(header)}` };
    if (match[1].toLowerCase() === "content-type") {
      return { error: "set the reply's Content-Type with --content-type, not --header" };
    }
    if (CONTROL.test(match[2])) {
      return { error: `--header value has a control character: ${JSON.stringify(header)}` };
    }
    headers.append(`urocket-header-${match[1]}`, utf8ByteString(match[2]));
  }
  if (options.contentType !== undefined) {
    if (CONTROL.test(options.contentType)) {
      return {
        error: `--content-type has a control character: ${JSON.stringify(options.contentType)}`,
      };
    }
    headers.set("content-type", utf8ByteString(options.contentType));
  }
  // The reply joins the request's trace, so that its span (with OTEL_DENO) lands in it.
  const traceparent = options.env("TRACEPARENT");
  if (traceparent) headers.set("traceparent", traceparent);
  const tracestate = options.env("TRACESTATE");
  if (traceparent && tracestate) headers.set("tracestate", tracestate);
  return { status, headers };
}

/** Why the socket path cannot be a live socket, or undefined when it may be. */
async function socketMissing(path: string): Promise<string | undefined> {
  try {
    const info = await Deno.lstat(path);
    return info.isSocket ? undefined : `${path} is not a socket`;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return `${path} does not exist (has urocket stopped?)`;
    }
    // Not allowed to look (narrow permissions): let the connection attempt tell.
    return undefined;
  }
}

/** The `detail` of a problem+json answer (with its errors, if any), on one line. */
function problemDetail(text: string): string {
  let detail = text;
  try {
    const problem = JSON.parse(text);
    detail = String(problem.detail ?? text);
    if (Array.isArray(problem.errors)) detail += ` ${JSON.stringify(problem.errors)}`;
  } catch {
    // Not JSON: the text as it is.
  }
  detail = detail.replace(/\s+/g, " ").trim();
  return detail.length > 500 ? detail.slice(0, 500) + "…" : detail;
}

function describe(error: unknown): string {
  let message = error instanceof Error ? error.message : String(error);
  const cause = (error as { cause?: unknown })?.cause;
  if (cause instanceof Error && !message.includes(cause.message)) message += `: ${cause.message}`;
  return message.replace(/\s+/g, " ");
}
