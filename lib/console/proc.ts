/**
 * Live CPU and memory of running processes, from `/proc/<pid>/stat` and
 * `/proc/<pid>/status` of each process group's leader (the process urocket
 * spawned; its CPU includes the children it has waited for). Deno refuses
 * to read `/proc/<pid>` without `--allow-all`, which urocket does not
 * have. When urocket spawns through the spawn server, the server reads
 * them (the service injects that reader); with the fallback spawner the
 * files are read by `cat`, here — one run for every process in flight,
 * and only while someone watches the console. Where there is neither (the
 * fallback in a distroless image), there are no live figures; the figures
 * at exit come from the stats source (wait4 or the cgroup) either way.
 *
 * @module
 */

/** A running process's usage so far. */
export interface LiveStats {
  /** CPU time, user + system, its waited-for children included. */
  cpuMs: number;
  /** Resident memory now. */
  rssKb: number;
}

/** Clock ticks per second of `/proc/<pid>/stat` (USER_HZ: 100 on every Linux urocket runs on). */
const USER_HZ = 100;

/** Where `cat` is looked for. */
const CAT = ["/usr/bin/cat", "/bin/cat"];

/**
 * Parses what `cat /proc/<pid>/stat… /proc/<pid>/status…` printed into each
 * pid's usage: the stat lines start with their pid, the status blocks carry
 * `Pid:` and `VmRSS:`. A pid missing from either is left out.
 */
export function parseProcOutput(text: string): Map<number, LiveStats> {
  const cpu = new Map<number, number>();
  const rss = new Map<number, number>();
  let pid: number | undefined;
  for (const line of text.split("\n")) {
    const stat = /^(\d+) \(.*\) (.*)$/.exec(line);
    if (stat) {
      // Fields 14–17 (utime, stime, cutime, cstime) are 11–14 after the state (field 3).
      const ticks = stat[2].split(" ").slice(11, 15).map(Number);
      if (ticks.length === 4 && ticks.every(Number.isFinite)) {
        cpu.set(Number(stat[1]), ticks.reduce((a, b) => a + b, 0) * 1000 / USER_HZ);
      }
      continue;
    }
    const field = /^(Pid|VmRSS):\s+(\d+)/.exec(line);
    if (field?.[1] === "Pid") pid = Number(field[2]);
    else if (field && pid !== undefined) rss.set(pid, Number(field[2]));
  }
  const out = new Map<number, LiveStats>();
  for (const [id, cpuMs] of cpu) {
    const rssKb = rss.get(id);
    if (rssKb !== undefined) out.set(id, { cpuMs, rssKb });
  }
  return out;
}

/**
 * Reads the usage of `pids` now; processes that are gone (or a system
 * without `cat`) are missing from the answer. Never throws.
 */
export async function readLiveStats(pids: number[]): Promise<Map<number, LiveStats>> {
  if (pids.length === 0) return new Map();
  const cat = await findCat();
  if (!cat) return new Map();
  try {
    const { stdout } = await new Deno.Command(cat, {
      args: [...pids.map((pid) => `/proc/${pid}/stat`), ...pids.map((p) => `/proc/${p}/status`)],
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    // cat exits 1 when a process ended meanwhile; what it printed of the others still counts.
    return parseProcOutput(new TextDecoder().decode(stdout));
  } catch {
    return new Map();
  }
}

let found: Promise<string | undefined> | undefined;

function findCat(): Promise<string | undefined> {
  found ??= (async () => {
    for (const path of CAT) {
      try {
        if ((await Deno.stat(path)).isFile) return path;
      } catch {
        // Not there: the next one.
      }
    }
    return undefined;
  })();
  return found;
}
