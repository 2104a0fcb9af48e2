import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import {
  BodyOverBudget,
  BodyTimeout,
  BodyTooLarge,
  ONE_CALL_MAX,
  readBodyWithin,
} from "../../../lib/http/body.ts";
import { BodyBudget } from "../../../lib/http/body_budget.ts";

/** What a test stream saw of its reader. */
interface StreamState {
  /** Chunks handed over so far. */
  given: number;
  cancelled: boolean;
  /** Buffers the chunks were handed over in (a byte stream's BYOB views included). */
  buffers: Set<ArrayBufferLike>;
}

/**
 * A body stream giving `count` chunks of `size` bytes, each in a 64 KiB
 * buffer of its own as Deno's body streams give them; a byte stream (read
 * into the reader's buffers) when `bytes`, else a plain one. Past `stallAfter`
 * chunks it gives nothing more until `resume()`.
 */
function chunkedStream(
  count: number,
  { size = 1, bytes = true, stallAfter = Infinity } = {},
): { stream: ReadableStream<Uint8Array>; state: StreamState; resume: () => void } {
  const state: StreamState = { given: 0, cancelled: false, buffers: new Set() };
  let resume = () => {};
  const chunk = (index: number) => new Uint8Array(size).fill(index % 251);
  const cancel = () => {
    state.cancelled = true;
  };
  const stall = () => new Promise<void>((resolve) => resume = resolve);
  const stream = bytes
    ? new ReadableStream({
      type: "bytes",
      async pull(controller) {
        if (state.given === stallAfter) await stall();
        if (state.given === count) {
          controller.close();
          controller.byobRequest?.respond(0);
          return;
        }
        const request = controller.byobRequest!;
        const view = request.view as Uint8Array;
        state.buffers.add(view.buffer);
        view.set(chunk(state.given++));
        request.respond(size);
      },
      cancel,
      autoAllocateChunkSize: 64 * 1024,
    }) as ReadableStream<Uint8Array>
    : new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (state.given === stallAfter) await stall();
        if (state.given === count) return controller.close();
        const buffer = new Uint8Array(64 * 1024);
        state.buffers.add(buffer.buffer);
        buffer.set(chunk(state.given++));
        controller.enqueue(buffer.subarray(0, size));
      },
      cancel,
    });
  return { stream, state, resume: () => resume() };
}

function post(stream: ReadableStream<Uint8Array>, length?: number): Request {
  return new Request("http://front/upload", {
    method: "POST",
    body: stream,
    headers: length === undefined ? {} : { "content-length": String(length) },
  });
}

for (const bytes of [true, false]) {
  const kind = bytes ? "a byte stream" : "a plain stream";

  Deno.test(`readBodyWithin() keeps none of the buffers the chunks of ${kind} came in`, async () => {
    const { stream, state } = chunkedStream(10_000, { bytes });
    const body = await readBodyWithin(post(stream), 1024 * 1024);
    strictEqual(body.length, 10_000);
    strictEqual(body.buffer.byteLength, 10_000, "the body's memory is its bytes");
    ok(!state.buffers.has(body.buffer), "the body is not one of the chunks' buffers");
    strictEqual(body[0], 0);
    strictEqual(body[9_999], 9_999 % 251);
  });

  Deno.test(`readBodyWithin() reads a declared body of ${kind} into one buffer of its size`, async () => {
    const size = 4 * ONE_CALL_MAX;
    const { stream } = chunkedStream(size / 1024, { size: 1024, bytes });
    const body = await readBodyWithin(post(stream, size), size);
    strictEqual(body.length, size);
    strictEqual(body.buffer.byteLength, size);
  });
}

Deno.test("readBodyWithin() refuses a body without Content-Length once it passes the limit", async () => {
  const { stream, state } = chunkedStream(100, { size: 10 });
  await rejects(readBodyWithin(post(stream), 95), BodyTooLarge);
  strictEqual(state.cancelled, true);
  ok(state.given <= 10, "read on after the limit was passed");
});

Deno.test("readBodyWithin() counts a body in the budget while it arrives and gives it back", async () => {
  const budget = new BodyBudget(() => 1024 * 1024);
  const { stream, state, resume } = chunkedStream(3000, { stallAfter: 2000 });
  const reading = readBodyWithin(post(stream), 1024 * 1024, { budget });
  while (state.given < 2000) await new Promise((resolve) => setTimeout(resolve, 1));
  ok(budget.held >= 2000 && budget.held <= 4096, `held ${budget.held} for 2000 bytes`);
  resume();
  strictEqual((await reading).length, 3000);
  strictEqual(budget.held, 0);
});

Deno.test("readBodyWithin() counts a declared body in full before reading it", async () => {
  const budget = new BodyBudget(() => 100_000);
  const size = 2 * ONE_CALL_MAX;
  strictEqual(budget.take(100_000 - size + 1), true);
  const { stream, state } = chunkedStream(size / 1024, { size: 1024 });
  await rejects(readBodyWithin(post(stream, size), size, { budget }), BodyOverBudget);
  strictEqual(state.given, 0, "nothing was read");
  strictEqual(budget.held, 100_000 - size + 1, "nothing more is counted");
});

Deno.test("readBodyWithin() refuses a body that outgrows the budget while it arrives", async () => {
  const budget = new BodyBudget(() => 5000);
  const { stream, state } = chunkedStream(10, { size: 1000 });
  await rejects(readBodyWithin(post(stream), 1024 * 1024, { budget }), BodyOverBudget);
  strictEqual(state.cancelled, true);
  strictEqual(budget.held, 0);
});

Deno.test("readBodyWithin() gives up a stalled body at its timeout, drops its bytes at once and cancels the stream when it moves again", async () => {
  const budget = new BodyBudget(() => 1024 * 1024);
  const { stream, state, resume } = chunkedStream(3000, { stallAfter: 2000 });
  await rejects(
    readBodyWithin(post(stream), 1024 * 1024, { timeoutMs: 50, budget }),
    (error: unknown) => error instanceof BodyTimeout && error.timeoutMs === 50,
  );
  strictEqual(budget.held, 0, "the bytes received are given back at the timeout");
  strictEqual(state.cancelled, false, "the read under way is left to finish");
  resume();
  while (!state.cancelled) await new Promise((resolve) => setTimeout(resolve, 1));
  strictEqual(state.given, 2001, "nothing is read after the timeout but the read under way");
});

Deno.test("readBodyWithin() gives up a small declared body at its timeout, and gives its bytes back once they are let go", async () => {
  const budget = new BodyBudget(() => 1024 * 1024);
  const { stream, resume } = chunkedStream(100, { size: 10, stallAfter: 50 });
  await rejects(
    readBodyWithin(post(stream, 1000), 1000, { timeoutMs: 50, budget }),
    BodyTimeout,
  );
  // The one-call read cannot be stopped: what it holds stays counted until it ends.
  strictEqual(budget.held, 1000);
  resume();
  while (budget.held > 0) await new Promise((resolve) => setTimeout(resolve, 1));
});

Deno.test("readBodyWithin() reads an empty declared body without a budget or a timer", async () => {
  const budget = new BodyBudget(() => 0);
  const { stream } = chunkedStream(0);
  deepStrictEqual(
    await readBodyWithin(post(stream, 0), 10, { budget, timeoutMs: 1 }),
    new Uint8Array(),
  );
  await stream.cancel();
});

Deno.test("BodyBudget.take() counts bytes up to the limit it reads each time, and give() returns them", () => {
  let limit = 100;
  const budget = new BodyBudget(() => limit);
  strictEqual(budget.take(60), true);
  strictEqual(budget.take(41), false);
  strictEqual(budget.held, 60, "a refused take counts nothing");
  limit = 200;
  strictEqual(budget.take(41), true);
  budget.give(101);
  strictEqual(budget.held, 0);
});
