/**
 * The Worker side of the "spawn off the main thread" candidate in
 * bench/spawn_candidates.ts: spawns the trampoline, writes the payload,
 * drains stderr and posts the exit back.
 *
 * @module
 */

/// <reference lib="deno.worker" />

self.onmessage = (event: MessageEvent<{ id: number; program: string; args: string[] }>) => {
  const { id, program, args } = event.data;
  const child = new Deno.Command(program, {
    args,
    clearEnv: true,
    env: { PATH: "/usr/bin:/bin" },
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  self.postMessage({ id, pid: child.pid });
  (async () => {
    const writer = child.stdin.getWriter();
    await writer.write(new Uint8Array(100)).catch(() => {});
    await writer.close().catch(() => {});
    await child.stderr.cancel().catch(() => {});
    const status = await child.status;
    self.postMessage({ id, code: status.code });
  })();
};
