import assert from "node:assert/strict";
import { E2E, withUrocket } from "./_harness.ts";

const ECHO_CONFIG = `
paths:
  /run:
    post:
      inject:
        cmd: ["{{deno}}", "run", "-A", "{{fixtures}}/echo.ts", "first arg", "$HOME"]
        env: [MYENV=CI, FROM_URO, MISSING_ONE]
        pass-headers: [X-Api-Key, Authorization]
  /run/{name}:
    get:
      inject:
        wd: "{{fixtures}}"
        cmd: ./echo.ts
        channel: cmdline
      outtake: usocket://replies/{req_id}/done
`;

Deno.test({
  name: "urocket answers a request with the reply its process sends over the socket",
  ...E2E,
  async fn() {
    await withUrocket({
      config: ECHO_CONFIG,
      env: { FROM_URO: "passed", SECRET: "s3" },
    }, async (uro) => {
      const answer = await uro.call(`/run?a=1&b=%20x`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-api-key": "k-123",
          "x-request-id": "client-chosen",
          "proxy": "http://evil",
        },
        body: '{"name":"Rex"}',
      });
      assert.equal(answer.status, 200);
      assert.equal(answer.headers.get("content-type"), "application/json");
      const id = answer.headers.get("x-request-id")!;
      assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.notEqual(id, "client-chosen");
      const echoed = answer.json();
      assert.deepEqual(echoed.args, ["first arg", "$HOME"]);
      assert.equal(echoed.stdin, '{"name":"Rex"}');
      const env = echoed.env;
      assert.equal(env.REQUEST_ID, id);
      assert.equal(env.URIPATH, "/run");
      assert.equal(env.REQUEST_METHOD, "POST");
      assert.equal(env.QUERY_STRING, "a=1&b=%20x");
      assert.equal(env.CONTENT_TYPE, "application/json");
      assert.equal(env.CONTENT_LENGTH, "14");
      assert.equal(env.UROCKET_SOCKET, uro.socket);
      assert.equal(env.UROCKET_REPLY_URL, `http://localhost/uri/${id}`);
      assert.ok(Math.abs(Number(env.UROCKET_DEADLINE_MS) - (Date.now() + 30_000)) < 10_000);
      assert.equal(env.MYENV, "CI");
      assert.equal(env.FROM_URO, "passed");
      assert.equal(env.HTTP_X_API_KEY, "k-123");
      assert.equal(env.HTTP_AUTHORIZATION, undefined, "an absent header sets nothing");
      assert.equal(env.HTTP_PROXY, undefined, "the Proxy header never becomes HTTP_PROXY");
      assert.equal(env.SECRET, undefined, "urocket's environment is not inherited");
      assert.ok(env.PATH, "PATH is inherited");
      const access = await uro.waitForLog((l) => l.msg === "access" && l.req_id === id);
      assert.equal(access.client_request_id, "client-chosen");
      assert.equal(access.status, 200);
      assert.equal(access.outcome, "replied");
      assert.equal(access.operation, "run");
      assert.equal(typeof access.duration_ms, "number");
      assert.equal(typeof access.pid, "number");
      const exit = await uro.waitForLog((l) => l.msg === "process_exit" && l.req_id === id);
      assert.equal(exit.exit_code, 0);
      assert.equal(exit.killed, false);
      assert.equal(typeof exit.lifetime_ms, "number");
      const warning = uro.find((l) => l.msg === "config_warning");
      assert.ok(warning.some((w) => String(w.message).includes("MISSING_ONE")));
      assert.ok(
        !JSON.stringify(uro.logs).includes("s3") && !JSON.stringify(uro.logs).includes("Rex"),
        "environment values and bodies are never logged",
      );
    });
  },
});

Deno.test({
  name:
    "urocket passes a cmdline payload as the last argument, path parameters and a custom outtake",
  ...E2E,
  async fn() {
    await withUrocket({ config: ECHO_CONFIG }, async (uro) => {
      const answer = await uro.call(`/run/caf%C3%A9%2Fbar`);
      assert.equal(answer.status, 200);
      const echoed = answer.json();
      assert.deepEqual(
        echoed.args,
        ["{}"],
        "no body with encoding json is {} as the last argument",
      );
      assert.equal(echoed.env.PATH_PARAM_NAME, "café/bar");
      assert.equal(echoed.env.URIPATH, "/run/caf%C3%A9%2Fbar");
      assert.equal(echoed.stdinBytes, 0, "stdin is empty with channel cmdline");
      assert.match(
        echoed.env.UROCKET_REPLY_URL,
        /^http:\/\/localhost\/replies\/[0-9a-f-]{36}\/done$/,
      );
      assert.equal(echoed.cwd, new URL("./fixtures", import.meta.url).pathname);
    });
  },
});

Deno.test({
  name: "urocket turns a form body into a JSON object and passes raw bodies unchanged",
  ...E2E,
  async fn() {
    await withUrocket({
      config: `
paths:
  /run:
    post:
      inject:
        cmd: ["{{deno}}", "run", "-A", "{{fixtures}}/echo.ts"]
  /other:
    post:
      inject:
        cmd: ["{{deno}}", "run", "-A", "{{fixtures}}/echo.ts"]
        encoding: raw
`,
    }, async (uro) => {
      const form = await uro.call(`/run`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "name=Fido&tag=dog&tag=good+boy",
      });
      const formEcho = form.json();
      assert.deepEqual(JSON.parse(formEcho.stdin), { name: "Fido", tag: ["dog", "good boy"] });
      assert.equal(formEcho.env.CONTENT_TYPE, "application/json");
      const text = await uro.call(`/run`, {
        method: "POST",
        headers: { "content-type": "text/plain" },
        body: "not json at all",
      });
      assert.equal(text.json().stdin, "not json at all", "other types pass unchanged");
      const raw = await uro.call(`/other`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "a=1",
      });
      assert.equal(raw.json().stdin, "a=1");
      assert.equal(raw.json().env.CONTENT_TYPE, "application/x-www-form-urlencoded");
      const empty = await uro.call(`/other`, { method: "POST" });
      assert.equal(empty.json().stdinBytes, 0, "raw keeps an empty body empty");
    });
  },
});

Deno.test({
  name: "urocket routes by the OpenAPI document: 404, 405 with Allow, 501 for unwired operations",
  ...E2E,
  async fn() {
    await withUrocket({
      config: `
paths:
  /run:
    post:
      inject: { cmd: "{{fixtures}}/reply.sh" }
`,
    }, async (uro) => {
      const missing = await uro.call(`/nowhere`);
      assert.equal(missing.status, 404);
      assert.equal(missing.headers.get("content-type"), "application/problem+json");
      const problem = missing.json();
      assert.equal(problem.status, 404);
      assert.equal(problem.request_id, missing.headers.get("x-request-id"));
      assert.ok(problem.title && problem.detail);

      const wrongMethod = await uro.call(`/run`, { method: "GET" });
      assert.equal(wrongMethod.status, 405);
      assert.equal(wrongMethod.headers.get("allow"), "POST");

      const head = await uro.call(`/run`, { method: "HEAD" });
      assert.equal(head.status, 405, "HEAD is not implied by GET or POST");

      const unwired = await uro.call(`/unwired`);
      assert.equal(unwired.status, 501);
      assert.ok(
        uro.find((l) => l.msg === "config_warning" && String(l.message).includes("/unwired"))
          .length,
      );

      const ok = await uro.call(`/run`, { method: "POST" });
      assert.equal(ok.status, 200);
      assert.deepEqual(ok.json(), { ok: true });
    });
  },
});

Deno.test({
  name: "urocket routes literal paths before templated ones and under the servers[0] prefix",
  ...E2E,
  async fn() {
    await withUrocket({
      openapi: `openapi: 3.1.0
info: { title: t, version: "1" }
servers:
  - url: https://api.example.com/{base}
    variables:
      base: { default: v1 }
paths:
  /pets/{petId}:
    get: { responses: { "200": { description: ok } } }
  /pets/mine:
    get: { responses: { "200": { description: ok } } }
`,
      config: `
paths:
  /pets/{petId}:
    get:
      inject: { cmd: ["{{fixtures}}/reply.sh", '{"route":"template"}'] }
  /pets/mine:
    get:
      inject: { cmd: ["{{fixtures}}/reply.sh", '{"route":"literal"}'] }
`,
    }, async (uro) => {
      assert.deepEqual((await uro.call(`/v1/pets/mine`)).json(), { route: "literal" });
      assert.deepEqual((await uro.call(`/v1/pets/7`)).json(), { route: "template" });
      assert.equal((await uro.call(`/pets/7`)).status, 404, "the prefix is required");
    });
  },
});

Deno.test({
  name: "urocket logs stdout lines with logstdout, stderr always, and cuts a 1 MiB line",
  ...E2E,
  async fn() {
    await withUrocket({
      config: `
paths:
  /run:
    post:
      logstdout: true
      inject: { cmd: "{{fixtures}}/chatty.sh" }
  /other:
    post:
      inject: { cmd: "{{fixtures}}/chatty.sh" }
`,
    }, async (uro) => {
      const answer = await uro.call(`/run`, { method: "POST" });
      assert.equal(answer.status, 200);
      const id = answer.headers.get("x-request-id");
      await uro.waitForLog((l) => l.msg === "process_exit" && l.req_id === id);
      const out = uro.find((l) => l.msg === "stdout" && l.req_id === id);
      assert.deepEqual(out.map((l) => l.line).filter((l) => String(l).length < 100), [
        "first line",
        "second line",
        "after the long line",
      ]);
      const long = out.find((l) => l.truncated === true);
      assert.ok(long, "the 1 MiB line is logged, cut");
      assert.ok(String(long.line).length < 65_536);
      const err = uro.find((l) => l.msg === "stderr" && l.req_id === id);
      assert.deepEqual(err.map((l) => [l.level, l.line]), [["warn", "a warning"]]);

      const quiet = await uro.call(`/other`, { method: "POST" });
      const quietId = quiet.headers.get("x-request-id");
      await uro.waitForLog((l) => l.msg === "process_exit" && l.req_id === quietId);
      assert.equal(uro.find((l) => l.msg === "stdout" && l.req_id === quietId).length, 0);
      assert.equal(uro.find((l) => l.msg === "stderr" && l.req_id === quietId).length, 1);
    });
  },
});

Deno.test({
  name: "urocket spawns each process as the leader of its own process group",
  ...E2E,
  async fn() {
    await withUrocket({
      config: `
paths:
  /run:
    post:
      inject: { cmd: "{{fixtures}}/pgid.sh" }
`,
    }, async (uro) => {
      const answer = await uro.call(`/run`, { method: "POST" });
      const { pid, pgid, sid } = answer.json();
      assert.equal(pgid, pid);
      assert.equal(sid, pid);
      const access = await uro.waitForLog((l) => l.msg === "access");
      assert.equal(access.pid, pid);
    });
  },
});

Deno.test({
  name: "urocket answers 200 concurrent requests, each with its own process's reply",
  ...E2E,
  async fn() {
    await withUrocket({
      config: `
max-inflight: 500
paths:
  /run/{name}:
    get:
      inject:
        cmd: ["{{fixtures}}/reply.sh"]
        channel: cmdline
`,
    }, async (uro) => {
      const answers = await Promise.all(
        Array.from({ length: 200 }, (_, i) => uro.call(`/run/n${i}`)),
      );
      answers.forEach((answer, i) => {
        assert.equal(answer.status, 200);
        assert.deepEqual(answer.json(), {}, `request ${i}`);
      });
      assert.equal(new Set(answers.map((a) => a.headers.get("x-request-id"))).size, 200);
      await uro.waitForLog(() => uro.find((l) => l.msg === "process_exit").length === 200);
    });
  },
});

Deno.test({
  name: "urocket writes several MiB to stdin and survives a process that never reads it",
  ...E2E,
  async fn() {
    await withUrocket({
      config: `
max-body: 16MiB
paths:
  /run:
    post:
      inject: { cmd: "{{fixtures}}/count.sh", encoding: raw }
  /other:
    post:
      inject: { cmd: "{{fixtures}}/deaf.sh", encoding: raw }
`,
    }, async (uro) => {
      const big = new Uint8Array(8 * 1024 * 1024).fill(65);
      const counted = await uro.call(`/run`, { method: "POST", body: big });
      assert.deepEqual(counted.json(), { bytes: big.length });
      const deaf = await uro.call(`/other`, { method: "POST", body: big });
      assert.deepEqual(deaf.json(), { announced: big.length });
      const after = await uro.call(`/run`, { method: "POST", body: "abc" });
      assert.deepEqual(after.json(), { bytes: 3 }, "the server still answers");
    });
  },
});
