/**
 * The exchange through its outcome value, in memory: a spawner that starts
 * nothing (its "process" exits and writes when the test says), a reply
 * delivered through the pending registry as the reply edge would.
 */

import assert from "node:assert/strict";
import { exchange, type ExchangeDeps, type Outcome } from "../../../lib/exchange/mod.ts";
import { loadGeneration } from "../../../lib/generation/mod.ts";
import { HttpProblem } from "../../../lib/http/mod.ts";
import { Logger } from "../../../lib/log/mod.ts";
import { type DeliveryResult, PendingRequests, type Reply } from "../../../lib/pending/mod.ts";
import {
  type OutputSink,
  ProcessTable,
  type Spawned,
  SpawnError,
  type SpawnSpec,
} from "../../../lib/process/mod.ts";

const OPENAPI = `openapi: 3.0.3
info: { title: t, version: "1" }
components:
  securitySchemes:
    api_key: { type: apiKey, in: header, name: X-API-Key }
paths:
  /run:
    post:
      operationId: run
      requestBody:
        content:
          application/json:
            schema: { type: object, required: [name], properties: { name: { type: string } } }
      responses: { "200": { description: ok } }
  /late:
    post:
      operationId: late
      responses: { "200": { description: ok } }
  /keyed:
    post:
      operationId: keyed
      security: [{ api_key: [] }]
      responses: { "200": { description: ok } }
`;

const CONFIG = `socket: {{dir}}/u.sock
security:
  api_key: { keys-file: keys }
paths:
  /run: { post: { inject: { cmd: /bin/true }, validate-in: true } }
  /late: { post: { inject: { cmd: /bin/true }, timeout: 100ms } }
  /keyed: { post: { inject: { cmd: /bin/true } } }
`;

/** A process that never ran: it exits, and writes to stderr, when the test says. */
interface FakeProcess {
  spec: SpawnSpec;
  pid: number;
  /** Ends it with `code`. */
  exit(code?: number): void;
  /** A line on its stderr. */
  write(line: string): void;
}

/** Pids no process has (above the kernel's largest): signalling their group finds nothing. */
let nextPid = 2_000_000_000;

async function setUp(options: { logger?: Logger; stopping?: AbortSignal } = {}) {
  const dir = await Deno.makeTempDir({ prefix: "urocket-exchange-" });
  await Deno.writeTextFile(`${dir}/openapi.yaml`, OPENAPI);
  await Deno.writeTextFile(`${dir}/urocket-service.yaml`, CONFIG.replace("{{dir}}", dir));
  await Deno.writeTextFile(`${dir}/keys`, "ci:the-key\n", { mode: 0o600 });
  const generation = await loadGeneration(`${dir}/urocket-service.yaml`, {
    env: { PATH: "/usr/bin:/bin" },
  });
  const processes: FakeProcess[] = [];
  let failSpawn = false;
  const registry = new PendingRequests();
  const logger = options.logger ?? new Logger({ write: () => Promise.resolve() });
  const deps: ExchangeDeps = {
    registry,
    processes: new ProcessTable(),
    logger,
    inheritedEnv: { PATH: "/usr/bin:/bin" },
    stopping: options.stopping,
    spawner: (spec): Spawned => {
      if (failSpawn) throw new SpawnError(spec.program, new Error("no such file"));
      let exit!: (code: number) => void;
      const status = new Promise<number>((resolve) => exit = resolve).then((code) => ({
        success: code === 0,
        code,
        signal: null,
        groupAlive: false,
      }));
      let sink: OutputSink | undefined;
      const pid = nextPid++;
      processes.push({
        spec,
        pid,
        exit: (code = 0) => {
          exit(code);
          sink?.end("stderr");
        },
        write: (line) => sink?.data("stderr", new TextEncoder().encode(`${line}\n`)),
      });
      return {
        pid,
        status,
        stdin: null,
        output: {
          kind: "relay",
          streams: ["stderr"],
          attach: (attached) => sink = attached,
          drop: () => sink?.end("stderr"),
        },
      };
    },
  };
  /** Runs the exchange of `init` sent to `path`. */
  const run = (path: string, init: RequestInit = {}): Promise<Outcome> => {
    const request = new Request(`http://localhost${path}`, { method: "POST", ...init });
    const url = new URL(request.url);
    const match = generation.router.match(request.method, url.pathname);
    assert.ok(match.kind === "found" && match.value);
    return exchange(deps, {
      request,
      requestId: crypto.randomUUID(),
      operation: match.value,
      generation,
      params: match.params,
      url,
    });
  };
  /** Waits for the next process to be spawned. */
  const spawned = async (count = 1): Promise<FakeProcess> => {
    while (processes.length < count) await new Promise((resolve) => setTimeout(resolve, 1));
    return processes[count - 1];
  };
  /** Replies for `process` as a handler would, through the registry. */
  const reply = (process: FakeProcess, value: Reply): Promise<DeliveryResult> => {
    const claim = registry.claim(process.spec.env.REQUEST_ID, "/uri/{req_id}");
    assert.equal(claim.kind, "claimed");
    return claim.kind === "claimed" ? claim.request.deliver(value) : Promise.reject();
  };
  return {
    deps,
    generation,
    run,
    spawned,
    reply,
    failSpawns: () => failSpawn = true,
    async tearDown() {
      for (const process of processes) process.exit();
      await deps.processes.idle();
      await logger.flush();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** The problem of an outcome that answers with one. */
function problemOf(outcome: Outcome): HttpProblem {
  assert.equal(outcome.answer.kind, "problem");
  const { error } = outcome.answer as { error: unknown };
  assert.ok(error instanceof HttpProblem, String(error));
  return error;
}

const VALID = { body: '{"name":"x"}', headers: { "content-type": "application/json" } };

Deno.test("exchange() returns the delivered reply, its bytes and its process as a replied outcome", async () => {
  const t = await setUp();
  try {
    const outcome = t.run("/run", VALID);
    const process = await t.spawned();
    const delivered = t.reply(process, {
      status: 201,
      headers: new Headers({ "content-type": "text/plain" }),
      body: new TextEncoder().encode("made"),
    });
    const result = await outcome;
    assert.deepEqual((await delivered).kind, "delivered");
    assert.equal(result.kind, "replied");
    assert.equal(result.answer.kind, "reply");
    if (result.answer.kind !== "reply") return;
    assert.equal(result.answer.status, 201);
    assert.equal(new TextDecoder().decode(result.answer.body as Uint8Array), "made");
    assert.equal(result.answer.headers.get("x-request-id"), process.spec.env.REQUEST_ID);
    assert.equal(result.bytes, 4);
    assert.equal(result.process?.pid, process.pid);
    assert.equal(result.streamed, undefined);
  } finally {
    await t.tearDown();
  }
});

Deno.test("exchange() streams a reply body and says, once it has ended, how and with how many bytes", async () => {
  const t = await setUp();
  try {
    const outcome = t.run("/run", VALID);
    const process = await t.spawned();
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("abc"));
        controller.enqueue(new TextEncoder().encode("de"));
        controller.close();
      },
    });
    const delivered = t.reply(process, { status: 200, headers: new Headers(), body });
    const result = await outcome;
    assert.equal(result.kind, "replied");
    if (result.answer.kind !== "reply") throw new Error(result.answer.kind);
    assert.ok(result.answer.body instanceof ReadableStream);
    assert.equal(await new Response(result.answer.body).text(), "abcde");
    assert.deepEqual(await result.streamed, { kind: "replied", bytes: 5 });
    assert.equal((await delivered).kind, "delivered");
  } finally {
    await t.tearDown();
  }
});

Deno.test("exchange() times out with a 504 and kills the group when no reply comes in time", async () => {
  const t = await setUp();
  try {
    const outcome = t.run("/late");
    const process = await t.spawned();
    const result = await outcome;
    assert.equal(result.kind, "timeout");
    assert.equal(problemOf(result).status, 504);
    assert.equal(result.process?.pid, process.pid);
  } finally {
    await t.tearDown();
  }
});

Deno.test("exchange() says no_reply with a 502 when the process exits without replying", async () => {
  const t = await setUp();
  try {
    const outcome = t.run("/run", VALID);
    (await t.spawned()).exit(3);
    const result = await outcome;
    assert.equal(result.kind, "no_reply");
    assert.equal(problemOf(result).status, 502);
  } finally {
    await t.tearDown();
  }
});

Deno.test("exchange() says client_gone, with nothing to send, when the client leaves while it waits", async () => {
  const t = await setUp();
  try {
    const client = new AbortController();
    const outcome = t.run("/run", { ...VALID, signal: client.signal });
    await t.spawned();
    client.abort();
    const result = await outcome;
    assert.equal(result.kind, "client_gone");
    assert.deepEqual(result.answer, { kind: "client_gone" });
  } finally {
    await t.tearDown();
  }
});

Deno.test("exchange() refuses while urocket stops, before it reads the body or spawns", async () => {
  const stopping = new AbortController();
  stopping.abort();
  const t = await setUp({ stopping: stopping.signal });
  try {
    const request = new ReadableStream<Uint8Array>({
      pull: () => assert.fail("the body was read"),
    });
    const result = await t.run("/run", { ...VALID, body: request });
    assert.equal(result.kind, "shutdown");
    assert.equal(problemOf(result).status, 503);
    assert.equal(t.deps.processes.live, 0);
  } finally {
    await t.tearDown();
  }
});

Deno.test("exchange() rejects with 503 and Retry-After when max-inflight groups are live", async () => {
  const t = await setUp();
  try {
    const slots = Array.from(
      { length: t.generation.config.maxInflight },
      () => t.deps.processes.reserve("x"),
    );
    const result = await t.run("/run", VALID);
    assert.equal(result.kind, "rejected");
    const problem = problemOf(result);
    assert.equal(problem.status, 503);
    assert.equal(problem.headers["retry-after"], "1");
    for (const slot of slots) slot.failed();
  } finally {
    await t.tearDown();
  }
});

Deno.test("exchange() rejects a request that breaks the contract with its errors, spawning nothing", async () => {
  const t = await setUp();
  try {
    const result = await t.run("/run", { ...VALID, body: '{"name":7}' });
    assert.equal(result.kind, "rejected");
    assert.equal(problemOf(result).status, 400);
    assert.ok(result.errors && result.errors.length > 0);
    assert.equal(result.process, undefined);
  } finally {
    await t.tearDown();
  }
});

Deno.test("exchange() says spawn_failed with a 502 when the process cannot be started", async () => {
  const t = await setUp();
  try {
    t.failSpawns();
    const result = await t.run("/run", VALID);
    assert.equal(result.kind, "spawn_failed");
    assert.equal(problemOf(result).status, 502);
    assert.equal(result.process, undefined);
    assert.equal(t.deps.processes.live, 0);
  } finally {
    await t.tearDown();
  }
});

Deno.test("exchange() refuses a caller without credentials before anything else, and says who passed", async () => {
  const t = await setUp();
  try {
    const refused = await t.run("/keyed", { body: "{}" });
    assert.equal(refused.kind, "unauthorized");
    assert.equal(problemOf(refused).status, 401);
    assert.equal(refused.process, undefined);

    const outcome = t.run("/keyed", { body: "{}", headers: { "x-api-key": "the-key" } });
    const process = await t.spawned();
    assert.equal(process.spec.env.AUTH_SUBJECT, "ci");
    await t.reply(process, { status: 204, headers: new Headers(), body: new Uint8Array() });
    const result = await outcome;
    assert.equal(result.kind, "replied");
    assert.deepEqual(result.auth, { scheme: "api_key", subject: "ci" });
  } finally {
    await t.tearDown();
  }
});

Deno.test("exchange() counts the output lines the log could not take in its outcome's process", async () => {
  // A log whose writes never end: its queue fills, and then output lines are dropped.
  const logger = new Logger({ write: () => new Promise(() => {}), maxQueueBytes: 200 });
  const t = await setUp({ logger });
  try {
    const outcome = t.run("/run", VALID);
    const process = await t.spawned();
    for (let i = 0; i < 20; i++) process.write(`line ${i} of a process that talks a lot`);
    await t.reply(process, { status: 204, headers: new Headers(), body: new Uint8Array() });
    const result = await outcome;
    assert.ok(result.process && result.process.droppedLines > 0, "no line was dropped");
  } finally {
    (await t.spawned()).exit();
    await t.deps.processes.idle();
    await Deno.remove(t.generation.config.file.replace(/\/[^/]+$/, ""), { recursive: true });
  }
});
