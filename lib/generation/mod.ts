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
  operationChanges,
  restartOnly,
  settingChanges,
  unwiredCount,
  unwiredSummary,
} from "./generation.ts";
