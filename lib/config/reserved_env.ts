/**
 * Environment variable names that urocket sets for every process and that a
 * configured `env` may therefore not override.
 *
 * @module
 */

/** Names urocket always sets (or deliberately leaves unset) for a process. */
export const RESERVED_ENV_NAMES: readonly string[] = [
  "REQUEST_ID",
  "URIPATH",
  "REQUEST_METHOD",
  "QUERY_STRING",
  "CONTENT_TYPE",
  "CONTENT_LENGTH",
  "UROCKET_SOCKET",
  "UROCKET_REPLY_URL",
  "UROCKET_DEADLINE_MS",
  "TRACEPARENT",
  "TRACESTATE",
  "AUTH_SCHEME",
  "AUTH_SUBJECT",
  "AUTH_SCOPES",
  "AUTH_CLAIMS",
];

/**
 * Prefixes whose names urocket derives from the request. `HTTP_<NAME>` is
 * reserved per operation, for the headers it passes (see
 * {@link headerEnvName}), so that `HTTP_PROXY` for outgoing calls stays
 * settable: the `Proxy` header is never passed.
 */
export const RESERVED_ENV_PREFIXES: readonly string[] = ["PATH_PARAM_", "UROCKET_"];

/** Whether `name` is urocket's to set, so a configured `env` may not use it. */
export function isReservedEnvName(name: string, passHeaders: readonly string[] = []): boolean {
  return RESERVED_ENV_NAMES.includes(name) ||
    RESERVED_ENV_PREFIXES.some((prefix) => name.startsWith(prefix)) ||
    passHeaders.some((header) => headerEnvName(header) === name);
}

/** The variable a passed header becomes: `X-Api-Key` → `HTTP_X_API_KEY`. */
export function headerEnvName(header: string): string {
  return "HTTP_" + envSuffix(header);
}

/** The variable a path parameter becomes: `petId` → `PATH_PARAM_PETID`. */
export function pathParamEnvName(param: string): string {
  return "PATH_PARAM_" + envSuffix(param);
}

function envSuffix(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9_]/g, "_");
}

/** The shape every environment variable name must have. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
