/**
 * urocket's command line: the arguments, and the commands besides `serve`
 * (`check`, `reply`, `health`, `schema`), each loaded only when it runs.
 *
 * @module
 */

export {
  type ArgsError,
  type Command,
  COMMANDS,
  parseCommandLine,
  type ParsedArgs,
} from "./args.ts";
export { runCheck, runHealth, runReply, runSchema } from "./commands.ts";
export type { CheckOptions } from "./check.ts";
export type { HealthOptions } from "./health.ts";
export type { CliOutput } from "./output.ts";
export type { ReplyOptions } from "./reply.ts";
