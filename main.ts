/**
 * urocket's command line: parses the arguments, runs the command (`serve`
 * by default; `check`, `reply`, `health` and `schema` live in `lib/cli/`),
 * maps failures to exit codes. Everything else lives in `lib/`.
 *
 * Exit codes of `serve`: 0 after an orderly stop, 2 when the configuration or
 * the command line is wrong, 1 on any other failure. Each command documents
 * its own.
 *
 * @module
 */

import {
  type CliOutput,
  parseCommandLine,
  runCheck,
  runHealth,
  runReply,
  runSchema,
} from "./lib/cli/mod.ts";
import { VERSION } from "./lib/common/mod.ts";
import type { Service } from "./lib/service/mod.ts";

const USAGE = `urocket ${VERSION} — turns executables into the operations of an OpenAPI document

Usage:
  urocket [serve] [--config FILE]
      Serve the operations (the default command).
      e.g. urocket --config urocket-service.yaml
  urocket check [--config FILE] [--verbose]
      Load and validate everything serve would, without listening or spawning; print every
      problem, or the base path and the operations wired (--verbose: and every operation
      without config). Exit 0 when fine, 2 when not.
      e.g. urocket check --config urocket-service.yaml
  urocket reply [--status N] [--header 'Name: value']... [--content-type T] [--stream] [BODY]
      Reply from a handler (reads UROCKET_REPLY_URL, UROCKET_SOCKET, REQUEST_ID); the body is
      BODY, else stdin (--stream: sent as it is read). Exit 0 when delivered.
      e.g. urocket reply --status 201 --content-type application/json '{"id":7}'
  urocket health [--admin ADDR] [--config FILE]
      Exit 0 when the admin listener's /readyz answers 200 (address: --admin, else the
      config's admin, else 127.0.0.1:9090).
      e.g. urocket health --admin 127.0.0.1:9090
  urocket schema
      Print the JSON Schema of urocket-service.yaml.
      e.g. urocket schema > urocket-service.schema.json

Options:
  -c, --config FILE   the urocket-service.yaml to use (default: ./urocket-service.yaml)
  -h, --help          show this help
  -V, --version       print urocket's version
`;

const stdio: CliOutput = {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
};

/** Runs the command line `args` and returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const parsed = parseCommandLine(args);
  if ("error" in parsed) {
    console.error(parsed.error);
    return 2;
  }
  const { command, values, positionals } = parsed;
  const text = (name: string) => typeof values[name] === "string" ? values[name] : undefined;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.version) {
    console.log(`urocket ${VERSION}`);
    return 0;
  }
  const configFile = text("config") ?? "urocket-service.yaml";
  // The other commands' modules are loaded only when they run (lib/cli/commands.ts).
  switch (command) {
    case "serve":
      return await serve(configFile);
    case "check":
      return await runCheck({
        configFile,
        env: Deno.env.toObject(),
        output: stdio,
        verbose: values.verbose === true,
      });
    case "reply":
      return await runReply({
        status: text("status"),
        headers: values.header as string[] | undefined,
        contentType: text("content-type"),
        stream: values.stream === true,
        body: positionals[0],
        env: readEnv,
        stdin: Deno.stdin.readable,
        output: stdio,
      });
    case "health":
      return await runHealth({
        admin: text("admin"),
        configFile,
        configNamed: values.config !== undefined,
        output: stdio,
      });
    case "schema":
      return await runSchema(stdio);
  }
}

/**
 * One variable of urocket's environment; undefined when unset or not
 * permitted (`urocket reply` may run with `--allow-env` naming only its own).
 */
function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

async function serve(configFile: string): Promise<number> {
  // Loaded here rather than at the top, so that the other commands — a handler's `urocket reply`
  // above all — start without the server's modules (measured: ~20 ms instead of ~80 ms).
  const [
    { ConfigError, formatProblem },
    { Logger, LOG_EXIT_WAIT_MS, LOG_LINGER_MS, writeAllTo },
    { SocketError },
    { startService },
  ] = await Promise.all([
    import("./lib/config/mod.ts"),
    import("./lib/log/mod.ts"),
    import("./lib/reply/mod.ts"),
    import("./lib/service/mod.ts"),
  ]);
  const logger = new Logger({ write: writeAllTo(Deno.stdout), lingerMs: LOG_LINGER_MS });
  let service: Service | undefined;
  let early: string | undefined;
  let reloadEarly = false;
  // Installed before anything is bound, so that a signal during start-up is not lost (and a
  // SIGHUP does not end urocket, Deno's default): a stop, or a reload once started.
  const onSignal = (signal: Deno.Signal) => () => {
    if (signal === "SIGHUP") {
      if (service) service.reload();
      else reloadEarly = true;
    } else if (service) {
      service.shutdown(signal);
    } else {
      early ??= signal;
    }
  };
  const listeners = (["SIGTERM", "SIGINT", "SIGHUP"] as const).map((signal) => {
    const listener = onSignal(signal);
    Deno.addSignalListener(signal, listener);
    return [signal, listener] as const;
  });
  try {
    service = await startService({ configFile, env: Deno.env.toObject(), logger });
    if (early) service.shutdown(early);
    else if (reloadEarly) service.reload();
    await service.finished;
    return 0;
  } catch (error) {
    await logger.flush(LOG_EXIT_WAIT_MS);
    if (error instanceof ConfigError) {
      for (const problem of error.problems) console.error(formatProblem(problem));
      return 2;
    }
    if (error instanceof SocketError) {
      console.error(`urocket: ${error.message}`);
      return 2;
    }
    console.error(`urocket: ${error instanceof Error ? error.stack : String(error)}`);
    return 1;
  } finally {
    for (const [signal, listener] of listeners) Deno.removeSignalListener(signal, listener);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
