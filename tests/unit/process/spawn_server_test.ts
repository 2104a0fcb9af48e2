import {
  deepStrictEqual,
  match,
  notStrictEqual,
  ok,
  rejects,
  strictEqual,
} from "node:assert/strict";
import { concatBytes } from "../../../lib/http/body.ts";
import { Logger } from "../../../lib/log/logger.ts";
import { type OutputStream, type Spawned, SpawnError } from "../../../lib/process/spawn.ts";
import { commandStatus } from "../../../lib/process/_spawn_protocol.ts";
import { SpawnServer } from "../../../lib/process/spawn_server.ts";
import { chooseSpawnStrategy } from "../../../lib/process/spawn_strategy.ts";
import { skipWhen } from "../../_skip.ts";

const BUILT = new URL("../../../build/urocket-spawn", import.meta.url).pathname;
/** `deno task test` builds the helper first; without a C compiler there is none. */
const built = await Deno.stat(BUILT).then(() => true, () => false);
const NOT_BUILT = built ? undefined : `the spawn helper is not built (no C compiler): ${BUILT}`;
const NOT_ROOT = Deno.uid() === 0 ? undefined : "needs root";
const logger = new Logger({ write: () => Promise.resolve() });

Deno.test("commandStatus() reads an exit code and a signal from a raw wait status", () => {
  deepStrictEqual(commandStatus(0), { success: true, code: 0, signal: null });
  deepStrictEqual(commandStatus(3 << 8), { success: false, code: 3, signal: null });
  deepStrictEqual(commandStatus(9), { success: false, code: 137, signal: "SIGKILL" });
  deepStrictEqual(commandStatus(15), { success: false, code: 143, signal: "SIGTERM" });
});

Deno.test("chooseSpawnStrategy() falls back to detached: true when no helper was built", async () => {
  const strategy = await chooseSpawnStrategy({
    env: {},
    logger,
    builtHelper: "/nonexistent/urocket-spawn",
  });
  strictEqual(strategy.mode, "detached");
  match(strategy.reason, /deno task build-helper/);
  await strategy.dispose();
});

Deno.test("chooseSpawnStrategy() falls back when the built helper speaks another protocol", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/old`, "#!/bin/sh\necho 'urocket-spawn 0'\n", { mode: 0o755 });
    const strategy = await chooseSpawnStrategy({ env: {}, logger, builtHelper: `${dir}/old` });
    strictEqual(strategy.mode, "detached");
    match(strategy.reason, /protocol 0, this urocket needs 5: rebuild it/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  ...skipWhen(
    NOT_BUILT,
    "chooseSpawnStrategy() copies a helper it cannot execute in place (as in a compiled urocket) into its private directory",
  ),
  async fn() {
    const dir = await Deno.makeTempDir();
    const tmp = await Deno.makeTempDir();
    try {
      // Readable but not executable, like a file embedded with deno compile --include.
      await Deno.writeFile(`${dir}/urocket-spawn`, await Deno.readFile(BUILT), { mode: 0o644 });
      const strategy = await chooseSpawnStrategy({
        env: { TMPDIR: tmp },
        logger,
        builtHelper: `${dir}/urocket-spawn`,
      });
      try {
        strictEqual(strategy.mode, "spawn_server");
        match(strategy.reason, /^copied from /);
        ok(strategy.helper?.startsWith(`${tmp}/urocket-`), strategy.helper);
        strictEqual((await Deno.stat(strategy.helper!)).mode! & 0o777, 0o700);
        const spawned = await strategy.spawner({
          program: "/bin/sh",
          args: ["-c", "exit 7"],
          cwd: "/",
          env: {},
          stdin: false,
          stdout: false,
        });
        await output(spawned);
        strictEqual((await spawned.status).code, 7);
      } finally {
        await strategy.dispose();
      }
      deepStrictEqual([...Deno.readDirSync(tmp)], [], "the private directory is removed");
    } finally {
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  ...skipWhen(
    NOT_BUILT,
    "SpawnServer.spawn() rejects with the errno of a program or folder that cannot be used",
  ),
  async fn() {
    await withServer(async (server, dir) => {
      await Deno.writeTextFile(`${dir}/script`, "#!/bin/sh\n", { mode: 0o644 });
      const spec = { args: [], env: {}, stdin: true, stdout: true, payload: new Uint8Array(3) };
      await rejects(server.spawn({ ...spec, program: `${dir}/script`, cwd: dir }), (error) => {
        ok(error instanceof SpawnError);
        strictEqual(error.code, "EACCES");
        match(error.message, /Permission denied/);
        return true;
      });
      await rejects(
        server.spawn({ ...spec, program: "/bin/true", cwd: `${dir}/none` }),
        (error) => {
          ok(error instanceof SpawnError);
          strictEqual(error.code, "ENOENT");
          return true;
        },
      );
      // A uid over 32 bits would wrap around (4294967296 to root): refused, whatever asks.
      await rejects(
        server.spawn({
          ...spec,
          program: "/usr/bin/id",
          cwd: dir,
          user: { uid: 4294967296, gid: 0, groups: [0] },
        }),
        (error) => error instanceof SpawnError && error.code === "EINVAL",
      );
      const spawned = await server.spawn({ ...spec, program: "/bin/true", cwd: dir });
      notStrictEqual(spawned.pid, server.pid);
      await output(spawned);
      const { usage, ...status } = await spawned.status;
      deepStrictEqual(status, { success: true, code: 0, signal: null, groupAlive: false });
      ok(usage && usage.maxRssKb > 0 && usage.userUs >= 0 && usage.sysUs >= 0, String(usage));
    });
  },
});

/**
 * Runs `test` against a spawn server whose address space is capped at 8 MiB (`ulimit -v`): enough
 * to serve (about 1 MiB) and to hold a 2 MiB request frame, not for an 8 MiB one or the 8 MiB argv
 * of a million arguments. `exited` settles if the server exits.
 */
async function withShortServer(
  test: (server: SpawnServer, exited: Promise<Deno.CommandStatus>) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/short`, `#!/bin/sh\nulimit -v 8192\nexec "${BUILT}" "$@"\n`, {
    mode: 0o755,
  });
  let onExit!: (status: Deno.CommandStatus) => void;
  const exited = new Promise<Deno.CommandStatus>((resolve) => onExit = resolve);
  const server = SpawnServer.start({ helper: `${dir}/short`, dir, onExit });
  try {
    await test(server, exited);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** A process the short server can start: the helper itself is static and small. */
const VERSION_SPEC = {
  program: BUILT,
  args: ["--version"],
  cwd: "/",
  env: {},
  stdin: false,
  stdout: false,
};

Deno.test({
  ...skipWhen(
    NOT_BUILT,
    "SpawnServer.spawn() rejects with ENOMEM when the server cannot allocate a request's argv, and the server serves on",
  ),
  async fn() {
    await withShortServer(async (server) => {
      const small = await server.spawn(VERSION_SPEC);
      await output(small);
      strictEqual((await small.status).code, 0, "the short server can start a process");
      // A 2 MiB frame, whose argv takes 8 MiB of pointers.
      const args = Array.from({ length: 1_000_000 }, () => "x");
      await rejects(server.spawn({ ...VERSION_SPEC, args }), (error) => {
        ok(error instanceof SpawnError);
        strictEqual(error.code, "ENOMEM");
        return true;
      });
      ok(server.alive, "the server died instead of answering F");
      const after = await server.spawn(VERSION_SPEC);
      await output(after);
      strictEqual((await after.status).code, 0);
    });
  },
});

Deno.test({
  ...skipWhen(
    NOT_BUILT,
    "SpawnServer's server exits with status 2 when it cannot allocate room for a request frame, instead of crashing",
  ),
  async fn() {
    await withShortServer(async (server, exited) => {
      // A frame of 7 MiB: the server's request buffer would grow to 8 MiB.
      await rejects(server.spawn({ ...VERSION_SPEC, args: ["x".repeat(7 << 20)] }), SpawnError);
      const { code, signal } = await exited;
      deepStrictEqual({ code, signal }, { code: 2, signal: null });
    });
  },
});

/** Runs `test` against a spawn server in a new folder; closes both, whatever happens. */
async function withServer(
  test: (server: SpawnServer, dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const server = SpawnServer.start({ helper: BUILT, dir });
  try {
    await test(server, dir);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** A process's whole output, as bytes and as text. */
interface Output {
  bytes: Record<OutputStream, Uint8Array>;
  stdout: string;
  stderr: string;
}

/** Collects a process's output until every stream it relays has ended. */
function output(spawned: Spawned): Promise<Output> {
  const relay = spawned.output;
  if (relay.kind !== "relay") throw new Error("the spawn server relays output");
  const chunks: Record<OutputStream, Uint8Array[]> = { stdout: [], stderr: [] };
  let open = relay.streams.length;
  return new Promise((resolve) => {
    relay.attach({
      data: (stream, bytes) => chunks[stream].push(bytes),
      end: () => {
        if (--open > 0) return;
        const bytes = { stdout: concatBytes(chunks.stdout), stderr: concatBytes(chunks.stderr) };
        const decoder = new TextDecoder();
        resolve({
          bytes,
          stdout: decoder.decode(bytes.stdout),
          stderr: decoder.decode(bytes.stderr),
        });
      },
    });
  });
}

Deno.test({
  ...skipWhen(
    NOT_BUILT,
    "SpawnServer makes a process's cgroup with its limits, joins it before exec, and removes it on release (cgroupfs layout)",
  ),
  async fn() {
    await withServer(async (server, dir) => {
      const cg = `${dir}/cg`;
      await Deno.mkdir(cg);
      const spawned = await server.spawn({
        program: "/bin/sh",
        // The first thing the handler does: find the group that lists its pid.
        args: ["-c", `grep -lx "$$" ${cg}/req-*/cgroup.procs; cat ${cg}/req-*/cpu.max`],
        cwd: dir,
        env: {},
        stdin: false,
        stdout: true,
        cgroup: { parent: cg, memoryMax: "1048576", cpuMax: "50000 100000", pidsMax: "8" },
      });
      const out = (await output(spawned)).stdout;
      const [procs, cpuMax] = out.trim().split("\n");
      const group = procs.replace(/\/cgroup\.procs$/, "");
      match(group, new RegExp(`^${cg}/req-[0-9a-f]{16}$`));
      strictEqual(cpuMax, "50000 100000");
      strictEqual(await Deno.readTextFile(`${group}/cgroup.procs`), `${spawned.pid}\n`);
      strictEqual(await Deno.readTextFile(`${group}/memory.max`), "1048576");
      strictEqual(await Deno.readTextFile(`${group}/memory.oom.group`), "1");
      strictEqual(await Deno.readTextFile(`${group}/pids.max`), "8");
      const status = await spawned.status;
      strictEqual(status.code, 0);
      strictEqual(status.oomKills, 0, "a cgroup without memory.events counts no OOM kill");
      // Accounting files as the kernel would have them.
      await Deno.writeTextFile(
        `${group}/cpu.stat`,
        "usage_usec 30\nuser_usec 20\nsystem_usec 10\n",
      );
      await Deno.writeTextFile(`${group}/memory.events`, "oom 0\noom_kill 0\n");
      deepStrictEqual(await spawned.release!(), {
        userUs: 20,
        sysUs: 10,
        peakBytes: undefined,
        oomKills: 0,
        removed: true,
      });
      await rejects(Deno.stat(group), Deno.errors.NotFound);

      // A cgroup that cannot be made: not started, nothing left behind.
      await rejects(
        server.spawn({
          program: "/bin/true",
          args: [],
          cwd: dir,
          env: {},
          stdin: false,
          stdout: false,
          cgroup: { parent: `${dir}/none`, pidsMax: "1" },
        }),
        (error) => error instanceof SpawnError && error.code === "ENOENT",
      );
      deepStrictEqual([...Deno.readDirSync(cg)], []);
    });
  },
});

Deno.test({
  ...skipWhen(
    NOT_BUILT ?? NOT_ROOT,
    "SpawnServer switches a process to another user and its groups before exec",
  ),
  async fn() {
    const dir = await Deno.makeTempDir();
    await Deno.chmod(dir, 0o755);
    const server = SpawnServer.start({ helper: BUILT, dir });
    try {
      const spawned = await server.spawn({
        program: "/bin/sh",
        args: ["-c", "id -u; id -g; id -G"],
        cwd: "/",
        env: { PATH: "/usr/bin:/bin" },
        stdin: false,
        stdout: true,
        user: { uid: 65534, gid: 65534, groups: [65534, 100] },
      });
      const out = (await output(spawned)).stdout;
      strictEqual(out, "65534\n65534\n65534 100\n");
      strictEqual((await spawned.status).code, 0);
    } finally {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/**
 * Where this test may create cgroups of the real kernel: a cgroup2 mount it
 * can write (as root), checked by making and removing a group; else undefined.
 */
async function realCgroup2(): Promise<string | undefined> {
  if (!built || Deno.uid() !== 0) return undefined;
  const mounts = await Deno.readTextFile("/proc/self/mounts");
  const mount = mounts.split("\n").map((line) => line.split(" ")).find((f) =>
    f[2] === "cgroup2" && f[3]?.startsWith("rw")
  )?.[1];
  if (!mount) return undefined;
  const probe = `${mount}/urocket-test-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await Deno.mkdir(probe);
    await Deno.remove(probe);
  } catch {
    return undefined;
  }
  return mount;
}

const kernelMount = await realCgroup2();
const NO_KERNEL_CGROUP = kernelMount ? undefined : NOT_BUILT ?? NOT_ROOT ??
  "no cgroup2 mount this test can write (cgroup v1, the hybrid layout, or a read-only cgroupfs)";

/** A new cgroup of the real kernel, for one test. */
async function kernelCgroup(): Promise<string> {
  const dir = `${kernelMount}/urocket-test-${crypto.randomUUID().slice(0, 8)}`;
  await Deno.mkdir(dir);
  return dir;
}

/** Waits until `pid` is gone (it was SIGKILLed; its reaper may take a moment). */
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 500; i++) {
    try {
      Deno.kill(pid, 0 as unknown as Deno.Signal);
    } catch {
      return true;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return false;
}

Deno.test({
  ...skipWhen(
    NO_KERNEL_CGROUP,
    "SpawnServer on the real kernel: the process is in its cgroup by its first command, cpu.stat counts it, release kills an escaped process and removes the group",
  ),
  async fn() {
    const kernelGroup = await kernelCgroup();
    const dir = await Deno.makeTempDir();
    const server = SpawnServer.start({ helper: BUILT, dir });
    try {
      const spawned = await server.spawn({
        program: "/bin/sh",
        args: [
          "-c",
          // First: where the kernel says this process is. Then a process that leaves the
          // process group (setsid) but not the cgroup, and some CPU.
          'cat /proc/self/cgroup; setsid sleep 1000 </dev/null >/dev/null 2>&1 & echo "$!"; ' +
          "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done",
        ],
        cwd: "/",
        env: { PATH: "/usr/bin:/bin" },
        stdin: false,
        stdout: true,
        cgroup: { parent: kernelGroup },
      });
      const out = (await output(spawned)).stdout.trim().split("\n");
      const relative = kernelGroup.slice(kernelMount!.length);
      const own = out.find((line) => line.startsWith("0::"));
      match(String(own), new RegExp(`^0::${relative}/req-[0-9a-f]{16}$`));
      // cat ran as a child of the shell, after the join: the shell was in the group already.
      const escaped = Number(out.at(-1));
      await spawned.status;
      const usage = await spawned.release!();
      ok(usage && usage.userUs! + usage.sysUs! > 10_000, JSON.stringify(usage));
      ok(await gone(escaped), "cgroup.kill ended the process that left the process group");
      for (
        let i = 0;
        i < 500 && [...Deno.readDirSync(kernelGroup)].some((e) => e.isDirectory);
        i++
      ) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      deepStrictEqual(
        [...Deno.readDirSync(kernelGroup)].filter((e) => e.isDirectory).map((e) => e.name),
        [],
        "the group was removed",
      );
    } finally {
      await server.close();
      await Deno.remove(kernelGroup).catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  ...skipWhen(
    NO_KERNEL_CGROUP,
    "urocket-spawn --cgroup-setup on the real kernel moves the processes of the cgroup, its parent first, into a leaf",
  ),
  async fn() {
    const group = await kernelCgroup();
    try {
      // sh is the helper's parent (urocket, in real life): it joins the cgroup, runs the setup,
      // then says where the kernel put it.
      const output = await new Deno.Command("/bin/sh", {
        args: [
          "-c",
          `echo $$ > ${group}/cgroup.procs && ${BUILT} --cgroup-setup "" ${group}; ` +
          "grep '^0::' /proc/self/cgroup",
        ],
        stdout: "piped",
      }).output();
      const [answer, own] = new TextDecoder().decode(output.stdout).trim().split("\n");
      strictEqual(answer, `ok - ${group}`);
      const relative = group.slice(kernelMount!.length);
      strictEqual(own, `0::${relative}/urocket`);
      strictEqual(
        (await Deno.readTextFile(`${group}/cgroup.procs`)).trim(),
        "",
        "the cgroup is empty",
      );
    } finally {
      await Deno.remove(`${group}/urocket`).catch(() => {});
      await Deno.remove(group).catch(() => {});
    }
  },
});

Deno.test({
  ...skipWhen(
    NOT_BUILT,
    "SpawnServer relays a process's stderr and stdout byte for byte, over many chunks, invalid UTF-8 and newlines included",
  ),
  async fn() {
    await withServer(async (server, dir) => {
      // 300 KiB of every byte value on each stream: many 16 KiB relay chunks, interleaved.
      const data = new Uint8Array(300 * 1024).map((_, i) => (i * 7 + (i >> 10)) & 0xff);
      await Deno.writeFile(`${dir}/data`, data);
      const spawned = await server.spawn({
        program: "/bin/sh",
        args: ["-c", 'cat "$1" >&2 & cat "$1"; wait', "sh", `${dir}/data`],
        cwd: dir,
        env: {},
        stdin: false,
        stdout: true,
      });
      const { bytes } = await output(spawned);
      deepStrictEqual(bytes.stdout, data);
      deepStrictEqual(bytes.stderr, data);
      strictEqual((await spawned.status).code, 0);
    });
  },
});

Deno.test({
  ...skipWhen(
    NOT_BUILT,
    "SpawnServer relays all a process wrote before it exited ahead of its exit, so none is cut off",
  ),
  async fn() {
    await withServer(async (server, dir) => {
      // 48 KiB of stderr each, written at once before exiting: more than one 16 KiB relay chunk.
      const size = 48 * 1024;
      await Deno.writeFile(`${dir}/data`, new Uint8Array(size).fill(0x78));
      const runs = await Promise.all(Array.from({ length: 8 }, async () => {
        const spawned = await server.spawn({
          program: "/bin/sh",
          args: ["-c", 'cat "$1" >&2', "sh", `${dir}/data`],
          cwd: dir,
          env: {},
          stdin: false,
          stdout: false,
        });
        const relay = spawned.output;
        if (relay.kind !== "relay") throw new Error("the spawn server relays output");
        let bytes = 0;
        let ended = false;
        relay.attach({ data: (_, chunk) => bytes += chunk.length, end: () => ended = true });
        // What had arrived, and whether the output (stderr alone) had ended, when the exit came.
        return await spawned.status.then(() => ({ bytes, ended }));
      }));
      deepStrictEqual(runs, runs.map(() => ({ bytes: size, ended: true })));
    });
  },
});

Deno.test({
  ...skipWhen(
    NOT_BUILT,
    "SpawnServer starts many processes at once, some failing to start, and reports each one's own output and exit",
  ),
  async fn() {
    await withServer(async (server, dir) => {
      // Started at once (cloned without waiting, in a cpu cgroup): each process's S, output and exit must
      // still reach its own request, and a failed start its own error.
      const runs = await Promise.all(Array.from({ length: 64 }, async (_, i) => {
        const program = i % 8 === 7 ? `${dir}/missing` : "/bin/sh";
        try {
          const spawned = await server.spawn({
            program,
            args: ["-c", 'echo "run $1" >&2; exit "$2"', "sh", String(i), String(i % 5)],
            cwd: dir,
            env: {},
            stdin: false,
            stdout: false,
          });
          const [text, status] = await Promise.all([output(spawned), spawned.status]);
          return `${text.stderr.trim()} exit ${status.code}`;
        } catch (error) {
          return `${i} ${(error as SpawnError).code}`;
        }
      }));
      deepStrictEqual(
        runs,
        runs.map((_, i) => i % 8 === 7 ? `${i} ENOENT` : `run ${i} exit ${i % 5}`),
      );
    });
  },
});

Deno.test({
  ...skipWhen(
    NOT_BUILT,
    "SpawnServer.close() removes the cgroups of processes still running, even while they fill their relayed output",
  ),
  async fn() {
    const dir = await Deno.makeTempDir();
    const cg = `${dir}/cg`;
    await Deno.mkdir(cg);
    const server = SpawnServer.start({ helper: BUILT, dir });
    const running = await Promise.all(Array.from({ length: 4 }, async () => {
      const spawned = await server.spawn({
        program: "/bin/sh",
        args: ["-c", "exec yes >&2"],
        cwd: dir,
        env: { PATH: "/usr/bin:/bin" },
        stdin: false,
        stdout: false,
        cgroup: { parent: cg, pidsMax: "8" },
      });
      const relay = spawned.output;
      if (relay.kind !== "relay") throw new Error("the spawn server relays output");
      // Output is on its way (and more is coming) when urocket closes the server.
      await new Promise<void>((resolve) => relay.attach({ data: () => resolve(), end: () => {} }));
      return spawned;
    }));
    await server.close();
    deepStrictEqual([...Deno.readDirSync(cg)].map((entry) => entry.name), []);
    for (const spawned of running) {
      try {
        Deno.kill(-spawned.pid, "SIGKILL"); // a cgroupfs layout in a plain folder kills nothing
      } catch {
        // Gone already (EPIPE once the server closed its pipe).
      }
      await spawned.status.catch(() => {});
    }
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  // Needs root to run the server as nobody, and setpriv (util-linux).
  ...skipWhen(
    NOT_BUILT ?? NOT_ROOT ??
      (await exists("/usr/bin/setpriv") ? undefined : "setpriv (util-linux) is not installed"),
    "SpawnServer feeds a 64 KiB payload to a pipe that holds less, as the handler reads, instead of blocking",
  ),
  // A server that blocks on the pipe never answers: fail, rather than hang the suite.
  timeout: 30_000,
  async fn() {
    const dir = await Deno.makeTempDir();
    await Deno.chmod(dir, 0o777);
    // The server as nobody, which already holds more pipes (FIFOs) than fs/pipe-user-pages-soft
    // allows at full size: every new pipe of nobody's then holds 8 KiB (pipe(7)).
    await Deno.writeTextFile(
      `${dir}/as-nobody`,
      `#!/bin/bash
ulimit -n 4096
exec setpriv --reuid=65534 --regid=65534 --clear-groups bash -c '
  for i in $(seq 1100); do mkfifo "$0/fifo$i" && exec {fd}<>"$0/fifo$i" || exit 1; done
  exec "$@"' "${dir}" "${BUILT}" "$@"
`,
    );
    await Deno.chmod(`${dir}/as-nobody`, 0o755);
    const server = SpawnServer.start({ helper: `${dir}/as-nobody`, dir });
    // Before the server reads its token and connects (it waits on its stdin): nobody may connect.
    Deno.chmodSync(`${dir}/spawn.sock`, 0o777);
    try {
      const payload = new Uint8Array(64 * 1024).fill(0x70);
      const spawned = await server.spawn({
        program: "/bin/sh",
        args: ["-c", "wc -c"],
        cwd: dir,
        env: {},
        stdin: true,
        payload,
        stdout: true,
      });
      strictEqual((await output(spawned)).stdout.trim(), String(payload.length));
      strictEqual((await spawned.status).code, 0);
    } finally {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  ...skipWhen(
    NOT_BUILT,
    "SpawnServer stops relaying the output of a process that escaped its group once the relay is dropped",
  ),
  async fn() {
    await withServer(async (server, dir) => {
      // The escaped process keeps stderr and writes to it until a write fails (EPIPE).
      const script = `setsid sh -c 'trap "" PIPE; echo started > "$1/started";
        while echo still >&2; do sleep 0.05; done; echo epipe > "$1/epipe"' sh "$1" &`;
      const spawned = await server.spawn({
        program: "/bin/sh",
        args: ["-c", script, "sh", dir],
        cwd: dir,
        env: { PATH: "/usr/bin:/bin" },
        stdin: false,
        stdout: false,
      });
      strictEqual((await spawned.status).code, 0);
      const relay = spawned.output;
      if (relay.kind !== "relay") throw new Error("the spawn server relays output");
      const first = await new Promise<Uint8Array>((resolve) =>
        relay.attach({ data: (_, bytes) => resolve(bytes), end: () => {} })
      );
      strictEqual(new TextDecoder().decode(first), "still\n");
      relay.drop();
      // Once the server closed its end, the escaped process's next write fails.
      for (let i = 0; i < 200 && !(await exists(`${dir}/epipe`)); i++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      ok(await exists(`${dir}/epipe`), "the server still holds the pipe");
    });
  },
});

function exists(path: string): Promise<boolean> {
  return Deno.stat(path).then(() => true, () => false);
}

Deno.test({
  ...skipWhen(
    NOT_BUILT,
    "SpawnServer.close() kills a server that does not exit, instead of waiting for it forever",
  ),
  async fn() {
    const dir = await Deno.makeTempDir();
    const server = SpawnServer.start({ helper: BUILT, dir });
    try {
      // Once a process ran, the control connection is up and close() has only to end it.
      const spawned = await server.spawn({
        program: "/bin/true",
        args: [],
        cwd: dir,
        env: {},
        stdin: false,
        stdout: false,
      });
      await output(spawned);
      await spawned.status;
      Deno.kill(server.pid, "SIGSTOP"); // it can no longer see the connection end
      await server.close();
      ok(!server.alive);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
