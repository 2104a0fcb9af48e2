/**
 * The admin listener: health, readiness, metrics, and the console when it
 * is mounted.
 *
 * @module
 */

export { type AdminDeps, createAdminApp, type Readiness } from "./admin_app.ts";
