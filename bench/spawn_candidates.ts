/**
 * Measures the spawn strategies urocket could use, without HTTP: spawns per
 * second and urocket-side CPU per spawn, sequentially and 8 at a time, each
 * spawning the benchmark handler with stdin and stderr piped (it exits at
 * once without a socket). Run by `deno task bench:spawn` after the bench has
 * built `.bench/handler` and `build/urocket-exec`.
 *
 * @module
 */

import process from "node:process";

const REPO = new URL("../", import.meta.url).pathname;
const HANDLER = `${REPO}.bench/handler`;
const HELPER = `${REPO}build/urocket-exec`;
const SECONDS = Number(Deno.env.get("BENCH_SECONDS") ?? 3);

type Spawn = () => Promise<void>;

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
    const writer = child.stdin.getWriter();
    await writer.write(new Uint8Array(100)).catch(() => {});
    await writer.close().catch(() => {});
    await child.stderr.cancel().catch(() => {});
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
    const arg0 = cstr(HANDLER);
    const env0 = cstr("PATH=/usr/bin:/bin");
    const argv = new BigUint64Array([
      BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(arg0))),
      0n,
    ]);
    const envp = new BigUint64Array([
      BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(env0))),
      0n,
    ]);
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

async function measure(spawn: Spawn, concurrency: number) {
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

const candidates: [string, Spawn | undefined][] = [
  ["Deno.Command, detached: true", command(HANDLER, [], true)],
  ["Deno.Command, plain (no group kill)", command(HANDLER, [], false)],
  ["plain spawn of build/urocket-exec (static)", command(HELPER, ["--", HANDLER], false)],
  ["plain spawn of /usr/bin/setsid (dynamic)", command("/usr/bin/setsid", [HANDLER], false)],
  ["FFI posix_spawn + POSIX_SPAWN_SETSID (no pipes)", ffiSpawn()],
];
console.log("| candidate | c | spawns/s | urocket CPU ms/spawn |");
console.log("|---|---|---|---|");
for (const [name, spawn] of candidates) {
  if (!spawn) {
    console.log(`| ${name} | — | unavailable | |`);
    continue;
  }
  for (const c of [1, 8]) {
    const r = await measure(spawn, c);
    console.log(`| ${name} | ${c} | ${r.perSecond} | ${r.cpuMsPerSpawn} |`);
  }
}
