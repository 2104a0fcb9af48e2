/**
 * The hostile-input catalogue of the HTTP front: each test sends what a
 * broken or malicious client would, checks the answer (urocket's own
 * problem+json with a request id, or — where Deno's HTTP layer answers by
 * itself — a bare 4xx or a closed connection), and then that the next normal
 * request is still answered by its own process.
 */

import assert from "node:assert/strict";
import { E2E, isAlive, startUrocket, type Urocket, withUrocket } from "./_harness.ts";
import {
  assertProblem,
  assertRefused,
  assertStillServes,
  bytes,
  connect,
  exchangeRaw,
  front,
  readResponse,
  writeAll,
} from "./_raw.ts";

const OPENAPI = `openapi: 3.0.3
info: { title: hostile front, version: "1" }
paths:
  /run:
    post:
      operationId: run
      responses: { "200": { description: ok } }
  /run/{name}:
    get:
      operationId: runNamed
      parameters:
        - { name: name, in: path, required: true, schema: { type: string } }
      responses: { "200": { description: ok } }
  /argv:
    post:
      operationId: argv
      responses: { "200": { description: ok } }
  /flood:
    post:
      operationId: flood
      responses: { "200": { description: ok } }
`;

const CONFIG = `
max-body: 1KiB
paths:
  /run:
    post:
      inject: { cmd: "{{fixtures}}/echo.ts", pass-headers: [X-Note] }
  /run/{name}:
    get:
      inject: { cmd: "{{fixtures}}/echo.ts", pass-headers: [X-Note] }
  /argv:
    post:
      inject: { cmd: "{{fixtures}}/echo.ts", channel: cmdline, encoding: raw }
  /flood:
    post:
      max-reply: 1GiB
      stream-timeout: 2s
      inject: { cmd: "{{fixtures}}/flood.sh", pass-headers: [X-Size] }
`;

function start(): Promise<Urocket> {
  return startUrocket({ config: CONFIG, openapi: OPENAPI });
}

/** A complete GET request for `target` (the request line's target, sent as is). */
const get = (target: string, headers = "") =>
  `GET ${target} HTTP/1.1\r\nHost: x\r\n${headers}Connection: close\r\n\r\n`;

/** A complete POST request with `body` (sent as is) and its Content-Length. */
const post = (target: string, body: string, headers = "") =>
  `POST ${target} HTTP/1.1\r\nHost: x\r\n${headers}Content-Length: ${bytes(body).length}\r\n` +
  `Connection: close\r\n\r\n${body}`;

/** Asserts that the request with `id` was answered without starting a process. */
async function assertNothingSpawned(uro: Urocket, id: string | null): Promise<void> {
  assert.ok(id, "the answer carries its request id");
  const access = await uro.waitForLog((l) => l.msg === "access" && l.req_id === id);
  assert.equal(access.pid, undefined, "no process was started");
  assert.equal(access.outcome, "rejected");
}

Deno.test({
  name:
    "the front refuses invalid UTF-8 where it cannot travel, and passes it unchanged where it can",
  ...E2E,
  async fn() {
    const uro = await start();
    try {
      const target = front(uro);
      assertRefused(await exchangeRaw(target, get("/run/\xff\xfe")), "raw bytes in the path");
      await assertStillServes(uro);
      assertRefused(await exchangeRaw(target, get("/run/x?q=\xff")), "raw bytes in the query");
      await assertStillServes(uro);

      const param = await exchangeRaw(target, get("/run/%ff%fe"));
      assertProblem(param, 400, "percent-encoded in a path parameter");
      await assertNothingSpawned(uro, param.headers.get("x-request-id"));
      await assertStillServes(uro);

      const query = await exchangeRaw(target, get("/run/x?q=%ff"));
      assert.equal(query.status, 200);
      assert.equal(JSON.parse(query.body).env.QUERY_STRING, "q=%ff", "the query stays raw");
      await assertStillServes(uro);

      const header = await exchangeRaw(target, get("/run/x", "X-Note: \xff\xfe\r\n"));
      assert.equal(header.status, 200);
      assert.equal(
        JSON.parse(header.body).env.HTTP_X_NOTE,
        "\xff\xfe",
        "header bytes are read as Latin-1",
      );
      await assertStillServes(uro);

      const stdin = await exchangeRaw(
        target,
        post("/run", "\xff\xfe\x00", "Content-Type: application/octet-stream\r\n"),
      );
      assert.equal(stdin.status, 200);
      assert.equal(JSON.parse(stdin.body).stdinBytes, 3, "the body reaches stdin byte for byte");
      await assertStillServes(uro);

      const cmdline = await exchangeRaw(target, post("/argv", "\xff\xfe"));
      assertProblem(cmdline, 400, "invalid UTF-8 cannot be a command-line argument");
      assert.match(JSON.parse(cmdline.body).detail, /channel: stdin/);
      await assertNothingSpawned(uro, cmdline.headers.get("x-request-id"));
      await assertStillServes(uro);
    } finally {
      await uro.stop();
    }
  },
});

Deno.test({
  name: "the front refuses %00 in a path and passes it, still encoded, in the query",
  ...E2E,
  async fn() {
    const uro = await start();
    try {
      const target = front(uro);
      const param = await exchangeRaw(target, get("/run/a%00b"));
      assertProblem(param, 400, "NUL in a path parameter");
      assert.match(JSON.parse(param.body).detail, /contains NUL/);
      await assertNothingSpawned(uro, param.headers.get("x-request-id"));
      await assertStillServes(uro);

      assertProblem(await exchangeRaw(target, get("/run%00")), 404, "NUL in a literal segment");
      await assertStillServes(uro);

      const query = await exchangeRaw(target, get("/run/x?q=%00&%00=1"));
      assert.equal(query.status, 200);
      const env = JSON.parse(query.body).env;
      assert.equal(env.QUERY_STRING, "q=%00&%00=1", "no NUL byte reaches the environment");
      await assertStillServes(uro);

      assertRefused(await exchangeRaw(target, get("/run/a\x00b")), "a raw NUL in the path");
      await assertStillServes(uro);
      assertRefused(await exchangeRaw(target, get("/run/x?q=\x00")), "a raw NUL in the query");
      await assertStillServes(uro);
    } finally {
      await uro.stop();
    }
  },
});

Deno.test({
  name: "the front hands the process QUERY_STRING exactly as the client sent it",
  ...E2E,
  async fn() {
    const uro = await start();
    try {
      // A URL parser re-encodes ", ', < and > in a query (%22, %27, %3C, %3E): the raw query is
      // what the client sent, byte for byte, as the table of variables in docs/processes.md says.
      const query = `name=O'Brien&q="a%20b"&t=<x>&e=%27&s=a+b`;
      const answer = await exchangeRaw(front(uro), get(`/run/x?${query}`));
      assert.equal(answer.status, 200, answer.body);
      assert.equal(JSON.parse(answer.body).env.QUERY_STRING, query);
      const id = answer.headers.get("x-request-id");
      await uro.waitForLog((l) => l.msg === "process_exit" && l.req_id === id);
    } finally {
      await uro.stop();
    }
  },
});

Deno.test({
  name: "the front refuses a 64 KiB header and keeps serving",
  ...E2E,
  async fn() {
    const uro = await start();
    try {
      const header = `X-Note: ${"n".repeat(64 * 1024)}\r\n`;
      assertRefused(await exchangeRaw(front(uro), get("/run/x", header)), "64 KiB header");
      await assertStillServes(uro);
    } finally {
      await uro.stop();
    }
  },
});

Deno.test({
  name: "the front refuses 10,000 headers and keeps serving",
  ...E2E,
  async fn() {
    const uro = await start();
    try {
      const headers = Array.from({ length: 10_000 }, (_, i) => `X-H${i}: v\r\n`).join("");
      assertRefused(await exchangeRaw(front(uro), get("/run/x", headers)), "10,000 headers");
      await assertStillServes(uro);
    } finally {
      await uro.stop();
    }
  },
});

Deno.test({
  name: "the front hands 10,000 query parameters to the process unchanged",
  ...E2E,
  async fn() {
    const uro = await start();
    try {
      const query = Array.from({ length: 10_000 }, () => "k=v").join("&");
      const answer = await uro.call(`/run/x?${query}`);
      assert.equal(answer.status, 200);
      assert.equal(answer.json().env.QUERY_STRING, query);
      await assertStillServes(uro);
    } finally {
      await uro.stop();
    }
  },
});

Deno.test({
  name: "path traversal never reaches an undeclared path, and a decoded parameter is only data",
  ...E2E,
  async fn() {
    const uro = await start();
    try {
      const target = front(uro);
      // Dot segments, raw or percent-encoded, are resolved as a URL parser does, before routing.
      for (
        const path of [
          "/../../etc/passwd",
          "/run/../../etc/passwd",
          "/run/x/../../../etc/passwd",
          "/run/%2e%2e/%2e%2e/etc/passwd",
          "/run/%2E%2E/%2e./.%2e/etc/passwd",
          "/run/x/..",
          "/run\\..\\..\\etc\\passwd",
        ]
      ) {
        assertProblem(await exchangeRaw(target, get(path)), 404, path);
        await assertStillServes(uro);
      }
      // Inside one segment, what decodes to dots and slashes is the parameter's value, decoded
      // once: double encoding stays encoded, and nothing is a file path to urocket.
      for (
        const [path, value] of [
          ["/run/..%2f..%2fetc%2fpasswd", "../../etc/passwd"],
          ["/run/%2e%2e%2f%2e%2e", "../.."],
          ["/run/..%5c..%5cetc", "..\\..\\etc"],
          ["/run/%252e%252e%252fetc", "%2e%2e%2fetc"],
          ["/run/%c0%ae%c0%ae", undefined],
        ] as const
      ) {
        const answer = await exchangeRaw(target, get(path));
        if (value === undefined) {
          assertProblem(answer, 400, `${path} (overlong UTF-8)`);
        } else {
          assert.equal(answer.status, 200, path);
          const echo = JSON.parse(answer.body);
          assert.equal(echo.env.PATH_PARAM_NAME, value, path);
          assert.equal(echo.env.URIPATH, path, "URIPATH is the path as received");
          assert.equal(echo.cwd, `${uro.dir}`, "the process runs in its wd");
        }
        await assertStillServes(uro);
      }
      // Characters a URL parser percent-encodes in a path reach URIPATH encoded, as routed.
      const raw = await exchangeRaw(target, get('/run/a"b<c>`d{e}'));
      assert.equal(raw.status, 200);
      const echo = JSON.parse(raw.body);
      assert.equal(echo.env.PATH_PARAM_NAME, 'a"b<c>`d{e}');
      assert.equal(echo.env.URIPATH, "/run/a%22b%3Cc%3E%60d%7Be%7D");
      const id = raw.headers.get("x-request-id");
      await uro.waitForLog((l) => l.msg === "process_exit" && l.req_id === id, "its exit");
    } finally {
      await uro.stop();
    }
  },
});

Deno.test({
  name: "the front answers 413 at once to a body over max-body sent with Content-Length",
  ...E2E,
  async fn() {
    const uro = await start();
    try {
      const target = front(uro);
      const whole = await exchangeRaw(target, post("/run", "x".repeat(2048)));
      assertProblem(whole, 413, "the whole body sent");
      await assertNothingSpawned(uro, whole.headers.get("x-request-id"));
      await assertStillServes(uro);
      // The body never comes: the declared length alone is enough to refuse.
      const announced = await exchangeRaw(
        target,
        "POST /run HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n",
      );
      assertProblem(announced, 413, "only the headers sent");
      await assertNothingSpawned(uro, announced.headers.get("x-request-id"));
      await assertStillServes(uro);
    } finally {
      await uro.stop();
    }
  },
});

Deno.test({
  name: "the front answers 413 to a body over max-body whose Content-Length is sent twice",
  ...E2E,
  async fn() {
    const uro = await start();
    try {
      // Deno takes two identical Content-Length lines; joined they read "2048, 2048".
      const twice = await exchangeRaw(
        front(uro),
        "POST /run HTTP/1.1\r\nHost: x\r\nContent-Length: 2048\r\nContent-Length: 2048\r\n" +
          `Connection: close\r\n\r\n${"x".repeat(2048)}`,
      );
      assertProblem(twice, 413, "the length sent twice");
      await assertNothingSpawned(uro, twice.headers.get("x-request-id"));
      await assertStillServes(uro);
    } finally {
      await uro.stop();
    }
  },
});

Deno.test({
  name: "the front answers 413 to a chunked body over max-body as soon as it passes",
  ...E2E,
  async fn() {
    const uro = await start();
    try {
      const target = front(uro);
      const chunk = `400\r\n${"x".repeat(0x400)}\r\n`;
      const head = "POST /run HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n";
      const whole = await exchangeRaw(
        target,
        `${head}Connection: close\r\n\r\n${chunk}${chunk}0\r\n\r\n`,
      );
      assertProblem(whole, 413, "the whole chunked body sent");
      await assertNothingSpawned(uro, whole.headers.get("x-request-id"));
      await assertStillServes(uro);
      // A body that keeps coming: refused once past the limit, without waiting for its end.
      const endless = await exchangeRaw(target, `${head}\r\n${chunk}${chunk}`);
      assertProblem(endless, 413, "a chunked body that never ends");
      await assertNothingSpawned(uro, endless.headers.get("x-request-id"));
      await assertStillServes(uro);
    } finally {
      await uro.stop();
    }
  },
});

Deno.test({
  name: "a client that leaves halfway through its body is a 400 in the log, not an internal error",
  ...E2E,
  async fn() {
    const uro = await start();
    try {
      for (
        const [id, request, body] of [
          ["half-length", "Content-Length: 100", "0123456789"],
          ["half-chunked", "Transfer-Encoding: chunked", "10\r\n0123456789abcdef\r\n"],
        ]
      ) {
        const connection = await connect(front(uro));
        await writeAll(
          connection,
          bytes(
            `POST /run HTTP/1.1\r\nHost: x\r\n${request}\r\nX-Request-Id: ${id}\r\n\r\n${body}`,
          ),
        );
        // The client leaves before its body's end, while urocket reads it.
        connection.close();
        const access = await uro.waitForLog((l) =>
          l.msg === "access" && l.client_request_id === id
        );
        assert.equal(access.status, 400, id);
        assert.equal(access.pid, undefined, "nothing was spawned");
        await assertStillServes(uro);
      }
      assert.deepEqual(uro.find((l) => l.level === "error"), [], "no internal error was logged");
    } finally {
      await uro.stop();
    }
  },
});

Deno.test({
  name:
    "the front refuses Content-Length with Transfer-Encoding, and two different Content-Lengths",
  ...E2E,
  async fn() {
    const uro = await start();
    try {
      const target = front(uro);
      assertRefused(
        await exchangeRaw(
          target,
          "POST /run HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n" +
            "Connection: close\r\n\r\n0\r\n\r\n",
        ),
        "Content-Length with Transfer-Encoding",
      );
      await assertStillServes(uro);
      assertRefused(
        await exchangeRaw(
          target,
          "POST /run HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n" +
            "Connection: close\r\n\r\n{}",
        ),
        "two Content-Lengths",
      );
      await assertStillServes(uro);
      // The same length twice is one length (RFC 9110 allows accepting it).
      const same = await exchangeRaw(
        target,
        "POST /run HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n" +
          "Content-Length: 2\r\nConnection: close\r\n\r\n{}",
      );
      assert.equal(same.status, 200);
      assert.equal(JSON.parse(same.body).stdin, "{}");
      await assertStillServes(uro);
    } finally {
      await uro.stop();
    }
  },
});

Deno.test({
  name: "the front refuses raw garbage bytes and keeps serving",
  ...E2E,
  async fn() {
    const uro = await start();
    try {
      const target = front(uro);
      const garbage: [string, string | Uint8Array, boolean][] = [
        ["binary noise", Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256), false],
        ["a TLS ClientHello", Uint8Array.of(0x16, 3, 1, 0, 0xa5, 1, 0, 0, 0xa1, 3, 3, 1, 2), false],
        ["NUL bytes", new Uint8Array(512), false],
        ["a request line without a version", "GET /run/x\r\n\r\n", false],
        ["an unknown HTTP version", "GET /run/x HTTP/9.9\r\nHost: x\r\n\r\n", false],
        ["a header line without a colon", "GET /run/x HTTP/1.1\r\nHost x\r\n\r\n", false],
        ["a folded header", "GET /run/x HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", false],
        ["a bare LF inside a header", "GET /run/x HTTP/1.1\r\nHost: x\r\nX-A: a\nb\r\n\r\n", false],
        ["half a request, then the end", "GET /run/x HTTP/1.1\r\nHost: x\r\n", true],
        ["a line of text, then the end", "hello there", true],
      ];
      for (const [what, request, closeWrite] of garbage) {
        assertRefused(await exchangeRaw(target, request, { closeWrite }), what);
        await assertStillServes(uro);
      }
    } finally {
      await uro.stop();
    }
  },
});

Deno.test({
  name: "50 clients trickling their headers do not stop a normal request from being answered",
  ...E2E,
  async fn() {
    const uro = await start();
    const slow: Deno.Conn[] = [];
    try {
      const target = front(uro);
      // Deno.serve has no header-read timeout; these connections stay open as long as they like.
      const request = "GET /nowhere HTTP/1.1\r\nHost: x\r\n";
      for (let i = 0; i < 50; i++) slow.push(await connect(target));
      for (let i = 0; i < 8; i++) {
        for (const connection of slow) await writeAll(connection, bytes(request[i]));
      }
      await assertStillServes(uro);
      await assertStillServes(uro);
      // Each one is still served when it finally ends its headers.
      for (const connection of slow) {
        await writeAll(connection, bytes(`${request.slice(8)}Connection: close\r\n\r\n`));
      }
      for (const answer of await Promise.all(slow.map(readResponse))) {
        assertProblem(answer, 404, "a slow client's request");
      }
      await assertStillServes(uro);
    } finally {
      for (const connection of slow) connection.close();
      await uro.stop();
    }
  },
});

Deno.test({
  name:
    "a client that stops reading a large reply holds neither the server nor, after stream-timeout, its process",
  ...E2E,
  async fn() {
    const uro = await start();
    const stalled = await connect(front(uro));
    try {
      // 64 MiB is far more than the socket buffers between urocket and this client can hold.
      await writeAll(
        stalled,
        bytes(
          "POST /flood HTTP/1.1\r\nHost: x\r\nX-Size: 67108864\r\nContent-Length: 0\r\n\r\n",
        ),
      );
      await assertStillServes(uro);
      const exit = await uro.waitForLog((l) => l.msg === "process_exit" && l.operation === "flood");
      assert.equal(exit.kill_reason, "stream_timeout", "the stalled stream was cut and killed");
      assert.ok(!isAlive(exit.pid as number), "the process group is gone");
      const access = await uro.waitForLog((l) => l.msg === "access" && l.req_id === exit.req_id);
      assert.equal(access.outcome, "stream_timeout");
      await assertStillServes(uro);
    } finally {
      stalled.close();
      await uro.stop();
    }
  },
});

Deno.test({
  name:
    "the front refuses malformed JSON and an undeclared content type under validate-in, spawning nothing",
  ...E2E,
  async fn() {
    await withUrocket({
      openapi: `openapi: 3.0.3
info: { title: hostile validation, version: "1" }
paths:
  /run:
    post:
      operationId: run
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              properties: { note: { type: string } }
      responses: { "200": { description: ok } }
`,
      config: `
paths:
  /run:
    post:
      validate-in: true
      inject: { cmd: "{{fixtures}}/echo.ts" }
`,
    }, async (uro) => {
      const target = front(uro);
      const json = "Content-Type: application/json\r\n";
      const malformed = [
        '{"note":',
        "{'note': 'single quotes'}",
        '{"note": "x"} trailing',
        '{"note": "\\ud800 lone"',
        "[".repeat(100_000),
        "NaN",
      ];
      for (const body of malformed) {
        const answer = await exchangeRaw(target, post("/run", body, json));
        assertProblem(answer, 400, `malformed JSON ${JSON.stringify(body.slice(0, 20))}`);
        const problem = JSON.parse(answer.body);
        assert.equal(problem.errors[0].in, "body");
        await assertNothingSpawned(uro, answer.headers.get("x-request-id"));
        await assertStillServes(uro);
      }
      // RFC 8259 lets a parser ignore a byte order mark; the bytes still reach the process unchanged.
      const bom = await exchangeRaw(target, post("/run", "\xef\xbb\xbf{}", json));
      assert.equal(bom.status, 200);
      assert.equal(JSON.parse(bom.body).stdinBytes, 5);
      await assertStillServes(uro);
      const undeclared = [
        "Content-Type: text/plain\r\n",
        "Content-Type: application/xml\r\n",
        "Content-Type: multipart/form-data; boundary=x\r\n",
        "Content-Type: application/json-seq\r\n",
        "Content-Type: \r\n",
      ];
      for (const type of undeclared) {
        const answer = await exchangeRaw(target, post("/run", '{"note":"x"}', type));
        assertProblem(answer, 415, `undeclared ${type.trim()}`);
        await assertNothingSpawned(uro, answer.headers.get("x-request-id"));
        await assertStillServes(uro);
      }
    });
  },
});
