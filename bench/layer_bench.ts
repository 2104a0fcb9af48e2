/**
 * urocket's own layer per request, in memory: the front app (Hono, the
 * router, the exchange, the pending registry, the process group, the access
 * and `process_exit` lines, metrics) and the reply socket's handler, with a
 * spawner that "starts" nothing and replies at once through the reply
 * handler. No sockets, no processes, no Deno.serve: what is left is the
 * JavaScript urocket runs per request, measured on one thread, so that a
 * change to it can be compared without the noise of a shared machine's
 * scheduler (the whole pipeline is `deno task bench`'s).
 *
 *   deno bench -A --v8-flags=--max-semi-space-size=16 bench/layer_bench.ts
 *   deno run -A --v8-flags=--max-semi-space-size=16 bench/layer_bench.ts cpu
 *
 * The second prints the JavaScript thread's CPU time per request (from
 * /proc), eight requests in flight, for six rounds of 4,000 requests: less
 * disturbed by other work on the machine than wall time.
 *
 * @module
 */

import { createFrontApp } from "../lib/front/mod.ts";
import { loadGeneration } from "../lib/generation/mod.ts";
import { Logger } from "../lib/log/mod.ts";
import { Metrics } from "../lib/metrics/mod.ts";
import { PendingRequests } from "../lib/pending/mod.ts";
import { type ExitStatus, ProcessTable, type Spawned, type Spawner } from "../lib/process/mod.ts";
import { createReplyFetch } from "../lib/reply/mod.ts";

const dir = await Deno.makeTempDir({ prefix: "urocket-layer-" });
await Deno.writeTextFile(
  `${dir}/openapi.yaml`,
  "openapi: 3.0.3\ninfo: { title: t, version: '1' }\npaths:\n  /bench:\n    post:\n" +
    "      responses: { '200': { description: ok, content: { application/json: {} } } }\n",
);
await Deno.writeTextFile(
  `${dir}/urocket-service.yaml`,
  `socket: ${dir}/u.sock\npaths:\n  /bench:\n    post:\n      timeout: 30s\n` +
    `      inject: { cmd: /bin/true }\n`,
);
const generation = await loadGeneration(`${dir}/urocket-service.yaml`, {
  env: { PATH: "/usr/bin:/bin", HOME: "/root" },
});
await Deno.remove(dir, { recursive: true });

const registry = new PendingRequests();
// The log's bytes go nowhere, but are formatted and queued as in service.
const logger = new Logger({ write: () => Promise.resolve() });
const metrics = new Metrics("bench", {
  processGroups: () => 0,
  pending: () => 0,
  logLinesDropped: () => 0,
  logDropped: () => 0,
});
const replyFetch = createReplyFetch({
  registry,
  logger,
  metrics,
  templates: () => generation.outtakes,
});

let pids = 1_000_000;
/** Starts nothing: replies through the reply handler, then "exits" once answered. */
const spawner: Spawner = (spec): Spawned => {
  const id = spec.env.REQUEST_ID;
  const pid = pids++;
  const status = (async (): Promise<ExitStatus> => {
    await Promise.resolve();
    const answer = await replyFetch(
      new Request(`http://localhost/uri/${id}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: `{"id":"${id}"}`,
      }),
    );
    await answer.arrayBuffer();
    return {
      success: true,
      code: 0,
      signal: null,
      groupAlive: false,
      usage: { userUs: 300, sysUs: 200, maxRssKb: 1000 },
    };
  })();
  return {
    pid,
    status,
    stdin: null,
    feedStdin: () => Promise.resolve(),
    output: {
      kind: "relay",
      streams: ["stderr"],
      attach(sink) {
        status.then(() => sink.end("stderr"));
      },
      drop() {},
    },
  };
};

const front = createFrontApp({
  generation: () => generation,
  registry,
  processes: new ProcessTable(),
  spawner,
  logger,
  inheritedEnv: { PATH: "/usr/bin:/bin", HOME: "/root" },
  metrics,
});

const BODY = JSON.stringify({ bench: "payload", pad: "x".repeat(70) });

async function request(): Promise<void> {
  const response = await front.fetch(
    new Request("http://127.0.0.1:8080/bench", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: BODY,
    }),
  );
  if (response.status !== 200) throw new Error(`status ${response.status}`);
  await response.arrayBuffer();
}

/** CPU time of this process's main thread so far, in ms (from /proc, ticks of 10 ms). */
function threadCpuMs(): number {
  const stat = Deno.readTextFileSync(`/proc/${Deno.pid}/task/${Deno.pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

if (Deno.args[0] === "cpu") {
  const rounds: string[] = [];
  for (let round = 0; round < 6; round++) {
    const before = threadCpuMs();
    for (let i = 0; i < 4000; i += 8) {
      await Promise.all(Array.from({ length: 8 }, request));
    }
    rounds.push(((threadCpuMs() - before) / 4000 * 1000).toFixed(1));
  }
  console.log(
    `CPU µs per request, 8 in flight, by round (the first ones warm up): ${rounds.join(" ")}`,
  );
  Deno.exit(0);
}

Deno.bench("one request at a time", async () => {
  await request();
});

Deno.bench("eight requests at a time (per eight)", async () => {
  await Promise.all([
    request(),
    request(),
    request(),
    request(),
    request(),
    request(),
    request(),
    request(),
  ]);
});
