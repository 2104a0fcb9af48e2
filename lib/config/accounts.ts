/**
 * Users and groups for an operation's `user`/`group` and for `socket-group`,
 * read from `/etc/passwd` and `/etc/group` — the files a container image has.
 * No NSS (LDAP, sssd): Deno has no getpwnam, and a static spawn helper cannot
 * load NSS modules; numeric ids work everywhere.
 *
 * @module
 */

/** One line of /etc/passwd. */
export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** One line of /etc/group. */
export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** The local user and group databases. */
export interface Accounts {
  users: PasswdEntry[];
  groups: GroupEntry[];
}

/** Who an operation's processes run as, resolved. */
export interface RunAs {
  /** The user as configured (a name, or a number). */
  user: string;
  uid: number;
  /** The primary group: `group`, else the user's own from /etc/passwd. */
  gid: number;
  /** Supplementary groups: the primary one and every /etc/group entry listing the user. */
  groups: number[];
  /** The user's home from /etc/passwd, when known: it becomes the process's HOME. */
  home?: string;
}

/** Parses the texts of /etc/passwd and /etc/group; malformed lines are skipped. */
export function parseAccounts(passwd: string, group: string): Accounts {
  const users: PasswdEntry[] = [];
  for (const line of passwd.split("\n")) {
    const [name, , uid, gid, , home] = line.split(":");
    if (!name || !/^[0-9]+$/.test(uid ?? "") || !/^[0-9]+$/.test(gid ?? "")) continue;
    users.push({ name, uid: Number(uid), gid: Number(gid), home: home ?? "" });
  }
  const groups: GroupEntry[] = [];
  for (const line of group.split("\n")) {
    const [name, , gid, members] = line.split(":");
    if (!name || !/^[0-9]+$/.test(gid ?? "")) continue;
    groups.push({ name, gid: Number(gid), members: (members ?? "").split(",").filter(Boolean) });
  }
  return { users, groups };
}

/** Reads /etc/passwd and /etc/group; a file that is missing counts as empty. */
export async function readAccounts(): Promise<Accounts> {
  const read = (path: string) => Deno.readTextFile(path).catch(() => "");
  return parseAccounts(await read("/etc/passwd"), await read("/etc/group"));
}

/**
 * The largest uid or gid: ids are 32 bits, and (uid_t)-1 means "unchanged"
 * to setuid(). A larger number would wrap around in the spawn helper —
 * 4294967296 would be root.
 */
export const MAX_ID = 4294967294;

function outOfRange(kind: "uid" | "gid", id: number): string {
  return `${kind} ${id} is out of range: ids go from 0 to ${MAX_ID}`;
}

/** A group by name or number; returns its gid or what is wrong. */
export function resolveGroup(accounts: Accounts, group: string | number): number | string {
  if (typeof group === "number" || /^[0-9]+$/.test(group)) {
    const gid = Number(group);
    return gid <= MAX_ID ? gid : outOfRange("gid", gid);
  }
  const entry = accounts.groups.find((g) => g.name === group);
  return entry?.gid ?? `No group ${JSON.stringify(group)} in /etc/group: use its name there, ` +
      "or a numeric gid";
}

/**
 * A user (name or number) and an optional group; returns the credentials or
 * what is wrong.
 */
export function resolveRunAs(
  accounts: Accounts,
  user: string | number,
  group?: string | number,
): RunAs | string {
  const numeric = typeof user === "number" || /^[0-9]+$/.test(user);
  if (numeric && Number(user) > MAX_ID) return outOfRange("uid", Number(user));
  const entry = numeric
    ? accounts.users.find((u) => u.uid === Number(user))
    : accounts.users.find((u) => u.name === user);
  if (!entry && !numeric) {
    return `No user ${JSON.stringify(user)} in /etc/passwd: use its name there, or a numeric uid`;
  }
  const gid = group === undefined ? entry?.gid : resolveGroup(accounts, group);
  if (typeof gid === "string") return gid;
  if (gid === undefined) {
    return `User ${user} is not in /etc/passwd, so it has no primary group: set "group" too`;
  }
  const groups = new Set([gid]);
  if (entry) {
    for (const g of accounts.groups) if (g.members.includes(entry.name)) groups.add(g.gid);
  }
  return {
    user: String(user),
    uid: entry?.uid ?? Number(user),
    gid,
    groups: [...groups],
    ...(entry?.home ? { home: entry.home } : {}),
  };
}
