/**
 * Small helpers several modules share that import nothing, not even an npm
 * package (the `urocket reply` command loads this module too): urocket's
 * version, and the "did you mean …?" of the config loader and the command
 * line.
 *
 * @module
 */

export { closest } from "./suggest.ts";
export { VERSION } from "./version.ts";
