/**
 * The configuration as urocket serves with it: every default applied,
 * every path absolute, every value a number or a name — and the defaults
 * themselves.
 *
 * @module
 */

import type { RunAs } from "./accounts.ts";
import type { Problem } from "./errors.ts";
import type { HttpMethod } from "./schema.ts";
import type { SchemeConfig } from "./security.ts";

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
