/**
 * urocket's metrics, in the Prometheus text exposition format.
 *
 * @module
 */

export { Metrics, type MetricsSources, type ProcessStats, type RequestEnd } from "./metrics.ts";
export { EXPOSITION_CONTENT_TYPE } from "./registry.ts";
