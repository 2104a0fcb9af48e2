/**
 * What urocket says once it serves, and again after a reload: the `start`
 * line, how it spawns, how limits stand, the config's warnings.
 *
 * @module
 */

import { formatListen } from "../config/mod.ts";
import { VERSION } from "../common/mod.ts";
import type { Generation } from "../generation/mod.ts";
import { unwiredSummary } from "../generation/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { LimitsState, NofileLimits, SpawnStrategy } from "../process/mod.ts";
import type { Running } from "./_running.ts";

/** The `start` line, and the `spawner` line when it is not the spawn helper's usual. */
export function announceStart(running: Running, nofile: NofileLimits | string): void {
  const { logger, live: { generation } } = running;
  const config = generation.config;
  logger.info("start", {
    version: VERSION,
    config: config.file,
    openapi: generation.document.file,
    listen: formatListen(running.front.addr),
    ...(running.admin ? { admin: formatListen(running.admin.addr) } : {}),
    socket: config.socket,
    base_path: generation.basePath || "/",
    routes: generation.document.operations.length,
    operations: generation.operations.length,
    pid: Deno.pid,
    ...(typeof nofile === "string" ? { nofile: null, nofile_unknown: nofile } : {
      nofile: nofile.soft,
    }),
  });
  announceSpawner(logger, running.strategy);
}

/**
 * How processes are spawned. Said as a warning for the fallback, which is
 * correct but forks all of urocket per request, and cannot tell what a
 * process used.
 */
function announceSpawner(logger: Logger, strategy: SpawnStrategy): void {
  if (strategy.mode !== "detached") {
    logger.info("spawner", {
      mode: strategy.mode,
      helper: strategy.helper,
      source: strategy.reason,
      server_pid: strategy.serverPid?.(),
      stats_source: strategy.mode === "spawn_server" ? "wait4" : "none",
    });
  } else {
    logger.warn("spawner", {
      mode: strategy.mode,
      reason: strategy.reason,
      message: "spawning with detached: true, which forks urocket per request (slower); " +
        "process_exit lines carry no CPU or memory figures (stats_source: none)",
      stats_source: "none",
    });
  }
}

/** Says how limits stand when that changed (at start: when any are configured). */
export function logLimits(logger: Logger, state: LimitsState, before: LimitsState): LimitsState {
  if (JSON.stringify(state) === JSON.stringify(before)) return state;
  if (state.kind === "enforced") {
    logger.info("limits", {
      enforced: true,
      cgroup: state.dir,
      controllers: state.controllers,
      stats_source: "cgroup",
      message: "each process of an operation with limits runs in a cgroup of its own",
    });
  } else if (state.kind === "unenforced") {
    // limits-enforce: best-effort (otherwise the config was refused).
    logger.warn("limits", {
      enforced: false,
      reason: state.reason,
      message: "limits-enforce is best-effort: processes run without the limits that cannot " +
        "be enforced",
    });
  }
  return state;
}

/** The config's warnings, one `config_warning` line each, and one for the unwired operations. */
export function logWarnings(logger: Logger, generation: Generation): void {
  for (const warning of generation.warnings) {
    logger.warn("config_warning", {
      file: warning.file,
      line: warning.line,
      key: warning.key,
      message: warning.message,
    });
  }
  if (generation.unwired.length > 0) {
    logger.warn("config_warning", {
      file: generation.config.file,
      key: "paths",
      message: unwiredSummary(generation.unwired),
      unwired: generation.unwired.length,
    });
  }
}
