/**
 * urocket's shutdown, in its written order (of-watchdog's
 * `listenUntilShutdown`): readiness first, then the front, the processes,
 * the reply socket, the spawn helper, and the admin listener last.
 *
 * @module
 */

// kill-grace's bound leaves room for it below a timer's limit.
import { SHUTDOWN_KILL_WAIT_MS } from "../config/mod.ts";
import { LOG_EXIT_WAIT_MS, type Logger } from "../log/mod.ts";
import type { ReplySocket } from "../reply/mod.ts";
import { bounded, FORCED_WAIT_MS, type Forcing } from "./_bounded.ts";
import type { Running } from "./_running.ts";

/** How long the front may take to send the last answers once every group is killed. */
const FRONT_WAIT_MS = 5_000;
/** How long the reply server and the admin listener may take to close. */
export const CLOSE_WAIT_MS = 2_000;

/**
 * Stops `running`: /readyz answers 503 at once; the front still serves for
 * `shutdown-delay`, then stops accepting; in-flight requests finish within
 * `shutdown-timeout`; then the rest get 503 and every process group is
 * killed; the reply socket closes and its file is removed; the admin
 * listener closes last. After `forcing`'s second signal, each wait is cut
 * short.
 */
export async function shutdown(running: Running, reason: string, forcing: Forcing): Promise<void> {
  const { logger, registry, processes, live } = running;
  // First of all, so that load balancers stop sending before the front stops accepting.
  live.readiness = "draining";
  running.draining.abort();
  const { shutdownDelayMs, shutdownTimeoutMs } = live.generation.config;
  logger.info("shutdown", {
    reason,
    in_flight: registry.size,
    processes: processes.live,
    delay_ms: shutdownDelayMs,
    timeout_ms: shutdownTimeoutMs,
  });
  // Endpoints keep routing here for a moment after SIGTERM: the front still serves meanwhile.
  if (shutdownDelayMs > 0) await bounded(forcing.signal, shutdownDelayMs);
  const drained = running.front.shutdown();
  logger.info("draining", { in_flight: registry.size, processes: processes.live });
  // Deno's shutdown() waits for in-flight requests without limit: shutdown-timeout bounds it.
  const inTime = await bounded(Promise.race([drained, forcing.signal]), shutdownTimeoutMs);
  if (!inTime && !forcing.forced) {
    logger.warn("shutdown_timeout", { in_flight: registry.size, processes: processes.live });
  }
  await endProcesses(running, forcing);
  // The answers of the last requests; the reply socket stays up until they are sent.
  await forcing.wait(drained, FRONT_WAIT_MS);
  await closeSocket(running.replySocket, live.generation.config.socket, logger);
  live.generation.security.runtime.stop();
  running.reserve.release();
  await running.strategy.dispose();
  // Last: probes and scrapes see the drain (503) until there is nothing left to drain.
  if (running.admin) await bounded(running.admin.shutdown(), CLOSE_WAIT_MS);
  logger.info("stopped", { reason, ...(forcing.forced ? { forced: true } : {}) });
  // Bounded like every other step: a log collector that stopped reading must not keep urocket
  // from exiting (the lines it did not take are lost with it).
  await forcing.wait(logger.flush(), LOG_EXIT_WAIT_MS);
}

/**
 * Requests still waiting get 503 and their groups are killed (at once after
 * a second signal); nothing new is spawned. Groups that outlive their
 * kill-grace (a reload shortened it, say) are not left running.
 */
async function endProcesses({ stopping, processes, live }: Running, forcing: Forcing) {
  stopping.abort();
  if (forcing.forced) processes.killAllNow("shutdown");
  else processes.killAll("shutdown");
  const killGrace = Math.max(0, ...live.generation.config.operations.map((op) => op.killGraceMs));
  if (!await forcing.wait(processes.idle(), killGrace + SHUTDOWN_KILL_WAIT_MS)) {
    processes.killAllNow("shutdown");
    await bounded(processes.idle(), FORCED_WAIT_MS);
  }
}

/**
 * Closes the reply socket and removes its file. Something urocket cannot
 * remove at the path must not stop a shutdown half-way (or hide why a start
 * failed): it is logged, and the next start refuses the path and says why.
 */
export async function closeSocket(
  socket: ReplySocket,
  path: string,
  logger: Logger,
): Promise<void> {
  await bounded(socket.close(), CLOSE_WAIT_MS);
  try {
    await socket.remove();
  } catch (error) {
    logger.warn("socket_not_removed", { socket: path, error: (error as Error).message });
  }
}
