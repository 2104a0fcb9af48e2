/**
 * A running urocket: started, reloaded and stopped in a written order.
 *
 * @module
 */

export { type Service, type ServiceOptions, startService } from "./start.ts";
