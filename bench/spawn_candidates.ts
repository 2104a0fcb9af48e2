/**
 * Measures the spawn strategies urocket could use, without HTTP: spawns per
 * second and urocket-side CPU per spawn (process CPU, children excluded),
 * one at a time and 8 at a time. Each spawn starts the benchmark handler
 * with 100 bytes on stdin and stderr read to its end (without a socket it
 * exits at once), and waits for its exit. Run by `deno task bench` after it
 * has built `.bench/handler`, `.bench/trampoline` and `build/urocket-spawn`.
 *
 * @module
 */

import process from "node:process";
import { SpawnServer } from "../lib/process/spawn_server.ts";

const REPO = new URL("../", import.meta.url).pathname;
const HANDLER = `${REPO}.bench/handler`;
const TRAMPOLINE = `${REPO}.bench/trampoline`;
const SERVER = `${REPO}build/urocket-spawn`;
const SECONDS = Number(Deno.env.get("BENCH_SECONDS") ?? 3);
const PAYLOAD = new Uint8Array(100);

type Spawn = () => Promise<void>;

async function feed(stdin: WritableStream<Uint8Array> | null, stderr: ReadableStream<Uint8Array>) {
  if (stdin) {
    const writer = stdin.getWriter();
    await writer.write(PAYLOAD).catch(() => {});
    await writer.close().catch(() => {});
  }
  for await (const _ of stderr) {
    // Drained, as urocket does.
  }
}

function command(program: string, args: string[], detached: boolean): Spawn {
  return async () => {
    const child = new Deno.Command(program, {
      args,
      clearEnv: true,
      env: { PATH: "/usr/bin:/bin" },
      detached,
      stdin: "piped",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    await feed(child.stdin, child.stderr);
    await child.status;
  };
}

/** posix_spawn with POSIX_SPAWN_SETSID through FFI; stdio on /dev/null (Deno cannot adopt raw pipe fds). */
function ffiSpawn(): Spawn | undefined {
  try {
    const libc = Deno.dlopen("libc.so.6", {
      posix_spawn: {
        parameters: ["buffer", "buffer", "pointer", "buffer", "buffer", "buffer"],
        result: "i32",
      },
      posix_spawnattr_init: { parameters: ["buffer"], result: "i32" },
      posix_spawnattr_setflags: { parameters: ["buffer", "i16"], result: "i32" },
      waitpid: { parameters: ["i32", "buffer", "i32"], result: "i32", nonblocking: true },
    });
    const attr = new Uint8Array(512);
    libc.symbols.posix_spawnattr_init(attr);
    libc.symbols.posix_spawnattr_setflags(attr, 0x80 /* POSIX_SPAWN_SETSID */);
    const cstr = (s: string) => new TextEncoder().encode(s + "\0");
    const path = cstr(HANDLER);
    const env0 = cstr("PATH=/usr/bin:/bin");
    const pointer = (bytes: Uint8Array) =>
      BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(bytes as Uint8Array<ArrayBuffer>)));
    const argv = new BigUint64Array([pointer(path), 0n]);
    const envp = new BigUint64Array([pointer(env0), 0n]);
    return async () => {
      const pid = new Int32Array(1);
      const rc = libc.symbols.posix_spawn(pid, path, null, attr, argv, envp);
      if (rc !== 0) throw new Error(`posix_spawn: ${rc}`);
      await libc.symbols.waitpid(pid[0], new Int32Array(1), 0);
    };
  } catch {
    return undefined;
  }
}

/** The trampoline spawned from a Worker: urocket's thread never blocks, at the price of messages. */
function workerSpawn(): Spawn {
  const worker = new Worker(new URL("./spawn_worker.ts", import.meta.url), { type: "module" });
  const waiting = new Map<number, () => void>();
  let next = 0;
  worker.onmessage = (event) => {
    if (event.data.code === undefined) return;
    waiting.get(event.data.id)?.();
    waiting.delete(event.data.id);
  };
  return () =>
    new Promise<void>((resolve) => {
      const id = next++;
      waiting.set(id, resolve);
      worker.postMessage({ id, program: TRAMPOLINE, args: ["--", HANDLER] });
    });
}

async function serverSpawn(): Promise<[Spawn, () => Promise<void>]> {
  const dir = await Deno.makeTempDir({ prefix: "urocket-bench-spawn-" });
  const server = SpawnServer.start({ helper: SERVER, dir });
  const spawn = async () => {
    const spawned = await server.spawn({
      program: HANDLER,
      args: [],
      cwd: "/tmp",
      env: { PATH: "/usr/bin:/bin" },
      stdin: true,
      stdout: false,
      payload: PAYLOAD, // piped by the server, as urocket does for payloads up to 64 KiB
    });
    await spawned.feedStdin?.(PAYLOAD);
    // The server relays stderr; its end is known as soon as the handler closed it.
    const output = spawned.output;
    if (output.kind === "relay") {
      await new Promise<void>((resolve) => output.attach({ data() {}, end: () => resolve() }));
    } else await feed(spawned.stdin, output.stderr);
    await spawned.status;
  };
  return [spawn, async () => {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }];
}

async function measure(spawn: Spawn, concurrency: number) {
  await spawn();
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const end = start + SECONDS * 1000;
  let count = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      await spawn();
      count++;
    }
  }));
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return {
    perSecond: Math.round(count / seconds),
    cpuMsPerSpawn: ((cpu.user + cpu.system) / 1000 / count).toFixed(3),
  };
}

const [server, stopServer] = await serverSpawn();
const candidates: [string, string, Spawn | undefined][] = [
  ["Deno.Command, detached: true", "yes", command(HANDLER, [], true)],
  ["Deno.Command, plain", "no", command(HANDLER, [], false)],
  [
    "plain spawn of a static setsid+exec trampoline",
    "yes",
    command(TRAMPOLINE, ["--", HANDLER], false),
  ],
  [
    "plain spawn of /usr/bin/setsid (util-linux, dynamic)",
    "yes",
    command("/usr/bin/setsid", [HANDLER], false),
  ],
  ["trampoline spawned from a Worker", "yes", workerSpawn()],
  ["FFI posix_spawn + POSIX_SPAWN_SETSID, no pipes, --allow-ffi", "yes", ffiSpawn()],
  ["spawn server (build/urocket-spawn), output relayed on its connection", "yes", server],
];
console.log("| candidate | group kill | c | spawns/s | urocket CPU ms/spawn |");
console.log("|---|---|---|---|---|");
for (const [name, kill, spawn] of candidates) {
  if (!spawn) {
    console.log(`| ${name} | ${kill} | — | unavailable | |`);
    continue;
  }
  for (const c of [1, 8]) {
    const r = await measure(spawn, c);
    console.log(`| ${name} | ${kill} | ${c} | ${r.perSecond} | ${r.cpuMsPerSpawn} |`);
  }
}
await stopServer();
Deno.exit(0);
