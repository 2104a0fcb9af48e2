/**
 * What a config asks of process supervision beyond spawning — `limits`,
 * `user`/`group` — checked against what this urocket can do: whether the
 * limits can be enforced (cgroup v2, delegated, the controllers, the spawn
 * server), whether urocket may switch users (root, the spawn server), and
 * whether each user can reach the reply socket. Run at start and before a
 * reload is applied.
 *
 * @module
 */

import type { OperationConfig, Problem, RunAs, ServiceConfig } from "../config/mod.ts";
import {
  type CgroupSetup,
  type Controller,
  controllersFor,
  describeSetupFailure,
} from "./cgroup.ts";
import type { SpawnStrategy } from "./spawn_strategy.ts";

/** How limits stand for a config. */
export type LimitsState =
  /** No operation has limits. */
  | { kind: "none" }
  /** Enforced, one cgroup per process under `dir`. */
  | { kind: "enforced"; dir: string; controllers: Controller[] }
  /** Configured but not enforceable; `limits-enforce: best-effort` lets urocket run anyway. */
  | { kind: "unenforced"; reason: string };

/** The outcome of {@link checkSupervision}. */
export interface SupervisionVerdict {
  /** Reasons to refuse the config (start: exit 2; reload: keep the old one). */
  problems: Problem[];
  limits: LimitsState;
}

/** What {@link checkSupervision} needs to know about this urocket. */
export interface SupervisionFacts {
  strategy: Pick<SpawnStrategy, "mode" | "reason" | "prepareCgroups">;
  /** urocket's own uid (the socket file's owner). */
  uid: number;
  /** Why `user` could not connect to the reply socket, or undefined when it can. */
  socketProblem: (user: RunAs) => string | undefined;
}

/**
 * Checks `config`'s limits and users. Prepares urocket's cgroup the first
 * time limits appear (see {@link SpawnStrategy.prepareCgroups}).
 */
export async function checkSupervision(
  config: ServiceConfig,
  facts: SupervisionFacts,
): Promise<SupervisionVerdict> {
  const problems: Problem[] = [];
  const limited = config.operations.filter((op) => op.limits);
  let limits: LimitsState = { kind: "none" };
  if (limited.length > 0) {
    const needed = [...new Set(limited.flatMap((op) => controllersFor(op.limits)))].sort();
    const setup = await facts.strategy.prepareCgroups(needed);
    const reason = unenforceable(setup, needed);
    if (reason === undefined && setup.ok) {
      limits = { kind: "enforced", dir: setup.dir, controllers: setup.controllers };
    } else {
      limits = { kind: "unenforced", reason: reason! };
      if (config.limitsEnforce === "required") {
        problems.push(problem(
          config,
          limited[0],
          "limits",
          `Cannot enforce limits: ${reason}; or set "limits-enforce: best-effort" to run ` +
            "without them",
        ));
      }
    }
  }
  for (const op of config.operations) {
    if (!op.user) continue;
    const who = `user ${JSON.stringify(op.user.user)} (uid ${op.user.uid}, gid ${op.user.gid})`;
    if (facts.strategy.mode !== "spawn_server") {
      problems.push(problem(
        config,
        op,
        "user",
        `Cannot run processes as ${who}: that needs the spawn server, and urocket spawns with ` +
          `detached: true (${facts.strategy.reason})`,
      ));
    } else if (facts.uid !== 0) {
      problems.push(problem(
        config,
        op,
        "user",
        `Cannot run processes as ${who}: urocket runs as uid ${facts.uid}, and only root may ` +
          "start processes as another user",
      ));
    } else {
      const socket = facts.socketProblem(op.user);
      if (socket) {
        problems.push(problem(config, op, "user", `The ${who} could not reply: ${socket}`));
      }
    }
  }
  return { problems, limits };
}

/** Why a setup does not enforce `needed`, or undefined when it does. */
function unenforceable(setup: CgroupSetup, needed: Controller[]): string | undefined {
  if (!setup.ok) return describeSetupFailure(setup);
  const missing = needed.filter((c) => !setup.controllers.includes(c));
  if (missing.length === 0) return undefined;
  return `the controllers ${missing.join(", ")} are not enabled in ${setup.dir} (it has: ` +
    `${setup.controllers.join(", ") || "none"}); enable them in its parent's ` +
    "cgroup.subtree_control and restart urocket";
}

function problem(
  config: ServiceConfig,
  op: OperationConfig,
  key: string,
  message: string,
): Problem {
  return { file: config.file, line: op.line, key: `paths.${op.path}.${op.method}.${key}`, message };
}
