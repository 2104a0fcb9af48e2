/**
 * The reply protocol's `Urocket-Header-<Name>` headers (`Urocket-Status` is
 * checked by the reply route's zod schema).
 *
 * @module
 */

/** Headers a reply may not set: hop-by-hop, framing, and urocket's own. */
const FORBIDDEN = new Set([
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
]);

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const PREFIX = "urocket-header-";

/**
 * Collects the `Urocket-Header-<Name>` headers of a reply into the response
 * headers they set. Returns an error message for a forbidden or malformed
 * name.
 */
export function parseReplyHeaders(request: Headers): Headers | string {
  const out = new Headers();
  for (const [name, value] of request) {
    if (!name.startsWith(PREFIX)) continue;
    const target = name.slice(PREFIX.length);
    if (!TOKEN.test(target)) return `${JSON.stringify(name)} names no header`;
    if (FORBIDDEN.has(target)) {
      return target === "content-type"
        ? "Set the reply's own Content-Type instead of Urocket-Header-Content-Type"
        : `Urocket-Header-${target} is not allowed: urocket manages ${target} itself`;
    }
    if (target === "set-cookie") {
      // Headers joins repeated lines with ", " (set-cookie itself excepted, not our prefixed
      // name), which a browser would read as one cookie: split them again where a new
      // `name=` follows. A cookie's value has no comma; only its Expires date does.
      for (const cookie of value.split(NEXT_COOKIE)) out.append(target, cookie);
    } else {
      out.append(target, value);
    }
  }
  return out;
}

/** The ", " that joined two Set-Cookie lines: a comma followed by a cookie's `name=`. */
const NEXT_COOKIE = /,[ \t]*(?=[!#$%&'*+.^_`|~0-9A-Za-z-]+=)/;

/**
 * Why 205 is refused: Deno's HTTP/1.1 server sends it with neither a length nor chunked framing and
 * keeps the connection open, so an HTTP/1.1 client (curl, Python, a proxy) waits for a body forever.
 */
export const NO_205 =
  "Urocket-Status 205 is not supported: it would reach HTTP/1.1 clients without framing and leave " +
  "them waiting; reply 204 instead";

/** Statuses whose responses have no body. */
export function isBodiless(status: number): boolean {
  return status === 204 || status === 205 || status === 304;
}
