/**
 * Listeners that outlive their descriptor limit: a server bound again
 * whenever its listener dies, and the few descriptors kept in reserve so
 * that it can be.
 *
 * @module
 */

export { DescriptorReserve, RESERVE_SIZE, reserveSizeFor } from "./descriptor_reserve.ts";
export {
  isDescriptorLimit,
  KeptServer,
  type KeptServerOptions,
  REPORT_WINDOW_MS,
  RETIRE_MS,
  RETRY_MS,
} from "./kept_server.ts";
