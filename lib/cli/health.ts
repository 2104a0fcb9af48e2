/**
 * `urocket health`: asks a running urocket's admin listener whether it is
 * ready, for Docker `HEALTHCHECK` and Kubernetes exec probes in images that
 * have no curl.
 *
 * @module
 */

import { isMap, parseDocument } from "yaml";
import { formatListen, type ListenAddress, parseListen } from "../config/mod.ts";
import type { CliOutput } from "./output.ts";

/** Where to look when neither `--admin` nor the config says. */
export const DEFAULT_ADMIN = "127.0.0.1:9090";

/** How long to wait for `/readyz`. */
const TIMEOUT_MS = 5_000;

/** Options of {@link health}. */
export interface HealthOptions {
  /** `--admin ADDR`; wins over the config. */
  admin?: string;
  /** The config file whose `admin` key is used when there is no `--admin`. */
  configFile: string;
  /** Whether the config file was named (`--config`): then it must be readable. */
  configNamed: boolean;
  output: CliOutput;
}

/**
 * Returns 0 when `/readyz` answers 200, 1 when it answers anything else or
 * cannot be reached, 2 when the address is wrong.
 */
export async function health(options: HealthOptions): Promise<number> {
  const { output } = options;
  let text = options.admin;
  let source = "--admin";
  if (text === undefined) {
    let configText: string | undefined;
    try {
      configText = await Deno.readTextFile(options.configFile);
    } catch (error) {
      if (options.configNamed) {
        output.err(
          `urocket health: cannot read ${options.configFile}: ${(error as Error).message}`,
        );
        return 2;
      }
    }
    const fromConfig = configText === undefined ? undefined : adminOf(configText);
    text = fromConfig ?? DEFAULT_ADMIN;
    source = fromConfig ? `admin in ${options.configFile}` : "the default";
  }
  const address = parseListen(text);
  if (typeof address === "string") {
    output.err(`urocket health: ${source}: ${address.replace("listen address", "admin address")}`);
    return 2;
  }
  const url = `http://${reachable(address)}/readyz`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    output.err(
      `urocket health: cannot reach ${url} (${source}): ${message.replace(/\s+/g, " ")}`,
    );
    return 1;
  }
  const body = (await response.text()).trim().slice(0, 200);
  if (response.status === 200) {
    output.out(`ready: ${url}`);
    return 0;
  }
  output.err(`urocket health: not ready: ${url} answered ${response.status} ${body}`.trimEnd());
  return 1;
}

/** The top-level `admin` value of a config text, if it has one. */
function adminOf(text: string): string | undefined {
  const doc = parseDocument(text);
  if (doc.errors.length > 0 || !isMap(doc.contents)) return undefined;
  const value = doc.get("admin");
  return typeof value === "string" ? value : undefined;
}

/** An address to connect to: a wildcard bind is reached on loopback. */
function reachable({ hostname, port }: ListenAddress): string {
  if (hostname === "0.0.0.0" || hostname === "") return `127.0.0.1:${port}`;
  if (hostname === "::") return `[::1]:${port}`;
  return formatListen({ hostname, port });
}
