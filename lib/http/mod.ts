/**
 * The HTTP pieces both servers, the exchange and the reply client share:
 * problem+json answers (the one place errors become statuses), bodies read
 * within their bounds, the budget all bodies being received share, and the
 * reply protocol's `Urocket-Header-<Name>` rules. Imports no other module of
 * urocket's.
 *
 * @module
 */

export {
  HttpProblem,
  type HttpProblemOptions,
  type ProblemKind,
  problemResponse,
  toProblem,
} from "./problem.ts";
export {
  type BodyAllowance,
  BodyOverBudget,
  BodyTimeout,
  BodyTooLarge,
  concatBytes,
  declaredLength,
  ONE_CALL_MAX,
  READ_BUFFER,
  type ReadBodyOptions,
  readBodyWithin,
} from "./body.ts";
export { BodyBudget } from "./body_budget.ts";
export { isBodiless, NO_205, parseReplyHeaders } from "./reply_headers.ts";
