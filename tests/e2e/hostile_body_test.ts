/**
 * Bodies sent to hurt: tiny chunks (on the front and on the reply socket),
 * bodies that stall, many stalled uploads at once, and keep-alive clients
 * during the drain. urocket's memory is read from /proc/<pid>/status, from
 * outside.
 */

import assert from "node:assert/strict";
import { E2E, startUrocket, type Urocket, withUrocket } from "./_harness.ts";
import { assertProblem, connect, front, type RawAnswer, readResponse, writeAll } from "./_raw.ts";

const encoder = new TextEncoder();

/** A figure of /proc/<pid>/status (`VmRSS`, `VmHWM`), in MiB. */
async function memoryMiB(pid: number, field: "VmRSS" | "VmHWM"): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kib = Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
  assert.ok(kib > 0, `no ${field} for ${pid}`);
  return kib / 1024;
}

/**
 * Sends `count` one-byte chunks of `x` on `connection`, in writes of many
 * chunks each; the last write ends the body unless `last` is false.
 */
async function sendTinyChunks(connection: Deno.Conn, count: number, last = true): Promise<void> {
  const batch = 5_000;
  const unit = "1\r\nx\r\n";
  for (let sent = 0; sent < count; sent += batch) {
    const n = Math.min(batch, count - sent);
    const end = last && sent + n === count ? "0\r\n\r\n" : "";
    await writeAll(connection, encoder.encode(unit.repeat(n) + end));
  }
}

/** Waits for one response on `connection`, failing after `ms`. */
async function answerWithin(connection: Deno.Conn, ms: number, what: string): Promise<RawAnswer> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      readResponse(connection),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms: ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves true when the peer closes `connection` within `ms` (reading and dropping data). */
async function closedWithin(connection: Deno.Conn, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const buffer = new Uint8Array(4096);
  const closed = (async () => {
    try {
      while (await connection.read(buffer) !== null) { /* drop */ }
    } catch {
      // Reset: closed as well.
    }
    return true;
  })();
  try {
    return await Promise.race([
      closed,
      new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function close(connection: Deno.Conn): void {
  try {
    connection.close();
  } catch {
    // Already closed.
  }
}

/** Asserts that the request with `id` was answered without starting a process. */
async function assertNothingSpawned(uro: Urocket, id: string | null): Promise<void> {
  assert.ok(id, "the answer carries its request id");
  const access = await uro.waitForLog((l) => l.msg === "access" && l.req_id === id);
  assert.equal(access.pid, undefined, "no process was started");
  assert.equal(uro.find((l) => l.msg === "process_exit" && l.req_id === id).length, 0);
}

Deno.test({
  name:
    "the front holds a body of one-byte chunks in memory proportional to its bytes, not to its chunks",
  ...E2E,
  async fn() {
    await withUrocket({
      config: `paths:\n  /run:\n    post:\n      inject: { cmd: "{{fixtures}}/echo.ts" }\n`,
    }, async (uro) => {
      for (const count of [20_000, 200_000]) {
        const before = await memoryMiB(uro.pid, "VmHWM");
        const connection = await connect(front(uro));
        try {
          await writeAll(
            connection,
            encoder.encode(
              "POST /run HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n" +
                "Transfer-Encoding: chunked\r\n\r\n",
            ),
          );
          // The answer is read while the body is sent: urocket may answer early (it must not).
          const answer = readResponse(connection);
          await sendTinyChunks(connection, count);
          const { status, body, headers } = await answer;
          assert.equal(status, 200, body);
          assert.equal(JSON.parse(body).stdinBytes, count, "the process got every byte");
          const id = headers.get("x-request-id");
          await uro.waitForLog((l) => l.msg === "process_exit" && l.req_id === id);
        } finally {
          close(connection);
        }
        const grown = await memoryMiB(uro.pid, "VmHWM") - before;
        // Before the fix, each chunk kept the 64 KiB buffer Deno read it into: 20,000 chunks
        // took about 1 GB.
        assert.ok(grown < 64, `${count} one-byte chunks raised urocket's peak RSS by ${grown} MiB`);
      }
    });
  },
});

Deno.test({
  name:
    "the reply socket collects a reply of one-byte chunks for validate-out in memory proportional to its bytes",
  ...E2E,
  async fn() {
    await withUrocket({
      config: `timeout: 60s
paths:
  /run:
    post:
      validate-out: true
      inject: { cmd: "{{fixtures}}/hold.sh" }
`,
    }, async (uro) => {
      for (const [round, count] of [20_000, 200_000].entries()) {
        const asked = uro.call("/run", { method: "POST" });
        const { reqId, pid } = (await uro.held(round + 1))[round];
        const before = await memoryMiB(uro.pid, "VmHWM");
        const connection = await connect({ path: uro.socket });
        try {
          await writeAll(
            connection,
            encoder.encode(
              `POST /uri/${reqId} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
                `Transfer-Encoding: chunked\r\n\r\n1\r\n"\r\n`,
            ),
          );
          const answer = readResponse(connection);
          await sendTinyChunks(connection, count - 2, false);
          await writeAll(connection, encoder.encode('1\r\n"\r\n0\r\n\r\n'));
          const replied = await answer;
          assert.equal(replied.status, 200, replied.body);
        } finally {
          close(connection);
        }
        const client = await asked;
        assert.equal(client.status, 200, client.text);
        assert.equal(client.text.length, count, "the client got the whole reply");
        const grown = await memoryMiB(uro.pid, "VmHWM") - before;
        await uro.release(pid);
        assert.ok(
          grown < 64,
          `a reply of ${count} chunks raised urocket's peak RSS by ${grown} MiB`,
        );
      }
    });
  },
});

Deno.test({
  name:
    "a request body not complete within body-timeout gets 408, nothing is spawned, and its connection closes",
  ...E2E,
  async fn() {
    await withUrocket({
      config: `body-timeout: 5m
paths:
  /run:
    post:
      body-timeout: 300ms
      inject: { cmd: "{{fixtures}}/echo.ts" }
`,
    }, async (uro) => {
      const cases = [
        // A small body with Content-Length, read by Deno in one call: its connection closes once
        // the client has sent all it announced.
        {
          what: "Content-Length",
          head: "Content-Length: 100\r\n",
          start: "0123456789",
          more: "x".repeat(90),
        },
        // A large one, read chunk by chunk, and a chunked one: the next bytes close it.
        {
          what: "a large Content-Length",
          head: "Content-Length: 100000\r\n",
          start: "0123456789",
          more: "x",
        },
        {
          what: "chunked",
          head: "Transfer-Encoding: chunked\r\n",
          start: "a\r\n0123456789\r\n",
          more: "1\r\nx\r\n",
        },
      ];
      for (const { what, head, start, more } of cases) {
        const connection = await connect(front(uro));
        try {
          const started = performance.now();
          await writeAll(
            connection,
            encoder.encode(`POST /run HTTP/1.1\r\nHost: x\r\n${head}\r\n${start}`),
          );
          const answer = await answerWithin(connection, 5_000, what);
          const waited = performance.now() - started;
          assertProblem(answer, 408, what);
          assert.ok(waited >= 250 && waited < 3_000, `${what}: answered after ${waited} ms`);
          assert.equal(answer.headers.get("connection"), "close", what);
          assert.match(JSON.parse(answer.body).detail, /body-timeout \(300 ms\)/);
          await assertNothingSpawned(uro, answer.headers.get("x-request-id"));
          await writeAll(connection, encoder.encode(more));
          assert.ok(await closedWithin(connection, 5_000), `${what}: the connection stayed open`);
        } finally {
          close(connection);
        }
      }
      const served = await uro.call("/run", { method: "POST", body: "{}" });
      assert.equal(served.status, 200, "a body sent in time is served");
    });
  },
});

Deno.test({
  name:
    "many stalled uploads hold no more than max-body-memory, and a normal request is still answered within a second",
  ...E2E,
  async fn() {
    const uro = await startUrocket({
      config: `max-body-memory: 16MiB
paths:
  /run:
    post:
      inject: { cmd: "{{fixtures}}/echo.ts" }
  /run/{name}:
    get:
      inject: { cmd: "{{fixtures}}/echo.ts" }
`,
    });
    const connections: Deno.Conn[] = [];
    try {
      await uro.call("/run/warm");
      const before = await memoryMiB(uro.pid, "VmRSS");
      const body = new Uint8Array(1024 * 1024 - 1).fill(0x78);
      const head = encoder.encode(
        "POST /run HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n",
      );
      const uploads = 300;
      const refused: Promise<RawAnswer>[] = [];
      await Promise.all(Array.from({ length: uploads }, async () => {
        const connection = await connect(front(uro));
        connections.push(connection);
        refused.push(readResponse(connection));
        await writeAll(connection, head);
        try {
          await writeAll(connection, body);
        } catch {
          // Refused at once: urocket may close before taking it all.
        }
      }));
      // Each upload is either refused (503) or held, stalled one byte short; at most 16 fit.
      const answered: RawAnswer[] = [];
      let enough!: () => void;
      const refusedEnough = new Promise<void>((resolve) => enough = resolve);
      for (const answer of refused) {
        answer.then((a) => {
          answered.push(a);
          if (answered.length >= uploads - 16) enough();
        });
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        refusedEnough,
        new Promise((resolve) => timer = setTimeout(resolve, 10_000)),
      ]);
      clearTimeout(timer);
      for (const answer of answered) {
        assertProblem(answer, 503, "a refused upload");
        assert.equal(answer.headers.get("retry-after"), "1");
      }
      assert.ok(answered.length >= uploads - 16, `only ${answered.length} uploads were refused`);
      const grown = await memoryMiB(uro.pid, "VmRSS") - before;
      assert.ok(grown < 64, `${uploads} stalled uploads grew urocket's RSS by ${grown} MiB`);

      const started = performance.now();
      const normal = await uro.call("/run", { method: "POST", body: '{"normal":true}' });
      const waited = performance.now() - started;
      assert.ok(waited < 1_000, `the normal request waited ${waited} ms`);
      if (normal.status === 503) {
        assert.equal(normal.headers.get("retry-after"), "1");
      } else {
        assert.equal(normal.status, 200, normal.text);
      }
      const bodiless = await uro.call("/run/x");
      assert.equal(bodiless.status, 200, "a request without a body needs no body memory");
    } finally {
      for (const connection of connections) close(connection);
      await uro.stop();
    }
  },
});

Deno.test({
  name:
    "during the drain every answer carries Connection: close, so a keep-alive client opens a new connection",
  ...E2E,
  async fn() {
    const uro = await startUrocket({
      config: `shutdown-delay: 3s
paths:
  /run/{name}:
    get:
      inject: { cmd: "{{fixtures}}/echo.ts" }
`,
    });
    const connection = await connect(front(uro));
    try {
      const get = encoder.encode("GET /run/x HTTP/1.1\r\nHost: x\r\n\r\n");
      await writeAll(connection, get);
      const before = await readResponse(connection);
      assert.equal(before.status, 200);
      assert.equal(before.headers.get("connection"), null, "kept alive before the drain");
      const id = before.headers.get("x-request-id");
      await uro.waitForLog((l) => l.msg === "process_exit" && l.req_id === id);

      Deno.kill(uro.pid, "SIGTERM");
      await uro.waitForLog((l) => l.msg === "shutdown");
      await writeAll(connection, get);
      const during = await readResponse(connection);
      assert.equal(during.status, 200, "still served during shutdown-delay");
      assert.equal(during.headers.get("connection"), "close", "on the kept-alive connection");

      const fresh = await connect(front(uro));
      try {
        await writeAll(fresh, encoder.encode("GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n"));
        const refused = await readResponse(fresh);
        assertProblem(refused, 404, "a problem answer");
        assert.equal(refused.headers.get("connection"), "close", "on a new connection");
      } finally {
        close(fresh);
      }
    } finally {
      close(connection);
      await uro.stop({ signal: () => {} });
    }
  },
});
