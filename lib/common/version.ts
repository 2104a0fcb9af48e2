/**
 * urocket's own version, from `deno.json`, so that there is one place to bump.
 *
 * @module
 */

import config from "../../deno.json" with { type: "json" };

/** urocket's version, e.g. `0.1.0`. */
export const VERSION: string = config.version;
