/**
 * What an exchange starts from: the parts of urocket it uses, and the
 * request, routed to its operation.
 *
 * @module
 */

import type { ExchangeObserver } from "../console/mod.ts";
import type { Generation, Operation } from "../generation/mod.ts";
import type { BodyAllowance } from "../http/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { Metrics } from "../metrics/mod.ts";
import type { PendingRequests } from "../pending/mod.ts";
import type { ProcessTable, Spawner } from "../process/mod.ts";

/** What the exchange needs from the rest of urocket. */
export interface ExchangeDeps {
  registry: PendingRequests;
  processes: ProcessTable;
  spawner: Spawner;
  logger: Logger;
  /** The variables every process inherits from urocket (PATH, HOME, LANG, TZ). */
  inheritedEnv: Record<string, string>;
  /** Where requests, spawns and process lifetimes are counted; optional so that tests may leave it out. */
  metrics?: Metrics;
  /**
   * Aborted when urocket's shutdown stops waiting (`shutdown-timeout` passed,
   * or a second signal): requests still waiting get 503 and their process
   * groups are killed; none is spawned any more.
   */
  stopping?: AbortSignal;
  /** Counts the bytes of request bodies being received (`max-body-memory`). */
  bodies?: BodyAllowance;
  /** Told each step of every request's life (the console); optional. */
  observer?: ExchangeObserver;
}

/** One request, routed to its operation. */
export interface ExchangeRequest {
  request: Request;
  requestId: string;
  operation: Operation;
  /** The generation the request was routed with; it keeps it to the end. */
  generation: Generation;
  /** The path parameters, decoded. */
  params: Record<string, string>;
  url: URL;
  /** The request's trace, handed to the process as TRACEPARENT / TRACESTATE. */
  trace?: { traceparent: string; tracestate?: string };
}
