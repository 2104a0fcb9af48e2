/**
 * The reply socket as a configuration leaves it (its mode and group), and
 * what the supervision check needs to know of it: which users can connect.
 *
 * @module
 */

import type { ServiceConfig } from "../config/mod.ts";
import type { SpawnStrategy, SupervisionFacts } from "../process/mod.ts";
import { type SocketAccess, socketAccessChain, socketAccessProblem } from "../reply/mod.ts";

/**
 * The socket's mode and group as `config` says: without socket-group, the
 * group it was created with (urocket's own; its folder's, when that folder is
 * set-group-ID).
 */
export function socketAccess(config: ServiceConfig, createdGid: number): SocketAccess {
  return { mode: config.socketMode, gid: config.socketGroup?.gid ?? createdGid };
}

/** What `checkSupervision()` needs, with the socket as `config` would leave it. */
export async function supervisionFacts(
  config: ServiceConfig,
  { strategy, createdGid }: { strategy: SpawnStrategy; createdGid: number },
): Promise<SupervisionFacts> {
  const chain = await socketAccessChain(config.socket, socketAccess(config, createdGid));
  return {
    strategy,
    uid: chain[0].uid,
    socketProblem: (user) => socketAccessProblem(user, chain),
  };
}
