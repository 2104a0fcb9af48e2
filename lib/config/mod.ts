/**
 * urocket's configuration: the `urocket-service.yaml` schema, its loader and
 * the value parsers it uses.
 *
 * @module
 */

export {
  type Accounts,
  parseAccounts,
  readAccounts,
  resolveGroup,
  resolveRunAs,
  type RunAs,
} from "./accounts.ts";
export { ConfigError, formatProblem, type Problem } from "./errors.ts";
export { configJsonSchemaText, SCHEMA_FILE } from "./json_schema.ts";
export { formatListen, parseListen, parseOuttake, SOCKET_STAGING_BYTES } from "./addresses.ts";
export {
  type FileInfo,
  inspectConfig,
  type LoadOptions,
  parseConfig,
  readConfigFile,
} from "./load.ts";
export { absolutePath } from "./paths.ts";
export {
  DEFAULTS,
  type ListenAddress,
  type OperationConfig,
  type OperationLimits,
  type ServiceConfig,
} from "./service_config.ts";
export {
  ConfigSchema,
  HTTP_METHODS,
  type HttpMethod,
  MAX_PIDS,
  SHUTDOWN_KILL_WAIT_MS,
  STREAM_KILL_BACKSTOP_MS,
} from "./schema.ts";
export { type SchemeConfig, SecurityConfigSchema } from "./security.ts";
export {
  ENV_NAME,
  headerEnvName,
  isReservedEnvName,
  pathParamEnvName,
  RESERVED_ENV_NAMES,
} from "./reserved_env.ts";
export { splitCommand } from "./split_command.ts";
export {
  type DurationOptions,
  MAX_CPU,
  MAX_TIMER_MS,
  parseCpu,
  parseDuration,
  parseSize,
} from "./units.ts";
