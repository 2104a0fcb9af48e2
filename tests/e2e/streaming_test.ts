import assert from "node:assert/strict";
import { E2E, withUrocket } from "./_harness.ts";

const STREAM_OPENAPI = `openapi: 3.0.3
info: { title: streaming, version: "1" }
paths:
  /stream:
    get:
      operationId: stream
      responses:
        "200":
          description: chunks
          content: { application/octet-stream: {} }
  /events:
    get:
      operationId: events
      responses:
        "200":
          description: progress events
          content: { text/event-stream: {} }
`;

/** Reads `stream` to its end; resolves with the bytes read, or rejects when it is cut. */
async function drain(stream: ReadableStream<Uint8Array>): Promise<number> {
  let bytes = 0;
  for await (const chunk of stream) bytes += chunk.length;
  return bytes;
}

Deno.test({
  name:
    "a streamed reply reaches the client chunk by chunk, long before the process writes its last",
  ...E2E,
  async fn() {
    await withUrocket({
      openapi: STREAM_OPENAPI,
      config: `
paths:
  /stream:
    get:
      inject: { cmd: ["{{fixtures}}/stream.ts", "count=10", "interval=1000", "size=16"] }
`,
    }, async (uro) => {
      const response = await fetch(`${uro.url}/stream`);
      assert.equal(response.status, 200);
      const id = response.headers.get("x-request-id");
      const reader = response.body!.getReader();
      const first = await reader.read();
      assert.equal(first.value!.length, 16);
      const written = uro.find((l) =>
        l.req_id === id && String(l.line).startsWith("wrote ")
      ).length;
      assert.ok(written < 10, `the first chunk arrived when ${written} of 10 were written`);
      let chunks = 1;
      let bytes = first.value!.length;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks++;
        bytes += value.length;
      }
      assert.equal(bytes, 160);
      assert.ok(chunks >= 2, "the body arrived in pieces, not at once");
      await uro.waitForLog((l) => l.req_id === id && l.line === "reply status 200");
      const access = await uro.waitForLog((l) => l.msg === "access" && l.req_id === id);
      assert.equal(access.outcome, "replied");
      assert.equal(access.bytes, 160);
      await uro.waitForLog((l) => l.msg === "process_exit" && l.req_id === id);
    });
  },
});

Deno.test({
  name: "a text/event-stream reply works end to end with EventSource",
  ...E2E,
  async fn() {
    await withUrocket({
      openapi: STREAM_OPENAPI,
      config: `
paths:
  /events:
    get:
      inject: { cmd: ["{{fixtures}}/stream.ts", "count=5", "interval=100", "sse=1"] }
`,
    }, async (uro) => {
      const source = new EventSource(`${uro.url}/events`);
      const steps: number[] = [];
      const ids: string[] = [];
      await new Promise<void>((resolve, reject) => {
        source.addEventListener("progress", (event) => {
          const message = event as MessageEvent;
          steps.push(JSON.parse(message.data).step);
          ids.push(message.lastEventId);
          if (steps.length === 5) resolve();
        });
        source.onerror = () => {
          if (steps.length < 5) reject(new Error(`stream broke after ${steps.length} events`));
        };
      });
      source.close();
      assert.deepEqual(steps, [1, 2, 3, 4, 5]);
      assert.deepEqual(ids, ["1", "2", "3", "4", "5"]);
      await uro.waitForLog((l) => l.msg === "process_exit");
      await uro.waitForLog((l) => l.msg === "access");
    });
  },
});

Deno.test({
  name: "100 MiB stream through urocket while its memory stays bounded, far from the stream's size",
  ...E2E,
  async fn() {
    await withUrocket({
      openapi: STREAM_OPENAPI,
      config: `
max-reply: 1GiB
paths:
  /stream:
    get:
      inject: { cmd: ["{{fixtures}}/flood.sh"], pass-headers: [X-Size] }
`,
    }, async (uro) => {
      const pid = Number(uro.logs[0].pid);
      const peak = async () => {
        const status = await Deno.readTextFile(`/proc/${pid}/status`);
        return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) * 1024;
      };
      const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
      const idle = await peak();
      const growth: number[] = [];
      for (const size of [100 * 2 ** 20, 400 * 2 ** 20]) {
        const response = await fetch(`${uro.url}/stream`, { headers: { "x-size": String(size) } });
        const id = response.headers.get("x-request-id");
        assert.equal(await drain(response.body!), size);
        growth.push((await peak()) - idle);
        await uro.waitForLog((l) => l.msg === "access" && l.req_id === id);
        await uro.waitForLog((l) => l.msg === "process_exit" && l.req_id === id);
      }
      console.log(
        `idle peak RSS ${mib(idle)}; peak growth ${mib(growth[0])} after 100 MiB, ` +
          `${mib(growth[1])} after 400 MiB more`,
      );
      assert.ok(growth[0] < 100 * 2 ** 20, "less than the 100 MiB streamed");
      assert.ok(growth[1] - growth[0] < 32 * 2 ** 20, "four times the stream is not more memory");
    });
  },
});

Deno.test({
  name: "a client that leaves mid-stream gets the process group killed and the replier told",
  ...E2E,
  async fn() {
    await withUrocket({
      openapi: STREAM_OPENAPI,
      config: `
paths:
  /stream:
    get:
      kill-grace: 2s
      inject:
        cmd: ["{{fixtures}}/stream.ts", "count=1000", "interval=50", "size=1024", "term=ignore"]
`,
    }, async (uro) => {
      const response = await fetch(`${uro.url}/stream`);
      const id = response.headers.get("x-request-id");
      const reader = response.body!.getReader();
      await reader.read();
      await reader.cancel();
      const told = await uro.waitForLog((l) =>
        l.req_id === id && /^reply (status|failed)/.test(String(l.line))
      );
      assert.match(String(told.line), /^reply (status 410|failed)/);
      const exit = await uro.waitForLog((l) => l.msg === "process_exit" && l.req_id === id);
      assert.equal(exit.killed, true);
      assert.equal(exit.kill_reason, "client_gone");
      const access = await uro.waitForLog((l) => l.msg === "access" && l.req_id === id);
      assert.equal(access.outcome, "client_gone");
    });
  },
});

Deno.test({
  name: "a replier that leaves mid-stream aborts the client's response (outcome reply_broken)",
  ...E2E,
  async fn() {
    await withUrocket({
      openapi: STREAM_OPENAPI,
      config: `
paths:
  /stream:
    get:
      inject: { cmd: ["{{fixtures}}/stream.ts", "count=5", "interval=50", "size=1024", "end=exit"] }
`,
    }, async (uro) => {
      const response = await fetch(`${uro.url}/stream`);
      assert.equal(response.status, 200);
      const id = response.headers.get("x-request-id");
      await assert.rejects(drain(response.body!));
      const access = await uro.waitForLog((l) => l.msg === "access" && l.req_id === id);
      assert.equal(access.outcome, "reply_broken");
      await uro.waitForLog((l) => l.msg === "process_exit" && l.req_id === id);
    });
  },
});

Deno.test({
  name: "a stream that passes max-reply is cut: the client's response aborts, the replier gets 413",
  ...E2E,
  async fn() {
    await withUrocket({
      openapi: STREAM_OPENAPI,
      config: `
max-reply: 100KiB
paths:
  /stream:
    get:
      inject: { cmd: ["{{fixtures}}/flood.sh", "1048576"] }
`,
    }, async (uro) => {
      const response = await fetch(`${uro.url}/stream`);
      assert.equal(response.status, 200, "the status was sent before the body passed the limit");
      const id = response.headers.get("x-request-id");
      await assert.rejects(drain(response.body!));
      const cut = await uro.waitForLog((l) => l.msg === "reply_cut" && l.req_id === id);
      assert.equal(cut.reason, "reply_too_large");
      const access = await uro.waitForLog((l) => l.msg === "access" && l.req_id === id);
      assert.equal(access.outcome, "reply_too_large");
      assert.ok(
        (access.bytes as number) <= 100 * 1024,
        `the client was sent ${access.bytes} bytes, more than max-reply`,
      );
      await uro.waitForLog((l) => l.req_id === id && l.line === "reply status 413");
      await uro.waitForLog((l) => l.msg === "process_exit" && l.req_id === id);
    });
  },
});

Deno.test({
  name:
    "stream-timeout, not timeout, bounds a streaming reply; when it passes the stream is cut and the group killed",
  ...E2E,
  async fn() {
    await withUrocket({
      openapi: STREAM_OPENAPI,
      config: `
timeout: 1s
paths:
  /stream:
    get:
      stream-timeout: 30s
      inject: { cmd: ["{{fixtures}}/stream.ts", "count=8", "interval=250", "size=8"] }
  /events:
    get:
      stream-timeout: 1500ms
      kill-grace: 200ms
      inject: { cmd: ["{{fixtures}}/stream.ts", "count=1000", "interval=100", "sse=1"] }
`,
    }, async (uro) => {
      const long = await fetch(`${uro.url}/stream`);
      assert.equal(await drain(long.body!), 64, "a 2 s stream outlives the 1 s timeout");
      const longId = long.headers.get("x-request-id");
      assert.equal(
        (await uro.waitForLog((l) => l.msg === "access" && l.req_id === longId)).outcome,
        "replied",
      );
      await uro.waitForLog((l) => l.msg === "process_exit" && l.req_id === longId);

      const endless = await fetch(`${uro.url}/events`);
      const id = endless.headers.get("x-request-id");
      await assert.rejects(drain(endless.body!));
      const access = await uro.waitForLog((l) => l.msg === "access" && l.req_id === id);
      assert.equal(access.outcome, "stream_timeout");
      const exit = await uro.waitForLog((l) => l.msg === "process_exit" && l.req_id === id);
      assert.equal(exit.kill_reason, "stream_timeout");
    });
  },
});

Deno.test({
  name: "with validate-out the reply is collected whole before the client sees it",
  ...E2E,
  async fn() {
    await withUrocket({
      openapi: STREAM_OPENAPI,
      config: `
paths:
  /stream:
    get:
      validate-out: true
      inject: { cmd: ["{{fixtures}}/stream.ts", "count=3", "interval=300", "size=4"] }
`,
    }, async (uro) => {
      const response = await fetch(`${uro.url}/stream`);
      const id = response.headers.get("x-request-id");
      const written = uro.find((l) =>
        l.req_id === id && String(l.line).startsWith("wrote ")
      ).length;
      assert.equal(written, 3, "the status came only after the whole body was written");
      assert.equal(await drain(response.body!), 12);
      await uro.waitForLog((l) => l.msg === "access" && l.req_id === id);
      await uro.waitForLog((l) => l.msg === "process_exit" && l.req_id === id);
    });
  },
});

Deno.test({
  name:
    "a HEAD whose handler streams its reply answers the replier when the stream ends, not at stream-timeout",
  ...E2E,
  async fn() {
    await withUrocket({
      openapi: `openapi: 3.0.3
info: { title: head, version: "1" }
paths:
  /stream:
    head:
      responses:
        "200": { description: ok }
`,
      config: `
stream-timeout: 50s
paths:
  /stream:
    head:
      inject: { cmd: ["{{fixtures}}/stream.ts", "count=2", "interval=50", "size=16"] }
`,
    }, async (uro) => {
      const response = await fetch(`${uro.url}/stream`, { method: "HEAD" });
      assert.equal(response.status, 200);
      await response.body?.cancel();
      const id = response.headers.get("x-request-id");
      const replied = await uro.waitForLog((l) =>
        l.req_id === id && String(l.line).startsWith("reply ")
      );
      assert.equal(replied.line, "reply status 200");
      const access = await uro.waitForLog((l) => l.msg === "access" && l.req_id === id);
      assert.deepEqual([access.outcome, access.bytes], ["replied", 0]);
      const exit = await uro.waitForLog((l) => l.msg === "process_exit" && l.req_id === id);
      assert.equal(exit.killed, false);
    });
  },
});
