/**
 * Keys written twice in one YAML mapping, which the config loader and the
 * OpenAPI loader both refuse (they import nothing from each other).
 *
 * @module
 */

export { type YamlDuplicateKey, yamlDuplicateKeys } from "./duplicate_keys.ts";
