/**
 * The composition root: the one module that wires config, processes, the
 * pending registry and both servers together, and the written order in which
 * urocket starts and stops.
 *
 * @module
 */

import { createAdminApp, type Readiness } from "./admin/app.ts";
import { ConfigError, type ListenAddress } from "./config/mod.ts";
import { createFrontApp } from "./front/app.ts";
import { type Generation, loadGeneration } from "./generation.ts";
import type { Logger } from "./log/logger.ts";
import { EXPOSITION_CONTENT_TYPE, Metrics } from "./metrics/metrics.ts";
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
  /** The address the admin listener is bound to, when `admin` is configured. */
  readonly admin?: Deno.NetAddr;
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
  const metrics = new Metrics(VERSION, {
    processGroups: () => processes.live,
    pending: () => registry.size,
    logLinesDropped: () => logger.dropped,
  });
  let readiness: Readiness = "starting";
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
  const replyApp = createReplyApp({
    registry,
    logger,
    templates: generation.outtakes,
    metrics,
  });
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
    metrics,
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

  let adminServer: Deno.HttpServer<Deno.NetAddr> | undefined;
  if (config.admin) {
    const adminApp = createAdminApp({
      readiness: () => readiness,
      metrics: () => metrics.render(),
      metricsContentType: EXPOSITION_CONTENT_TYPE,
    });
    try {
      adminServer = Deno.serve({
        hostname: config.admin.hostname,
        port: config.admin.port,
        onListen() {},
      }, adminApp.fetch);
    } catch (error) {
      await frontServer.shutdown();
      await replyServer.shutdown();
      await removeSocket(config.socket);
      await strategy.dispose();
      throw new ConfigError([{
        file: config.file,
        key: "admin",
        message: `Cannot listen on ${formatAddress(config.admin)}: ${(error as Error).message}`,
      }]);
    }
  }
  // Config loaded, front and socket listening: from here /readyz answers 200.
  readiness = "ready";
  logger.info("start", {
    version: VERSION,
    config: config.file,
    openapi: generation.document.file,
    listen: formatAddress(front),
    ...(adminServer ? { admin: formatAddress(adminServer.addr) } : {}),
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
    // First of all, so that load balancers stop sending before the front stops accepting.
    readiness = "draining";
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
    // Last: probes and scrapes see the drain (503) until there is nothing left to drain.
    await adminServer?.shutdown();
    logger.info("stopped", { reason });
    await logger.flush();
    resolveFinished();
  };

  return {
    front,
    ...(adminServer ? { admin: adminServer.addr } : {}),
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

/** `host:port`, with brackets around an IPv6 host. */
function formatAddress(address: ListenAddress): string {
  return `${
    address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname
  }:${address.port}`;
}
