/**
 * The addresses of the config: `listen` and `admin` (`host:port`), the
 * socket path's bounds, and `outtake` (`usocket://…`).
 *
 * @module
 */

import type { ListenAddress } from "./service_config.ts";

/** Longest unix socket path Linux accepts (sun_path is 108 bytes with its NUL). */
export const MAX_SOCKET_PATH = 107;

/**
 * The longest name urocket binds its socket as before renaming it into
 * place, in the socket's folder: `.u` and its pid in base 36 (at most 5
 * digits: pids stop at 4 Mi).
 */
export const SOCKET_STAGING_BYTES = 7;

/**
 * Parses `host:port`, `[v6]:port` or `:port` into a listen address, or
 * returns what is wrong.
 */
export function parseListen(value: string): ListenAddress | string {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\[\]]*)):([0-9]{1,5})$/.exec(value);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) {
    return `Invalid listen address ${JSON.stringify(value)}: use host:port, e.g. ` +
      `"0.0.0.0:8080", "[::]:8080" or "127.0.0.1:0"`;
  }
  return { hostname: match[1] ?? (match[2] || "0.0.0.0"), port };
}

/** `host:port`, with brackets around an IPv6 host: the inverse of {@link parseListen}. */
export function formatListen(address: ListenAddress): string {
  const { hostname, port } = address;
  return `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
}

/** Whether binding `a` would collide with binding `b` (same port, overlapping addresses). */
export function sameBinding(a: ListenAddress, b: ListenAddress): boolean {
  if (a.port === 0 || a.port !== b.port) return false;
  const wildcard = (host: string) => host === "0.0.0.0" || host === "::" || host === "";
  return a.hostname === b.hostname || wildcard(a.hostname) || wildcard(b.hostname);
}

/**
 * Parses an `outtake` such as `usocket://uri/{req_id}` into the HTTP path it
 * names on the socket (`/uri/{req_id}`), or returns what is wrong.
 */
export function parseOuttake(value: string): string | { error: string } {
  const prefix = "usocket://";
  if (!value.startsWith(prefix)) {
    return { error: `Expected usocket://<path>, e.g. "usocket://uri/{req_id}"` };
  }
  const path = "/" + value.slice(prefix.length).replace(/^\/+/, "");
  const segments = path.slice(1).split("/");
  const idSegments = segments.filter((s) => s.includes("{") || s.includes("}"));
  if (idSegments.length !== 1 || idSegments[0] !== "{req_id}") {
    return {
      error: `The outtake path needs exactly one whole {req_id} segment and no other ` +
        `braces, e.g. "usocket://uri/{req_id}"`,
    };
  }
  // `|` would reach the reply server's router as regular-expression syntax (every reply on the
  // path was a 500), and a URL parser reads `\` as `/` (no reply could reach the path).
  if (segments.some((s) => s === "" || s === "." || s === "..") || /[?#%|\\\s]/.test(path)) {
    return { error: "The outtake path must be plain segments without ?, #, %, |, \\ or spaces" };
  }
  return path;
}
