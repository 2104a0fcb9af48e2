/**
 * The composition root: the one module that wires config, processes, the
 * pending registry and both servers together. urocket starts here, in
 * order, recording how to undo each step it takes and unwinding them once
 * if a later one fails; its shutdown (./shutdown.ts) and reloads
 * (./reload.ts) act on what the start made.
 *
 * @module
 */

import { createAdminApp } from "../admin/mod.ts";
import { VERSION } from "../common/mod.ts";
import {
  ConfigError,
  formatListen,
  type ListenAddress,
  type ServiceConfig,
} from "../config/mod.ts";
import { ConsoleState, createConsoleApp } from "../console/mod.ts";
import { withDocs } from "../docs/mod.ts";
import { createFrontApp } from "../front/mod.ts";
import { loadGeneration } from "../generation/mod.ts";
import { DescriptorReserve, KeptServer, reserveSizeFor } from "../listener/mod.ts";
import type { Logger } from "../log/mod.ts";
import { EXPOSITION_CONTENT_TYPE, Metrics } from "../metrics/mod.ts";
import { PendingRequests } from "../pending/mod.ts";
import {
  checkSupervision,
  chooseSpawnStrategy,
  inheritedEnv,
  type NofileLimits,
  ProcessTable,
  raiseNofile,
  type Spawner,
  type SpawnStrategy,
  type SupervisionVerdict,
} from "../process/mod.ts";
import { createReplyFetch, ReplySocket, SocketError } from "../reply/mod.ts";
import { announceStart, logLimits, logWarnings } from "./_announce.ts";
import { Forcing } from "./_bounded.ts";
import type { Live, Running } from "./_running.ts";
import { socketAccess, supervisionFacts } from "./_socket_checks.ts";
import { UndoStack } from "./_undo.ts";
import { Reloads } from "./reload.ts";
import { closeSocket, shutdown } from "./shutdown.ts";

/** Options of {@link startService}. */
export interface ServiceOptions {
  /** Path of `urocket-service.yaml`. */
  configFile: string;
  /** urocket's own environment. */
  env: Record<string, string>;
  logger: Logger;
  /** How processes are started; by default {@link chooseSpawnStrategy} decides. */
  spawner?: Spawner;
}

/** A running urocket. */
export interface Service {
  /** The address the front is bound to. */
  readonly front: Deno.NetAddr;
  /** The address the admin listener is bound to, when `admin` is configured. */
  readonly admin?: Deno.NetAddr;
  /** The socket path. */
  readonly socket: string;
  /**
   * Stops in order (see ./shutdown.ts). A second call kills every process
   * group at once and cuts every wait short.
   */
  shutdown(reason: string): Promise<void>;
  /**
   * Reads the config and the OpenAPI document again (SIGHUP) and, when both
   * are valid and need no restart, serves new requests with them; in-flight
   * requests finish under the config they started with. Logs a `reload`
   * line either way; never throws.
   */
  reload(): Promise<void>;
  /** Resolves when the service has fully stopped. */
  readonly finished: Promise<void>;
}

/** What the start made, and what it learnt on the way that it says once it serves. */
interface Started {
  running: Running;
  nofile: NofileLimits | string;
  verdict: SupervisionVerdict;
}

/**
 * Loads the configuration, binds the socket and the front, and serves.
 *
 * @throws {ConfigError} when the configuration cannot be used.
 * @throws {SocketError} when the socket path is taken or unusable.
 */
export async function startService(options: ServiceOptions): Promise<Service> {
  const undo = new UndoStack();
  let started: Started;
  try {
    started = await start(options, undo);
  } catch (error) {
    await undo.unwind();
    throw error;
  }
  const { running, nofile, verdict } = started;
  announceStart(running, nofile);
  running.live.limits = logLimits(running.logger, verdict.limits, running.live.limits);
  logWarnings(running.logger, running.live.generation);
  return serviceOf(running);
}

/** The start sequence, each step's undo recorded as soon as it is taken. */
async function start(options: ServiceOptions, undo: UndoStack): Promise<Started> {
  const { logger } = options;
  const generation = await loadGeneration(options.configFile, { env: options.env });
  const config = generation.config;
  const live: Live = { generation, readiness: "starting", limits: { kind: "none" } };
  const registry = new PendingRequests();
  const processes = new ProcessTable();
  const metrics = new Metrics(VERSION, {
    processGroups: () => processes.running,
    pending: () => registry.size,
    logLinesDropped: () => logger.droppedOutput,
    logDropped: () => logger.dropped,
  });
  const strategy = await spawnStrategy(options);
  undo.push(() => strategy.dispose());
  // Deno raises the soft limit itself where it can; the helper does it where Deno did not, and
  // says what the limit is (Deno cannot read it without --allow-all).
  const nofile = strategy.helper
    ? await raiseNofile(strategy.helper, Deno.pid)
    : "no spawn helper to read it";
  const reserve = new DescriptorReserve(
    reserveSizeFor(typeof nofile === "string" ? undefined : nofile.soft),
  );
  reserve.fill();
  undo.push(() => reserve.release());
  const replySocket = await ReplySocket.open({
    path: config.socket,
    fetch: createReplyFetch({
      registry,
      logger,
      templates: () => live.generation.outtakes,
      metrics,
    }),
    access: (createdGid) => socketAccess(live.generation.config, createdGid),
    logger,
    reserve,
  });
  undo.push(() => closeSocket(replySocket, config.socket, logger));
  const verdict = await checkAtStart(config, strategy, replySocket);
  const parts = {
    configFile: options.configFile,
    env: options.env,
    logger,
    live,
    registry,
    processes,
    metrics,
    strategy,
    reserve,
    replySocket,
    // The console lives on the admin listener: without one, nothing observes the exchange.
    console: config.admin ? new ConsoleState() : undefined,
    stopping: new AbortController(),
    draining: new AbortController(),
  };
  const front = await bindFront(parts);
  undo.push(() => front.shutdown());
  const admin = config.admin && await bindAdmin(config.admin, { ...parts, front });
  if (admin) undo.push(() => admin.shutdown());
  // Config loaded, front and socket listening: from here /readyz answers 200 (once key sets are in).
  await generation.security.runtime.start(logger);
  live.readiness = "ready";
  return { running: { ...parts, front, ...(admin ? { admin } : {}) }, nofile, verdict };
}

/** How processes are spawned: the caller's spawner, else the spawn helper when it runs. */
async function spawnStrategy(options: ServiceOptions): Promise<SpawnStrategy> {
  if (!options.spawner) {
    return await chooseSpawnStrategy({ env: options.env, logger: options.logger });
  }
  return {
    spawner: options.spawner,
    mode: "injected",
    reason: "injected by the caller",
    prepareCgroups: () =>
      Promise.resolve({ ok: false, stage: "spawner", message: "the spawner is injected" }),
    dispose: () => Promise.resolve(),
  };
}

/**
 * The checks of limits and users that need the spawner and the socket.
 *
 * @throws {ConfigError} with what the config asks that cannot be done.
 */
async function checkAtStart(
  config: ServiceConfig,
  strategy: SpawnStrategy,
  replySocket: ReplySocket,
): Promise<SupervisionVerdict> {
  let verdict: SupervisionVerdict;
  try {
    const facts = await supervisionFacts(config, { strategy, createdGid: replySocket.createdGid });
    verdict = await checkSupervision(config, facts);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new SocketError(
      `Cannot set up socket ${JSON.stringify(config.socket)}: ${(error as Error).message}`,
    );
  }
  if (verdict.problems.length > 0) throw new ConfigError(verdict.problems);
  return verdict;
}

/** The parts the servers are built from: all of {@link Running} but the servers. */
type Parts = Omit<Running, "front" | "admin">;

/** Serves the front (the API reference beside it when `docs` is set) on `listen`. */
async function bindFront(parts: Parts): Promise<KeptServer<Deno.NetAddr>> {
  const { live, logger } = parts;
  const config = live.generation.config;
  const frontApp = createFrontApp({
    generation: () => live.generation,
    registry: parts.registry,
    processes: parts.processes,
    spawner: parts.strategy.spawner,
    logger,
    inheritedEnv: inheritedEnv(parts.env),
    metrics: parts.metrics,
    stopping: parts.stopping.signal,
    draining: parts.draining.signal,
    observer: parts.console,
  });
  const fetch = withDocs(frontApp.fetch, { generation: () => live.generation, logger });
  try {
    return await keep("front", config.listen, fetch, { parts, waitForRoom: true });
  } catch (error) {
    throw new ConfigError([{
      file: config.file,
      key: "listen",
      message: `Cannot listen on ${config.listen.hostname}:${config.listen.port}: ${
        (error as Error).message
      }`,
    }]);
  }
}

/** Serves the admin listener (probes, metrics, the console) on `address`. */
async function bindAdmin(
  address: ListenAddress,
  parts: Parts & { front: KeptServer<Deno.NetAddr> },
): Promise<KeptServer<Deno.NetAddr>> {
  const { live, front, replySocket, strategy, processes, logger } = parts;
  const adminApp = createAdminApp({
    readiness: () => {
      if (live.readiness !== "ready") return live.readiness;
      // Ready also takes the remote key sets of JWT schemes, fetched at start.
      if (!live.generation.security.runtime.ready) return "starting";
      if (!front.accepting || !replySocket.accepting) return "not_accepting";
      return replySocket.present ? "ready" : "socket_missing";
    },
    metrics: () => parts.metrics.render(),
    metricsContentType: EXPOSITION_CONTENT_TYPE,
    console: parts.console && createConsoleApp({
      state: parts.console,
      startedAt: Date.now(),
      // The spawn server reads /proc for the console; without it, the console runs cat.
      liveStats: strategy.liveStats,
      signal: parts.stopping.signal,
      facts: () => ({
        version: VERSION,
        pid: Deno.pid,
        spawnMode: strategy.mode,
        statsSource: strategy.mode === "spawn_server" ? "wait4" : "none",
        config: live.generation.config.file,
        openapi: live.generation.document.file,
        listen: formatListen(front.addr),
        docs: live.generation.config.docs,
        operations: live.generation.operations.length,
        maxInflight: live.generation.config.maxInflight,
        processes: processes.running,
        logLinesDropped: logger.dropped,
      }),
    }),
  });
  try {
    return await keep("admin", address, adminApp.fetch, { parts, waitForRoom: false });
  } catch (error) {
    throw new ConfigError([{
      file: live.generation.config.file,
      key: "admin",
      message: `Cannot listen on ${formatListen(address)}: ${(error as Error).message}`,
    }]);
  }
}

/** Serves `fetch` on `address`, bound again whenever its listener dies. */
function keep(
  name: string,
  address: ListenAddress,
  fetch: Deno.ServeHandler<Deno.NetAddr>,
  { parts, waitForRoom }: { parts: Parts; waitForRoom: boolean },
): Promise<KeptServer<Deno.NetAddr>> {
  // Port 0 picks one at the first bind; later binds take the same one.
  let port = address.port;
  return KeptServer.start({
    name,
    bind: () => {
      const server = Deno.serve({ hostname: address.hostname, port, onListen() {} }, fetch);
      port = server.addr.port;
      return Promise.resolve(server);
    },
    logger: parts.logger,
    reserve: parts.reserve,
    waitForRoom,
  });
}

/** The handle of a started urocket: its addresses, its shutdown (once), its reloads. */
function serviceOf(running: Running): Service {
  const { logger, processes } = running;
  const forcing = new Forcing();
  let stopped: Promise<void> | undefined;
  let resolveFinished!: () => void;
  const finished = new Promise<void>((resolve) => resolveFinished = resolve);
  const reloads = new Reloads(running, () => stopped !== undefined);
  return {
    front: running.front.addr,
    ...(running.admin ? { admin: running.admin.addr } : {}),
    socket: running.live.generation.config.socket,
    shutdown(reason: string) {
      if (!stopped) {
        stopped = shutdown(running, reason, forcing).then(resolveFinished);
      } else if (!forcing.forced) {
        logger.warn("shutdown_forced", { reason, processes: processes.live });
        running.stopping.abort();
        processes.killAllNow("shutdown");
        forcing.force();
      }
      return stopped;
    },
    reload: () => reloads.reload(),
    finished,
  };
}
