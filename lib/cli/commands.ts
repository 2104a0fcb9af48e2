/**
 * The commands besides `serve`, each loaded only when it runs: a handler's
 * `urocket reply` above all starts without the modules of the server or of
 * the config loader (measured: ~20 ms instead of ~80 ms).
 *
 * @module
 */

import type { CheckOptions } from "./check.ts";
import type { HealthOptions } from "./health.ts";
import type { CliOutput } from "./output.ts";
import type { ReplyOptions } from "./reply.ts";

/** `urocket check` (./check.ts). */
export async function runCheck(options: CheckOptions): Promise<number> {
  const { check } = await import("./check.ts");
  return await check(options);
}

/** `urocket reply` (./reply.ts). */
export async function runReply(options: ReplyOptions): Promise<number> {
  const { sendReply } = await import("./reply.ts");
  return await sendReply(options);
}

/** `urocket health` (./health.ts). */
export async function runHealth(options: HealthOptions): Promise<number> {
  const { health } = await import("./health.ts");
  return await health(options);
}

/** `urocket schema`: prints the JSON Schema of `urocket-service.yaml`. */
export async function runSchema(output: CliOutput): Promise<number> {
  const { printSchema } = await import("./schema.ts");
  return printSchema(output);
}
