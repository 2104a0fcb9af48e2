/**
 * The core use case: one request's exchange with its process — the caller
 * checked, the request admitted, its process spawned, its reply waited for,
 * the answer decided — returned as an {@link Outcome} that the front turns
 * into the HTTP answer and the access line.
 *
 * @module
 */

export { exchange } from "./exchange.ts";
export type { ExchangeDeps, ExchangeRequest } from "./deps.ts";
export type { Answer, AuthFacts, Outcome, OutcomeKind, StreamEnd } from "./outcome.ts";
export { MAX_CLAIMS_BYTES } from "./guard.ts";
