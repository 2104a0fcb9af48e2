/**
 * The unix-socket edge: a Hono app that takes replies on the outtake paths
 * and hands them to the waiting clients through the pending registry.
 *
 * @module
 */

import { zValidator } from "@hono/zod-validator";
import { Hono } from "hono";
import {
  BodyTooLarge,
  declaredLength,
  HttpProblem,
  isBodiless,
  parseReplyHeaders,
  problemResponse,
  readBodyWithin,
} from "../http/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { Metrics } from "../metrics/mod.ts";
import type { Claim, PendingRequest, PendingRequests } from "../pending/mod.ts";
import { type PlainReply, plainReply, type PlainRoute, plainRoutes } from "./_plain_reply.ts";
import { ReplyHeaderSchema, ReplyParamSchema, SYNC, UUID } from "./_schemas.ts";

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

/**
 * Builds the reply app for `templates`. Serve it on the unix socket.
 *
 * @example
 * ```ts
 * import { Logger } from "../log/mod.ts";
 * import { PendingRequests } from "../pending/mod.ts";
 *
 * const registry = new PendingRequests();
 * const logger = new Logger({ write: () => Promise.resolve() });
 * const app = createReplyApp({ registry, logger, templates: ["/uri/{req_id}"] });
 * const id = crypto.randomUUID();
 * await app.request(`/uri/${id}`, { method: "POST", body: "{}" }); // 200 when delivered
 * ```
 */
export function createReplyApp(deps: ReplyDeps): Hono {
  return buildReplyApp(deps, rejecter(deps));
}

/** The one place a reply is refused: logged, counted, answered as problem+json. */
function rejecter(deps: Omit<ReplyDeps, "templates">): Reject {
  return ({ status, reason, detail, id, extra, headers }) => {
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
        if (!result.success) {
          return reject({
            status: 400,
            reason: "malformed_id",
            detail: result.error.issues[0].message,
          });
        }
      }, SYNC),
      zValidator("header", ReplyHeaderSchema, (result, c) => {
        if (!result.success) {
          return reject({
            status: 400,
            reason: "bad_status",
            detail: result.error.issues[0].message,
            id: c.req.param("req_id"),
          });
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
        reject({
          status: 405,
          reason: "method_not_allowed",
          detail: "Replies are sent with POST or PUT",
          // Named only when it is one: the segment is the replier's, decoded, and may be anything.
          id: UUID.test(c.req.param("req_id") ?? "") ? c.req.param("req_id") : undefined,
          headers: { allow: "POST, PUT" },
        }),
    );
  }
  app.notFound((c) =>
    reject({
      status: 404,
      reason: "unknown_path",
      detail: `${JSON.stringify(c.req.path)} matches no outtake path`,
    })
  );
  return app;
}

/** A reply refused: logged (`reply_rejected`), counted, answered as problem+json. */
interface Refusal {
  status: number;
  /** The log's and the metrics' reason, e.g. `unknown_id`. */
  reason: string;
  /** What the replier is told. */
  detail: string;
  /** The request id, when the path names a valid one. */
  id?: string;
  /** Extra members of the problem, e.g. `errors`. */
  extra?: Record<string, unknown>;
  headers?: Record<string, string>;
}

type Reject = (refusal: Refusal) => Response;

/** What a replier is told when it cannot claim the id. */
const CLAIM_REFUSED: Record<Exclude<Claim["kind"], "claimed">, Omit<Refusal, "id">> = {
  unknown: {
    status: 404,
    reason: "unknown_id",
    detail: "No request with this id waits for a reply on this path",
  },
  answered: {
    status: 409,
    reason: "already_answered",
    detail: "This request has already been answered",
  },
  busy: {
    status: 409,
    reason: "already_answered",
    detail: "Another reply for this request is arriving",
  },
  gone: {
    status: 410,
    reason: "request_ended",
    detail: "This request already ended without this reply (timeout, exit or client gone)",
  },
};

/** Claims the request the reply is for, then takes the reply; answers the replier. */
async function answer(
  registry: PendingRequests,
  reject: Reject,
  { template, id, status, request }: PlainReply,
): Promise<Response> {
  const claim = registry.claim(id, template);
  if (claim.kind !== "claimed") return reject({ ...CLAIM_REFUSED[claim.kind], id });
  return await receive(claim.request, request, status, reject);
}

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
    return reject({ status: 400, reason: "bad_header", detail: headers, id });
  }
  const declared = declaredLength(request.headers);
  if (isBodiless(status) && declared !== undefined && declared > 0) {
    pending.abandon();
    return reject(bodyNotAllowed(status, id));
  }
  if (!isBodiless(status)) {
    headers.set("content-type", request.headers.get("content-type") ?? defaultContentType);
  }
  // `request.body` last: its getter builds a stream, which a reply read whole does not need.
  const whole = collect || isBodiless(status) ||
    (declared !== undefined && declared <= COLLECT_BELOW) || !request.body;
  if (!whole && declared !== undefined && declared > maxReply) {
    pending.refuseTooLarge();
    return reject(tooLarge(maxReply, id));
  }
  const body = whole ? await readWhole(pending, request, status) : request.body!;
  if ("status" in body) return reject(body);
  const result = await pending.deliver({ status, headers, body });
  switch (result.kind) {
    case "delivered":
      return Response.json({ status: "delivered", req_id: id });
    case "gone":
      return reject({
        status: 410,
        reason: "request_ended",
        detail: "The client is no longer waiting for this reply",
        id,
      });
    case "too_large":
      return reject({
        status: 413,
        reason: "too_large",
        detail: `The reply passed max-reply (${maxReply} bytes)`,
        id,
      });
    case "invalid":
      return reject({
        status: 422,
        reason: "invalid_reply",
        detail: "The reply does not match the OpenAPI document",
        id,
        extra: { errors: result.errors },
      });
  }
}

/** The reply's body read whole within `max-reply`, or why the replier is refused. */
async function readWhole(
  pending: PendingRequest,
  request: Request,
  status: number,
): Promise<Uint8Array<ArrayBuffer> | Refusal> {
  const { id, options: { maxReply } } = pending;
  let body: Uint8Array<ArrayBuffer>;
  try {
    body = await readBodyWithin(request, maxReply);
  } catch (error) {
    if (error instanceof BodyTooLarge) {
      pending.refuseTooLarge();
      return tooLarge(maxReply, id);
    }
    // The replier broke off mid-body: the request still waits for a proper reply.
    pending.abandon();
    return { status: 400, reason: "broken_body", detail: "The reply body broke off", id };
  }
  if (isBodiless(status) && body.length > 0) {
    pending.abandon();
    return bodyNotAllowed(status, id);
  }
  return body;
}

function tooLarge(maxReply: number, id: string): Refusal {
  return {
    status: 413,
    reason: "too_large",
    detail: `The reply is larger than max-reply (${maxReply} bytes)`,
    id,
  };
}

function bodyNotAllowed(status: number, id: string): Refusal {
  return {
    status: 400,
    reason: "body_not_allowed",
    detail: `A ${status} reply cannot have a body`,
    id,
  };
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
 * import type { Generation } from "../generation/mod.ts";
 * import { Logger } from "../log/mod.ts";
 * import { PendingRequests } from "../pending/mod.ts";
 *
 * declare const generation: () => Generation;
 * const registry = new PendingRequests();
 * const logger = new Logger({ write: () => Promise.resolve() });
 * const fetch = createReplyFetch({ registry, logger, templates: () => generation().outtakes });
 * Deno.serve({ path: "/tmp/urocket.sock" }, fetch);
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
