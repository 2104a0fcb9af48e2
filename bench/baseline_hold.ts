/**
 * The baseline for urocket's memory per request in flight: a bare Hono app
 * on `Deno.serve` that reads each request's body and holds the request on a
 * promise, 1,000 at once, with nothing of urocket around it. Prints the RSS
 * and the live heap (after a full collection) per held request, from idle
 * after 20 warm-up requests — as `deno task bench` measures urocket.
 *
 *   deno run -A --v8-flags=--max-semi-space-size=16,--expose-gc bench/baseline_hold.ts
 *
 * @module
 */

import { Hono } from "hono";

const HELD = 1000;
const PORT = 18_090;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --v8-flags=--expose-gc (see the module's comment)");

const waiting: (() => void)[] = [];
const app = new Hono();
app.post("/hold", async (c) => {
  const body = await c.req.arrayBuffer();
  await new Promise<void>((resolve) => waiting.push(resolve));
  return c.json({ bytes: body.byteLength });
});
const server = Deno.serve({ hostname: "127.0.0.1", port: PORT, onListen() {} }, app.fetch);

/** RSS as it is (as urocket's bench reads it, from outside), then the live heap after a full GC. */
function memory() {
  const { rss } = Deno.memoryUsage();
  gc!();
  return { rss, heapUsed: Deno.memoryUsage().heapUsed };
}

const body = JSON.stringify({ bench: "payload", pad: "x".repeat(70) });
// Warm up first, as urocket's bench does (20 requests), so the delta is per request, not JIT.
const warmUp = Array.from(
  { length: 20 },
  () => fetch(`http://127.0.0.1:${PORT}/hold`, { method: "POST", body }).then((r) => r.text()),
);
while (waiting.length < 20) await new Promise((resolve) => setTimeout(resolve, 10));
for (const resolve of waiting.splice(0)) resolve();
await Promise.all(warmUp);
// The client is a process of its own, so that its memory is not counted.
const client = new Deno.Command(Deno.execPath(), {
  args: [
    "eval",
    `await Promise.all(Array.from({ length: ${HELD} }, async () => {
      const response = await fetch("http://127.0.0.1:${PORT}/hold", { method: "POST", body: ${
      JSON.stringify(body)
    } });
      await response.text();
    }));`,
  ],
}).spawn();
const idle = memory();
while (waiting.length < HELD) await new Promise((resolve) => setTimeout(resolve, 50));
const held = memory();
const perRequest = (key: "rss" | "heapUsed") =>
  `${((held[key] - idle[key]) / 1024 / HELD).toFixed(1)} KiB`;
console.log(
  `bare Hono on Deno.serve, ${HELD} requests held: RSS ${perRequest("rss")} and live heap ${
    perRequest("heapUsed")
  } per request`,
);
for (const resolve of waiting) resolve();
await client.status;
await server.shutdown();
