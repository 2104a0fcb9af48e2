/**
 * The console: a read-only live view of urocket on the admin listener —
 * requests in flight with their processes, the last ones that finished,
 * per-operation figures, the service's state. The exchange feeds it through
 * {@link ExchangeObserver}; it imports neither the front nor the exchange.
 *
 * @module
 */

export type { Admitted, ExchangeObserver, Finished, ProcessEnded } from "./observer.ts";
export {
  ConsoleState,
  type ConsoleStateOptions,
  type InflightRow,
  type InflightState,
  RECENT_SIZE,
  type RecentRow,
  type ReloadResult,
  STDERR_LINE_MAX,
  STDERR_LINES,
} from "./state.ts";
export { type OperationSummary, OperationWindows } from "./windows.ts";
export { type LiveStats, parseProcOutput, readLiveStats } from "./proc.ts";
export {
  type ConsoleDeps,
  createConsoleApp,
  type LiveRow,
  MAX_EVENT_STREAMS,
  type ServiceFacts,
} from "./console_app.ts";
