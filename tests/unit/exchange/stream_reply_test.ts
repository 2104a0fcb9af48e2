import { deepStrictEqual, rejects } from "node:assert/strict";
import { streamReply, type StreamReplyEnd } from "../../../lib/exchange/stream_reply.ts";

/** A replier's body made of `chunks`, then its end. */
function bodyOf(chunks: number[]): ReadableStream<Uint8Array> {
  return ReadableStream.from(chunks.map((size) => new Uint8Array(size).fill(97)));
}

/** Reads `stream` to its end or its error; the bytes read either way. */
async function received(stream: ReadableStream<Uint8Array>): Promise<number> {
  let bytes = 0;
  try {
    for await (const chunk of stream) bytes += chunk.length;
  } catch {
    // Cut: what came before is what the client got.
  }
  return bytes;
}

Deno.test("streamReply() passes the whole body and reports its bytes when it ends within maxBytes", async () => {
  const ends: [StreamReplyEnd, number][] = [];
  const body = streamReply(bodyOf([10, 20, 30]), {
    maxBytes: 60,
    timeoutMs: 60_000,
    onEnd: (end, bytes) => ends.push([end, bytes]),
  });
  deepStrictEqual(await received(body), 60);
  deepStrictEqual(ends, [["delivered", 60]]);
});

Deno.test("streamReply() cut at maxBytes reports the bytes the client was sent, not the chunk it refused", async () => {
  const ends: [StreamReplyEnd, number][] = [];
  const body = streamReply(bodyOf([40, 40, 40]), {
    maxBytes: 100,
    timeoutMs: 60_000,
    onEnd: (end, bytes) => ends.push([end, bytes]),
  });
  const sent = await received(body);
  deepStrictEqual(sent, 80);
  deepStrictEqual(ends, [["too_large", sent]]);
  await rejects(body.getReader().read());
});
