import { deepStrictEqual, ok, rejects } from "node:assert/strict";
import {
  applySocketAccess,
  claimSocketPath,
  SocketError,
  type SocketFiles,
} from "../../../lib/reply/socket.ts";

/** Applies `to` from `from` and returns the file operations made, in order. */
async function operations(
  from: { mode: number; gid: number },
  to: { mode: number; gid: number },
): Promise<string[]> {
  const made: string[] = [];
  const files: SocketFiles = {
    chmod(_path, mode) {
      made.push(`chmod ${mode.toString(8)}`);
      return Promise.resolve();
    },
    chown(_path, _uid, gid) {
      made.push(`chown ${gid}`);
      return Promise.resolve();
    },
  };
  await applySocketAccess("/run/u.sock", to, { from, files });
  return made;
}

Deno.test("applySocketAccess() gives the new group before the new mode, so the old group never gets it", async () => {
  // 0660 on the old group, even for a moment, would let that group's users connect.
  deepStrictEqual(await operations({ mode: 0o600, gid: 0 }, { mode: 0o660, gid: 33 }), [
    "chown 33",
    "chmod 660",
  ]);
});

Deno.test("applySocketAccess() narrows the mode before a group change, so the new group never gets the old mode", async () => {
  // Here chown first would give the new group 0660 for a moment, which neither config gives it.
  deepStrictEqual(await operations({ mode: 0o660, gid: 33 }, { mode: 0o600, gid: 34 }), [
    "chmod 600",
    "chown 34",
  ]);
  // Each mode gives a class something the other does not: first only what both give.
  deepStrictEqual(await operations({ mode: 0o640, gid: 33 }, { mode: 0o606, gid: 34 }), [
    "chmod 600",
    "chown 34",
    "chmod 606",
  ]);
});

Deno.test("applySocketAccess() changes only what differs", async () => {
  deepStrictEqual(await operations({ mode: 0o660, gid: 33 }, { mode: 0o660, gid: 33 }), []);
  deepStrictEqual(await operations({ mode: 0o600, gid: 33 }, { mode: 0o660, gid: 33 }), [
    "chmod 660",
  ]);
  deepStrictEqual(await operations({ mode: 0o660, gid: 33 }, { mode: 0o660, gid: 0 }), [
    "chown 0",
  ]);
});

Deno.test("applySocketAccess() puts the mode back when the group cannot be changed", async () => {
  // A refused reload keeps the config as it was: the socket must stay as it was too, or the old
  // group's handlers lose it (a non-root urocket given a group it is not in gets EPERM here).
  const state = { mode: 0o660, gid: 33 };
  const files: SocketFiles = {
    chmod(_path, mode) {
      state.mode = mode;
      return Promise.resolve();
    },
    chown() {
      return Promise.reject(new Deno.errors.PermissionDenied("Operation not permitted"));
    },
  };
  await rejects(
    applySocketAccess("/run/u.sock", { mode: 0o640, gid: 34 }, { from: { ...state }, files }),
    Deno.errors.PermissionDenied,
  );
  deepStrictEqual(state, { mode: 0o660, gid: 33 });
});

Deno.test("claimSocketPath() refuses a live socket it cannot connect to right now, and leaves it in place", async () => {
  const dir = await Deno.makeTempDir({ prefix: "urocket-busy-" });
  const path = `${dir}/busy.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  // A listener that does not accept (an event loop busy elsewhere): once its backlog is full, a
  // connection attempt fails at once, with an error other than "refused".
  const queued: Deno.UnixConn[] = [];
  try {
    for (;;) {
      try {
        queued.push(await Deno.connect({ transport: "unix", path }));
      } catch (error) {
        ok(!(error instanceof Deno.errors.ConnectionRefused), String(error));
        break;
      }
    }
    await rejects(claimSocketPath(path), SocketError);
    ok((await Deno.lstat(path)).isSocket, "the live socket file is still there");
  } finally {
    for (const connection of queued) connection.close();
    listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});
