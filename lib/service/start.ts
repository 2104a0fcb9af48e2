/**
 * The composition root: the one module that wires config, processes, the
 * pending registry and both servers together, and the written order in which
 * urocket starts, reloads and stops.
 *
 * @module
 */

import { createAdminApp, type Readiness } from "../admin/mod.ts";
import {
  ConfigError,
  formatListen,
  formatProblem,
  type Problem,
  type ServiceConfig,
  // kill-grace's bound leaves room for it below a timer's limit.
  SHUTDOWN_KILL_WAIT_MS,
} from "../config/mod.ts";
import { ConsoleState, createConsoleApp } from "../console/mod.ts";
import { withDocs } from "../docs/mod.ts";
import { createFrontApp } from "../front/mod.ts";
import {
  type Generation,
  loadGeneration,
  operationChanges,
  restartOnly,
  settingChanges,
  unwiredSummary,
} from "../generation/mod.ts";
import { LOG_EXIT_WAIT_MS, type Logger } from "../log/mod.ts";
import { EXPOSITION_CONTENT_TYPE, Metrics } from "../metrics/mod.ts";
import { PendingRequests } from "../pending/mod.ts";
import {
  checkSupervision,
  chooseSpawner,
  inheritedEnv,
  type LimitsState,
  ProcessTable,
  raiseNofile,
  type Spawner,
  type SpawnStrategy,
  type SupervisionVerdict,
} from "../process/mod.ts";
import { DescriptorReserve, KeptServer, reserveSizeFor } from "../listener/mod.ts";
import {
  applySocketAccess,
  createReplyFetch,
  ReplySocket,
  type SocketAccess,
  socketAccessChain,
  socketAccessOf,
  socketAccessProblem,
  SocketError,
} from "../reply/mod.ts";
import { VERSION } from "../common/mod.ts";

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

/** How long the front may take to send the last answers once every group is killed. */
const FRONT_WAIT_MS = 5_000;
/** How long the reply server and the admin listener may take to close. */
const CLOSE_WAIT_MS = 2_000;
/** After a second signal: how long each remaining step may take. */
const FORCED_WAIT_MS = 2_000;

/** A running urocket. */
export interface Service {
  /** The address the front is bound to. */
  readonly front: Deno.NetAddr;
  /** The address the admin listener is bound to, when `admin` is configured. */
  readonly admin?: Deno.NetAddr;
  /** The socket path. */
  readonly socket: string;
  /**
   * Stops in order: /readyz 503 at once; the front still serves for
   * `shutdown-delay`; it stops accepting; in-flight requests finish within
   * `shutdown-timeout`; then the rest get 503 and every process group is
   * killed; the reply socket closes and its file is removed; the admin
   * listener closes last. A second call kills every process group at once
   * and cuts every wait short.
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

/**
 * Loads the configuration, binds the socket and the front, and serves.
 *
 * @throws {ConfigError} when the configuration cannot be used.
 * @throws {SocketError} when the socket path is taken or unusable.
 */
export async function startService(options: ServiceOptions): Promise<Service> {
  const { logger } = options;
  let generation: Generation = await loadGeneration(options.configFile, { env: options.env });
  const config = generation.config;
  const registry = new PendingRequests();
  const processes = new ProcessTable();
  const metrics = new Metrics(VERSION, {
    processGroups: () => processes.running,
    pending: () => registry.size,
    logLinesDropped: () => logger.droppedOutput,
    logDropped: () => logger.dropped,
  });
  let readiness: Readiness = "starting";
  const strategy: SpawnStrategy = options.spawner
    ? {
      spawner: options.spawner,
      mode: "injected",
      reason: "injected by the caller",
      prepareCgroups: () =>
        Promise.resolve({ ok: false, stage: "spawner", message: "the spawner is injected" }),
      dispose: () => Promise.resolve(),
    }
    : await chooseSpawner({ env: options.env, logger });
  // Deno raises the soft limit itself where it can; the helper does it where Deno did not, and
  // says what the limit is (Deno cannot read it without --allow-all).
  const nofile = strategy.helper
    ? await raiseNofile(strategy.helper, Deno.pid)
    : "no spawn helper to read it";
  const reserve = new DescriptorReserve(
    reserveSizeFor(typeof nofile === "string" ? undefined : nofile.soft),
  );
  reserve.fill();
  const undo = async () => {
    reserve.release();
    await strategy.dispose();
  };

  let replySocket: ReplySocket;
  try {
    replySocket = await ReplySocket.open({
      path: config.socket,
      fetch: createReplyFetch({ registry, logger, templates: () => generation.outtakes, metrics }),
      access: (createdGid) => accessOf(generation.config, createdGid),
      logger,
      reserve,
    });
  } catch (error) {
    await undo();
    throw error;
  }
  const closeSocket = async () => {
    await bounded(replySocket.close(), CLOSE_WAIT_MS);
    try {
      await replySocket.remove();
    } catch (error) {
      // Something urocket cannot remove now sits at the path: that must not stop the shutdown
      // half-way (or hide why a start failed); the next start refuses the path and says why.
      logger.warn("socket_not_removed", {
        socket: config.socket,
        error: (error as Error).message,
      });
    }
  };
  let verdict: SupervisionVerdict;
  try {
    verdict = await checkSupervision(config, await supervisionFacts(config));
  } catch (error) {
    await closeSocket();
    await undo();
    if (error instanceof ConfigError) throw error;
    throw new SocketError(
      `Cannot set up socket ${JSON.stringify(config.socket)}: ${(error as Error).message}`,
    );
  }
  if (verdict.problems.length > 0) {
    await closeSocket();
    await undo();
    throw new ConfigError(verdict.problems);
  }

  const stopping = new AbortController();
  const draining = new AbortController();
  // The console lives on the admin listener: without one, nothing observes the exchange.
  const consoleState = config.admin ? new ConsoleState() : undefined;
  const frontApp = createFrontApp({
    generation: () => generation,
    registry,
    processes,
    spawner: strategy.spawner,
    logger,
    inheritedEnv: inheritedEnv(options.env),
    metrics,
    stopping: stopping.signal,
    draining: draining.signal,
    observer: consoleState,
  });
  let frontServer: KeptServer<Deno.NetAddr>;
  try {
    frontServer = await keep(
      "front",
      config.listen,
      withDocs(frontApp.fetch, { generation: () => generation, logger }),
      true,
    );
  } catch (error) {
    await closeSocket();
    await undo();
    throw new ConfigError([{
      file: config.file,
      key: "listen",
      message: `Cannot listen on ${config.listen.hostname}:${config.listen.port}: ${
        (error as Error).message
      }`,
    }]);
  }
  const front = frontServer.addr;

  let adminServer: KeptServer<Deno.NetAddr> | undefined;
  if (config.admin) {
    const adminApp = createAdminApp({
      readiness: () => {
        if (readiness !== "ready") return readiness;
        // Ready also takes the remote key sets of JWT schemes, fetched at start.
        if (!generation.security.runtime.ready) return "starting";
        if (!frontServer.accepting || !replySocket.accepting) return "not_accepting";
        return replySocket.present ? "ready" : "socket_missing";
      },
      metrics: () => metrics.render(),
      metricsContentType: EXPOSITION_CONTENT_TYPE,
      console: consoleState && createConsoleApp({
        state: consoleState,
        startedAt: Date.now(),
        signal: stopping.signal,
        facts: () => ({
          version: VERSION,
          pid: Deno.pid,
          spawnMode: strategy.mode,
          statsSource: strategy.mode === "spawn_server" ? "wait4" : "none",
          config: generation.config.file,
          openapi: generation.document.file,
          listen: formatListen(front),
          docs: generation.config.docs,
          operations: generation.operations.length,
          maxInflight: generation.config.maxInflight,
          processes: processes.running,
          logLinesDropped: logger.dropped,
        }),
      }),
    });
    try {
      adminServer = await keep("admin", config.admin, adminApp.fetch, false);
    } catch (error) {
      await frontServer.shutdown();
      await closeSocket();
      await undo();
      throw new ConfigError([{
        file: config.file,
        key: "admin",
        message: `Cannot listen on ${formatListen(config.admin)}: ${(error as Error).message}`,
      }]);
    }
  }
  // Config loaded, front and socket listening: from here /readyz answers 200 (once key sets are in).
  await generation.security.runtime.start(logger);
  readiness = "ready";
  logger.info("start", {
    version: VERSION,
    config: config.file,
    openapi: generation.document.file,
    listen: formatListen(front),
    ...(adminServer ? { admin: formatListen(adminServer.addr) } : {}),
    socket: config.socket,
    base_path: generation.basePath || "/",
    routes: generation.document.operations.length,
    operations: generation.operations.length,
    pid: Deno.pid,
    ...(typeof nofile === "string" ? { nofile: null, nofile_unknown: nofile } : {
      nofile: nofile.soft,
    }),
  });
  // Said once: the fallback is correct but forks all of urocket per request, and cannot tell
  // what a process used.
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
  let limits = logLimits(logger, verdict.limits, { kind: "none" });
  logWarnings(logger, generation);

  let stopPromise: Promise<void> | undefined;
  let forced = false;
  let force!: () => void;
  const forcedSignal = new Promise<void>((resolve) => force = resolve);
  let resolveFinished!: () => void;
  const finished = new Promise<void>((resolve) => resolveFinished = resolve);
  /** Waits for `promise` up to `ms`; after a second signal, up to FORCED_WAIT_MS from then. */
  const waitUnlessForced = (promise: Promise<unknown>, ms: number) =>
    bounded(
      Promise.race([promise, forcedSignal.then(() => bounded(promise, FORCED_WAIT_MS))]),
      forced ? FORCED_WAIT_MS : ms,
    );

  const stop = async (reason: string) => {
    // First of all, so that load balancers stop sending before the front stops accepting.
    readiness = "draining";
    draining.abort();
    const { shutdownDelayMs, shutdownTimeoutMs, operations } = generation.config;
    logger.info("shutdown", {
      reason,
      in_flight: registry.size,
      processes: processes.live,
      delay_ms: shutdownDelayMs,
      timeout_ms: shutdownTimeoutMs,
    });
    // Endpoints keep routing here for a moment after SIGTERM: the front still serves meanwhile.
    if (shutdownDelayMs > 0) await bounded(forcedSignal, shutdownDelayMs);
    const drained = frontServer.shutdown();
    logger.info("draining", { in_flight: registry.size, processes: processes.live });
    // Deno's shutdown() waits for in-flight requests without limit: shutdown-timeout bounds it.
    const inTime = await bounded(Promise.race([drained, forcedSignal]), shutdownTimeoutMs);
    if (!inTime && !forced) {
      logger.warn("shutdown_timeout", { in_flight: registry.size, processes: processes.live });
    }
    // Requests still waiting get 503 and their groups are killed; nothing new is spawned.
    stopping.abort();
    if (forced) processes.killAllNow("shutdown");
    else processes.killAll("shutdown");
    const killGrace = Math.max(0, ...operations.map((op) => op.killGraceMs));
    if (!await waitUnlessForced(processes.idle(), killGrace + SHUTDOWN_KILL_WAIT_MS)) {
      // Groups that outlived the wait (a reload shortened kill-grace, say) are not left running.
      processes.killAllNow("shutdown");
      await bounded(processes.idle(), FORCED_WAIT_MS);
    }
    // The answers of the last requests; the reply socket stays up until they are sent.
    await waitUnlessForced(drained, FRONT_WAIT_MS);
    await closeSocket();
    generation.security.runtime.stop();
    await undo();
    // Last: probes and scrapes see the drain (503) until there is nothing left to drain.
    if (adminServer) await bounded(adminServer.shutdown(), CLOSE_WAIT_MS);
    logger.info("stopped", { reason, ...(forced ? { forced: true } : {}) });
    // Bounded like every other step: a log collector that stopped reading must not keep urocket
    // from exiting (the lines it did not take are lost with it).
    await waitUnlessForced(logger.flush(), LOG_EXIT_WAIT_MS);
    resolveFinished();
  };

  let reloading: Promise<void> | undefined;
  let reloadAgain = false;
  const reloadOnce = async () => {
    const started = performance.now();
    const old = generation;
    let next: Generation;
    let problems: Problem[];
    let nextVerdict: SupervisionVerdict | undefined;
    try {
      next = await loadGeneration(options.configFile, { env: options.env });
      problems = restartOnly(old.config, next.config);
      if (problems.length === 0) {
        nextVerdict = await checkSupervision(next.config, await supervisionFacts(next.config));
        problems = nextVerdict.problems;
      }
    } catch (error) {
      problems = error instanceof ConfigError
        ? [...error.problems]
        : [{ file: options.configFile, key: "", message: (error as Error).message }];
    }
    if (problems.length > 0 || !nextVerdict) {
      logger.error("reload", {
        outcome: "refused",
        message: "the config stays as it was",
        problems: problems.map(formatProblem),
        duration_ms: Math.round(performance.now() - started),
      });
      metrics.reloaded("refused");
      consoleState?.reloaded("refused", problems.map(formatProblem));
      return;
    }
    try {
      const socket = next!.config.socket;
      await applySocketAccess(socket, accessOf(next!.config, replySocket.createdGid), {
        from: await socketAccessOf(socket),
      });
    } catch (error) {
      logger.error("reload", {
        outcome: "refused",
        message: "the config stays as it was",
        problems: [`${next!.config.file}: socket: ${(error as Error).message}`],
      });
      metrics.reloaded("refused");
      consoleState?.reloaded("refused", [
        `${next!.config.file}: socket: ${(error as Error).message}`,
      ]);
      return;
    }
    // Key sets of URLs both configurations name go on as they are; the others start now.
    await next!.security.runtime.start(logger, old.security.runtime);
    // Atomic for new requests: the front reads generation() once per request.
    generation = next!;
    old.security.runtime.stop();
    logger.info("reload", {
      outcome: "applied",
      config: next!.config.file,
      openapi: next!.document.file,
      operations: next!.operations.length,
      ...operationChanges(old, next!),
      settings: settingChanges(old.config, next!.config),
      duration_ms: Math.round(performance.now() - started),
    });
    metrics.reloaded("applied");
    consoleState?.reloaded("applied");
    limits = logLimits(logger, nextVerdict.limits, limits);
    logWarnings(logger, next!);
  };

  return {
    front,
    ...(adminServer ? { admin: adminServer.addr } : {}),
    socket: config.socket,
    shutdown(reason: string) {
      if (stopPromise) {
        if (!forced) {
          forced = true;
          logger.warn("shutdown_forced", { reason, processes: processes.live });
          stopping.abort();
          processes.killAllNow("shutdown");
          force();
        }
        return stopPromise;
      }
      stopPromise = stop(reason);
      return stopPromise;
    },
    reload() {
      if (stopPromise) {
        logger.warn("reload", { outcome: "refused", message: "urocket is shutting down" });
        return Promise.resolve();
      }
      if (reloading) {
        // A SIGHUP during a reload: one more once it is done (the file may have changed again).
        reloadAgain = true;
        return reloading;
      }
      reloading = (async () => {
        do {
          reloadAgain = false;
          // A socket removed meanwhile is recreated first; no check changes it during the reload.
          await replySocket.check();
          await replySocket.exclusive(reloadOnce);
        } while (reloadAgain && !stopPromise);
      })().finally(() => reloading = undefined);
      return reloading;
    },
    finished,
  };

  /**
   * The socket's mode and group as `next` says: without socket-group, the group it was created with
   * (urocket's own; its folder's, when that folder is set-group-ID).
   */
  function accessOf(next: ServiceConfig, createdGid: number): SocketAccess {
    return { mode: next.socketMode, gid: next.socketGroup?.gid ?? createdGid };
  }

  /** Serves `fetch` on `address`, bound again whenever its listener dies. */
  function keep(
    name: string,
    address: { hostname: string; port: number },
    fetch: Deno.ServeHandler<Deno.NetAddr>,
    waitForRoom: boolean,
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
      logger,
      reserve,
      waitForRoom,
    });
  }

  /** What {@link checkSupervision} needs, with the socket as `next` would leave it. */
  async function supervisionFacts(next: ServiceConfig) {
    const chain = await socketAccessChain(
      next.socket,
      accessOf(next, replySocket.createdGid),
    );
    return {
      strategy,
      uid: chain[0].uid,
      socketProblem: (user: { uid: number; gid: number; groups: number[] }) =>
        socketAccessProblem(user, chain),
    };
  }
}

/**
 * Resolves true when `promise` settles within `ms`, false otherwise; the
 * timer never outlives the wait.
 */
async function bounded(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise.then(() => true, () => true),
      new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Says how limits stand when that changed (at start: when any are configured). */
function logLimits(logger: Logger, state: LimitsState, before: LimitsState): LimitsState {
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

function logWarnings(logger: Logger, generation: Generation): void {
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
