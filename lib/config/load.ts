/**
 * Reads `urocket-service.yaml` into a {@link ServiceConfig}: YAML syntax,
 * schema, then meaning (files, commands, names), reporting every problem at
 * once with file, line and key path.
 *
 * @module
 */

import { isMap, isScalar, LineCounter, type Node, parseDocument } from "yaml";
import { yamlDuplicateKeys } from "../yaml_keys/mod.ts";
import { isMissing, missingKeyMessage, unknownKeyMessage } from "./_key_hints.ts";
import { type Accounts, readAccounts, resolveGroup, resolveRunAs, type RunAs } from "./accounts.ts";
import { ConfigError, type Problem } from "./errors.ts";
import {
  ConfigSchema,
  HTTP_METHODS,
  type HttpMethod,
  OperationSchema,
  type RawResourceLimits,
} from "./schema.ts";
import { type SchemeConfig, SchemeConfigSchema } from "./security.ts";
import { ENV_NAME, headerEnvName, isReservedEnvName } from "./reserved_env.ts";
import { splitCommand } from "./split_command.ts";
import { parseCpu, parseDuration, parseSize } from "./units.ts";

/** An operation's `limits`, as numbers (top-level ones merged in). */
export interface OperationLimits {
  /** memory.max in bytes. */
  memoryBytes?: number;
  /** A fraction of one CPU. */
  cpu?: number;
  /** pids.max. */
  pids?: number;
}

/** A TCP address to listen on. */
export interface ListenAddress {
  hostname: string;
  port: number;
}

/** One configured operation with every default applied and every path absolute. */
export interface OperationConfig {
  /** The OpenAPI path template, e.g. `/pets/{petId}`. */
  path: string;
  method: HttpMethod;
  validateIn: boolean;
  validateOut: boolean;
  /** Absolute working directory. */
  wd: string;
  /** Configured variables, with bare names already resolved. */
  env: Record<string, string>;
  /** Absolute path of the program to run. */
  program: string;
  /** Arguments before the payload (argv[1…]). */
  args: string[];
  channel: "cmdline" | "stdin";
  encoding: "json" | "raw";
  passHeaders: string[];
  logStdout: boolean;
  /** Reply path template on the socket, e.g. `/uri/{req_id}`. */
  outtake: string;
  timeoutMs: number;
  /** From the request's headers to the end of its body; then 408. */
  bodyTimeoutMs: number;
  killGraceMs: number;
  maxBody: number;
  maxReply: number;
  /** Bytes of output lines logged per process; the rest is read and discarded. */
  logLimit: number;
  afterExit: "fail" | "wait";
  /** Kill deadline of the process group once a reply streams, from the reply's start. */
  streamTimeoutMs: number;
  /** Extra per-operation cap on live process groups, when set. */
  maxInflight?: number;
  /** Resource limits, each enforced in the process's own cgroup; absent when none is set. */
  limits?: OperationLimits;
  /** Who the process runs as, when `user` is set. */
  user?: RunAs;
  /** `security: open`: served without enforcing what the document requires. */
  securityOpen: boolean;
  /** Line of the operation's block in the config file. */
  line?: number;
}

/** The whole configuration, ready to serve. */
export interface ServiceConfig {
  /** Absolute path of the config file. */
  file: string;
  /** Absolute path of the OpenAPI document. */
  openapi: string;
  /**
   * `base-path`, without its trailing slash (`""` for `/`): the prefix of
   * every route, instead of the path of the document's `servers[0].url`.
   * Undefined when not set.
   */
  basePath?: string;
  listen: ListenAddress;
  /** The admin listener (health, readiness, metrics); undefined when off. */
  admin?: ListenAddress;
  /** Where the front serves the API reference (`/docs`); undefined when off. */
  docs?: string;
  socket: string;
  socketMode: number;
  /** The socket file's group, when `socket-group` is set. */
  socketGroup?: { name: string; gid: number };
  /** Whether urocket refuses to start when limits cannot be enforced. */
  limitsEnforce: "required" | "best-effort";
  maxInflight: number;
  /** Bytes all request bodies being received may hold together. */
  maxBodyMemory: number;
  /** After SIGTERM, how long the front still serves while /readyz answers 503. */
  shutdownDelayMs: number;
  /** Then, how long in-flight requests may finish before their groups are killed. */
  shutdownTimeoutMs: number;
  /** The `security` mapping as written (checked against the document by lib/security/). */
  security: Record<string, SchemeConfig>;
  /** Line of each `security` entry, by scheme name, for problems found later. */
  securityLines: Record<string, number | undefined>;
  operations: OperationConfig[];
  /** Things worth saying at start that do not stop it. */
  warnings: Problem[];
}

/** What a path on disk is, as far as the loader cares. */
export interface FileInfo {
  isFile: boolean;
  isDirectory: boolean;
  /** Permission bits, when the platform has them. */
  mode: number | null;
}

/** The outside world the loader needs; injected so tests run in memory. */
export interface LoadOptions {
  /** urocket's own environment: bare `env` names and `PATH` lookup read it. */
  env: Record<string, string>;
  /** Describes a path, or returns undefined when nothing is there. */
  stat?: (path: string) => Promise<FileInfo | undefined>;
  /** The user and group databases, read only when a config names a user or group. */
  accounts?: () => Promise<Accounts>;
}

/** Defaults of the top-level keys, also the values per operation inherits. */
export const DEFAULTS = {
  openapi: "openapi.yaml",
  listen: "0.0.0.0:8080",
  socket: "/tmp/urocket.sock",
  socketMode: "0600",
  timeout: "30s",
  bodyTimeout: "30s",
  killGrace: "2s",
  maxBody: "1MiB",
  maxReply: "10MiB",
  logLimit: "1MiB",
  afterExit: "fail",
  streamTimeout: "5m",
  limitsEnforce: "required",
  maxInflight: 64,
  /** Raised to the largest max-body when that is larger (see resolve()). */
  maxBodyMemory: "64MiB",
  shutdownDelay: "5s",
  shutdownTimeout: "25s",
  outtake: "usocket://uri/{req_id}",
} as const;

/** What is wrong with a value that holds a NUL byte, which no argv, environment or path can carry. */
const NUL_MESSAGE = "Contains a NUL byte, which no command line, environment or path can carry";

/** Longest unix socket path Linux accepts (sun_path is 108 bytes with its NUL). */
const MAX_SOCKET_PATH = 107;

/**
 * The longest name urocket binds its socket as before renaming it into
 * place, in the socket's folder: `.u` and its pid in base 36 (at most 5
 * digits: pids stop at 4 Mi).
 */
export const SOCKET_STAGING_BYTES = 7;

/**
 * Reads the config file at `file`; a file that cannot be read is a
 * configuration problem like any other.
 *
 * @throws {ConfigError} naming the file and why it cannot be read.
 */
export async function readConfigFile(file: string): Promise<string> {
  try {
    return await Deno.readTextFile(file);
  } catch (error) {
    throw new ConfigError([{
      file,
      key: "",
      message: `Cannot read the config file: ${(error as Error).message}`,
    }]);
  }
}

/**
 * Checks config `text` as if read from `file` (an absolute path, used to
 * resolve relative paths and to name the file in problems).
 *
 * @throws {ConfigError} listing every problem found.
 */
export async function parseConfig(
  text: string,
  options: LoadOptions & { file: string },
): Promise<ServiceConfig> {
  const { config, problems } = await inspectConfig(text, options);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/**
 * Like {@link parseConfig}, but returns the problems beside the part of the
 * config that could be read, so that a caller can add problems of its own
 * (the OpenAPI document's) and report them all at once.
 */
export async function inspectConfig(
  text: string,
  options: LoadOptions & { file: string },
): Promise<{ config: ServiceConfig; problems: Problem[] }> {
  const file = options.file;
  const lineCounter = new LineCounter();
  // logLevel "error": the yaml package would otherwise print its warnings on stderr.
  // Keys written twice are found by duplicateKeys() rather than `uniqueKeys`, whose error names no key.
  const doc = parseDocument(text, {
    lineCounter,
    uniqueKeys: false,
    prettyErrors: false,
    logLevel: "error",
  });
  const problems: Problem[] = doc.errors.map((error) => ({
    file,
    line: error.linePos?.[0].line ?? lineCounter.linePos(error.pos[0]).line,
    key: "",
    message: `Invalid YAML: ${error.message.split("\n")[0]}`,
  }));
  if (problems.length === 0) problems.push(...duplicateKeys(doc.contents, lineCounter, file));
  let data: unknown = {};
  if (problems.length === 0) {
    try {
      // Aliases are resolved only here: an unknown anchor, or an alias bomb, throws.
      data = doc.toJS({ maxAliasCount: 100 }) ?? {};
    } catch (error) {
      problems.push({ file, key: "", message: `Invalid YAML: ${(error as Error).message}` });
    }
  }
  const locate = (path: PropertyKey[], keyOnly = false) => {
    const node = findNode(doc.contents, path, keyOnly);
    return node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
  };
  const problem = (path: PropertyKey[], message: string, keyOnly = false): Problem => ({
    file,
    line: locate(path, keyOnly),
    key: formatKeyPath(path),
    message,
  });
  const report = (path: PropertyKey[], message: string, keyOnly = false) =>
    problems.push(problem(path, message, keyOnly));
  const warnings: Problem[] = [];
  const warn = (path: PropertyKey[], message: string) => warnings.push(problem(path, message));

  const parsed = ConfigSchema.safeParse(data);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.code === "unrecognized_keys") {
        for (const key of issue.keys) {
          report([...issue.path, key], unknownKeyMessage(key, issue.path), true);
        }
      } else if (issue.path.length > 0 && isMissing(data, issue.path)) {
        report(issue.path, missingKeyMessage(issue.path));
      } else if (issue.code === "invalid_key") {
        report(issue.path, issue.issues[0]?.message ?? issue.message, true);
      } else {
        report(issue.path, issue.message);
      }
    }
  }
  const record = typeof data === "object" && data !== null && !Array.isArray(data)
    ? data as Record<string, unknown>
    : {};
  const accounts = namesAccounts(record) ? await (options.accounts ?? readAccounts)() : undefined;
  const config = resolve(record, options, { report, warn, locate }, accounts);
  config.warnings = warnings;
  await checkFiles(config, options, report);
  problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  return { config, problems };
}

type Report = (path: PropertyKey[], message: string) => void;

interface Reporters {
  report: Report;
  warn: Report;
  locate: (path: PropertyKey[], keyOnly?: boolean) => number | undefined;
}

/**
 * Builds the service config from the raw data, taking each value only when it
 * passed the schema on its own, so that one bad key does not hide the
 * problems of the others.
 */
function resolve(
  data: Record<string, unknown>,
  options: LoadOptions & { file: string },
  { report, warn, locate }: Reporters,
  accounts: Accounts = { users: [], groups: [] },
): ServiceConfig {
  const dir = dirname(options.file);
  const top = <T>(key: keyof typeof ConfigSchema.shape, fallback: T): T =>
    data[key] !== undefined && ConfigSchema.shape[key].safeParse(data[key]).success
      ? data[key] as T
      : fallback;
  const listen = parseListen(String(top("listen", DEFAULTS.listen)));
  if (typeof listen === "string") report(["listen"], listen);
  const adminValue = top<string | undefined>("admin", undefined);
  const admin = adminValue === undefined ? undefined : parseListen(adminValue);
  if (typeof admin === "string") {
    report(["admin"], admin.replace("listen address", "admin address"));
  } else if (admin && typeof listen !== "string" && sameBinding(admin, listen)) {
    report(["admin"], `The admin listener cannot share the front's port ${admin.port}`);
  }
  const docs = top<string | undefined>("docs", undefined);
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
  const explicitBodyMemory = top<unknown>("max-body-memory", undefined) !== undefined;
  const defaults: Required<Pick<RawLimits, keyof RawLimits>> = {
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
  const basePath = top<string | undefined>("base-path", undefined);
  const socketGroupValue = top<string | number | undefined>("socket-group", undefined);
  const socketGroup = socketGroupValue === undefined
    ? undefined
    : resolveGroup(accounts, socketGroupValue);
  if (typeof socketGroup === "string") report(["socket-group"], socketGroup);
  const config: ServiceConfig = {
    file: options.file,
    openapi: absolutePath(top("openapi", DEFAULTS.openapi), dir),
    ...(basePath === undefined ? {} : { basePath: basePath.replace(/\/+$/, "") }),
    listen: typeof listen === "string" ? { hostname: "0.0.0.0", port: 8080 } : listen,
    ...(admin && typeof admin !== "string" ? { admin } : {}),
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
  // Connecting to a unix socket takes write permission on its file (read is not checked), and
  // processes of operations without "user" run as urocket's own user: the socket's owner.
  if ((config.socketMode & 0o200) === 0) {
    report(
      ["socket-mode"],
      `Mode ${JSON.stringify(top("socket-mode", DEFAULTS.socketMode))} denies the socket's ` +
        "owner write permission, which connecting takes: processes running as urocket's own " +
        'user (every operation without "user") could not reply; give the owner write, e.g. "0600"',
    );
  }
  const topLimits = top<RawResourceLimits | undefined>("limits", undefined);
  const paths = typeof data.paths === "object" && data.paths !== null ? data.paths : {};
  for (const [path, item] of Object.entries(paths)) {
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
        dir,
        defaults,
        topLimits,
        accounts,
        env: options.env,
        report: (key, message) => report(["paths", path, method, ...key], message),
        warn: (key, message) => warn(["paths", path, method, ...key], message),
      });
      config.operations.push({ ...op, line: locate(["paths", path, method], true) });
    }
  }
  fitBodyMemory(config, explicitBodyMemory ? report : undefined);
  return config;
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

type RawLimits = {
  timeout?: string | number;
  "body-timeout"?: string | number;
  "kill-grace"?: string | number;
  "max-body"?: string | number;
  "max-reply"?: string | number;
  "log-limit"?: string | number;
  "after-exit"?: "fail" | "wait";
  "stream-timeout"?: string | number;
};

interface OperationContext {
  path: string;
  method: HttpMethod;
  dir: string;
  defaults: Required<RawLimits>;
  /** The top-level `limits`, merged limit by limit under the operation's own. */
  topLimits: RawResourceLimits | undefined;
  accounts: Accounts;
  env: Record<string, string>;
  report: Report;
  warn: Report;
}

function resolveOperation(
  raw: ReturnType<typeof OperationSchema.parse>,
  ctx: OperationContext,
): OperationConfig {
  const { report } = ctx;
  if (
    raw["validate-in"] !== undefined && raw.validatein !== undefined &&
    raw["validate-in"] !== raw.validatein
  ) {
    report(["validatein"], 'Conflicts with "validate-in": keep one of the two');
  }
  const outtake = parseOuttake(raw.outtake ?? DEFAULTS.outtake);
  if (typeof outtake !== "string" || !outtake.startsWith("/")) {
    report(["outtake"], (outtake as { error: string }).error);
  }
  const wd = absolutePath(raw.inject.wd ?? ".", ctx.dir);
  if (wd.includes("\0")) report(["inject", "wd"], NUL_MESSAGE);
  let argv: string[] = [];
  let cmdProblem: string | undefined;
  if (typeof raw.inject.cmd === "string") {
    try {
      argv = splitCommand(raw.inject.cmd);
    } catch (error) {
      cmdProblem = (error as Error).message;
    }
  } else {
    argv = raw.inject.cmd;
  }
  if (cmdProblem === undefined) {
    if (argv.length === 0) cmdProblem = "The command is empty";
    // An empty program would pass every check below and fail every spawn.
    else if (argv[0] === "") cmdProblem = "The command's program is empty";
    else if (argv.some((word) => word.includes("\0"))) cmdProblem = NUL_MESSAGE;
  }
  if (cmdProblem !== undefined) {
    report(["inject", "cmd"], cmdProblem);
    argv = [];
  }
  const passHeaders = raw.inject["pass-headers"] ?? [];
  const headerVariables = new Map<string, string>();
  passHeaders.forEach((header, i) => {
    const variable = headerEnvName(header);
    const sameVariable = headerVariables.get(variable);
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(header)) {
      report(["inject", "pass-headers", i], `${JSON.stringify(header)} is not a header name`);
    } else if (sameVariable !== undefined && sameVariable.toLowerCase() !== header.toLowerCase()) {
      // Two different headers, one variable: a client could set it through either one.
      report(
        ["inject", "pass-headers", i],
        `${JSON.stringify(header)} and ${JSON.stringify(sameVariable)} would both become ` +
          `${variable}: pass only one of them`,
      );
    } else if (header.toLowerCase() === "proxy") {
      report(
        ["inject", "pass-headers", i],
        'The "Proxy" header is never passed: as HTTP_PROXY it would redirect the ' +
          "process's outgoing HTTP calls (httpoxy)",
      );
    } else if (sameVariable === undefined) {
      headerVariables.set(variable, header);
    }
  });
  const env: Record<string, string> = {};
  (raw.inject.env ?? []).forEach((entry, i) => {
    const eq = entry.indexOf("=");
    const name = eq < 0 ? entry : entry.slice(0, eq);
    if (entry.includes("\0")) {
      report(["inject", "env", i], NUL_MESSAGE);
    } else if (!ENV_NAME.test(name)) {
      report(
        ["inject", "env", i],
        `${JSON.stringify(name)} is not a valid variable name: use letters, digits and _, ` +
          "not starting with a digit",
      );
    } else if (isReservedEnvName(name, passHeaders)) {
      report(
        ["inject", "env", i],
        `${name} is set by urocket for every request and cannot be overridden`,
      );
    } else if (eq >= 0) {
      env[name] = entry.slice(eq + 1);
    } else if (ctx.env[name] !== undefined) {
      env[name] = ctx.env[name];
    } else {
      ctx.warn(["inject", "env", i], `${name} is not set in urocket's environment: skipped`);
    }
  });
  const limit = <T>(key: keyof RawLimits, parse: (v: string | number) => T): T => {
    try {
      return parse(raw[key] ?? ctx.defaults[key]);
    } catch (error) {
      report(raw[key] !== undefined ? [key] : [], (error as Error).message);
      return parse(0);
    }
  };
  const op: OperationConfig = {
    path: ctx.path,
    method: ctx.method,
    validateIn: raw["validate-in"] ?? raw.validatein ?? false,
    validateOut: raw["validate-out"] ?? false,
    wd,
    env,
    program: argv[0] ?? "",
    args: argv.slice(1),
    channel: raw.inject.channel ?? "stdin",
    encoding: raw.inject.encoding ?? "json",
    passHeaders,
    logStdout: raw.logstdout ?? false,
    outtake: typeof outtake === "string" ? outtake : "",
    timeoutMs: limit("timeout", parseDuration),
    bodyTimeoutMs: limit("body-timeout", parseDuration),
    killGraceMs: limit("kill-grace", parseDuration),
    maxBody: limit("max-body", parseSize),
    maxReply: limit("max-reply", parseSize),
    logLimit: limit("log-limit", parseSize),
    afterExit: raw["after-exit"] ?? ctx.defaults["after-exit"],
    streamTimeoutMs: limit("stream-timeout", parseDuration),
    maxInflight: raw["max-inflight"],
    securityOpen: raw.security === "open",
  };
  if (raw.timeout !== undefined && op.timeoutMs <= 0) {
    report(["timeout"], "The timeout must be greater than zero");
  }
  if (raw["body-timeout"] !== undefined && op.bodyTimeoutMs <= 0) {
    report(["body-timeout"], "The body-timeout must be greater than zero");
  }
  if (raw["stream-timeout"] !== undefined && op.streamTimeoutMs <= 0) {
    report(["stream-timeout"], "The stream-timeout must be greater than zero");
  }
  const limits = resolveLimits({ ...ctx.topLimits, ...raw.limits });
  if (limits) op.limits = limits;
  if (limits?.memoryBytes !== undefined && limits.memoryBytes < MIN_MEMORY_LIMIT) {
    report(
      raw.limits?.memory !== undefined ? ["limits", "memory"] : [],
      `A memory limit of ${limits.memoryBytes} bytes would kill any process as it starts: ` +
        'give a unit, e.g. "256Mi" (at least 1Mi)',
    );
  }
  if (raw.user !== undefined) {
    const runAs = resolveRunAs(ctx.accounts, raw.user, raw.group);
    // The group's own problems are the group's; every other is the user's.
    if (typeof runAs === "string") {
      report([/^(No group|gid )/.test(runAs) ? "group" : "user"], runAs);
    } else op.user = runAs;
  } else if (raw.group !== undefined) {
    report(["group"], 'A group needs a user: set "user" too');
  }
  return op;
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

/** The smallest memory limit accepted: below it, a bare number of bytes was surely meant as MiB. */
const MIN_MEMORY_LIMIT = 1024 * 1024;

/** A `limits` block (already checked by the schema) as numbers; undefined when it sets none. */
function resolveLimits(raw: RawResourceLimits): OperationLimits | undefined {
  const limits: OperationLimits = {};
  if (raw.memory !== undefined) limits.memoryBytes = parseSize(raw.memory);
  if (raw.cpu !== undefined) limits.cpu = parseCpu(raw.cpu);
  if (raw.pids !== undefined) limits.pids = raw.pids;
  return Object.keys(limits).length > 0 ? limits : undefined;
}

/** Whether the config names a user or a group, so that /etc/passwd and /etc/group are needed. */
function namesAccounts(data: Record<string, unknown>): boolean {
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

/**
 * Checks what needs the file system: each `wd` is a directory, each program
 * exists and is executable. Programs are made absolute here.
 */
async function checkFiles(
  config: ServiceConfig,
  options: LoadOptions,
  report: Report,
): Promise<void> {
  const searchPath = (options.env.PATH ?? "").split(":").filter((dir) => dir !== "");
  for (const op of config.operations) {
    // An empty program, or a NUL in wd, was already reported.
    if (op.program === "" || op.wd.includes("\0")) continue;
    const key = (...rest: string[]) => ["paths", op.path, op.method, "inject", ...rest];
    // A path the system refuses to look at (too long, no permission) is a problem of its own.
    let unreadable: string | undefined;
    const stat = async (path: string) => {
      try {
        return await (options.stat ?? statFile)(path);
      } catch (error) {
        unreadable ??= `Cannot inspect ${JSON.stringify(path)}: ${(error as Error).message}`;
        return undefined;
      }
    };
    const wd = await stat(op.wd);
    if (unreadable) {
      report(key("wd"), unreadable);
      continue;
    }
    if (!wd?.isDirectory) {
      report(key("wd"), `${JSON.stringify(op.wd)} ${wd ? "is not a directory" : "does not exist"}`);
      continue;
    }
    const candidates = op.program.includes("/")
      ? [absolutePath(op.program, op.wd)]
      : searchPath.map((dir) => absolutePath(`${dir}/${op.program}`, op.wd));
    let found: string | undefined;
    let notExecutable: string | undefined;
    for (const candidate of candidates) {
      const info = await stat(candidate);
      if (!info?.isFile) continue;
      if (info.mode !== null && (info.mode & 0o111) === 0) {
        notExecutable ??= candidate;
        continue;
      }
      found = candidate;
      break;
    }
    if (found) {
      op.program = found;
    } else if (unreadable) {
      report(key("cmd"), unreadable);
    } else if (notExecutable) {
      report(
        key("cmd"),
        `Cannot run ${JSON.stringify(notExecutable)}: file is not executable ` +
          `(chmod +x it, or name its interpreter first, e.g. "sh ${op.program}")`,
      );
    } else if (op.program.includes("/")) {
      report(
        key("cmd"),
        `Cannot run ${JSON.stringify(candidates[0])}: no such file (relative programs ` +
          `resolve against wd)`,
      );
    } else {
      const inWd = await stat(absolutePath(op.program, op.wd));
      report(
        key("cmd"),
        `Cannot run ${JSON.stringify(op.program)}: not found in PATH` +
          (inWd?.isFile ? ` (to run the file in wd, write "./${op.program}")` : ""),
      );
    }
  }
}

async function statFile(path: string): Promise<FileInfo | undefined> {
  try {
    const info = await Deno.stat(path);
    return { isFile: info.isFile, isDirectory: info.isDirectory, mode: info.mode };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return undefined;
    }
    throw error;
  }
}

/**
 * Parses `host:port`, `[v6]:port` or `:port` into a listen address, or
 * returns what is wrong.
 */
export function parseListen(value: string): ListenAddress | string {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\[\]]*)):([0-9]{1,5})$/.exec(value);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) {
    return `Invalid listen address ${JSON.stringify(value)}: use host:port, e.g. ` +
      `"0.0.0.0:8080", "[::]:8080" or "127.0.0.1:0"`;
  }
  return { hostname: match[1] ?? (match[2] || "0.0.0.0"), port };
}

/** `host:port`, with brackets around an IPv6 host: the inverse of {@link parseListen}. */
export function formatListen(address: ListenAddress): string {
  const { hostname, port } = address;
  return `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
}

/** Whether binding `a` would collide with binding `b` (same port, overlapping addresses). */
function sameBinding(a: ListenAddress, b: ListenAddress): boolean {
  if (a.port === 0 || a.port !== b.port) return false;
  const wildcard = (host: string) => host === "0.0.0.0" || host === "::" || host === "";
  return a.hostname === b.hostname || wildcard(a.hostname) || wildcard(b.hostname);
}

/**
 * Parses an `outtake` such as `usocket://uri/{req_id}` into the HTTP path it
 * names on the socket (`/uri/{req_id}`), or returns what is wrong.
 */
export function parseOuttake(value: string): string | { error: string } {
  const prefix = "usocket://";
  if (!value.startsWith(prefix)) {
    return { error: `Expected usocket://<path>, e.g. "usocket://uri/{req_id}"` };
  }
  const path = "/" + value.slice(prefix.length).replace(/^\/+/, "");
  const segments = path.slice(1).split("/");
  const idSegments = segments.filter((s) => s.includes("{") || s.includes("}"));
  if (idSegments.length !== 1 || idSegments[0] !== "{req_id}") {
    return {
      error: `The outtake path needs exactly one whole {req_id} segment and no other ` +
        `braces, e.g. "usocket://uri/{req_id}"`,
    };
  }
  // `|` would reach the reply server's router as regular-expression syntax (every reply on the
  // path was a 500), and a URL parser reads `\` as `/` (no reply could reach the path).
  if (segments.some((s) => s === "" || s === "." || s === "..") || /[?#%|\\\s]/.test(path)) {
    return { error: "The outtake path must be plain segments without ?, #, %, |, \\ or spaces" };
  }
  return path;
}

/** Returns the node at `path`, or the closest ancestor's node that exists. */
function findNode(root: unknown, path: PropertyKey[], keyOnly: boolean): Node | undefined {
  let node = root as Node | undefined;
  for (let i = 0; i < path.length; i++) {
    if (!isMap(node)) return node;
    const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(path[i]));
    if (!pair) return node;
    if (keyOnly && i === path.length - 1) return pair.key as Node;
    const value = pair.value as Node | undefined;
    if (value === null || value === undefined) return pair.key as Node;
    if (i < path.length - 1 && !isMap(value)) {
      const seq = value as unknown as { items?: Node[] };
      const index = Number(path[i + 1]);
      if (Array.isArray(seq.items) && Number.isInteger(index) && seq.items[index]) {
        return seq.items[index];
      }
      return value;
    }
    node = value;
  }
  return node;
}

/**
 * A problem for every key written twice in one mapping, at the second one:
 * YAML would keep only the last, and a setting would be lost without a
 * word (see lib/yaml_keys/).
 */
function duplicateKeys(root: unknown, lineCounter: LineCounter, file: string): Problem[] {
  return yamlDuplicateKeys(root, lineCounter).map(({ key, path, line, firstLine }) => ({
    file,
    line,
    key: formatKeyPath(path),
    message: `Duplicate key ${JSON.stringify(key)} (first at line ${firstLine}): ` +
      "only the last one would be kept",
  }));
}

/** `["paths", "/pets", "post", "inject", "env", 1]` → `paths./pets.post.inject.env[1]`. */
function formatKeyPath(path: PropertyKey[]): string {
  return path.reduce<string>(
    (out, part) =>
      typeof part === "number" ? `${out}[${part}]` : out ? `${out}.${String(part)}` : String(part),
    "",
  );
}

function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

/** Resolves `path` against `base` (both POSIX), normalising `.` and `..`. */
export function absolutePath(path: string, base: string): string {
  const joined = path.startsWith("/") ? path : `${base}/${path}`;
  const out: string[] = [];
  for (const segment of joined.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") out.pop();
    else out.push(segment);
  }
  return "/" + out.join("/");
}
