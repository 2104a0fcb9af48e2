/**
 * Where a whole pipeline's CPU goes, read from outside: `/proc/<pid>/stat`
 * of each process (all its threads, and `/proc/<pid>/task/<pid>/stat` for the
 * main thread alone), the children it has reaped (`cutime` + `cstime`: for a
 * spawn helper or webhook, the handlers), and `/proc/stat` for the machine
 * (busy and idle, all CPUs). With `perf` and hardware counters, the
 * instructions of the same processes and of the whole machine.
 *
 * Used by bench/webhook.ts around each wrk run.
 *
 * @module
 */

/** USER_HZ: `/proc` counts CPU time in ticks of 10 ms on Linux. */
const TICK_MS = 10;

/** CPU time of one process so far, in ms. */
export interface ProcessCpu {
  /** All its threads. */
  all: number;
  /** Its main thread (for Deno: the JavaScript thread). */
  main: number;
  /** Children it has reaped (their own `utime` + `stime`, with their reaped descendants). */
  reaped: number;
}

/** Busy and idle CPU time of the machine so far, in ms summed over all CPUs. */
export interface MachineCpu {
  busy: number;
  idle: number;
}

/** The fields after the command name, which is in parentheses and may hold spaces. */
function statFields(text: string): string[] {
  return text.slice(text.lastIndexOf(")") + 2).split(" ");
}

/** Reads one process's CPU so far; zeros when it is gone. */
export async function processCpu(pid: number): Promise<ProcessCpu> {
  try {
    const all = statFields(await Deno.readTextFile(`/proc/${pid}/stat`));
    const main = statFields(await Deno.readTextFile(`/proc/${pid}/task/${pid}/stat`));
    // utime, stime, cutime, cstime are fields 14–17 of proc(5): 11–14 after the name.
    const ticks = (fields: string[], at: number) => Number(fields[at]) + Number(fields[at + 1]);
    return {
      all: ticks(all, 11) * TICK_MS,
      main: ticks(main, 11) * TICK_MS,
      reaped: ticks(all, 13) * TICK_MS,
    };
  } catch {
    return { all: 0, main: 0, reaped: 0 };
  }
}

/** The machine's CPU so far, from the first line of `/proc/stat`. */
export async function machineCpu(): Promise<MachineCpu> {
  const line = (await Deno.readTextFile("/proc/stat")).split("\n")[0];
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/)
    .slice(1).map(Number);
  return {
    busy: (user + nice + system + irq + softirq + (steal || 0)) * TICK_MS,
    idle: (idle + iowait) * TICK_MS,
  };
}

/** The children of `pid` (pid and command name), found by scanning `/proc`. */
export async function childrenOf(pid: number): Promise<{ pid: number; name: string }[]> {
  const found: { pid: number; name: string }[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const text = await Deno.readTextFile(`/proc/${entry.name}/stat`);
      const name = text.slice(text.indexOf("(") + 1, text.lastIndexOf(")"));
      if (Number(statFields(text)[1]) === pid) found.push({ pid: Number(entry.name), name });
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

/** The processes of one pipeline whose CPU is counted, by role. */
export interface Roles {
  /** The server (urocket's deno, or webhook). */
  server: number;
  /** urocket's spawn helper, whose reaped children are the handlers. */
  helper?: number;
  /** The process reading the server's log (`cat`, standing in for a container runtime). */
  logReader?: number;
}

/** One reading of every role and the machine. */
export interface Reading {
  server: ProcessCpu;
  helper?: ProcessCpu;
  logReader?: ProcessCpu;
  machine: MachineCpu;
}

/** Reads every role's CPU and the machine's, at one moment. */
export async function read(roles: Roles): Promise<Reading> {
  const [server, helper, logReader, machine] = await Promise.all([
    processCpu(roles.server),
    roles.helper === undefined ? undefined : processCpu(roles.helper),
    roles.logReader === undefined ? undefined : processCpu(roles.logReader),
    machineCpu(),
  ]);
  return { server, helper, logReader, machine };
}

/** CPU per request, in ms, split by where it went. */
export interface Breakdown {
  /** The server's main thread (urocket: the JavaScript thread). */
  serverMain: number;
  /** The server's other threads (urocket: Tokio, V8's helpers; webhook: Go's). */
  serverOther: number;
  /** urocket's spawn helper itself. */
  helper: number;
  /** The handlers (reaped by the helper, or by webhook). */
  handlers: number;
  logReader: number;
  /** Everything else that ran: wrk, the kernel's own work, anything else on the machine. */
  rest: number;
  /** CPU time nobody used. */
  idle: number;
}

/** The CPU per request between two readings, for `requests` requests. */
export function breakdown(before: Reading, after: Reading, requests: number): Breakdown {
  const d = (a?: number, b?: number) => ((b ?? 0) - (a ?? 0)) / requests;
  const serverAll = d(before.server.all, after.server.all);
  const serverMain = d(before.server.main, after.server.main);
  const helper = d(before.helper?.all, after.helper?.all);
  // Handlers: reaped by the helper (urocket) or by the server itself (webhook).
  const handlers = after.helper
    ? d(before.helper?.reaped, after.helper.reaped)
    : d(before.server.reaped, after.server.reaped);
  const logReader = d(before.logReader?.all, after.logReader?.all);
  const busy = d(before.machine.busy, after.machine.busy);
  return {
    serverMain,
    serverOther: serverAll - serverMain,
    helper,
    handlers,
    logReader,
    rest: Math.max(0, busy - serverAll - helper - handlers - logReader),
    idle: d(before.machine.idle, after.machine.idle),
  };
}

/** Whether `perf stat` can count instructions (a VM may have no hardware counters). */
export async function perfCountsInstructions(): Promise<boolean> {
  try {
    const output = await new Deno.Command("perf", {
      args: ["stat", "-x,", "-e", "instructions", "true"],
      stdout: "null",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(output.stderr);
    return output.success && /^\d+,/m.test(text);
  } catch {
    return false;
  }
}

/**
 * Counts instructions for `seconds`: of `pids` (all their threads; started
 * handlers are not followed) and of the whole machine. Start it beside the
 * load it measures.
 */
export async function perfInstructions(
  pids: number[],
  seconds: number,
): Promise<{ processes: number; machine: number }> {
  const count = async (target: string[]) => {
    const output = await new Deno.Command("perf", {
      args: ["stat", "-x,", "-e", "instructions", ...target, "--", "sleep", String(seconds)],
      stdout: "null",
      stderr: "piped",
    }).output();
    const line = new TextDecoder().decode(output.stderr).split("\n")
      .find((l) => /^\d+,/.test(l));
    return line ? Number(line.split(",")[0]) : NaN;
  };
  const [processes, machine] = await Promise.all([
    count(["-p", pids.join(",")]),
    count(["-a"]),
  ]);
  return { processes, machine };
}
