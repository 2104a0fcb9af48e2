/**
 * urocket's metrics, in the Prometheus text exposition format.
 *
 * @module
 */

export { type GroupEnd, Metrics, type MetricsSources, type RequestEnd } from "./metrics.ts";
export { EXPOSITION_CONTENT_TYPE } from "./registry.ts";
