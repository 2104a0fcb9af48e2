/**
 * The unix-socket edge: a Hono app that takes replies on the outtake paths
 * and hands them to the waiting clients through the pending registry.
 *
 * @module
 */

import { zValidator } from "@hono/zod-validator";
import { Hono } from "hono";
import { z } from "zod";
import { BodyTooLarge, declaredLength, readBodyWithin } from "../body.ts";
import type { Logger } from "../log/logger.ts";
import type { Metrics } from "../metrics/metrics.ts";
import type { DeliveryResult, PendingRequest, PendingRequests } from "../pending/registry.ts";
import { HttpProblem, problemResponse } from "../problem.ts";
import { isBodiless, NO_205, parseReplyHeaders } from "./headers.ts";

/** Replies up to this size with a Content-Length are collected whole before delivery. */
export const COLLECT_BELOW = 64 * 1024;

/** What the reply app needs. */
export interface ReplyDeps {
  registry: PendingRequests;
  logger: Logger;
  /** Outtake path templates to serve, e.g. `/uri/{req_id}`. */
  templates: readonly string[];
  /** Counts refused replies by status and reason; optional so that tests may leave it out. */
  metrics?: Metrics;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The reply route's path parameter. */
export const ReplyParamSchema = z.object({
  req_id: z.string().regex(UUID, { error: "The request id in the path is not a UUID" }),
});

/** The reply route's own headers; others pass through. */
export const ReplyHeaderSchema = z.object({
  "urocket-status": z.string().trim().regex(/^[2-5][0-9]{2}$/, {
    error: "Urocket-Status must be one status code from 200 to 599",
  }).refine((status) => status !== "205", { error: NO_205 }).optional(),
});

/**
 * Both schemas are synchronous: zod's `safeParse` rather than the validator's default
 * `safeParseAsync`, which costs a few promises per reply for nothing.
 */
const SYNC = {
  validationFunction: <T extends z.ZodType>(schema: T, value: unknown) => schema.safeParse(value),
};

/**
 * Builds the reply app for `templates`. Serve it on the unix socket.
 *
 * @example
 * ```ts
 * const app = createReplyApp({ registry, logger, templates: ["/uri/{req_id}"] });
 * await app.request(`/uri/${id}`, { method: "POST", body: "{}" }); // 200 when delivered
 * ```
 */
export function createReplyApp(deps: ReplyDeps): Hono {
  return buildReplyApp(deps, rejecter(deps));
}

/** The one place a reply is refused: logged, counted, answered as problem+json. */
function rejecter(deps: Omit<ReplyDeps, "templates">): Reject {
  return (status, reason, detail, id, extra, headers) => {
    deps.logger.info("reply_rejected", { req_id: id, status, reason });
    deps.metrics?.replyRejected(status, reason);
    return problemResponse(new HttpProblem(kindOf(status), detail, { extra, headers }), id);
  };
}

function buildReplyApp(deps: ReplyDeps, reject: Reject): Hono {
  const app = new Hono();
  for (const template of new Set(deps.templates)) {
    const route = template.replace("{req_id}", ":req_id");
    app.on(
      ["POST", "PUT"],
      route,
      // The hooks answer in the reply server's own format, through reject().
      zValidator("param", ReplyParamSchema, (result) => {
        if (!result.success) return reject(400, "malformed_id", result.error.issues[0].message);
      }, SYNC),
      zValidator("header", ReplyHeaderSchema, (result, c) => {
        if (!result.success) {
          return reject(400, "bad_status", result.error.issues[0].message, c.req.param("req_id"));
        }
      }, SYNC),
      (c) =>
        answer(deps.registry, reject, {
          template,
          id: c.req.valid("param").req_id.toLowerCase(),
          status: Number(c.req.valid("header")["urocket-status"] ?? 200),
          request: c.req.raw,
        }),
    );
    app.all(
      route,
      (c) =>
        reject(
          405,
          "method_not_allowed",
          "Replies are sent with POST or PUT",
          // Named only when it is one: the segment is the replier's, decoded, and may be anything.
          UUID.test(c.req.param("req_id") ?? "") ? c.req.param("req_id") : undefined,
          undefined,
          {
            allow: "POST, PUT",
          },
        ),
    );
  }
  app.notFound((c) =>
    reject(404, "unknown_path", `${JSON.stringify(c.req.path)} matches no outtake path`)
  );
  return app;
}

/** A reply whose path and headers passed the route's checks. */
interface ValidReply {
  template: string;
  /** The request id, lower case. */
  id: string;
  status: number;
  request: Request;
}

/** Claims the request the reply is for, then takes the reply; answers the replier. */
async function answer(
  registry: PendingRequests,
  reject: Reject,
  { template, id, status, request }: ValidReply,
): Promise<Response> {
  const claim = registry.claim(id, template);
  switch (claim.kind) {
    case "unknown":
      return reject(
        404,
        "unknown_id",
        "No request with this id waits for a reply on this path",
        id,
      );
    case "answered":
      return reject(409, "already_answered", "This request has already been answered", id);
    case "busy":
      return reject(409, "already_answered", "Another reply for this request is arriving", id);
    case "gone":
      return reject(
        410,
        "request_ended",
        "This request already ended without this reply (timeout, exit or client gone)",
        id,
      );
  }
  return await receive(claim.request, request, status, reject);
}

type Reject = (
  status: number,
  reason: string,
  detail: string,
  id?: string,
  extra?: Record<string, unknown>,
  headers?: Record<string, string>,
) => Response;

/** Takes the claimed reply's body and hands it over; answers the replier with how that went. */
async function receive(
  pending: PendingRequest,
  request: Request,
  status: number,
  reject: Reject,
): Promise<Response> {
  const id = pending.id;
  const { maxReply, collect, defaultContentType } = pending.options;
  const headers = parseReplyHeaders(request.headers);
  if (typeof headers === "string") {
    pending.abandon();
    return reject(400, "bad_header", headers, id);
  }
  const declared = declaredLength(request.headers);
  if (isBodiless(status) && declared !== undefined && declared > 0) {
    pending.abandon();
    return reject(400, "body_not_allowed", `A ${status} reply cannot have a body`, id);
  }
  if (!isBodiless(status)) {
    headers.set("content-type", request.headers.get("content-type") ?? defaultContentType);
  }
  // `request.body` last: its getter builds a stream, which a reply read whole does not need.
  const whole = collect || isBodiless(status) ||
    (declared !== undefined && declared <= COLLECT_BELOW) || !request.body;
  let result: DeliveryResult;
  if (whole) {
    let body: Uint8Array<ArrayBuffer>;
    try {
      body = await readBodyWithin(request, maxReply);
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        pending.refuseTooLarge();
        return reject(
          413,
          "too_large",
          `The reply is larger than max-reply (${maxReply} bytes)`,
          id,
        );
      }
      // The replier broke off mid-body: the request still waits for a proper reply.
      pending.abandon();
      return reject(400, "broken_body", "The reply body broke off", id);
    }
    if (isBodiless(status) && body.length > 0) {
      pending.abandon();
      return reject(400, "body_not_allowed", `A ${status} reply cannot have a body`, id);
    }
    result = await pending.deliver({ status, headers, body });
  } else {
    if (declared !== undefined && declared > maxReply) {
      pending.refuseTooLarge();
      return reject(413, "too_large", `The reply is larger than max-reply (${maxReply} bytes)`, id);
    }
    result = await pending.deliver({ status, headers, body: request.body! });
  }
  switch (result.kind) {
    case "delivered":
      return Response.json({ status: "delivered", req_id: id });
    case "gone":
      return reject(410, "request_ended", "The client is no longer waiting for this reply", id);
    case "too_large":
      return reject(413, "too_large", `The reply passed max-reply (${maxReply} bytes)`, id);
    case "invalid":
      return reject(
        422,
        "invalid_reply",
        "The reply does not match the OpenAPI document",
        id,
        { errors: result.errors },
      );
  }
}

/** What {@link createReplyFetch} needs: the reply app's, with the templates of the current config. */
export interface ReplyFetchDeps extends Omit<ReplyDeps, "templates"> {
  /** The current config's outtake templates; read on every reply. */
  templates: () => readonly string[];
}

/**
 * The reply socket's handler across reloads: it serves the outtake templates
 * of the current config and those of every request still pending (which
 * keeps its old template after a reload), rebuilding the reply app when
 * that union changes.
 *
 * @example
 * ```ts
 * const fetch = createReplyFetch({ registry, logger, templates: () => generation().outtakes });
 * Deno.serve({ path: socket }, fetch);
 * ```
 */
export function createReplyFetch(deps: ReplyFetchDeps): (request: Request) => Promise<Response> {
  const reject = rejecter(deps);
  let current: readonly string[] | undefined;
  let version = -1;
  let served = "";
  let app: Hono | undefined;
  let plain: PlainRoute[] = [];
  return async (request) => {
    const templates = deps.templates();
    if (templates !== current || deps.registry.routesVersion !== version) {
      current = templates;
      version = deps.registry.routesVersion;
      const union = [...new Set([...templates, ...deps.registry.routes()])].sort();
      const key = union.join("\n");
      if (!app || key !== served) {
        app = buildReplyApp({ ...deps, templates: union }, reject);
        plain = plainRoutes(union);
        served = key;
      }
    }
    // Most replies are plain: answered as the app's route answers them, without the app's
    // routing and validators (see BENCHMARKS.md).
    const reply = plainReply(plain, request);
    return reply ? await answer(deps.registry, reject, reply) : await app!.fetch(request);
  };
}

/** Literal segments of a template that the app's router matches as plain text. */
const PLAIN_SEGMENT = /^[A-Za-z0-9._~-]+$/;

/** An outtake template as {@link plainReply} matches it: the text around its `{req_id}`. */
interface PlainRoute {
  template: string;
  before: string;
  after: string;
}

/**
 * The templates {@link plainReply} may take replies for: all of them, or none when one has a
 * segment the app's router reads as syntax, or one shaped like a request id (a path could then
 * match two templates, and the router's choice is the app's).
 */
function plainRoutes(templates: readonly string[]): PlainRoute[] {
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
function plainReply(routes: PlainRoute[], request: Request): ValidReply | undefined {
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

function kindOf(status: number) {
  switch (status) {
    case 404:
      return "not_found" as const;
    case 405:
      return "method_not_allowed" as const;
    case 409:
      return "conflict" as const;
    case 410:
      return "gone" as const;
    case 413:
      return "payload_too_large" as const;
    case 422:
      return "invalid_reply" as const;
    default:
      return "bad_request" as const;
  }
}
