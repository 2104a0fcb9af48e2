import assert from "node:assert/strict";
import {
  E2E,
  makeFolder,
  runUrocket,
  startUrocket,
  TEST_OPENAPI,
  type TestFiles,
  withUrocket,
} from "./_harness.ts";

const REPO = new URL("../../", import.meta.url).pathname;

const folder = (files: TestFiles) => makeFolder("urocket-start-", files);

Deno.test({
  name: "urocket --version prints urocket's own version and --help lists the usage",
  ...E2E,
  async fn() {
    const version = await runUrocket(["--version"]);
    assert.equal(version.code, 0);
    const { version: expected } = JSON.parse(await Deno.readTextFile(`${REPO}deno.json`));
    assert.equal(version.stdout.trim(), `urocket ${expected}`);
    const help = await runUrocket(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--config FILE/);
    const wrong = await runUrocket(["--no-such-flag"]);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /no-such-flag/);
  },
});

Deno.test({
  name: "urocket refuses a broken config with exit 2 and one line per problem, all at once",
  ...E2E,
  async fn() {
    const dir = await folder({
      "openapi.yaml": TEST_OPENAPI,
      "not-executable.sh": { text: "#!/bin/sh\n", mode: 0o644 },
      "urocket-service.yaml": `listen: 127.0.0.1:0
socket-mode: 0600
timout: 10s
paths:
  /run:
    post:
      inject:
        cmd: "{{dir}}/not-executable.sh"
        channel: pipe
        env: [REQUEST_ID=mine, "1BAD=x", "=empty"]
      outtake: http://uri/{req_id}
  /other:
    post:
      inject:
        wd: "{{dir}}/missing"
        cmd: /bin/true
  /nowhere:
    get:
      inject: { cmd: /bin/true }
  /unwired:
    get:
      inject: { cmd: no-such-program-anywhere }
`,
    });
    try {
      const result = await runUrocket(["-c", `${dir}/urocket-service.yaml`]);
      assert.equal(result.code, 2);
      const lines = result.stderr.split("\n").filter((l) => l.includes("urocket-service.yaml"));
      const expect = (pattern: RegExp) =>
        assert.ok(
          lines.some((l) => pattern.test(l)),
          `no line matches ${pattern}:\n${lines.join("\n")}`,
        );
      const file = `${dir}/urocket-service.yaml`;
      expect(new RegExp(`^${file}:2: socket-mode: .*quoted octal`));
      expect(new RegExp(`^${file}:3: timout: Unknown key "timout": did you mean "timeout"\\?`));
      expect(new RegExp(`^${file}:9: paths\\./run\\.post\\.inject\\.channel: .*"cmdline"`));
      expect(/paths\.\/run\.post\.inject\.env\[0\]: REQUEST_ID is set by urocket/);
      expect(/paths\.\/run\.post\.inject\.env\[1\]: "1BAD" is not a valid variable name/);
      expect(/paths\.\/run\.post\.inject\.env\[2\]: "" is not a valid variable name/);
      expect(/paths\.\/run\.post\.outtake: Expected usocket:\/\//);
      expect(/paths\.\/other\.post\.inject\.wd: .*missing" does not exist/);
      expect(/paths\.\/nowhere\.get: GET \/nowhere is not an operation of/);
      expect(/paths\.\/unwired\.get\.inject\.cmd: .*not found in PATH/);
      assert.ok(lines.length >= 10, "every problem is reported, not only the first");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "urocket refuses a program without the execute bit, and a bare name not in PATH, with hints",
  ...E2E,
  async fn() {
    const dir = await folder({
      "openapi.yaml": TEST_OPENAPI,
      "handler.sh": { text: "#!/bin/sh\n", mode: 0o644 },
      "urocket-service.yaml": `paths:
  /run:
    post:
      inject: { cmd: ./handler.sh --fast }
  /other:
    post:
      inject: { cmd: handler.sh --fast }
`,
    });
    try {
      const result = await runUrocket(["-c", `${dir}/urocket-service.yaml`]);
      assert.equal(result.code, 2);
      assert.match(
        result.stderr,
        /paths\.\/run\.post\.inject\.cmd: Cannot run ".*\/handler\.sh": file is not executable \(chmod \+x/,
      );
      assert.match(
        result.stderr,
        /paths\.\/other\.post\.inject\.cmd: Cannot run "handler\.sh": not found in PATH \(to run the file in wd, write "\.\/handler\.sh"\)/,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "urocket refuses an OpenAPI document that is not 3.0/3.1, has no paths or a dangling $ref",
  ...E2E,
  async fn() {
    const cases: [string, RegExp][] = [
      [
        'swagger: "2.0"\npaths: {}\n',
        /\/openapi: Expected "openapi: 3\.0\.x" or "3\.1\.x".*Swagger 2\.0/,
      ],
      [
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\n",
        /\/paths: The document has no paths object/,
      ],
      [
        "openapi: 3.1.0\npaths:\n  /a:\n    get:\n      responses:\n        '200': {$ref: '#/components/responses/Nope'}\n",
        /\/paths\/~1a\/get\/responses\/200\/\$ref: \$ref "#\/components\/responses\/Nope" does not resolve/,
      ],
      ["openapi: [unclosed\n", /Invalid YAML or JSON/],
    ];
    for (const [openapi, pattern] of cases) {
      const dir = await folder({
        "openapi.yaml": openapi,
        "urocket-service.yaml": "paths: {}\n",
      });
      try {
        const result = await runUrocket(["-c", `${dir}/urocket-service.yaml`]);
        assert.equal(result.code, 2, openapi);
        assert.match(result.stderr, new RegExp(`${dir}/openapi\\.yaml: ${pattern.source}`));
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    }
  },
});

Deno.test({
  name: "urocket refuses a socket path that holds a regular file and leaves the file alone",
  ...E2E,
  async fn() {
    const dir = await folder({
      "openapi.yaml": TEST_OPENAPI,
      "precious.txt": "keep me",
      "urocket-service.yaml": `listen: 127.0.0.1:0
socket: "{{dir}}/precious.txt"
paths: {}
`,
    });
    try {
      const result = await runUrocket(["-c", `${dir}/urocket-service.yaml`]);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /not a socket/);
      assert.equal(await Deno.readTextFile(`${dir}/precious.txt`), "keep me");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "urocket refuses a socket another process listens on",
  ...E2E,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "urocket-sock-" });
    const path = `${dir}/busy.sock`;
    const listener = Deno.listen({ transport: "unix", path });
    try {
      await Deno.writeTextFile(
        `${dir}/urocket-service.yaml`,
        `listen: 127.0.0.1:0\nsocket: ${path}\npaths: {}\n`,
      );
      await Deno.writeTextFile(`${dir}/openapi.yaml`, TEST_OPENAPI);
      const accepted = listener.accept().then((conn) => conn.close(), () => {});
      const busy = await runUrocket(["-c", `${dir}/urocket-service.yaml`]);
      assert.equal(busy.code, 2);
      assert.match(busy.stderr, /socket in use/);
      await accepted;
      assert.ok((await Deno.lstat(path)).isSocket, "the other process's socket is left alone");
    } finally {
      listener.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "urocket replaces a stale socket file left by a crash",
  ...E2E,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "urocket-stale-" });
    const path = `${dir}/stale.sock`;
    try {
      // A process that listens and is then SIGKILLed leaves its socket file behind.
      const crashing = new Deno.Command(Deno.execPath(), {
        args: [
          "eval",
          `Deno.listen({ transport: "unix", path: ${
            JSON.stringify(path)
          } }); console.log("up"); setInterval(() => {}, 1000);`,
        ],
        stdout: "piped",
      }).spawn();
      const reader = crashing.stdout.pipeThrough(new TextDecoderStream()).getReader();
      await reader.read();
      crashing.kill("SIGKILL");
      await crashing.status;
      await reader.cancel();
      assert.ok((await Deno.lstat(path)).isSocket, "a stale socket file is in place");
      await withUrocket({
        config: `socket: ${path}
paths:
  /run:
    post:
      inject: { cmd: "{{fixtures}}/reply.sh" }
`,
      }, async (uro) => {
        assert.equal((await uro.call("/run", { method: "POST" })).status, 200);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "urocket sets socket-mode on the socket and removes the file on exit",
  ...E2E,
  async fn() {
    for (const [mode, expected] of [[undefined, 0o600], ['"0660"', 0o660]] as const) {
      const uro = await startUrocket({
        config: `${mode ? `socket-mode: ${mode}\n` : ""}paths: {}\n`,
      });
      try {
        const info = await Deno.lstat(uro.socket);
        assert.ok(info.isSocket);
        assert.equal(info.mode! & 0o777, expected);
      } finally {
        const { code } = await uro.stop();
        assert.equal(code, 0);
      }
    }
  },
});

Deno.test({
  name: "urocket logs the bound address first, so that listen port 0 is usable",
  ...E2E,
  async fn() {
    await withUrocket({ config: "paths: {}\n" }, (uro) => {
      assert.equal(uro.logs[0].msg, "start");
      assert.match(String(uro.logs[0].listen), /^127\.0\.0\.1:[1-9][0-9]*$/);
      assert.equal(uro.logs[0].socket, uro.socket);
      assert.equal(uro.logs[0].operations, 0);
    });
  },
});

Deno.test({
  name:
    "the seed's example loads with only its wd moved, and answers 502 at once (echo never replies)",
  ...E2E,
  async fn() {
    const seed = await Deno.readTextFile(`${REPO}examples/seed/urocket-service.yaml`);
    const paths = seed.slice(seed.indexOf("paths:"));
    // The seed's wd is absolute; the test's own folder stands in for the filesystem's root.
    const moved = paths.replace(/^( +wd: )(\/src\/scripts\/php)$/m, "$1{{dir}}$2");
    const changed = moved.split("\n").filter((line, i) => line !== paths.split("\n")[i]);
    assert.deepEqual(changed, ["        wd: {{dir}}/src/scripts/php"]);
    await withUrocket({
      config: moved,
      openapi: await Deno.readTextFile(`${REPO}examples/seed/openapi.yaml`),
      files: { "src/scripts/php/README.md": "The seed's working directory.\n" },
    }, async (uro) => {
      const answer = await uro.call("/get/pets");
      assert.equal(answer.status, 502);
      const id = answer.headers.get("x-request-id");
      const access = await uro.waitForLog((l) => l.msg === "access" && l.req_id === id);
      assert.equal(access.outcome, "no_reply");
      const stdout = await uro.waitForLog((l) => l.msg === "stdout" && l.req_id === id);
      assert.equal(stdout.line, "{}", "echo printed its payload argument, logged, not replied");
    });
  },
});
