/**
 * A reload (SIGHUP): the config and the OpenAPI document read again and,
 * when both are valid and need no restart, new requests served with them;
 * in-flight requests finish under the generation they started with.
 *
 * @module
 */

import { ConfigError, formatProblem, type Problem } from "../config/mod.ts";
import {
  type Generation,
  loadGeneration,
  operationChanges,
  restartOnly,
  settingChanges,
} from "../generation/mod.ts";
import { checkSupervision, type SupervisionVerdict } from "../process/mod.ts";
import { applySocketAccess, socketAccessOf } from "../reply/mod.ts";
import { logLimits, logWarnings } from "./_announce.ts";
import type { Running } from "./_running.ts";
import { socketAccess, supervisionFacts } from "./_socket_checks.ts";

/**
 * Reloads `running` once, a SIGHUP at a time: one that arrives during a
 * reload makes one more once it is done (the file may have changed again).
 * None once the shutdown began.
 */
export class Reloads {
  #running: Running;
  #stopping: () => boolean;
  #current: Promise<void> | undefined;
  #again = false;

  /** `stopping` says whether the shutdown began. */
  constructor(running: Running, stopping: () => boolean) {
    this.#running = running;
    this.#stopping = stopping;
  }

  /** Reloads, or asks for one more after the reload under way; never throws. */
  reload(): Promise<void> {
    if (this.#stopping()) {
      this.#running.logger.warn("reload", {
        outcome: "refused",
        message: "urocket is shutting down",
      });
      return Promise.resolve();
    }
    if (this.#current) {
      this.#again = true;
      return this.#current;
    }
    const { replySocket } = this.#running;
    this.#current = (async () => {
      do {
        this.#again = false;
        // A socket removed meanwhile is recreated first; no check changes it during the reload.
        await replySocket.check();
        await replySocket.exclusive(() => reloadOnce(this.#running));
      } while (this.#again && !this.#stopping());
    })().finally(() => this.#current = undefined);
    return this.#current;
  }
}

/** The next generation, checked as a start would check it; or why it cannot be used. */
type Loaded = { next: Generation; verdict: SupervisionVerdict } | { problems: Problem[] };

/**
 * Reads the config and the document again and swaps the generation when
 * they can be used. Logs a `reload` line either way; never throws.
 */
export async function reloadOnce(running: Running): Promise<void> {
  const { logger, live } = running;
  const started = performance.now();
  const old = live.generation;
  const loaded = await loadNext(running);
  if ("problems" in loaded) {
    refused(running, loaded.problems.map(formatProblem), Math.round(performance.now() - started));
    return;
  }
  const { next, verdict } = loaded;
  try {
    const socket = next.config.socket;
    await applySocketAccess(socket, socketAccess(next.config, running.replySocket.createdGid), {
      from: await socketAccessOf(socket),
    });
  } catch (error) {
    refused(running, [`${next.config.file}: socket: ${(error as Error).message}`]);
    return;
  }
  // Key sets of URLs both configurations name go on as they are; the others start now.
  await next.security.runtime.start(logger, old.security.runtime);
  // Atomic for new requests: the front reads the generation once per request.
  live.generation = next;
  old.security.runtime.stop();
  logger.info("reload", {
    outcome: "applied",
    config: next.config.file,
    openapi: next.document.file,
    operations: next.operations.length,
    ...operationChanges(old, next),
    settings: settingChanges(old.config, next.config),
    duration_ms: Math.round(performance.now() - started),
  });
  running.metrics.reloaded("applied");
  running.console?.reloaded("applied");
  live.limits = logLimits(logger, verdict.limits, live.limits);
  logWarnings(logger, next);
}

/** Loads the next generation and checks it: keys that need a restart, limits, users. */
async function loadNext(running: Running): Promise<Loaded> {
  try {
    const next = await loadGeneration(running.configFile, { env: running.env });
    const problems = restartOnly(running.live.generation.config, next.config);
    if (problems.length > 0) return { problems };
    const verdict = await checkSupervision(
      next.config,
      await supervisionFacts(next.config, {
        strategy: running.strategy,
        createdGid: running.replySocket.createdGid,
      }),
    );
    return verdict.problems.length > 0 ? { problems: verdict.problems } : { next, verdict };
  } catch (error) {
    return {
      problems: error instanceof ConfigError
        ? [...error.problems]
        : [{ file: running.configFile, key: "", message: (error as Error).message }],
    };
  }
}

/** The config stays as it was: said (with how long the attempt took, when known) and counted. */
function refused(running: Running, problems: string[], durationMs?: number): void {
  running.logger.error("reload", {
    outcome: "refused",
    message: "the config stays as it was",
    problems,
    ...(durationMs !== undefined ? { duration_ms: durationMs } : {}),
  });
  running.metrics.reloaded("refused");
  running.console?.reloaded("refused", problems);
}
