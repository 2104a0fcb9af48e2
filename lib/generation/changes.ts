/**
 * What a reload changes: keys that need a restart instead, and the
 * operations and settings the `reload` line names.
 *
 * @module
 */

import { formatListen, type Problem, type ServiceConfig } from "../config/mod.ts";
import type { Generation } from "./generation.ts";

/** Problems for the keys a reload cannot change: they are bound at start. */
export function restartOnly(old: ServiceConfig, next: ServiceConfig): Problem[] {
  const problems: Problem[] = [];
  const changed = (key: string, a: unknown, b: unknown) => {
    if (JSON.stringify(a) === JSON.stringify(b)) return;
    problems.push({
      file: next.file,
      key,
      message: `Changed from ${JSON.stringify(a ?? "off")} to ${JSON.stringify(b ?? "off")}: ` +
        "that needs a restart",
    });
  };
  changed("listen", formatListen(old.listen), formatListen(next.listen));
  changed("socket", old.socket, next.socket);
  changed("admin", old.admin && formatListen(old.admin), next.admin && formatListen(next.admin));
  return problems;
}

/** Operations added, removed and changed (config block or document operation), by `METHOD /path`. */
export function operationChanges(old: Generation, next: Generation) {
  const describe = (generation: Generation) =>
    new Map(generation.operations.map((op) => {
      const { line: _line, ...config } = op.config;
      return [op.key, JSON.stringify([config, op.document])];
    }));
  const before = describe(old);
  const after = describe(next);
  return {
    added: [...after.keys()].filter((key) => !before.has(key)),
    removed: [...before.keys()].filter((key) => !after.has(key)),
    changed: [...after.keys()].filter((key) =>
      before.has(key) && before.get(key) !== after.get(key)
    ),
  };
}

/** Top-level settings a reload changed (by their config key). */
export function settingChanges(old: ServiceConfig, next: ServiceConfig): string[] {
  const keys: [string, (config: ServiceConfig) => unknown][] = [
    ["openapi", (c) => c.openapi],
    ["docs", (c) => c.docs],
    ["base-path", (c) => c.basePath],
    ["socket-mode", (c) => c.socketMode],
    ["socket-group", (c) => c.socketGroup?.gid],
    ["limits-enforce", (c) => c.limitsEnforce],
    ["max-inflight", (c) => c.maxInflight],
    ["max-body-memory", (c) => c.maxBodyMemory],
    ["shutdown-delay", (c) => c.shutdownDelayMs],
    ["shutdown-timeout", (c) => c.shutdownTimeoutMs],
  ];
  return keys.filter(([, value]) => value(old) !== value(next)).map(([key]) => key);
}
