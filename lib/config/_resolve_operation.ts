/**
 * One operation block of the config resolved: its command, outtake, headers,
 * environment, timings, limits and user, each problem reported at its key.
 *
 * @module
 */

import { type Accounts, resolveRunAs, type RunAs } from "./accounts.ts";
import { parseOuttake } from "./addresses.ts";
import { absolutePath } from "./paths.ts";
import { ENV_NAME, headerEnvName, isReservedEnvName } from "./reserved_env.ts";
import type { Report } from "./_yaml.ts";
import type { HttpMethod, OperationSchema, RawResourceLimits } from "./schema.ts";
import { DEFAULTS, type OperationConfig, type OperationLimits } from "./service_config.ts";
import { splitCommand } from "./split_command.ts";
import { parseCpu, parseDuration, parseSize } from "./units.ts";

/** What is wrong with a value that holds a NUL byte, which no argv, environment or path can carry. */
const NUL_MESSAGE = "Contains a NUL byte, which no command line, environment or path can carry";

/** The smallest memory limit accepted: below it, a bare number of bytes was surely meant as MiB. */
const MIN_MEMORY_LIMIT = 1024 * 1024;

/** The keys an operation inherits from the top level, as written there (or their defaults). */
export interface OperationDefaults {
  timeout: string | number;
  "body-timeout": string | number;
  "kill-grace": string | number;
  "max-body": string | number;
  "max-reply": string | number;
  "log-limit": string | number;
  "after-exit": "fail" | "wait";
  "stream-timeout": string | number;
}

/** An operation block, as the schema reads it. */
type RawOperation = ReturnType<typeof OperationSchema.parse>;

/** What an operation block is resolved with, besides itself. */
export interface OperationContext {
  path: string;
  method: HttpMethod;
  /** The config file's folder, against which `wd` resolves. */
  dir: string;
  defaults: OperationDefaults;
  /** The top-level `limits`, merged limit by limit under the operation's own. */
  topLimits: RawResourceLimits | undefined;
  accounts: Accounts;
  /** urocket's own environment, for bare `env` names. */
  env: Record<string, string>;
  /** Reports at a key path relative to the operation's block. */
  report: Report;
  warn: Report;
}

/** Resolves the operation block `raw`, reporting each problem at its key. */
export function resolveOperation(raw: RawOperation, ctx: OperationContext): OperationConfig {
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
  const { wd, argv } = resolveCommand(raw, ctx);
  const passHeaders = resolvePassHeaders(raw.inject["pass-headers"] ?? [], report);
  const env = resolveEnv(raw.inject.env ?? [], passHeaders, ctx);
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
    ...resolveTimings(raw, ctx),
    maxInflight: raw["max-inflight"],
    securityOpen: raw.security === "open",
  };
  const limits = resolveLimits(raw, ctx);
  if (limits) op.limits = limits;
  const user = resolveUser(raw, ctx);
  if (user) op.user = user;
  return op;
}

/** The working directory and the command line (split like a shell, never run by one). */
function resolveCommand(raw: RawOperation, ctx: OperationContext): { wd: string; argv: string[] } {
  const { report } = ctx;
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
  return { wd, argv };
}

/** `pass-headers`: header names, two of which never become one variable. */
function resolvePassHeaders(passHeaders: string[], report: Report): string[] {
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
  return passHeaders;
}

/** `env`: `NAME=value`, or a bare `NAME` taken from urocket's own environment. */
function resolveEnv(
  entries: string[],
  passHeaders: string[],
  ctx: OperationContext,
): Record<string, string> {
  const { report } = ctx;
  const env: Record<string, string> = {};
  entries.forEach((entry, i) => {
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
  return env;
}

/** The durations and sizes of the operation, its own or inherited. */
function resolveTimings(raw: RawOperation, ctx: OperationContext) {
  const { report } = ctx;
  const limit = <T>(key: keyof OperationDefaults, parse: (v: string | number) => T): T => {
    try {
      return parse(raw[key] ?? ctx.defaults[key]);
    } catch (error) {
      report(raw[key] !== undefined ? [key] : [], (error as Error).message);
      return parse(0);
    }
  };
  const timings = {
    timeoutMs: limit("timeout", parseDuration),
    bodyTimeoutMs: limit("body-timeout", parseDuration),
    killGraceMs: limit("kill-grace", parseDuration),
    maxBody: limit("max-body", parseSize),
    maxReply: limit("max-reply", parseSize),
    logLimit: limit("log-limit", parseSize),
    afterExit: raw["after-exit"] ?? ctx.defaults["after-exit"],
    streamTimeoutMs: limit("stream-timeout", parseDuration),
  };
  if (raw.timeout !== undefined && timings.timeoutMs <= 0) {
    report(["timeout"], "The timeout must be greater than zero");
  }
  if (raw["body-timeout"] !== undefined && timings.bodyTimeoutMs <= 0) {
    report(["body-timeout"], "The body-timeout must be greater than zero");
  }
  if (raw["stream-timeout"] !== undefined && timings.streamTimeoutMs <= 0) {
    report(["stream-timeout"], "The stream-timeout must be greater than zero");
  }
  return timings;
}

/** `limits` as numbers, the top level's merged in; undefined when none is set. */
function resolveLimits(raw: RawOperation, ctx: OperationContext): OperationLimits | undefined {
  const merged: RawResourceLimits = { ...ctx.topLimits, ...raw.limits };
  const limits: OperationLimits = {};
  if (merged.memory !== undefined) limits.memoryBytes = parseSize(merged.memory);
  if (merged.cpu !== undefined) limits.cpu = parseCpu(merged.cpu);
  if (merged.pids !== undefined) limits.pids = merged.pids;
  if (Object.keys(limits).length === 0) return undefined;
  if (limits.memoryBytes !== undefined && limits.memoryBytes < MIN_MEMORY_LIMIT) {
    ctx.report(
      raw.limits?.memory !== undefined ? ["limits", "memory"] : [],
      `A memory limit of ${limits.memoryBytes} bytes would kill any process as it starts: ` +
        'give a unit, e.g. "256Mi" (at least 1Mi)',
    );
  }
  return limits;
}

/** Who the process runs as, when `user` (and maybe `group`) is set. */
function resolveUser(raw: RawOperation, ctx: OperationContext): RunAs | undefined {
  if (raw.user !== undefined) {
    const runAs = resolveRunAs(ctx.accounts, raw.user, raw.group);
    // The group's own problems are the group's; every other is the user's.
    if (typeof runAs !== "string") return runAs;
    ctx.report([/^(No group|gid )/.test(runAs) ? "group" : "user"], runAs);
  } else if (raw.group !== undefined) {
    ctx.report(["group"], 'A group needs a user: set "user" too');
  }
  return undefined;
}
