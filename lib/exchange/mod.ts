/**
 * One request's exchange with its process: admitted, spawned, waited for,
 * answered.
 *
 * @module
 */

export {
  type AccessRecord,
  bodyLimits,
  exchange,
  type FrontDeps,
  type Outcome,
  rawQuery,
} from "./exchange.ts";
export { admit, type Admitted, MAX_CLAIMS_BYTES } from "./guard.ts";
