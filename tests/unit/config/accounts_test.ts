import { deepStrictEqual, match, strictEqual } from "node:assert/strict";
import { parseAccounts, resolveGroup, resolveRunAs } from "../../../lib/config/mod.ts";

const ACCOUNTS = parseAccounts(
  [
    "root:x:0:0:root:/root:/bin/bash",
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin",
    "# a comment",
    "short:x:1",
    "app:x:1000:100::/srv/app:/bin/sh",
  ].join("\n"),
  ["root:x:0:", "users:x:100:", "nogroup:x:65534:", "deploy:x:2000:app,other", "bad:x:y:"].join(
    "\n",
  ),
);

Deno.test("parseAccounts() reads /etc/passwd and /etc/group, skipping malformed lines", () => {
  deepStrictEqual(ACCOUNTS.users.map((u) => u.name), ["root", "nobody", "app"]);
  deepStrictEqual(ACCOUNTS.groups.map((g) => g.name), ["root", "users", "nogroup", "deploy"]);
  deepStrictEqual(ACCOUNTS.groups[3].members, ["app", "other"]);
});

Deno.test("resolveRunAs() gives the user's primary group, supplementary groups and home", () => {
  deepStrictEqual(resolveRunAs(ACCOUNTS, "app"), {
    user: "app",
    uid: 1000,
    gid: 100,
    groups: [100, 2000],
    home: "/srv/app",
  });
  deepStrictEqual(resolveRunAs(ACCOUNTS, 65534), {
    user: "65534",
    uid: 65534,
    gid: 65534,
    groups: [65534],
    home: "/nonexistent",
  });
  strictEqual((resolveRunAs(ACCOUNTS, "app", "nogroup") as { gid: number }).gid, 65534);
  deepStrictEqual(resolveRunAs(ACCOUNTS, "777", 5), { user: "777", uid: 777, gid: 5, groups: [5] });
});

Deno.test("resolveRunAs() and resolveGroup() say what is wrong", () => {
  match(String(resolveRunAs(ACCOUNTS, "ghost")), /No user "ghost" in \/etc\/passwd/);
  match(String(resolveRunAs(ACCOUNTS, "777")), /has no primary group: set "group" too/);
  match(String(resolveRunAs(ACCOUNTS, "app", "ghosts")), /No group "ghosts" in \/etc\/group/);
  strictEqual(resolveGroup(ACCOUNTS, "deploy"), 2000);
  strictEqual(resolveGroup(ACCOUNTS, "42"), 42);
});
