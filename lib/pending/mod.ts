/**
 * Where the two edges meet: request id → the client waiting for its reply.
 *
 * @module
 */

export {
  type Claim,
  type DeliveryResult,
  type Ending,
  type PendingOptions,
  PendingRequest,
  PendingRequests,
  type PendingRequestsOptions,
  type Reply,
  type ReplyEvent,
} from "./registry.ts";
