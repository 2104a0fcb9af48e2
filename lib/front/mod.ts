/**
 * The TCP edge: routes each request to its operation, hands it to the
 * exchange, and turns what came of it into the HTTP answer and the access
 * line.
 *
 * @module
 */

export { createFrontApp, type FrontDeps } from "./front_app.ts";
