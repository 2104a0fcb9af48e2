/**
 * The top level of the config resolved: addresses, the socket, the values
 * every operation inherits, the security entries, and each operation (see
 * ./_resolve_operation.ts).
 *
 * @module
 */

import { type Accounts, resolveGroup } from "./accounts.ts";
import { MAX_SOCKET_PATH, parseListen, sameBinding, SOCKET_STAGING_BYTES } from "./addresses.ts";
import type { LoadOptions } from "./load.ts";
import { absolutePath, dirname } from "./paths.ts";
import { type OperationDefaults, resolveOperation } from "./_resolve_operation.ts";
import type { Report, Reporters } from "./_yaml.ts";
import { ConfigSchema, HTTP_METHODS, type HttpMethod, OperationSchema } from "./schema.ts";
import type { RawResourceLimits } from "./schema.ts";
import { type SchemeConfig, SchemeConfigSchema } from "./security.ts";
import {
  DEFAULTS,
  type ListenAddress,
  type OperationConfig,
  type ServiceConfig,
} from "./service_config.ts";
import { parseDuration, parseSize } from "./units.ts";

/** A top-level value when it passed the schema on its own, else `fallback`. */
type Top = <T>(key: keyof typeof ConfigSchema.shape, fallback: T) => T;

/**
 * Builds the service config from the raw data, taking each value only when it
 * passed the schema on its own, so that one bad key does not hide the
 * problems of the others.
 */
export function resolve(
  data: Record<string, unknown>,
  options: LoadOptions & { file: string },
  reporters: Reporters,
  accounts: Accounts = { users: [], groups: [] },
): ServiceConfig {
  const { report, locate } = reporters;
  const dir = dirname(options.file);
  const top: Top = (key, fallback) =>
    data[key] !== undefined && ConfigSchema.shape[key].safeParse(data[key]).success
      ? data[key] as typeof fallback
      : fallback;
  const { listen, admin } = resolveAddresses(top, report);
  const socket = resolveSocket(top, dir, report);
  const defaults = operationDefaults(top, report);
  const basePath = top<string | undefined>("base-path", undefined);
  const docs = top<string | undefined>("docs", undefined);
  const socketGroupValue = top<string | number | undefined>("socket-group", undefined);
  const socketGroup = socketGroupValue === undefined
    ? undefined
    : resolveGroup(accounts, socketGroupValue);
  if (typeof socketGroup === "string") report(["socket-group"], socketGroup);
  const config: ServiceConfig = {
    file: options.file,
    openapi: absolutePath(top("openapi", DEFAULTS.openapi), dir),
    ...(basePath === undefined ? {} : { basePath: basePath.replace(/\/+$/, "") }),
    listen,
    ...(admin ? { admin } : {}),
    ...(docs !== undefined ? { docs } : {}),
    socket,
    socketMode: parseInt(top("socket-mode", DEFAULTS.socketMode), 8),
    ...(typeof socketGroup === "number"
      ? { socketGroup: { name: String(socketGroupValue), gid: socketGroup } }
      : {}),
    limitsEnforce: top("limits-enforce", DEFAULTS.limitsEnforce),
    maxInflight: top("max-inflight", DEFAULTS.maxInflight),
    maxBodyMemory: parseSize(top("max-body-memory", DEFAULTS.maxBodyMemory)),
    shutdownDelayMs: parseDuration(top("shutdown-delay", DEFAULTS.shutdownDelay)),
    shutdownTimeoutMs: parseDuration(top("shutdown-timeout", DEFAULTS.shutdownTimeout)),
    ...resolveSecurity(data.security, locate),
    operations: [],
    warnings: [],
  };
  checkSocketMode(config, top, report);
  config.operations = resolveOperations(data.paths, {
    dir,
    defaults,
    topLimits: top<RawResourceLimits | undefined>("limits", undefined),
    accounts,
    env: options.env,
    reporters,
  });
  const explicitBodyMemory = top<unknown>("max-body-memory", undefined) !== undefined;
  fitBodyMemory(config, explicitBodyMemory ? report : undefined);
  return config;
}

/** `listen`, and `admin` when set: valid addresses that do not collide. */
function resolveAddresses(
  top: Top,
  report: Report,
): { listen: ListenAddress; admin?: ListenAddress } {
  const listen = parseListen(String(top("listen", DEFAULTS.listen)));
  if (typeof listen === "string") report(["listen"], listen);
  const adminValue = top<string | undefined>("admin", undefined);
  const admin = adminValue === undefined ? undefined : parseListen(adminValue);
  if (typeof admin === "string") {
    report(["admin"], admin.replace("listen address", "admin address"));
  } else if (admin && typeof listen !== "string" && sameBinding(admin, listen)) {
    report(["admin"], `The admin listener cannot share the front's port ${admin.port}`);
  }
  return {
    listen: typeof listen === "string" ? { hostname: "0.0.0.0", port: 8080 } : listen,
    ...(admin && typeof admin !== "string" ? { admin } : {}),
  };
}

/** The socket path, absolute, short enough for the kernel with its staging name beside it. */
function resolveSocket(top: Top, dir: string, report: Report): string {
  const socket = absolutePath(top("socket", DEFAULTS.socket), dir);
  if (new TextEncoder().encode(socket).length > MAX_SOCKET_PATH) {
    report(["socket"], `Socket path is longer than ${MAX_SOCKET_PATH} bytes: use a shorter path`);
  } else if (
    new TextEncoder().encode(dirname(socket)).length + 1 + SOCKET_STAGING_BYTES > MAX_SOCKET_PATH
  ) {
    report(
      ["socket"],
      `Socket folder path is longer than ${MAX_SOCKET_PATH - 1 - SOCKET_STAGING_BYTES} bytes: ` +
        "urocket binds the socket beside it (as .u and its pid) before moving it in place; " +
        "use a shorter folder",
    );
  }
  return socket;
}

/** The top-level values every operation inherits, checked once here. */
function operationDefaults(top: Top, report: Report): OperationDefaults {
  const defaults: OperationDefaults = {
    timeout: top("timeout", DEFAULTS.timeout),
    "body-timeout": top("body-timeout", DEFAULTS.bodyTimeout),
    "kill-grace": top("kill-grace", DEFAULTS.killGrace),
    "max-body": top("max-body", DEFAULTS.maxBody),
    "max-reply": top("max-reply", DEFAULTS.maxReply),
    "log-limit": top("log-limit", DEFAULTS.logLimit),
    "after-exit": top("after-exit", DEFAULTS.afterExit),
    "stream-timeout": top("stream-timeout", DEFAULTS.streamTimeout),
  };
  if (parseDuration(defaults.timeout) <= 0) {
    report(["timeout"], "The timeout must be greater than zero");
  }
  if (parseDuration(defaults["body-timeout"]) <= 0) {
    report(["body-timeout"], "The body-timeout must be greater than zero");
  }
  // Zero would cut every streamed reply as it starts.
  if (parseDuration(defaults["stream-timeout"]) <= 0) {
    report(["stream-timeout"], "The stream-timeout must be greater than zero");
  }
  return defaults;
}

/**
 * Connecting to a unix socket takes write permission on its file (read is
 * not checked), and processes of operations without "user" run as urocket's
 * own user: the socket's owner.
 */
function checkSocketMode(config: ServiceConfig, top: Top, report: Report): void {
  if ((config.socketMode & 0o200) !== 0) return;
  report(
    ["socket-mode"],
    `Mode ${JSON.stringify(top("socket-mode", DEFAULTS.socketMode))} denies the socket's ` +
      "owner write permission, which connecting takes: processes running as urocket's own " +
      'user (every operation without "user") could not reply; give the owner write, e.g. "0600"',
  );
}

/** What every operation is resolved with, besides its own block. */
interface PathsContext {
  dir: string;
  defaults: OperationDefaults;
  topLimits: RawResourceLimits | undefined;
  accounts: Accounts;
  env: Record<string, string>;
  reporters: Reporters;
}

/** Each operation block under `paths`, resolved; a block with a bad key without it. */
function resolveOperations(paths: unknown, context: PathsContext): OperationConfig[] {
  const { report, warn, locate } = context.reporters;
  const operations: OperationConfig[] = [];
  const items = typeof paths === "object" && paths !== null ? paths : {};
  for (const [path, item] of Object.entries(items)) {
    if (typeof item !== "object" || item === null) continue;
    for (const [method, block] of Object.entries(item as Record<string, unknown>)) {
      if (!(HTTP_METHODS as readonly string[]).includes(method)) continue;
      // A block with a bad key is still resolved without it, to report its other problems too.
      const parsed = OperationSchema.safeParse(block);
      const usable = parsed.success ? parsed : OperationSchema.safeParse(keepValid(block));
      if (!usable.success) continue;
      const op = resolveOperation(usable.data, {
        path,
        method: method as HttpMethod,
        dir: context.dir,
        defaults: context.defaults,
        topLimits: context.topLimits,
        accounts: context.accounts,
        env: context.env,
        report: (key, message) => report(["paths", path, method, ...key], message),
        warn: (key, message) => warn(["paths", path, method, ...key], message),
      });
      operations.push({ ...op, line: locate(["paths", path, method], true) });
    }
  }
  return operations;
}

/**
 * Makes room in `max-body-memory` for the largest body any operation accepts,
 * which could otherwise never be received: the default grows to it; a value
 * set in the file is reported (`report`) as too small.
 */
function fitBodyMemory(config: ServiceConfig, report?: Report): void {
  let largest = { maxBody: 0, where: "" };
  for (const op of config.operations) {
    if (op.maxBody > largest.maxBody) {
      largest = {
        maxBody: op.maxBody,
        where: `the max-body of ${op.method.toUpperCase()} ${op.path}`,
      };
    }
  }
  if (largest.maxBody <= config.maxBodyMemory) return;
  if (!report) {
    config.maxBodyMemory = largest.maxBody;
    return;
  }
  report(
    ["max-body-memory"],
    `max-body-memory (${config.maxBodyMemory} bytes) is smaller than ${largest.where} ` +
      `(${largest.maxBody} bytes), so such a body could never be received: raise max-body-memory`,
  );
}

/**
 * The `security` entries that pass the schema on their own (a bad one is
 * reported by the schema and left out), with the line of each.
 */
function resolveSecurity(
  value: unknown,
  locate: Reporters["locate"],
): Pick<ServiceConfig, "security" | "securityLines"> {
  const security: Record<string, SchemeConfig> = {};
  const securityLines: Record<string, number | undefined> = {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { security, securityLines };
  }
  for (const [name, entry] of Object.entries(value)) {
    const parsed = SchemeConfigSchema.safeParse(entry);
    if (!parsed.success) continue;
    security[name] = parsed.data;
    securityLines[name] = locate(["security", name], true);
  }
  return { security, securityLines };
}

/** Whether the config names a user or a group, so that /etc/passwd and /etc/group are needed. */
export function namesAccounts(data: Record<string, unknown>): boolean {
  if (data["socket-group"] !== undefined) return true;
  const paths = data.paths;
  if (typeof paths !== "object" || paths === null) return false;
  return Object.values(paths).some((item) =>
    typeof item === "object" && item !== null &&
    Object.values(item).some((block) =>
      typeof block === "object" && block !== null && ("user" in block || "group" in block)
    )
  );
}

/** The keys of an operation block that pass the schema on their own. */
function keepValid(block: unknown): Record<string, unknown> {
  const keep = (
    shape: Record<string, { safeParse(v: unknown): { success: boolean } }>,
    value: unknown,
  ) => {
    const out: Record<string, unknown> = {};
    if (typeof value !== "object" || value === null) return out;
    for (const [key, v] of Object.entries(value)) {
      if (key === "inject") out[key] = keep(OperationSchema.shape.inject.shape, v);
      else if (shape[key]?.safeParse(v).success) out[key] = v;
    }
    return out;
  };
  return keep(OperationSchema.shape, block);
}
