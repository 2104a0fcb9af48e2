import assert from "node:assert/strict";
import { E2E, withUrocket } from "./_harness.ts";

const HOLD_CONFIG = `
paths:
  /run:
    post:
      inject: { cmd: "{{fixtures}}/hold.sh" }
  /other:
    post:
      outtake: usocket://other/{req_id}
      inject: { cmd: "{{fixtures}}/hold.sh" }
`;

Deno.test({
  name: "the reply socket delivers status, headers and body, and tells the replier 200",
  ...E2E,
  async fn() {
    await withUrocket({ config: HOLD_CONFIG }, async (uro) => {
      const held = await uro.hold("/run", { method: "POST" });
      const replied = await held.reply({
        method: "PUT",
        headers: {
          "content-type": "text/csv",
          "urocket-status": "201",
          "urocket-header-location": "/pets/7",
          "urocket-header-x-custom": "yes",
        },
        body: "a,b\n1,2\n",
      });
      assert.equal(replied.status, 200);
      assert.deepEqual(replied.json(), { status: "delivered", req_id: held.reqId });
      const answer = await held.answer;
      assert.equal(answer.status, 201);
      assert.equal(answer.text, "a,b\n1,2\n");
      assert.equal(answer.headers.get("content-type"), "text/csv");
      assert.equal(answer.headers.get("location"), "/pets/7");
      assert.equal(answer.headers.get("x-custom"), "yes");
      assert.equal(answer.headers.get("x-request-id"), held.reqId);
      await held.release();
    });
  },
});

Deno.test({
  name: "a reply without Content-Type gets the operation's single declared media type",
  ...E2E,
  async fn() {
    await withUrocket({ config: HOLD_CONFIG }, async (uro) => {
      const noType = { body: new Uint8Array([123, 125]) };
      const first = await uro.hold("/run", { method: "POST" });
      assert.equal((await first.reply(noType)).status, 200);
      const second = await uro.hold("/other", { method: "POST" });
      assert.equal((await second.reply(noType, "/other")).status, 200);
      await first.release();
      await second.release();
      assert.equal((await first.answer).headers.get("content-type"), "application/json");
      assert.equal(
        (await second.answer).headers.get("content-type"),
        "application/octet-stream",
        "an operation without a single declared media type",
      );
    });
  },
});

Deno.test({
  name:
    "the reply socket answers 400 for a bad reply and keeps the request pending for a proper one",
  ...E2E,
  async fn() {
    await withUrocket({ config: HOLD_CONFIG }, async (uro) => {
      const held = await uro.hold("/run", { method: "POST" });
      const path = `/uri/${held.reqId}`;
      for (const status of ["99", "600", "abc", "2e2", "200, 201", "20"]) {
        const bad = await uro.reply(path, { headers: { "urocket-status": status }, body: "{}" });
        assert.equal(bad.status, 400, `Urocket-Status: ${status}`);
        assert.equal(bad.headers.get("content-type"), "application/problem+json");
      }
      for (
        const header of [
          "connection",
          "keep-alive",
          "proxy-connection",
          "proxy-authenticate",
          "proxy-authorization",
          "te",
          "trailer",
          "transfer-encoding",
          "content-length",
          "upgrade",
          "content-type",
          "x-request-id",
        ]
      ) {
        const bad = await uro.reply(path, {
          headers: { [`urocket-header-${header}`]: "x" },
          body: "{}",
        });
        assert.equal(bad.status, 400, `Urocket-Header-${header}`);
      }
      for (const status of ["204", "205", "304"]) {
        const bodyWithout = await uro.reply(path, {
          headers: { "urocket-status": status },
          body: "x",
        });
        assert.equal(bodyWithout.status, 400, `a body with ${status}`);
      }
      // Deno's HTTP/1.1 server would send a 205 unframed, and the client would wait forever.
      const reset = await uro.reply(path, { headers: { "urocket-status": "205" } });
      assert.equal(reset.status, 400, "a 205, even without a body");
      assert.match(reset.json().detail, /205 is not supported: .*reply 204 instead/);
      const good = await uro.reply(path, { headers: { "urocket-status": "204" } });
      assert.equal(good.status, 200, "the request was still pending");
      const answer = await held.answer;
      assert.equal(answer.status, 204);
      assert.equal(answer.text, "");
      await held.release();
    });
  },
});

Deno.test({
  name:
    "the reply socket answers 404 for unknown ids, malformed ids, other paths and other operations' paths",
  ...E2E,
  async fn() {
    await withUrocket({ config: HOLD_CONFIG }, async (uro) => {
      const held = await uro.hold("/run", { method: "POST" });
      const unknown = await uro.reply(`/uri/${crypto.randomUUID()}`, { body: "{}" });
      assert.equal(unknown.status, 404);
      const wrongOperation = await uro.reply(`/other/${held.reqId}`, { body: "{}" });
      assert.equal(wrongOperation.status, 404, "an id on another operation's outtake path");
      const noTemplate = await uro.reply(`/nowhere/${held.reqId}`, { body: "{}" });
      assert.equal(noTemplate.status, 404);
      for (const id of ["not-a-uuid", "x".repeat(5000), "..%2f..", "abc%00", `${held.reqId}x`]) {
        const malformed = await uro.reply(`/uri/${id}`, { body: "{}" });
        assert.equal(malformed.status, 400, `id ${id.slice(0, 20)}`);
      }
      assert.equal((await held.reply({ body: "{}" })).status, 200);
      assert.equal((await held.answer).status, 200);
      await held.release();
    });
  },
});

Deno.test({
  name:
    "the reply socket answers 409 to a second reply and lets exactly one of two racing replies win",
  ...E2E,
  async fn() {
    await withUrocket({ config: HOLD_CONFIG }, async (uro) => {
      const held = await uro.hold("/run", { method: "POST" });
      const racing = await Promise.all([
        held.reply({ body: '{"n":1}' }),
        held.reply({ body: '{"n":2}' }),
      ]);
      assert.deepEqual(racing.map((r) => r.status).sort(), [200, 409]);
      const winner = racing.findIndex((r) => r.status === 200) + 1;
      assert.deepEqual((await held.answer).json(), { n: winner });
      const late = await held.reply({ body: "{}" });
      assert.equal(late.status, 409);
      await held.release();
    });
  },
});

Deno.test({
  name: "the reply socket answers 410 to a reply for a request that already timed out",
  ...E2E,
  async fn() {
    await withUrocket({
      config: `
paths:
  /run:
    post:
      timeout: 500ms
      kill-grace: 100ms
      inject: { cmd: "{{fixtures}}/hold.sh" }
`,
    }, async (uro) => {
      const answer = await uro.call("/run", { method: "POST" });
      assert.equal(answer.status, 504);
      const id = answer.headers.get("x-request-id");
      const late = await uro.reply(`/uri/${id}`, { body: "{}" });
      assert.equal(late.status, 410);
    });
  },
});

Deno.test({
  name:
    "a replier that disconnects mid-body leaves the request pending, and a proper reply then wins",
  ...E2E,
  async fn() {
    await withUrocket({ config: HOLD_CONFIG }, async (uro) => {
      const held = await uro.hold("/run", { method: "POST" });
      const connection = await Deno.connect({ transport: "unix", path: uro.socket });
      await connection.write(new TextEncoder().encode(
        `POST /uri/${held.reqId} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
          `Content-Length: 1000\r\n\r\n{"partial":`,
      ));
      connection.close();
      await uro.waitForLog((l) => l.msg === "reply_rejected" && l.reason === "broken_body");
      // Headers only, not a byte of the body: pending all the same.
      const headersOnly = await Deno.connect({ transport: "unix", path: uro.socket });
      await headersOnly.write(new TextEncoder().encode(
        `POST /uri/${held.reqId} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\n`,
      ));
      headersOnly.close();
      await uro.waitForLog(() =>
        uro.find((l) => l.msg === "reply_rejected" && l.reason === "broken_body").length === 2
      );
      const proper = await held.reply({ body: '{"whole":true}' });
      assert.equal(proper.status, 200);
      assert.deepEqual((await held.answer).json(), { whole: true });
      await held.release();
    });
  },
});

Deno.test({
  name: "a large reply streams through to the client without being collected first",
  ...E2E,
  async fn() {
    await withUrocket({ config: HOLD_CONFIG }, async (uro) => {
      const response = fetch(`${uro.url}/run`, { method: "POST" });
      const [held] = await uro.held();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => release = resolve);
      const chunk = new Uint8Array(256 * 1024).fill(97);
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          controller.enqueue(chunk);
          await gate;
          controller.enqueue(chunk);
          controller.close();
        },
      }, { highWaterMark: 0 });
      const replied = uro.reply(`/uri/${held.reqId}`, { body });
      const answer = await response;
      assert.equal(answer.status, 200, "status and headers arrive before the body is complete");
      const reader = answer.body!.getReader();
      let received = 0;
      while (received < chunk.length) received += (await reader.read()).value!.length;
      release();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        received += value.length;
      }
      assert.equal(received, 2 * chunk.length);
      assert.equal((await replied).status, 200);
      await uro.release(held.pid);
    });
  },
});
