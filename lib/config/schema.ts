/**
 * The shape of `urocket-service.yaml`, as a zod schema whose keys are the
 * file's own keys. It checks types and spelling only; meaning (files exist,
 * commands are executable, paths are in the OpenAPI document) is checked by
 * the loader, which needs the file system.
 *
 * @module
 */

import { z } from "zod";
import { parseCpu, parseDuration, parseSize } from "./units.ts";
import { SecurityConfigSchema } from "./security.ts";

/** HTTP methods an OpenAPI path item can hold, in the document's own order. */
export const HTTP_METHODS = [
  "get",
  "put",
  "post",
  "delete",
  "options",
  "head",
  "patch",
  "trace",
] as const;

/** One of {@link HTTP_METHODS}. */
export type HttpMethod = typeof HTTP_METHODS[number];

function unitValue(kind: string, example: string, parse: (v: string | number) => number) {
  return z.union([z.string(), z.number()], {
    error: `Expected a ${kind} such as "${example}"`,
  }).superRefine((value, ctx) => {
    try {
      parse(value);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
    }
  });
}

/**
 * How long the front's own kill deadline of a streaming reply's group comes
 * after `stream-timeout`, should the relay not have killed it: a backstop.
 */
export const STREAM_KILL_BACKSTOP_MS = 1_000;
/**
 * At shutdown, how long killed process groups may take to disappear beyond
 * the longest `kill-grace`.
 */
export const SHUTDOWN_KILL_WAIT_MS = 10_000;

/** A duration; `addedMs` is what urocket adds to it before it arms a timer (see parseDuration). */
const duration = (description: string, addedMs = 0) =>
  unitValue("duration", "30s", (value) => parseDuration(value, { addedMs })).meta({
    description,
  });
const size = (description: string) => unitValue("size", "1MiB", parseSize).meta({ description });

/** The largest pids.max the kernel accepts: PID_MAX_LIMIT, 4 Mi on 64-bit systems. */
export const MAX_PIDS = 4 * 1024 * 1024;

const limits = z.strictObject({
  memory: size(
    "memory.max: most memory the process and its descendants may use together, e.g. 256Mi; " +
      "beyond it the kernel kills them and the client gets 502",
  ).optional(),
  cpu: unitValue("CPU limit", "0.5", parseCpu).meta({
    description: 'cpu.max: a fraction of one CPU (0.5, 2) or millicores ("500m")',
  }).optional(),
  // Beyond it the write to pids.max fails as each process starts, instead of here.
  pids: z.int().min(1).max(MAX_PIDS, {
    error: `pids.max takes at most ${MAX_PIDS} (the kernel's PID_MAX_LIMIT on 64-bit): ` +
      "to leave the count unlimited, leave pids out",
  }).optional().meta({
    description: "pids.max: most processes and threads alive at once",
  }),
}).meta({
  description: "Resource limits per process, each in a cgroup v2 group of its own; " +
    "per operation, each limit overrides the top-level one",
});

const userOrGroup = (description: string) =>
  z.union([z.string().min(1), z.int().min(0)], {
    error: "Expected a name or a numeric id",
  }).meta({ description });

const afterExit = z.enum(["fail", "wait"]).meta({
  description: "What the exit of the direct child means when it has not replied: " +
    "`fail` answers 502 at once, `wait` keeps waiting for a reply until `timeout`",
});

/** Keys that may be set at the top level and overridden per operation. */
const sharedLimits = {
  timeout: duration("Time from spawn to reply; then 504 and the process group is killed")
    .optional(),
  "body-timeout": duration(
    "Time from the request's headers to the end of its body; then 408, the connection is " +
      "closed and nothing is spawned",
  ).optional(),
  "kill-grace": duration(
    "Time between SIGTERM and SIGKILL to the process group",
    SHUTDOWN_KILL_WAIT_MS,
  ).optional(),
  "max-body": size("Largest request body accepted; larger gets 413").optional(),
  "max-reply": size("Largest reply body accepted from a process; larger gets 502").optional(),
  "log-limit": size(
    "Most output (stdout and stderr lines) logged per process; past it one output_truncated " +
      "line, and the rest is read and discarded",
  ).optional(),
  "after-exit": afterExit.optional(),
  "stream-timeout": duration(
    "Once a reply streams, the process group's kill deadline, counted from the reply's start",
    STREAM_KILL_BACKSTOP_MS,
  ).optional(),
  limits: limits.optional(),
};

const inject = z.strictObject({
  wd: z.string().min(1).optional().meta({
    description: "Working directory of the process; relative to the config file's folder",
  }),
  env: z.array(z.string()).optional().meta({
    description: "NAME=value sets a variable; a bare NAME passes urocket's own value through",
  }),
  cmd: z.union([z.string().min(1), z.array(z.string()).min(1)], {
    error: "Expected a command string or a list of argv words",
  }).meta({
    description: "The program and its arguments: a string split with POSIX quoting (no " +
      "expansion), or a list used as argv unchanged",
  }),
  channel: z.enum(["cmdline", "stdin"]).optional().meta({
    description: "How the payload reaches the process: last argument or standard input",
  }),
  encoding: z.enum(["json", "raw"]).optional().meta({
    description: "`json` turns form bodies into a JSON object and no body into {}; " +
      "`raw` passes the body bytes unchanged",
  }),
  "pass-headers": z.array(z.string().min(1)).optional().meta({
    description: "Request headers handed to the process as HTTP_<NAME>",
  }),
});

const operation = z.strictObject({
  "validate-in": z.boolean().optional().meta({
    description: "Validate requests against the OpenAPI document before spawning",
  }),
  validatein: z.boolean().optional().meta({ description: "Alias of validate-in" }),
  "validate-out": z.boolean().optional().meta({
    description: "Validate replies against the OpenAPI document before answering",
  }),
  inject,
  logstdout: z.boolean().optional().meta({
    description: "Log each stdout line of the process; stderr is always logged",
  }),
  outtake: z.string().optional().meta({
    description: "Where the process replies: usocket://<path with a {req_id} segment>",
  }),
  ...sharedLimits,
  "max-inflight": z.int().min(1).optional().meta({
    description: "Extra cap on live process groups of this operation",
  }),
  user: userOrGroup(
    "Run the process as this user (name in /etc/passwd, or uid); urocket must run as root",
  ).optional(),
  group: userOrGroup(
    "The process's group (name in /etc/group, or gid); default: the user's own",
  ).optional(),
  security: z.literal("open", {
    error: 'The only value per operation is "open": schemes are configured under the ' +
      "top-level security",
  }).optional().meta({
    description: "`open`: serve the operation without enforcing the security its document " +
      "requires (warned at start)",
  }),
}).meta({
  // The id makes the generated JSON Schema define an operation once and refer to it per method.
  id: "operation",
  description: "One operation: which command runs and how",
});

/** The schema of one operation's block, `paths.<path>.<method>`. */
export const OperationSchema = operation;

const pathItem = z.strictObject(
  Object.fromEntries(HTTP_METHODS.map((m) => [m, operation.optional()])) as Record<
    HttpMethod,
    z.ZodOptional<typeof operation>
  >,
);

/** The characters of a `base-path` segment: RFC 3986's `pchar`, percent-encoding aside. */
const BASE_PATH_CHARS = "A-Za-z0-9._~!$&'()*+,;=:@-";

/**
 * What is wrong with a `base-path` value, if anything. It is compared with
 * the raw request path, so it must be written as clients send it: no
 * query, template or dot segment, nothing a client would percent-encode.
 */
export function basePathProblem(value: string): string | undefined {
  if (!value.startsWith("/")) {
    return 'A base path must start with /, e.g. "/api/v3" ("/" serves at the root)';
  }
  if (/[?#]/.test(value)) return "A base path is a path: it has no query (?) or fragment (#)";
  if (/[{}]/.test(value)) {
    return "A base path cannot hold a template ({…}): every route is served under one fixed prefix";
  }
  if (value.includes("//")) return "A base path cannot have an empty segment (//)";
  if (value.split("/").some((segment) => segment === "." || segment === "..")) {
    return 'A base path cannot have a "." or ".." segment: clients resolve them away';
  }
  const bad = new RegExp(`[^/${BASE_PATH_CHARS}]`).exec(value);
  if (bad) {
    return `A base path may hold letters, digits and - . _ ~ ! $ & ' ( ) * + , ; = : @ ` +
      `between its slashes, not ${JSON.stringify(bad[0])}`;
  }
  return undefined;
}

/**
 * The schema of the whole config file. Every object is strict, so a
 * misspelt key is an error rather than a silently ignored setting.
 */
export const ConfigSchema = z.strictObject({
  openapi: z.string().min(1).optional().meta({
    description: "The OpenAPI document (YAML or JSON); relative to the config file's folder",
  }),
  "base-path": z.string().superRefine((value, ctx) => {
    const problem = basePathProblem(value);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  }).optional().meta({
    description: "Path prefix of every route, e.g. /api/v3; / serves at the root. " +
      "Default: the path of the document's servers[0].url",
    pattern: `^(/[${BASE_PATH_CHARS}]+)*/?$`,
  }),
  listen: z.string().min(1).optional().meta({
    description: "Address of the HTTP front, host:port; [::]:8080 for IPv6; port 0 = any",
  }),
  admin: z.string().min(1).optional().meta({
    description: "Address of the admin listener (/healthz, /readyz, /metrics, the console at /), " +
      "host:port; off when absent",
  }),
  docs: z.string({ error: 'Expected a path such as "/docs"' }).regex(
    /^(\/[A-Za-z0-9._~!$&'()*+,;=:@-]+)+$/,
    'Expected a path of plain segments such as "/docs" (no trailing slash, no braces, ? or #)',
  ).refine((path) => !/\/\.\.?(\/|$)/.test(path), {
    error: 'A "." or ".." segment would be resolved away by clients: name the path plainly',
  }).optional().meta({
    description: "Where the front serves the API reference page and the document " +
      "(<docs>/openapi.json, <docs>/openapi.yaml); off when absent",
  }),
  socket: z.string().min(1).optional().meta({
    description: "Path of the unix socket that processes reply to",
  }),
  "socket-mode": z.string({
    error: (issue) =>
      issue.input === undefined ? undefined : 'Expected a quoted octal string such as "0600": ' +
        "YAML reads a bare 0600 as the decimal number 600",
  }).regex(/^0?[0-7]{3}$/, 'Expected an octal mode such as "0600" or "0660"').optional().meta({
    description: "File mode of the socket, a quoted octal string",
  }),
  "socket-group": userOrGroup(
    "Group of the socket file (name in /etc/group, or gid), for socket-mode 0660",
  ).optional(),
  ...sharedLimits,
  "limits-enforce": z.enum(["required", "best-effort"]).optional().meta({
    description: "`required`: refuse to start when limits cannot be enforced; " +
      "`best-effort`: warn once and run without them",
  }),
  "max-inflight": z.int().min(1).optional().meta({
    description: "Cap on live process groups of the whole instance; more gets 503",
  }),
  "max-body-memory": size(
    "Bytes all request bodies being received may hold together; a request whose body does " +
      "not fit gets 503. Default 64MiB, or the largest max-body when that is larger",
  ).optional(),
  "shutdown-delay": duration(
    "After SIGTERM, how long the front still serves while /readyz answers 503",
  ).optional(),
  "shutdown-timeout": duration(
    "Then, how long in-flight requests may finish before their process groups are killed",
  ).optional(),
  security: SecurityConfigSchema.optional(),
  paths: z.record(
    z.string().startsWith("/", { error: "A path must start with /" }),
    pathItem,
  ).optional().meta({
    description: "Mirrors paths.<path>.<method> of the OpenAPI document",
  }),
});

/** The config file as written, after schema validation. */
export type RawConfig = z.infer<typeof ConfigSchema>;
/** One operation's block as written, after schema validation. */
export type RawOperation = z.infer<typeof operation>;
/** A `limits` block as written, after schema validation. */
export type RawResourceLimits = z.infer<typeof limits>;
