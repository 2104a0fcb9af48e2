/**
 * The hostile-input catalogue of configuration and environment: nothing a
 * client sends, and nothing a config value holds, is ever interpreted by a
 * shell or lets one variable of the process's environment set another.
 * The echo fixture replies with exactly the argv, environment and stdin it got.
 */

import assert from "node:assert/strict";
import { E2E, runUrocket, startUrocket, type Urocket, withUrocket } from "./_harness.ts";

const OPENAPI = `openapi: 3.0.3
info: { title: hostile config, version: "1" }
paths:
  /stdin:
    post:
      responses: { "200": { description: ok } }
  /argv:
    post:
      responses: { "200": { description: ok } }
  /named/{name}:
    get:
      parameters:
        - { name: name, in: path, required: true, schema: { type: string } }
      responses: { "200": { description: ok } }
  /quoted:
    post:
      responses: { "200": { description: ok } }
  /listed:
    post:
      responses: { "200": { description: ok } }
`;

/** What a shell would do something with: substitutions, operators, globs, quotes, newlines. */
function hostile(dir: string): string {
  return `$(touch ${dir}/pwned-1); \`touch ${dir}/pwned-2\` | touch ${dir}/pwned-3 && ` +
    `echo "double" 'single' \\"escaped\\" $HOME ~ * ?\n` +
    `second line; exit 1 & touch ${dir}/pwned-4 > ${dir}/pwned-5 < /etc/passwd ' "`;
}

/** Files that the shell fragments above would have created, had anything run them. */
async function pwned(uro: Urocket): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(uro.dir)) {
    if (entry.name.startsWith("pwned")) found.push(entry.name);
  }
  return found;
}

async function echo(uro: Urocket, path: string, init?: RequestInit) {
  const answer = await uro.call(path, init);
  assert.equal(answer.status, 200, `${path}: ${answer.text}`);
  return answer.json() as {
    args: string[];
    env: Record<string, string>;
    stdin: string;
    cwd: string;
  };
}

Deno.test({
  name:
    "payloads with shell metacharacters, quotes and newlines reach the process unchanged and unrun",
  ...E2E,
  async fn() {
    await withUrocket({
      openapi: OPENAPI,
      config: `
paths:
  /stdin:
    post:
      inject: { cmd: "{{fixtures}}/echo.ts", encoding: raw }
  /argv:
    post:
      inject: { cmd: "{{fixtures}}/echo.ts", channel: cmdline, encoding: raw }
  /named/{name}:
    get:
      inject: { cmd: "{{fixtures}}/echo.ts", pass-headers: [X-Note] }
`,
    }, async (uro) => {
      const payload = hostile(uro.dir);
      const stdin = await echo(uro, "/stdin", { method: "POST", body: payload });
      assert.equal(stdin.stdin, payload, "stdin");
      const argv = await echo(uro, "/argv", { method: "POST", body: payload });
      assert.deepEqual(argv.args, [payload], "the payload is one last argument, as sent");

      const oneLine = payload.replaceAll("\n", " ");
      const named = await echo(
        uro,
        `/named/${encodeURIComponent(payload)}?${encodeURIComponent(payload)}`,
        {
          headers: { "x-note": oneLine },
        },
      );
      assert.equal(named.env.PATH_PARAM_NAME, payload, "a path parameter");
      assert.equal(
        decodeURIComponent(named.env.QUERY_STRING),
        payload,
        "the query, raw (as the client's URL parser encoded it)",
      );
      assert.equal(named.env.HTTP_X_NOTE, oneLine, "a passed header");
      assert.deepEqual(await pwned(uro), [], "nothing was run");
    });
  },
});

Deno.test({
  name:
    "config values with shell metacharacters, quotes and newlines are used as written and never run",
  ...E2E,
  async fn() {
    const weird = "we ird;$(touch pwned-6)'\"";
    await withUrocket({
      openapi: OPENAPI,
      files: { [`${weird}/keep`]: "" },
      config: `
paths:
  /quoted:
    post:
      inject:
        wd: ${JSON.stringify(`{{dir}}/${weird}`)}
        cmd: >-
          {{fixtures}}/echo.ts '$(touch {{dir}}/pwned-7)' "\\$HOME" '*' ';' '|' '&&'
          'a  b' "it's" 'say "hi"' \\\`id\\\` ~ $PATH
        env:
          - "SUBST=$(touch {{dir}}/pwned-8)"
          - "TICKS=\`touch {{dir}}/pwned-9\`"
          - "LINES=first\\nsecond"
          - "QUOTES='single' \\"double\\""
          - "GLOB=*"
          - "EQUALS=a=b=c"
  /listed:
    post:
      inject:
        cmd: ["{{fixtures}}/echo.ts", "$(touch {{dir}}/pwned-10)", "a\\nb", "", "'", "\\"", "; rm -rf /"]
`,
    }, async (uro) => {
      const quoted = await echo(uro, "/quoted", { method: "POST" });
      assert.deepEqual(quoted.args, [
        `$(touch ${uro.dir}/pwned-7)`,
        "$HOME",
        "*",
        ";",
        "|",
        "&&",
        "a  b",
        "it's",
        'say "hi"',
        "`id`",
        "~",
        "$PATH",
      ]);
      assert.equal(quoted.cwd, `${uro.dir}/${weird}`, "wd as written");
      assert.equal(quoted.env.SUBST, `$(touch ${uro.dir}/pwned-8)`);
      assert.equal(quoted.env.TICKS, `\`touch ${uro.dir}/pwned-9\``);
      assert.equal(quoted.env.LINES, "first\nsecond");
      assert.equal(quoted.env.QUOTES, `'single' "double"`);
      assert.equal(quoted.env.GLOB, "*");
      assert.equal(quoted.env.EQUALS, "a=b=c", "a value may hold =; the name ends at the first");

      const listed = await echo(uro, "/listed", { method: "POST" });
      assert.deepEqual(listed.args, [
        `$(touch ${uro.dir}/pwned-10)`,
        "a\nb",
        "",
        "'",
        '"',
        "; rm -rf /",
      ]);
      assert.deepEqual(await pwned(uro), [], "nothing was run");
    });
  },
});

Deno.test({
  name: "urocket refuses at start env names that are empty or not names, and names that collide",
  ...E2E,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "urocket-e2e-" });
    try {
      await Deno.writeTextFile(
        `${dir}/openapi.yaml`,
        OPENAPI + `  /clash/{pet-id}/{pet_id}:
    get:
      parameters:
        - { name: pet-id, in: path, required: true, schema: { type: string } }
        - { name: pet_id, in: path, required: true, schema: { type: string } }
      responses: { "200": { description: ok } }
`,
      );
      await Deno.writeTextFile(
        `${dir}/urocket-service.yaml`,
        `socket: ${dir}/u.sock
paths:
  /stdin:
    post:
      inject:
        cmd: /bin/cat
        env: ["=value", "=", "==x", "A B=x", "1A=x", "A-B=x", "OK=fine=too"]
        pass-headers: [X-Api-Key, X_Api_Key]
  /clash/{pet-id}/{pet_id}:
    get:
      inject: { cmd: /bin/cat }
`,
      );
      const result = await runUrocket(["-c", `${dir}/urocket-service.yaml`]);
      assert.equal(result.code, 2, result.stderr);
      const lines = result.stderr.split("\n").filter((l) => l.includes(`${dir}/`));
      const about = (key: string) => lines.filter((l) => l.includes(`: ${key}: `));
      for (
        const [i, name] of [[0, ""], [1, ""], [2, ""], [3, "A B"], [4, "1A"], [5, "A-B"]] as const
      ) {
        const [line] = about(`paths./stdin.post.inject.env[${i}]`);
        assert.ok(line, `env[${i}] is reported`);
        assert.ok(line.includes(`${JSON.stringify(name)} is not a valid variable name`), line);
      }
      assert.deepEqual(about("paths./stdin.post.inject.env[6]"), [], "a value may hold =");
      const [headers] = about("paths./stdin.post.inject.pass-headers[1]");
      assert.match(headers, /would both become HTTP_X_API_KEY/);
      const [params] = about("paths./clash/{pet-id}/{pet_id}.get");
      assert.match(params, /\{pet-id\} and \{pet_id\} would both become PATH_PARAM_PET_ID/);
      assert.equal(lines.length, 8, result.stderr);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a header or path parameter can never set or override another variable of the process",
  ...E2E,
  async fn() {
    await withUrocket({
      openapi: OPENAPI,
      // HOME stays the real one: Deno finds its module cache through it.
      env: { HOME: Deno.env.get("HOME") ?? "/root", SECRET: "never-passed" },
      config: `
paths:
  /named/{name}:
    get:
      inject:
        cmd: "{{fixtures}}/echo.ts"
        pass-headers: [X-Note, Request-Id, Content-Type, Path]
        env: [MODE=safe]
`,
    }, async (uro) => {
      const evil = "x\nREQUEST_ID=evil\0MODE=evil\nPATH=/evil";
      const answer = await uro.call(`/named/${encodeURIComponent(evil.replace("\0", ""))}`, {
        headers: {
          "x-note": "v; REQUEST_ID=evil MODE=evil",
          "request-id": "evil",
          "content-type": "text/evil",
          path: "/evil",
          uripath: "/evil",
          "http-x-note": "evil",
          "x-mode": "evil",
          mode: "evil",
          secret: "evil",
        },
      });
      assert.equal(answer.status, 200);
      const { env } = answer.json();
      assert.deepEqual(Object.keys(env).sort(), [
        "CONTENT_LENGTH",
        "CONTENT_TYPE",
        "HOME",
        "HTTP_CONTENT_TYPE",
        "HTTP_PATH",
        "HTTP_REQUEST_ID",
        "HTTP_X_NOTE",
        "MODE",
        "PATH",
        "PATH_PARAM_NAME",
        "QUERY_STRING",
        "REQUEST_ID",
        "REQUEST_METHOD",
        "TRACEPARENT",
        "URIPATH",
        "UROCKET_DEADLINE_MS",
        "UROCKET_REPLY_URL",
        "UROCKET_SOCKET",
      ], "exactly urocket's own, the configured and the passed variables");
      assert.equal(env.REQUEST_ID, answer.headers.get("x-request-id"));
      assert.equal(env.MODE, "safe");
      assert.equal(env.PATH, Deno.env.get("PATH"));
      assert.equal(env.HOME, Deno.env.get("HOME") ?? "/root");
      assert.equal(env.CONTENT_TYPE, "application/json", "the payload's type, not the header's");
      assert.equal(env.PATH_PARAM_NAME, evil.replace("\0", ""), "the whole value, one variable");
      assert.equal(env.HTTP_X_NOTE, "v; REQUEST_ID=evil MODE=evil");
      assert.equal(env.HTTP_REQUEST_ID, "evil");
      assert.equal(env.HTTP_PATH, "/evil");
    });
  },
});

Deno.test({
  name: "the Proxy header never becomes HTTP_PROXY, and passing it is refused at start",
  ...E2E,
  async fn() {
    await withUrocket({
      openapi: OPENAPI,
      config: `
paths:
  /stdin:
    post:
      inject: { cmd: "{{fixtures}}/echo.ts", pass-headers: [X-Note, Proxy-Authorization] }
  /argv:
    post:
      inject:
        cmd: "{{fixtures}}/echo.ts"
        pass-headers: [X-Note]
        env: [HTTP_PROXY=http://proxy.internal:3128]
`,
    }, async (uro) => {
      const headers = { proxy: "http://attacker.example:8080", "x-note": "n" };
      const plain = await echo(uro, "/stdin", { method: "POST", headers });
      assert.equal(plain.env.HTTP_PROXY, undefined);
      assert.equal(plain.env.HTTP_X_NOTE, "n");
      const configured = await echo(uro, "/argv", { method: "POST", headers });
      assert.equal(configured.env.HTTP_PROXY, "http://proxy.internal:3128", "the configured one");
    });
    const refused = await startUrocket({
      openapi: OPENAPI,
      config: `
paths:
  /stdin:
    post:
      inject: { cmd: "{{fixtures}}/echo.ts", pass-headers: [X-Note, PROXY] }
`,
    }).then(
      async (started) => {
        await started.stop({ check: false });
        return undefined;
      },
      (error: Error) => error.message,
    );
    assert.ok(refused, "urocket refused to start");
    assert.match(refused, /pass-headers\[1\]: The "Proxy" header is never passed/);
  },
});
