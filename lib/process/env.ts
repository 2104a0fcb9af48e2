/**
 * The environment a handler process starts with: what urocket tells it about
 * the request, the operation's configured `env`, and four inherited names.
 * Nothing else of urocket's environment reaches it.
 *
 * @module
 */

import { headerEnvName, pathParamEnvName } from "../config/mod.ts";

/** Variables of urocket's own environment that every process inherits. */
export const INHERITED_ENV_NAMES = ["PATH", "HOME", "LANG", "TZ"] as const;

/** What urocket knows about a request that the process is told. */
export interface RequestFacts {
  requestId: string;
  /** The raw path as received, prefix included. */
  uriPath: string;
  method: string;
  /** The raw query string, without `?`. */
  queryString: string;
  /** Content type of the payload as the process receives it, or `""`. */
  contentType: string;
  /** Byte length of the payload as the process receives it. */
  contentLength: number;
  /** Decoded path parameters by template name. */
  pathParams: Record<string, string>;
  /** Passed headers by configured name; absent headers are left out. */
  headers: Record<string, string>;
  socket: string;
  replyUrl: string;
  /** Epoch milliseconds at which the timeout fires. */
  deadlineMs: number;
  /** W3C `traceparent` the process continues (see lib/front/trace.ts). */
  traceparent?: string;
  /** W3C `tracestate` passed on with it, when the client sent one. */
  tracestate?: string;
  /** Who the caller is, when the operation's security let it through with credentials. */
  auth?: {
    scheme: string;
    subject?: string;
    scopes: string[];
    /** The token's claims as JSON. */
    claims?: string;
  };
}

/**
 * Builds the complete environment of a handler process. Later sources win:
 * inherited names, then the configured `env`, then urocket's own variables,
 * which configuration can never override.
 *
 * @example
 * ```ts
 * declare const facts: RequestFacts;
 * const env = buildChildEnv(facts, { MYENV: "CI" }, { PATH: "/usr/bin" });
 * env.REQUEST_ID === facts.requestId; // true
 * ```
 */
export function buildChildEnv(
  facts: RequestFacts,
  configured: Record<string, string>,
  inherited: Record<string, string>,
): Record<string, string> {
  const env: Record<string, string> = { ...inherited, ...configured };
  for (const [name, value] of Object.entries(facts.headers)) env[headerEnvName(name)] = value;
  for (const [name, value] of Object.entries(facts.pathParams)) {
    env[pathParamEnvName(name)] = value;
  }
  env.REQUEST_ID = facts.requestId;
  env.URIPATH = facts.uriPath;
  env.REQUEST_METHOD = facts.method;
  env.QUERY_STRING = facts.queryString;
  env.CONTENT_TYPE = facts.contentType;
  env.CONTENT_LENGTH = String(facts.contentLength);
  env.UROCKET_SOCKET = facts.socket;
  env.UROCKET_REPLY_URL = facts.replyUrl;
  env.UROCKET_DEADLINE_MS = String(facts.deadlineMs);
  // Configured env can never set these (reserved), so an absent trace leaves them unset.
  if (facts.traceparent !== undefined) env.TRACEPARENT = facts.traceparent;
  if (facts.tracestate !== undefined) env.TRACESTATE = facts.tracestate;
  if (facts.auth) {
    env.AUTH_SCHEME = facts.auth.scheme;
    if (facts.auth.subject !== undefined) env.AUTH_SUBJECT = facts.auth.subject;
    env.AUTH_SCOPES = facts.auth.scopes.join(" ");
    if (facts.auth.claims !== undefined) env.AUTH_CLAIMS = facts.auth.claims;
  }
  return env;
}

/** Picks the inherited names out of urocket's environment. */
export function inheritedEnv(env: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of INHERITED_ENV_NAMES) if (env[name] !== undefined) out[name] = env[name];
  return out;
}

/** Longest single argument or `NAME=value` string the kernel accepts (MAX_ARG_STRLEN, with its NUL). */
export const MAX_ARG_BYTES = 131_072;
/** Budget for argv plus environment, kept under the usual ARG_MAX of 2 MiB. */
const MAX_EXEC_BYTES = 2 * 1024 * 1024 - 64 * 1024;

/** Why a request's exec would be refused by the kernel, mapped to an HTTP status. */
export interface ExecTooLarge {
  status: 414 | 431;
  detail: string;
}

/**
 * Checks argv and environment against the kernel's exec limits before
 * spawning, so that an oversized URI or header is the client's 414/431
 * rather than a failed spawn.
 */
export function checkExecSize(
  args: readonly string[],
  env: Record<string, string>,
): ExecTooLarge | undefined {
  // A UTF-16 code unit is at most 3 UTF-8 bytes: when even that bound fits, nothing is encoded.
  let bound = 0;
  for (const arg of args) bound += arg.length * 3 + 9;
  for (const name in env) bound += (name.length + env[name].length) * 3 + 10;
  if (bound <= MAX_ARG_BYTES) return undefined;
  const encoder = new TextEncoder();
  let total = 0;
  let uriBytes = 0;
  for (const arg of args) total += encoder.encode(arg).length + 1 + 8;
  for (const [name, value] of Object.entries(env)) {
    const bytes = encoder.encode(value).length + name.length + 2;
    total += bytes + 8;
    const fromUri = name === "URIPATH" || name === "QUERY_STRING" || name.startsWith("PATH_PARAM_");
    if (fromUri) uriBytes += bytes;
    if (bytes > MAX_ARG_BYTES) {
      return fromUri
        ? { status: 414, detail: `The URI is too long to hand to the process as ${name}` }
        : { status: 431, detail: `A header is too large to hand to the process as ${name}` };
    }
  }
  if (total > MAX_EXEC_BYTES) {
    return uriBytes > total / 2
      ? { status: 414, detail: "The URI is too long to hand to the process" }
      : { status: 431, detail: "The request headers are too large to hand to the process" };
  }
  return undefined;
}
