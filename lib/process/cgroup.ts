/**
 * Per-process cgroup v2 limits: what an operation's `limits` become in
 * cgroupfs, and the one-time preparation of urocket's cgroup for a group per
 * handler. Deno cannot read or write cgroupfs without `--allow-all`, so the
 * spawn helper does the file work: `urocket-spawn --cgroup-setup` here, and
 * each group's creation, join, accounting and removal in the spawn server.
 *
 * @module
 */

import type { CgroupSpec, ResourceLimits } from "./spawn.ts";

/** The controllers urocket's limits use. */
export type Controller = "cpu" | "memory" | "pids";

/** cpu.max's period: 100 ms, the kernel's default. */
export const CPU_PERIOD_US = 100_000;
/** The smallest quota the kernel accepts in cpu.max. */
const MIN_CPU_QUOTA_US = 1_000;

/** urocket's environment variable naming the cgroup to manage instead of its own (tests). */
export const CGROUP_ROOT_ENV = "UROCKET_CGROUP_ROOT";

/** How urocket's cgroup was prepared, or why it could not be. */
export type CgroupSetup =
  | {
    ok: true;
    /** The delegated cgroup: handler groups are created in it, beside its `urocket` leaf. */
    dir: string;
    /** Controllers enabled for its children. */
    controllers: Controller[];
  }
  | {
    ok: false;
    /**
     * `mount`, `self`, `root`, `controllers`, `delegation`, `move`, `enable`, `helper`, or
     * `spawner` (urocket spawns with the fallback).
     */
    stage: string;
    /** What the helper found, e.g. `cannot create /sys/fs/cgroup/urocket: Read-only file system`. */
    message: string;
  };

/** The controllers `limits` need. */
export function controllersFor(limits: ResourceLimits | undefined): Controller[] {
  const needed: Controller[] = [];
  if (limits?.cpu !== undefined) needed.push("cpu");
  if (limits?.memoryBytes !== undefined) needed.push("memory");
  if (limits?.pids !== undefined) needed.push("pids");
  return needed;
}

/**
 * The cgroupfs values for `limits` in a group under `parent`: memory.max in
 * bytes, cpu.max as "QUOTA PERIOD" (0.5 CPU → "50000 100000"), pids.max.
 *
 * @example
 * ```ts
 * cgroupSpec("/sys/fs/cgroup", { memoryBytes: 268435456, cpu: 0.5, pids: 64 });
 * // { parent: "/sys/fs/cgroup", memoryMax: "268435456", cpuMax: "50000 100000", pidsMax: "64" }
 * ```
 */
export function cgroupSpec(parent: string, limits: ResourceLimits): CgroupSpec {
  const spec: CgroupSpec = { parent };
  if (limits.memoryBytes !== undefined) spec.memoryMax = String(limits.memoryBytes);
  if (limits.cpu !== undefined) {
    const quota = Math.max(MIN_CPU_QUOTA_US, Math.round(limits.cpu * CPU_PERIOD_US));
    spec.cpuMax = `${quota} ${CPU_PERIOD_US}`;
  }
  if (limits.pids !== undefined) spec.pidsMax = String(limits.pids);
  return spec;
}

/** Options of {@link setupCgroup}. */
export interface SetupCgroupOptions {
  /** The spawn helper (`urocket-spawn`). */
  helper: string;
  /** Controllers the configured limits need. */
  needed: Controller[];
  /** The cgroup to manage; default: the one urocket runs in. */
  dir?: string;
}

/**
 * Runs `urocket-spawn --cgroup-setup` once: it moves urocket's processes into
 * a leaf (cgroup v2 allows controllers for children only in a cgroup without
 * processes) and enables cpu, memory and pids for the handlers' groups.
 * Never throws: a failure is a {@link CgroupSetup} saying why.
 */
export async function setupCgroup(options: SetupCgroupOptions): Promise<CgroupSetup> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(options.helper, {
      args: ["--cgroup-setup", options.needed.join(","), ...(options.dir ? [options.dir] : [])],
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    return { ok: false, stage: "helper", message: (error as Error).message };
  }
  return parseSetupLine(new TextDecoder().decode(output.stdout).trim());
}

/** Reads the helper's one line: `ok CONTROLLERS DIR` or `no STAGE MESSAGE`. */
export function parseSetupLine(line: string): CgroupSetup {
  const ok = /^ok (\S+) (.+)$/.exec(line);
  if (ok) {
    const controllers = ok[1] === "-" ? [] : ok[1].split(",") as Controller[];
    return { ok: true, dir: ok[2], controllers };
  }
  const no = /^no (\S+) (.+)$/.exec(line);
  if (no) return { ok: false, stage: no[1], message: no[2] };
  return {
    ok: false,
    stage: "helper",
    message: `the spawn helper answered ${JSON.stringify(line.slice(0, 200))}`,
  };
}

/** What to do about a failed setup, by stage. */
const HINTS: Record<string, string> = {
  mount: "run urocket on a system with the unified cgroup v2 hierarchy " +
    "(systemd.unified_cgroup_hierarchy=1; the default of current distributions and of " +
    "Kubernetes nodes since 1.25)",
  self: "run urocket where /proc/self/cgroup names its cgroup v2 group",
  root: "run urocket in a cgroup delegated to it — a container's own cgroup, or a systemd " +
    "unit with Delegate=yes — not in the root of the hierarchy",
  controllers: "enable the controllers for urocket's cgroup in its parent's " +
    "cgroup.subtree_control (a container runtime, or systemd's Delegate=, does this)",
  delegation: "delegate the cgroup to urocket's user: in Kubernetes cgroupfs is read-only " +
    "in ordinary pods, see deploy/README.md",
  move: "make sure every process in urocket's cgroup belongs to urocket's user",
  enable: "make sure no other process starts in urocket's cgroup while it starts",
  helper: "rebuild the spawn helper (deno task build-helper)",
  spawner: "build the spawn helper (deno task build-helper, which needs a C compiler) and " +
    "leave UROCKET_SPAWN_HELPER unset",
};

/** A sentence for a failed setup: what was found, and what to do. */
export function describeSetupFailure(setup: Extract<CgroupSetup, { ok: false }>): string {
  return `${setup.message}; ${HINTS[setup.stage] ?? HINTS.helper}`;
}
