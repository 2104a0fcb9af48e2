/**
 * The hostile-input catalogue of the reply socket, for what a broken or
 * malicious local peer sends as raw bytes (fetch would fix or refuse most of
 * it). Every case gets the answer of the reply table, and afterwards the
 * waiting request still takes its proper reply and a whole new round trip
 * through the socket works. reply_test.ts has the cases fetch can send.
 */

import assert from "node:assert/strict";
import { E2E, startUrocket, type Urocket } from "./_harness.ts";
import {
  assertProblem,
  assertRefused,
  assertStillServes,
  bytes,
  connect,
  exchangeRaw,
  readResponse,
  type Target,
  writeAll,
} from "./_raw.ts";

const CONFIG = `
max-reply: 1MiB
paths:
  /run:
    post:
      inject: { cmd: "{{fixtures}}/hold.sh" }
  /other:
    post:
      inject: { cmd: "{{fixtures}}/echo.ts" }
`;

/** A complete reply request for `target` (sent as is) with a small JSON body. */
const reply = (target: string, headers = "", body = "{}") =>
  `POST ${target} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n${headers}` +
  `Content-Length: ${bytes(body).length}\r\nConnection: close\r\n\r\n${body}`;

/** Starts urocket with one request held by hold.sh, waiting for its reply. */
async function holding() {
  const uro = await startUrocket({ config: CONFIG });
  const answer = uro.call("/run", { method: "POST" });
  const [held] = await uro.held();
  return { uro, answer, id: held.reqId, pid: held.pid, socket: { path: uro.socket } as Target };
}

/**
 * The end of every case: the held request takes a proper reply (so it was
 * still pending), and a new request makes a whole round trip through the socket.
 */
async function assertStillPending(
  uro: Urocket,
  held: { answer: ReturnType<Urocket["call"]>; id: string; pid: number },
): Promise<void> {
  const body = JSON.stringify({ proper: held.id });
  const proper = await uro.reply(`/uri/${held.id}`, { body });
  assert.equal(proper.status, 200, `the proper reply: ${proper.text}`);
  const answer = await held.answer;
  assert.equal(answer.status, 200);
  assert.equal(answer.text, body, "the client got the proper reply");
  await uro.release(held.pid);
  await assertStillServes(uro, "/other");
}

Deno.test({
  name:
    "the reply socket answers 400 to ids with .., %2f or %00, and refuses very long ones, leaving the id pending",
  ...E2E,
  async fn() {
    const held = await holding();
    const { uro, id, socket } = held;
    try {
      for (
        const target of [
          "/uri/..",
          "/uri/%2e%2e",
          `/uri/..%2f${id}`,
          `/uri/${id}%2f..`,
          `/uri/${id}%2F`,
          `/uri/${id}%00`,
          `/uri/%00${id}`,
          `/uri/${id.toUpperCase()}x`,
          `/uri/${id.replaceAll("-", "")}`,
          "/uri/' OR 1=1 --",
        ]
      ) {
        const answer = await exchangeRaw(socket, reply(target.replaceAll(" ", "%20")));
        // No request id in the answer: there is none in such a path.
        assert.equal(answer.status, 400, target);
        assert.equal(answer.headers.get("content-type"), "application/problem+json");
        assert.match(JSON.parse(answer.body).detail, /not a UUID/, target);
      }
      // Other segments around a good id: the path matches no outtake template.
      for (const target of [`/uri/${id}/..`, `/uri/../uri/${id}`, `/uri//${id}`, `/URI/${id}`]) {
        const answer = await exchangeRaw(socket, reply(target));
        assert.equal(answer.status, 404, target);
      }
      // Bytes Deno's HTTP layer refuses by itself: a raw NUL, a 100 KiB id.
      assertRefused(await exchangeRaw(socket, reply(`/uri/${id}\x00`)), "a raw NUL");
      assertRefused(await exchangeRaw(socket, reply(`/uri/${"a".repeat(100_000)}`)), "100 KiB id");
      await assertStillPending(uro, held);
    } finally {
      await uro.stop();
    }
  },
});

Deno.test({
  name:
    "the reply socket answers 400 to Urocket-Status sent twice as two header lines, leaving the id pending",
  ...E2E,
  async fn() {
    const held = await holding();
    const { uro, id, socket } = held;
    try {
      const answer = await exchangeRaw(
        socket,
        reply(`/uri/${id}`, "Urocket-Status: 200\r\nUrocket-Status: 201\r\n"),
      );
      assertProblem(answer, 400, "two Urocket-Status lines");
      assert.equal(JSON.parse(answer.body).request_id, id);
      await assertStillPending(uro, held);
    } finally {
      await uro.stop();
    }
  },
});

Deno.test({
  name:
    "the reply socket answers 413 to a reply announcing more than max-reply before reading it, and the client gets 502",
  ...E2E,
  async fn() {
    const held = await holding();
    const { uro, id, socket } = held;
    try {
      // Only the headers: the gigabyte never comes, and need not.
      const answer = await exchangeRaw(
        socket,
        `POST /uri/${id} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000000000\r\n\r\n`,
      );
      assertProblem(answer, 413, "a reply announcing 1 GB");
      const client = await held.answer;
      assert.equal(client.status, 502);
      assert.equal(client.headers.get("content-type"), "application/problem+json");
      const late = await uro.reply(`/uri/${id}`, { body: "{}" });
      assert.equal(late.status, 410, "the id was consumed");
      await uro.release(held.pid);
      await assertStillServes(uro, "/other");
    } finally {
      await uro.stop();
    }
  },
});

Deno.test({
  name: "the reply socket lets exactly one of ten racing replies win and answers the others 409",
  ...E2E,
  async fn() {
    const held = await holding();
    const { uro, id } = held;
    try {
      const racing = await Promise.all(
        Array.from({ length: 10 }, (_, n) => uro.reply(`/uri/${id}`, { body: `{"n":${n}}` })),
      );
      const statuses = racing.map((r) => r.status);
      assert.deepEqual(statuses.filter((s) => s === 200).length, 1, `statuses: ${statuses}`);
      assert.deepEqual(statuses.filter((s) => s === 409).length, 9, `statuses: ${statuses}`);
      const winner = statuses.indexOf(200);
      assert.deepEqual((await held.answer).json(), { n: winner }, "the client got the winner");
      await uro.release(held.pid);
      await assertStillServes(uro, "/other");
    } finally {
      await uro.stop();
    }
  },
});

Deno.test({
  name:
    "a peer that connects to the reply socket and sends garbage is refused, and the id stays pending",
  ...E2E,
  async fn() {
    const held = await holding();
    const { uro, id, socket } = held;
    const lingering: Deno.Conn[] = [];
    try {
      const garbage: [string, string | Uint8Array, boolean][] = [
        ["binary noise", Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256), false],
        ["NUL bytes", new Uint8Array(256), false],
        ["a TLS ClientHello", Uint8Array.of(0x16, 3, 1, 0, 0xa5, 1, 0, 0, 0xa1, 3, 3), false],
        ["a request line alone", `POST /uri/${id}\r\n\r\n`, false],
        ["a header without a colon", `POST /uri/${id} HTTP/1.1\r\nHost localhost\r\n\r\n`, false],
        ["half a request, then the end", `POST /uri/${id} HTTP/1.1\r\nHost: localhost\r\n`, true],
        ["nothing at all, then the end", "", true],
      ];
      for (const [what, request, closeWrite] of garbage) {
        assertRefused(await exchangeRaw(socket, request, { closeWrite }), what);
      }
      // A peer that sends half its headers and then just stays: the proper reply still gets in.
      const stuck = await connect(socket);
      lingering.push(stuck);
      await writeAll(stuck, bytes(`POST /uri/${id} HTTP/1.1\r\nHost: loc`));
      await assertStillPending(uro, held);
      // Once it finishes, it is told the id was answered.
      await writeAll(stuck, bytes("alhost\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"));
      const late = await readResponse(stuck);
      assert.equal(late.status, 409);
    } finally {
      for (const connection of lingering) connection.close();
      await uro.stop();
    }
  },
});
