import { strictEqual } from "node:assert/strict";
import { createFrontApp } from "../../../lib/front/front_app.ts";
import { loadGeneration } from "../../../lib/generation/generation.ts";
import { Logger } from "../../../lib/log/logger.ts";
import { type DeliveryResult, PendingRequests } from "../../../lib/pending/registry.ts";
import { detachedSpawner, type Spawner } from "../../../lib/process/spawn.ts";
import { ProcessTable } from "../../../lib/process/table.ts";

/** One operation, POST /run, whose handler is `command`; what createFrontApp() needs around it. */
async function setUp(command: string) {
  const dir = await Deno.makeTempDir({ prefix: "urocket-front-" });
  await Deno.writeTextFile(
    `${dir}/openapi.yaml`,
    "openapi: 3.0.3\ninfo: { title: t, version: '1' }\npaths:\n  /run:\n    post:\n" +
      "      responses: { '200': { description: ok } }\n",
  );
  await Deno.writeTextFile(
    `${dir}/urocket-service.yaml`,
    `socket: ${dir}/u.sock\npaths:\n  /run:\n    post:\n      inject: { cmd: "${command}" }\n`,
  );
  const generation = await loadGeneration(`${dir}/urocket-service.yaml`, {
    env: { PATH: "/usr/bin:/bin" },
  });
  return {
    dir,
    generation,
    registry: new PendingRequests(),
    processes: new ProcessTable(),
    logger: new Logger({ write: () => Promise.resolve() }),
  };
}

Deno.test({
  name:
    "createFrontApp() tells a reply that lost the race to the client's disconnect that the request is gone",
  sanitizeOps: true,
  sanitizeResources: true,
  async fn() {
    const { dir, generation, registry, processes, logger } = await setUp("/bin/sleep 30");
    let spawned!: (id: string) => void;
    const requestId = new Promise<string>((resolve) => spawned = resolve);
    const spawner: Spawner = (spec) => {
      const result = detachedSpawner(spec);
      spawned(spec.env.REQUEST_ID);
      return result;
    };
    const app = createFrontApp({
      generation: () => generation,
      registry,
      processes,
      spawner,
      logger,
      inheritedEnv: {},
    });
    const client = new AbortController();
    const response = app.request("/run", { method: "POST", body: "{}", signal: client.signal });
    const id = await requestId;
    // Wait until the exchange waits for the reply (the spawn has been answered).
    while (processes.live === 0) await new Promise((resolve) => setTimeout(resolve, 1));

    // The reply is delivered and the client leaves in the same turn: the disconnect wins.
    const claim = registry.claim(id, "/uri/{req_id}");
    strictEqual(claim.kind, "claimed");
    if (claim.kind !== "claimed") return;
    const delivered = claim.request.deliver({
      status: 200,
      headers: new Headers(),
      body: new Uint8Array(),
    });
    client.abort();

    let timer: ReturnType<typeof setTimeout> | undefined;
    const answer = await Promise.race([
      delivered,
      new Promise<DeliveryResult | "hung">((resolve) => timer = setTimeout(resolve, 5_000, "hung")),
    ]);
    clearTimeout(timer);
    strictEqual(typeof answer === "string" ? answer : answer.kind, "gone");
    strictEqual((await response).status, 499);
    await processes.idle();
    await logger.flush();
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name:
    "createFrontApp() leaves no listener on urocket's stopping signal when the client left during the spawn",
  sanitizeOps: true,
  sanitizeResources: true,
  async fn() {
    const { dir, generation, registry, processes, logger } = await setUp("/bin/sleep 0.05");
    // urocket's stopping signal lives as long as urocket: a listener left on it is a leak.
    const stopping = new AbortController().signal;
    const listening = new Set<unknown>();
    const add = stopping.addEventListener.bind(stopping);
    const remove = stopping.removeEventListener.bind(stopping);
    stopping.addEventListener = ((type: string, listener: EventListener, options?: boolean) => {
      listening.add(listener);
      add(type, listener, options);
    }) as typeof stopping.addEventListener;
    stopping.removeEventListener = ((type: string, listener: EventListener, options?: boolean) => {
      listening.delete(listener);
      remove(type, listener, options);
    }) as typeof stopping.removeEventListener;
    const client = new AbortController();
    const spawner: Spawner = (spec) => {
      client.abort();
      return detachedSpawner(spec);
    };
    const app = createFrontApp({
      generation: () => generation,
      registry,
      processes,
      spawner,
      logger,
      inheritedEnv: {},
      stopping,
    });
    const response = await app.request("/run", {
      method: "POST",
      body: "{}",
      signal: client.signal,
    });
    strictEqual(response.status, 499);
    await processes.idle();
    await logger.flush();
    await Deno.remove(dir, { recursive: true });
    strictEqual(listening.size, 0);
  },
});
