/**
 * One process group's life: how it is spawned (the spawn helper's server,
 * or `detached: true`), its environment, its supervision (deadline, SIGTERM
 * to the group, grace, SIGKILL), its output read line by line, and the
 * table of the live groups that `max-inflight` counts and shutdown signals.
 *
 * @module
 */

export {
  buildChildEnv,
  checkExecSize,
  type ExecTooLarge,
  INHERITED_ENV_NAMES,
  inheritedEnv,
  MAX_ARG_BYTES,
  type RequestFacts,
} from "./env.ts";
export { cpuMs, type ExitContext, logProcessExit } from "./exit_line.ts";
export {
  type KillReason,
  type ProcessEnd,
  ProcessGroup,
  type ProcessGroupOptions,
  type ProcessStats,
} from "./group.ts";
export { isGroupAlive, signalGroup } from "./signals.ts";
export { type NofileLimits, raiseNofile } from "./nofile.ts";
export {
  detachedSpawner,
  type ExitStatus,
  type OutputRelay,
  type OutputSink,
  type OutputStream,
  type Spawned,
  type Spawner,
  SpawnError,
  type SpawnSpec,
} from "./spawn.ts";
export {
  BUILT_HELPER,
  chooseSpawnStrategy,
  type ChooseSpawnStrategyOptions,
  HELPER_ENV,
  type SpawnStrategy,
} from "./spawn_strategy.ts";
export {
  checkSupervision,
  type LimitsState,
  type SupervisionFacts,
  type SupervisionVerdict,
} from "./supervision.ts";
export { ProcessTable, type Slot } from "./table.ts";
