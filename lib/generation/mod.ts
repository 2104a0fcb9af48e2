/**
 * A generation: one loaded configuration with its OpenAPI document, the
 * operations binding them and the router over them; and what changed from
 * one to the next (a reload).
 *
 * @module
 */

export {
  type Generation,
  loadGeneration,
  type Operation,
  unwiredCount,
  unwiredSummary,
} from "./generation.ts";
export { operationChanges, restartOnly, settingChanges } from "./changes.ts";
