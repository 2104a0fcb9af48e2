import assert from "node:assert/strict";
import {
  DENO,
  E2E,
  makeFolder,
  runUrocket,
  startUrocket,
  TEST_OPENAPI,
  type TestFiles,
  type Urocket,
} from "./_harness.ts";

const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

const folder = (files: TestFiles) => makeFolder("urocket-cmd-", files);

// --- refusals and schema ----------------------------------------------------------------------

Deno.test({
  name: "urocket refuses an unknown command and an option another command owns, with exit 2",
  ...E2E,
  async fn() {
    const unknown = await runUrocket(["frobnicate"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
    const foreign = await runUrocket(["check", "--status", "200"]);
    assert.equal(foreign.code, 2);
    assert.match(foreign.stderr, /urocket check: .*--status/);
  },
});

Deno.test({
  name: "urocket schema prints exactly the committed urocket-service.schema.json",
  ...E2E,
  async fn() {
    const result = await runUrocket(["schema"]);
    assert.equal(result.code, 0);
    assert.equal(result.stdout, await Deno.readTextFile(`${REPO}/urocket-service.schema.json`));
  },
});

// --- check ----------------------------------------------------------------------------------

Deno.test({
  name: "urocket check and serve refuse alike a schema too deep for the compiler, exiting 2",
  ...E2E,
  async fn() {
    // Deep enough for Ajv's compiler to run out of stack, not the document's own walks: a server
    // that compiled on first use would start, and answer 500 to each request of the operation.
    let schema = '{"type":"object"}';
    for (let i = 0; i < 650; i++) schema = `{"type":"object","properties":{"a":${schema}}}`;
    const config = (validate: boolean) =>
      `openapi: openapi.json
listen: 127.0.0.1:0
socket: ${dir}/u.sock
paths:
  /x:
    post:
      validate-in: ${validate}
      inject: { cmd: /bin/true }
`;
    const dir = await folder({
      "openapi.json":
        `{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{"/x":{"post":` +
        `{"requestBody":{"content":{"application/json":{"schema":${schema}}}},` +
        `"responses":{"200":{"description":"ok"}}}}}}`,
    });
    try {
      await Deno.writeTextFile(`${dir}/validating.yaml`, config(true));
      await Deno.writeTextFile(`${dir}/plain.yaml`, config(false));
      const plain = await runUrocket(["check", "--config", `${dir}/plain.yaml`]);
      assert.equal(plain.code, 0, plain.stderr);
      const problem =
        /openapi\.json: \/paths\/~1x\/post: POST \/x: its schemas cannot be compiled for validation: they are nested too deeply/;
      const checked = await runUrocket(["check", "--config", `${dir}/validating.yaml`]);
      assert.equal(checked.code, 2, checked.stderr);
      assert.match(checked.stderr, problem);
      assert.match(checked.stderr, /urocket would not start/);
      const served = await runUrocket(["--config", `${dir}/validating.yaml`]);
      assert.equal(served.code, 2, served.stderr);
      assert.match(served.stderr, problem);
      assert.doesNotMatch(served.stdout, /"msg":"start"/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "urocket check reports every problem of a broken config at once and exits 2",
  ...E2E,
  async fn() {
    const dir = await folder({
      "openapi.yaml": TEST_OPENAPI,
      "not-a-socket": "a regular file where the socket should go\n",
      "urocket-service.yaml": `listen: 127.0.0.1:8080
admin: 127.0.0.1:8080
socket: "{{dir}}/not-a-socket"
timout: 10s
paths:
  /run:
    post:
      inject:
        cmd: "{{dir}}/missing.sh"
        channel: pipe
        env: [TRACEPARENT=mine]
  /nowhere:
    get:
      inject: { cmd: /bin/true }
`,
    });
    try {
      const result = await runUrocket(["check", "--config", `${dir}/urocket-service.yaml`]);
      assert.equal(result.code, 2);
      assert.equal(result.stdout, "", "no summary for a config urocket would refuse");
      const lines = result.stderr.split("\n").filter((l) => l.startsWith(dir));
      const file = `${dir}/urocket-service.yaml`;
      const expected = [
        new RegExp(`^${file}:2: admin: The admin listener cannot share the front's port 8080$`),
        new RegExp(`^${file}:4: timout: Unknown key "timout": did you mean "timeout"\\?$`),
        new RegExp(`^${file}:10: paths\\./run\\.post\\.inject\\.channel: `),
        /paths\.\/run\.post\.inject\.env\[0\]: TRACEPARENT is set by urocket/,
        /paths\.\/run\.post\.inject\.cmd: Cannot run .*missing\.sh": no such file/,
        /paths\.\/nowhere\.get: GET \/nowhere is not an operation of/,
        /: socket: A file that is not a socket is there/,
      ];
      for (const pattern of expected) {
        assert.ok(
          lines.some((l) => pattern.test(l)),
          `no line matches ${pattern}:\n${lines.join("\n")}`,
        );
      }
      assert.equal(lines.length, expected.length, lines.join("\n"));
      assert.match(
        result.stderr,
        new RegExp(`urocket check: 7 problems in ${file}: urocket would not start`),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "urocket check refuses a socket path whose folder does not exist, with exit 2 as serve does",
  ...E2E,
  async fn() {
    const dir = await folder({
      "openapi.yaml": TEST_OPENAPI,
      "urocket-service.yaml": `listen: 127.0.0.1:0
socket: "{{dir}}/run/urocket/u.sock"
paths:
  /run:
    post:
      inject: { cmd: "{{fixtures}}/reply.sh" }
`,
    });
    const config = `${dir}/urocket-service.yaml`;
    try {
      const served = await runUrocket(["--config", config]);
      assert.equal(served.code, 2, "serve cannot bind a socket in a folder that is not there");
      const checked = await runUrocket(["check", "--config", config]);
      assert.equal(checked.code, 2, `check said: ${checked.stdout}`);
      assert.equal(checked.stdout, "");
      assert.match(
        checked.stderr,
        new RegExp(
          `^${config}: socket: The socket's folder "${dir}/run/urocket" does not exist`,
          "m",
        ),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "urocket check prints the operations wired and exits 0, without listening or spawning",
  ...E2E,
  async fn() {
    // The front's port is taken and the socket is live: serve would refuse both, check does not bind.
    const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const uro = await startUrocket({ config: "paths: {}\n" });
    const dir = await folder({
      "openapi.yaml": TEST_OPENAPI,
      "urocket-service.yaml": `listen: 127.0.0.1:${taken.addr.port}
admin: 127.0.0.1:0
socket: ${uro.socket}
paths:
  /run:
    post:
      timeout: 1500ms
      inject:
        cmd: ["{{fixtures}}/marker.sh", "it's here"]
        env: ["MARKERS={{dir}}/markers"]
  /run/{name}:
    get:
      timeout: 2m
      inject: { cmd: "{{fixtures}}/marker.sh", channel: cmdline }
`,
    });
    await Deno.mkdir(`${dir}/markers`);
    try {
      const result = await runUrocket(["check", "-c", `${dir}/urocket-service.yaml`]);
      assert.equal(result.code, 0, result.stderr);
      const fixtures = `${REPO}/tests/e2e/fixtures`;
      assert.deepEqual(result.stdout.split("\n"), [
        `${dir}/urocket-service.yaml: ok, urocket would start with it`,
        `  openapi    ${dir}/openapi.yaml`,
        "  base path  /, 4 routes",
        `  listen     127.0.0.1:${taken.addr.port}`,
        `  admin      127.0.0.1:0`,
        `  socket     ${uro.socket}`,
        "2 operations wired:",
        "  METHOD  PATH         CHANNEL  TIMEOUT  SECURITY  CMD",
        `  POST    /run         stdin    1500ms   none      ${fixtures}/marker.sh 'it'\\''s here'`,
        `  GET     /run/{name}  cmdline  2m       none      ${fixtures}/marker.sh`,
        "2 operations without config answer 501: POST /other, GET /unwired",
        "",
      ]);
      assert.doesNotMatch(result.stderr, /warning:/);
      assert.deepEqual([...Deno.readDirSync(`${dir}/markers`)], [], "nothing was spawned");
    } finally {
      taken.close();
      await uro.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "urocket check prints the base path and its origin, and one line for many unwired operations",
  ...E2E,
  async fn() {
    const paths = Array.from(
      { length: 300 },
      (_, i) => `  /things/${i}:\n    get: { responses: { "200": { description: ok } } }\n`,
    ).join("");
    const dir = await folder({
      "openapi.yaml": `openapi: 3.0.3
info: { title: many, version: "1" }
servers: [{ url: "https://{region}.api.example.com/v2" }]
paths:
${paths}`,
      "urocket-service.yaml": `socket: {{dir}}/u.sock
paths:
  /things/7:
    get: { inject: { cmd: "{{fixtures}}/marker.sh" } }
`,
    });
    try {
      const config = `${dir}/urocket-service.yaml`;
      const result = await runUrocket(["check", "-c", config]);
      assert.equal(result.code, 0, result.stderr);
      const lines = result.stdout.trimEnd().split("\n");
      assert.equal(lines[2], "  base path  /v2 (from servers[0].url), 300 routes");
      assert.equal(
        lines.at(-1),
        "299 operations without config answer 501 (urocket check --verbose lists them)",
      );
      assert.equal(lines.length, 10);
      assert.doesNotMatch(result.stderr, /warning:/);

      const verbose = await runUrocket(["check", "--verbose", "-c", config]);
      assert.equal(verbose.code, 0, verbose.stderr);
      const listed = verbose.stdout.trimEnd().split("\n");
      const at = listed.indexOf("299 operations without config answer 501:");
      assert.ok(at > 0, verbose.stdout);
      assert.deepEqual(listed.slice(at + 1, at + 3), ["  GET /things/0", "  GET /things/1"]);
      assert.equal(listed.length - at - 1, 299);

      await Deno.writeTextFile(config, `base-path: /\n${await Deno.readTextFile(config)}`);
      const rooted = await runUrocket(["check", "-c", config]);
      assert.equal(rooted.stdout.split("\n")[2], "  base path  / (from base-path), 300 routes");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

// --- reply ----------------------------------------------------------------------------------

const REPLY_OPENAPI = `openapi: 3.0.3
info: { title: urocket reply, version: "1" }
paths:
${
  ["ok", "stdin", "twice", "unknown", "large", "bad", "nosocket", "late", "stream"].map((name) =>
    `  /${name}:\n    post:\n      operationId: ${name}\n      responses: { "200": { description: ok } }\n`
  ).join("")
}`;

const UNKNOWN_ID = "00000000-0000-4000-8000-000000000000";

/** One operation per case; every handler replies with `urocket reply` run by deno from PATH. */
const REPLY_CONFIG = `
timeout: 30s
paths:
  /ok:
    post:
      inject:
        cmd: ["{{fixtures}}/urocket_reply.sh", "--status", "201", "--header", "X-Via: urocket reply",
              "--content-type", "application/json", '{"via":"urocket reply"}']
        env: [REPO=${REPO}, NARROW=1]
  /stdin:
    post:
      inject:
        cmd: ["{{fixtures}}/urocket_reply.sh", "--content-type", "text/plain"]
        env: [REPO=${REPO}]
        encoding: raw
  /twice:
    post:
      inject:
        cmd: ["{{fixtures}}/urocket_reply.sh", '{"n":1}']
        env: [REPO=${REPO}, TWICE=1]
  /unknown:
    post:
      inject:
        cmd: ["{{fixtures}}/urocket_reply.sh", "{}"]
        env: [REPO=${REPO}, "FAKE_URL=http://localhost/uri/${UNKNOWN_ID}"]
  /large:
    post:
      max-reply: 8
      inject:
        cmd: ["{{fixtures}}/urocket_reply.sh", '{"much":"more than eight bytes"}']
        env: [REPO=${REPO}]
  /bad:
    post:
      inject:
        cmd: ["{{fixtures}}/urocket_reply.sh", "--status", "204", "a body on a 204"]
        env: [REPO=${REPO}]
  /nosocket:
    post:
      inject:
        cmd: ["{{fixtures}}/urocket_reply.sh", "{}"]
        env: [REPO=${REPO}, "FAKE_SOCKET={{dir}}/missing.sock"]
  /late:
    post:
      inject:
        cmd: ["{{fixtures}}/urocket_reply.sh", "{}"]
        env: [REPO=${REPO}, "FIFO={{dir}}/late.fifo"]
  /stream:
    post:
      inject:
        cmd: ["{{fixtures}}/urocket_stream.sh"]
        env: [REPO=${REPO}, "FIFO={{dir}}/stream.fifo"]
`;

/** A folder whose only program is deno: handlers started with it as PATH have no curl. */
async function denoOnlyPath(): Promise<string> {
  const bin = await Deno.makeTempDir({ prefix: "urocket-denoonly-" });
  await Deno.symlink(DENO, `${bin}/deno`);
  return bin;
}

async function mkfifo(path: string): Promise<void> {
  const { success } = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.ok(success, `mkfifo ${path}`);
}

/** The stderr lines a request's process wrote (urocket logs them with its req_id). */
function stderrOf(uro: Urocket, reqId: string | null): string[] {
  return uro.find((l) => l.msg === "stderr" && l.req_id === reqId).map((l) => String(l.line));
}

/** Waits for the process of `reqId` to say how `urocket reply` exited, and returns its lines. */
async function replyExits(uro: Urocket, reqId: string | null, count = 1): Promise<string[]> {
  await uro.waitForLog(
    () => stderrOf(uro, reqId).filter((l) => l.startsWith("reply exit ")).length >= count,
    `${count} "reply exit" lines of ${reqId}`,
  );
  return stderrOf(uro, reqId).filter((l) => l.startsWith("reply exit ") || l.startsWith("urocket"));
}

Deno.test({
  name: "urocket reply answers from a handler whose PATH has no curl, and names each failure",
  ...E2E,
  async fn(t) {
    const bin = await denoOnlyPath();
    const uro = await startUrocket({
      config: REPLY_CONFIG,
      openapi: REPLY_OPENAPI,
      env: { PATH: bin },
    });
    try {
      await t.step("delivered, with the narrowest permissions: exit 0", async () => {
        const answer = await uro.call("/ok", { method: "POST" });
        assert.equal(answer.status, 201);
        assert.equal(answer.text, '{"via":"urocket reply"}');
        assert.equal(answer.headers.get("content-type"), "application/json");
        assert.equal(answer.headers.get("x-via"), "urocket reply");
        const id = answer.headers.get("x-request-id");
        assert.deepEqual(await replyExits(uro, id), ["reply exit 0"]);
        // Nothing but the handler's own lines: no warning of Deno's reaches urocket's log.
        assert.deepEqual(stderrOf(uro, id), ["curl: none", "reply exit 0"]);
      });

      await t.step(
        "the body from stdin: the payload echoed, and no Deno warning logged",
        async () => {
          const answer = await uro.call("/stdin", { method: "POST", body: "hello from stdin" });
          assert.equal(answer.status, 200);
          assert.equal(answer.text, "hello from stdin");
          assert.equal(answer.headers.get("content-type"), "text/plain");
          const id = answer.headers.get("x-request-id");
          assert.deepEqual(await replyExits(uro, id), ["reply exit 0"]);
          assert.deepEqual(stderrOf(uro, id), ["curl: none", "reply exit 0"]);
        },
      );

      const failures: [string, string, RegExp, number][] = [
        ["/twice", "already answered", /^urocket reply: already answered \(409\) for request /, 6],
        ["/unknown", "unknown id", /^urocket reply: unknown id \(404\) for request /, 5],
        ["/large", "too large", /^urocket reply: too large \(413\) for request .*max-reply/, 8],
        ["/bad", "bad reply", /^urocket reply: bad reply \(400\) for request .*204 reply/, 4],
        ["/nosocket", "socket missing", /^urocket reply: socket missing: .*missing\.sock/, 3],
      ];
      for (const [path, what, message, code] of failures) {
        await t.step(`${what}: exit ${code}`, async () => {
          const answer = await uro.call(path, { method: "POST" });
          const id = answer.headers.get("x-request-id");
          const lines = await replyExits(uro, id, path === "/twice" ? 2 : 1);
          const refusal = lines.find((l) => l.startsWith("urocket reply:"));
          assert.ok(refusal, `no refusal line in ${JSON.stringify(lines)}`);
          assert.match(refusal, message);
          assert.equal(lines.at(-1), `reply exit ${code}`);
          // Each case gives the client what urocket gives it for that case.
          const status = { "/twice": 200, "/large": 502 }[path] ?? 502;
          assert.equal(answer.status, status, path);
        });
      }

      await t.step("timed out or client gone: exit 7", async () => {
        await mkfifo(`${uro.dir}/late.fifo`);
        const answer = await uro.call("/late", { method: "POST" });
        assert.equal(answer.status, 502, "the direct child exited without replying");
        await uro.waitForLog((l) =>
          l.msg === "access" && l.req_id === answer.headers.get("x-request-id")
        );
        // Only now does the background reply start: the request has ended.
        await Deno.writeTextFile(`${uro.dir}/late.fifo`, "go\n");
        const lines = await replyExits(uro, answer.headers.get("x-request-id"));
        assert.match(lines[0], /^urocket reply: timed out or client gone \(410\) for request /);
        assert.equal(lines.at(-1), "reply exit 7");
      });
    } finally {
      await uro.stop();
      await Deno.remove(bin, { recursive: true });
    }
  },
});

Deno.test({
  name: "urocket reply --stream: the client reads the first chunk before the handler's stdin ends",
  ...E2E,
  async fn() {
    const bin = await denoOnlyPath();
    const uro = await startUrocket({
      config: REPLY_CONFIG,
      openapi: REPLY_OPENAPI,
      env: { PATH: bin },
    });
    try {
      await mkfifo(`${uro.dir}/stream.fifo`);
      const response = await fetch(`${uro.url}/stream`, { method: "POST" });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("content-type"), "text/plain");
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      while (!text.includes("\n")) {
        const { value, done } = await reader.read();
        assert.ok(!done, "the stream ended before its first line");
        text += value;
      }
      // The handler's stdin is still open: "second" is written only after this.
      assert.equal(text, "first\n");
      await Deno.writeTextFile(`${uro.dir}/stream.fifo`, "go\n");
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        text += chunk.value;
      }
      assert.equal(text, "first\nsecond\n");
      const id = response.headers.get("x-request-id")!;
      assert.deepEqual(await replyExits(uro, id), ["reply exit 0"]);
      const access = await uro.waitForLog((l) => l.msg === "access" && l.req_id === id);
      assert.equal(access.outcome, "replied");
      assert.equal(access.bytes, 13);
      await uro.waitForLog((l) => l.msg === "process_exit" && l.req_id === id);
    } finally {
      await uro.stop();
      await Deno.remove(bin, { recursive: true });
    }
  },
});
