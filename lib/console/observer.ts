/**
 * What the exchange tells an observer about each request's life: the
 * points where the console's view of a request changes. The exchange and
 * the front call it; the console implements it and imports neither.
 *
 * @module
 */

/** A request routed to an operation, before anything is spawned. */
export interface Admitted {
  reqId: string;
  /** The operation's name (`operationId`, else `METHOD /path`). */
  operation: string;
  method: string;
  /** The request path, without its query (as the access line has it). */
  path: string;
}

/** How a process group ended, as the `process_exit` line says it. */
export interface ProcessEnded {
  pid: number;
  exitCode: number | null;
  signal: string | null;
  /** Why urocket killed the group, if it did. */
  killReason?: string;
  lifetimeMs: number;
  /** CPU (user + system) and peak memory, when the stats source tells them. */
  cpuMs?: number;
  maxRssKb?: number;
  /** `cgroup`, `wait4` or `none`. */
  statsSource: string;
}

/** A request answered, as its access line says it. */
export interface Finished {
  reqId: string;
  /** Undefined when no operation was routed (404, 405, 501). */
  operation?: string;
  method: string;
  path: string;
  status: number;
  /** How it ended: `replied`, `timeout`, `no_reply`, … (see the access line). */
  outcome: string;
  durationMs: number;
}

/**
 * Receives the lifecycle of every request of the front. Every method is
 * called synchronously on the request's path and must return at once.
 */
export interface ExchangeObserver {
  /** The request was routed to an operation and its exchange begins. */
  admitted(event: Admitted): void;
  /** Its process group was spawned with leader `pid`. */
  spawned(reqId: string, pid: number): void;
  /** One line its process wrote (already bounded by the output splitter). */
  output(reqId: string, stream: "stdout" | "stderr", line: string): void;
  /** The reply arrived and streams to the client. */
  streaming(reqId: string): void;
  /** The client's answer is complete (or the client left): the access line. */
  finished(event: Finished): void;
  /** The last process of its group is gone. */
  processEnded(reqId: string, end: ProcessEnded): void;
}
