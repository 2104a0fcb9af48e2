/**
 * urocket's command line: parses the arguments, starts the service, maps
 * failures to exit codes. Everything else lives in `lib/`.
 *
 * Exit codes: 0 after an orderly stop, 2 when the configuration or the
 * command line is wrong, 1 on any other failure.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ConfigError, formatProblem } from "./lib/config/mod.ts";
import { Logger, writeAllTo } from "./lib/log/logger.ts";
import { SocketError } from "./lib/reply/socket.ts";
import { type Service, startService } from "./lib/service.ts";
import { VERSION } from "./lib/version.ts";

const USAGE = `urocket ${VERSION} — turns executables into the operations of an OpenAPI document

Usage:
  urocket [serve] [--config FILE]   serve the operations (default config: ./urocket-service.yaml)

Options:
  -c, --config FILE   the urocket-service.yaml to use
  -h, --help          show this help
  -V, --version       print urocket's version

Example:
  urocket --config examples/petstore/urocket-service.yaml
`;

/** Runs the command line `args` and returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        config: { type: "string", short: "c", default: "urocket-service.yaml" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "V" },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    console.error(`urocket: ${(error as Error).message} (see urocket --help)`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(USAGE);
    return 0;
  }
  if (parsed.values.version) {
    console.log(`urocket ${VERSION}`);
    return 0;
  }
  const [command = "serve", ...rest] = parsed.positionals;
  if (command !== "serve" || rest.length > 0) {
    console.error(
      `urocket: unknown command ${
        JSON.stringify([command, ...rest].join(" "))
      } (see urocket --help)`,
    );
    return 2;
  }
  return await serve(parsed.values.config);
}

async function serve(configFile: string): Promise<number> {
  const logger = new Logger({ write: writeAllTo(Deno.stdout) });
  let service: Service | undefined;
  let early: string | undefined;
  // Installed before anything is bound, so that a signal during start-up is not lost.
  const onSignal = (signal: Deno.Signal) => () => {
    if (service) service.shutdown(signal);
    else early ??= signal;
  };
  const listeners = (["SIGTERM", "SIGINT"] as const).map((signal) => {
    const listener = onSignal(signal);
    Deno.addSignalListener(signal, listener);
    return [signal, listener] as const;
  });
  try {
    service = await startService({ configFile, env: Deno.env.toObject(), logger });
    if (early) service.shutdown(early);
    await service.finished;
    return 0;
  } catch (error) {
    await logger.flush();
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
