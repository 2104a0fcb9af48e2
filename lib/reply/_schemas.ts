/**
 * What the reply route reads from a replier's request: the request id in its
 * path and its own headers, as zod schemas that the reply app and its plain
 * fast path share.
 *
 * @module
 */

import { z } from "zod";
import { NO_205 } from "../http/mod.ts";

/** A request id as urocket makes them: a UUID. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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
export const SYNC = {
  validationFunction: <T extends z.ZodType>(schema: T, value: unknown) => schema.safeParse(value),
};
