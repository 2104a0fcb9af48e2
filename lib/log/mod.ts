/**
 * The JSON-line logger: the only code that writes to the console.
 *
 * @module
 */

export {
  type Fields,
  type Level,
  LOG_EXIT_WAIT_MS,
  LOG_LINGER_MS,
  Logger,
  type LoggerOptions,
  MAX_OWN_QUEUE_BYTES,
  writeAllTo,
} from "./logger.ts";
