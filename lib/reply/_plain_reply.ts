/**
 * The reply socket's fast path: most replies are plain — POST or PUT on an
 * outtake path whose segment is a request id, `Urocket-Status` absent or
 * valid — and are read here as the reply app's route and validators read
 * them, without the app's routing and the two zod validators. Anything else
 * goes to the app, which also answers every refusal.
 *
 * @module
 */

import { ReplyHeaderSchema, UUID } from "./_schemas.ts";

/** A reply whose path and headers passed the route's checks. */
export interface PlainReply {
  template: string;
  /** The request id, lower case. */
  id: string;
  status: number;
  request: Request;
}

/** Literal segments of a template that the app's router matches as plain text. */
const PLAIN_SEGMENT = /^[A-Za-z0-9._~-]+$/;

/** An outtake template as {@link plainReply} matches it: the text around its `{req_id}`. */
export interface PlainRoute {
  template: string;
  before: string;
  after: string;
}

/**
 * The templates {@link plainReply} may take replies for: all of them, or none when one has a
 * segment the app's router reads as syntax, or one shaped like a request id (a path could then
 * match two templates, and the router's choice is the app's).
 */
export function plainRoutes(templates: readonly string[]): PlainRoute[] {
  const routes: PlainRoute[] = [];
  for (const template of templates) {
    for (const segment of template.slice(1).split("/")) {
      if (segment !== "{req_id}" && (!PLAIN_SEGMENT.test(segment) || UUID.test(segment))) {
        return [];
      }
    }
    const at = template.indexOf("{req_id}");
    routes.push({ template, before: template.slice(0, at), after: template.slice(at + 8) });
  }
  return routes;
}

/**
 * A plain reply — POST or PUT on an outtake path whose segment is a request id, Urocket-Status
 * absent or valid — read as the app's route and validators read it; undefined for anything
 * else, which the app answers (its refusals included).
 */
export function plainReply(routes: PlainRoute[], request: Request): PlainReply | undefined {
  const method = request.method;
  if ((method !== "POST" && method !== "PUT") || routes.length === 0) return undefined;
  // The path as the app's router reads it when it holds no % (which it decodes): up to ? or #.
  const url = request.url;
  const start = url.indexOf("/", url.indexOf(":") + 4);
  let end = start;
  for (; end < url.length; end++) {
    const code = url.charCodeAt(end);
    if (code === 37 /* % */) return undefined;
    if (code === 63 /* ? */ || code === 35 /* # */) break;
  }
  for (const { template, before, after } of routes) {
    if (end - start !== before.length + 36 + after.length) continue;
    if (!url.startsWith(before, start) || !url.startsWith(after, end - after.length)) continue;
    const id = url.slice(start + before.length, start + before.length + 36);
    if (!UUID.test(id)) return undefined;
    const header = request.headers.get("urocket-status");
    if (header === null) return { template, id: id.toLowerCase(), status: 200, request };
    const parsed = ReplyHeaderSchema.safeParse({ "urocket-status": header });
    if (!parsed.success) return undefined;
    return {
      template,
      id: id.toLowerCase(),
      status: Number(parsed.data["urocket-status"]),
      request,
    };
  }
  return undefined;
}
