/**
 * What a started urocket is made of: the parts its start sequence made,
 * which its shutdown and its reloads act on.
 *
 * @module
 */

import type { Readiness } from "../admin/mod.ts";
import type { ConsoleState } from "../console/mod.ts";
import type { Generation } from "../generation/mod.ts";
import type { DescriptorReserve, KeptServer } from "../listener/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { Metrics } from "../metrics/mod.ts";
import type { PendingRequests } from "../pending/mod.ts";
import type { LimitsState, ProcessTable, SpawnStrategy } from "../process/mod.ts";
import type { ReplySocket } from "../reply/mod.ts";

/** What changes while urocket runs: a reload swaps the generation, a shutdown the readiness. */
export interface Live {
  /** The generation new requests use. */
  generation: Generation;
  readiness: Readiness;
  /** How limits stand, as last said in the log. */
  limits: LimitsState;
}

/** A started urocket's parts. */
export interface Running {
  /** Path of `urocket-service.yaml`. */
  configFile: string;
  /** urocket's own environment. */
  env: Record<string, string>;
  logger: Logger;
  live: Live;
  registry: PendingRequests;
  processes: ProcessTable;
  metrics: Metrics;
  strategy: SpawnStrategy;
  reserve: DescriptorReserve;
  replySocket: ReplySocket;
  front: KeptServer<Deno.NetAddr>;
  admin?: KeptServer<Deno.NetAddr>;
  /** The console's state, when there is an admin listener to show it. */
  console?: ConsoleState;
  /** Aborted when the shutdown stops waiting for in-flight requests. */
  stopping: AbortController;
  /** Aborted when the shutdown begins: answers carry `Connection: close`. */
  draining: AbortController;
}
