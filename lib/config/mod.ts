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
export {
  absolutePath,
  DEFAULTS,
  type FileInfo,
  formatListen,
  inspectConfig,
  type ListenAddress,
  type LoadOptions,
  type OperationConfig,
  type OperationLimits,
  parseConfig,
  parseListen,
  parseOuttake,
  readConfigFile,
  type ServiceConfig,
  SOCKET_STAGING_BYTES,
} from "./load.ts";
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
