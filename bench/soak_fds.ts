/**
 * urocket's open descriptors as the soak sees them from outside, through
 * /proc: how many, when they have settled, and — when more are open than
 * before — what the extra ones are, so that a failed check says which
 * connection or file was kept.
 *
 * @module
 */

/** How long descriptors may take to come back to their level. */
const FD_SETTLE_MS = 10_000;

/** TCP states of /proc/net/tcp, by their hex code. */
const TCP_STATES: Record<string, string> = {
  "01": "ESTABLISHED",
  "02": "SYN_SENT",
  "03": "SYN_RECV",
  "04": "FIN_WAIT1",
  "05": "FIN_WAIT2",
  "06": "TIME_WAIT",
  "07": "CLOSE",
  "08": "CLOSE_WAIT",
  "09": "LAST_ACK",
  "0A": "LISTEN",
  "0B": "CLOSING",
};

/** Open descriptors of `pid`, as the targets they point to. */
export function openFds(pid: number): string[] {
  const targets: string[] = [];
  for (const entry of Deno.readDirSync(`/proc/${pid}/fd`)) {
    try {
      targets.push(Deno.readLinkSync(`/proc/${pid}/fd/${entry.name}`));
    } catch {
      // Closed while we looked.
    }
  }
  return targets;
}

/**
 * Waits until `pid`'s descriptor count stops changing (closed connections
 * take a moment) — and, given `atMost`, is at most that — for up to
 * {@link FD_SETTLE_MS}; resolves with the descriptors then.
 */
export async function settledFds(pid: number, atMost?: number): Promise<string[]> {
  const deadline = Date.now() + FD_SETTLE_MS;
  let fds = openFds(pid);
  let steady = 0;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = openFds(pid);
    steady = now.length === fds.length ? steady + 1 : 0;
    fds = now;
    if (atMost !== undefined ? fds.length <= atMost && steady >= 3 : steady >= 5) break;
  }
  return fds;
}

/** The targets of `after` that `baseline` did not have (as many times as they were not). */
export function extra(baseline: string[], after: string[]): string[] {
  const left = [...baseline];
  return after.filter((target) => {
    const i = left.indexOf(target);
    if (i < 0) return true;
    left.splice(i, 1);
    return false;
  });
}

/**
 * `targets` (descriptors of `pid`) with what each socket is, from the
 * process's /proc/net tables: `socket:[123] (tcp ESTABLISHED admin
 * 127.0.0.1:4000 ← 127.0.0.1:51234)`. `names` names local addresses
 * (`host:port` → `front`, `admin`).
 */
export function describeFds(
  pid: number,
  targets: string[],
  names: Record<string, string> = {},
): string[] {
  const sockets = socketTable(pid, names);
  return targets.map((target) => {
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    const what = inode && sockets.get(inode);
    return what ? `${target} (${what})` : target;
  });
}

/** Inode → description of every TCP (IPv4) and unix socket in `pid`'s network namespace. */
function socketTable(pid: number, names: Record<string, string>): Map<string, string> {
  const table = new Map<string, string>();
  for (const line of readLines(`/proc/${pid}/net/tcp`)) {
    const [, local, remote, state, , , , , , inode] = line.trim().split(/\s+/);
    if (!inode || !/^\d+$/.test(inode)) continue;
    const here = ipv4(local);
    const name = names[here] ? ` ${names[here]}` : "";
    table.set(
      inode,
      `tcp ${TCP_STATES[state] ?? state}${name} ${here} ← ${ipv4(remote)}`,
    );
  }
  for (const line of readLines(`/proc/${pid}/net/unix`)) {
    const [, , , , , , inode, path] = line.trim().split(/\s+/);
    if (inode && /^\d+$/.test(inode)) table.set(inode, `unix ${path ?? "(unnamed)"}`);
  }
  return table;
}

function readLines(path: string): string[] {
  try {
    return Deno.readTextFileSync(path).split("\n").slice(1);
  } catch {
    return [];
  }
}

/** `0100007F:1F90` (little-endian address, port) → `127.0.0.1:8080`. */
function ipv4(hex: string): string {
  const [address, port] = hex.split(":");
  const bytes = address.match(/../g)!.map((byte) => parseInt(byte, 16)).reverse();
  return `${bytes.join(".")}:${parseInt(port, 16)}`;
}
