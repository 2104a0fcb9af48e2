/**
 * The composition root: the one module that wires config, processes, the
 * pending registry and both servers together, and the written order in which
 * urocket starts and stops.
 *
 * @module
 */

import { ConfigError } from "./config/mod.ts";
import { createFrontApp } from "./front/app.ts";
import { type Generation, loadGeneration } from "./generation.ts";
import type { Logger } from "./log/logger.ts";
import { PendingRequests } from "./pending/registry.ts";
import { inheritedEnv } from "./process/env.ts";
import { chooseSpawner, type SpawnStrategy } from "./process/spawn_strategy.ts";
import type { Spawner } from "./process/spawn.ts";
import { ProcessTable } from "./process/table.ts";
import { createReplyApp } from "./reply/app.ts";
import { claimSocketPath, removeSocket, SocketError } from "./reply/socket.ts";
import { VERSION } from "./version.ts";

/** Options of {@link startService}. */
export interface ServiceOptions {
  /** Path of `urocket-service.yaml`. */
  configFile: string;
  /** urocket's own environment. */
  env: Record<string, string>;
  logger: Logger;
  /** How processes are started; by default {@link chooseSpawner} decides. */
  spawner?: Spawner;
}

/** How long in-flight requests may finish after a shutdown signal. */
const SHUTDOWN_TIMEOUT_MS = 25_000;
/** How long killed process groups may take to disappear at shutdown. */
const KILL_WAIT_MS = 10_000;

/** A running urocket. */
export interface Service {
  /** The address the front is bound to. */
  readonly front: Deno.NetAddr;
  /** The socket path. */
  readonly socket: string;
  /**
   * Stops in order: stop accepting, let in-flight requests finish (bounded),
   * kill what is left, close the reply socket, remove its file. A second
   * call kills every process group at once.
   */
  shutdown(reason: string): Promise<void>;
  /** Resolves when the service has fully stopped. */
  readonly finished: Promise<void>;
}

/**
 * Loads the configuration, binds the socket and the front, and serves.
 *
 * @throws {ConfigError} when the configuration cannot be used.
 * @throws {SocketError} when the socket path is taken or unusable.
 */
export async function startService(options: ServiceOptions): Promise<Service> {
  const { logger } = options;
  const generation: Generation = await loadGeneration(options.configFile, { env: options.env });
  const config = generation.config;
  const registry = new PendingRequests();
  const processes = new ProcessTable();
  const strategy: SpawnStrategy = options.spawner
    ? {
      spawner: options.spawner,
      mode: "injected",
      reason: "injected by the caller",
      dispose: () => Promise.resolve(),
    }
    : await chooseSpawner({ env: options.env, logger });

  try {
    await claimSocketPath(config.socket);
  } catch (error) {
    await strategy.dispose();
    throw error;
  }
  const replyApp = createReplyApp({ registry, logger, templates: generation.outtakes });
  let replyServer: Deno.HttpServer<Deno.UnixAddr>;
  try {
    replyServer = Deno.serve({ path: config.socket, onListen() {} }, replyApp.fetch);
    await Deno.chmod(config.socket, config.socketMode);
  } catch (error) {
    await strategy.dispose();
    throw new SocketError(
      `Cannot listen on socket ${JSON.stringify(config.socket)}: ${(error as Error).message}`,
    );
  }

  const frontApp = createFrontApp({
    generation: () => generation,
    registry,
    processes,
    spawner: strategy.spawner,
    logger,
    inheritedEnv: inheritedEnv(options.env),
  });
  let frontServer: Deno.HttpServer<Deno.NetAddr>;
  try {
    frontServer = Deno.serve({
      hostname: config.listen.hostname,
      port: config.listen.port,
      onListen() {},
    }, frontApp.fetch);
  } catch (error) {
    await replyServer.shutdown();
    await removeSocket(config.socket);
    await strategy.dispose();
    throw new ConfigError([{
      file: config.file,
      key: "listen",
      message: `Cannot listen on ${config.listen.hostname}:${config.listen.port}: ${
        (error as Error).message
      }`,
    }]);
  }
  const front = frontServer.addr;
  logger.info("start", {
    version: VERSION,
    config: config.file,
    openapi: generation.document.file,
    listen: `${
      front.hostname.includes(":") ? `[${front.hostname}]` : front.hostname
    }:${front.port}`,
    socket: config.socket,
    operations: generation.operations.length,
    pid: Deno.pid,
  });
  // Said once: the fallback is correct but forks all of urocket per request.
  if (strategy.mode !== "detached") {
    logger.info("spawner", {
      mode: strategy.mode,
      helper: strategy.helper,
      source: strategy.reason,
      server_pid: strategy.serverPid?.(),
    });
  } else {
    logger.warn("spawner", {
      mode: strategy.mode,
      reason: strategy.reason,
      message: "spawning with detached: true, which forks urocket per request (slower)",
    });
  }
  for (const warning of generation.warnings) {
    logger.warn("config_warning", {
      file: warning.file,
      line: warning.line,
      key: warning.key,
      message: warning.message,
    });
  }

  let stopping: Promise<void> | undefined;
  let resolveFinished!: () => void;
  const finished = new Promise<void>((resolve) => resolveFinished = resolve);

  const stop = async (reason: string) => {
    logger.info("shutdown", { reason, in_flight: registry.size, processes: processes.live });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const drained = frontServer.shutdown().then(() => true);
    const late = new Promise<boolean>((resolve) =>
      timer = setTimeout(() => resolve(false), SHUTDOWN_TIMEOUT_MS)
    );
    const inTime = await Promise.race([drained, late]);
    clearTimeout(timer);
    if (!inTime) {
      logger.warn("shutdown_timeout", { in_flight: registry.size, processes: processes.live });
    }
    processes.killAll("shutdown");
    await Promise.race([
      processes.idle(),
      new Promise<void>((resolve) => timer = setTimeout(resolve, KILL_WAIT_MS)),
    ]);
    clearTimeout(timer);
    await Promise.race([
      drained,
      new Promise<void>((resolve) => timer = setTimeout(resolve, KILL_WAIT_MS)),
    ]);
    clearTimeout(timer);
    await replyServer.shutdown();
    await removeSocket(config.socket);
    await strategy.dispose();
    logger.info("stopped", { reason });
    await logger.flush();
    resolveFinished();
  };

  return {
    front,
    socket: config.socket,
    shutdown(reason: string) {
      if (stopping) {
        processes.killAllNow("shutdown");
        return stopping;
      }
      stopping = stop(reason);
      return stopping;
    },
    finished,
  };
}
