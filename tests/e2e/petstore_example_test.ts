/**
 * The bundled example as a new user meets it: `deno task start` in a fresh
 * checkout serves examples/petstore with its contract enforced both ways,
 * and the console shows urocket's log and nothing of Deno's.
 */

import assert from "node:assert/strict";
import { skipWhen } from "../_skip.ts";
import { copyCheckout } from "./_checkout.ts";
import { E2E, runUrocket } from "./_harness.ts";
import {
  type SandboxShell,
  sandboxUnavailable,
  startSandboxShell,
  terminalEnv,
} from "./_sandbox.ts";

const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** An answer as curl shows it: the body, and the status from `-w`. */
async function curl(shell: SandboxShell, args: string): Promise<{ status: number; body: string }> {
  const { output, code } = await shell.run(`curl -s -w '\\n%{http_code}' ${args}`);
  assert.equal(code, 0, output);
  const at = output.lastIndexOf("\n");
  return { status: Number(output.slice(at + 1)), body: output.slice(0, at) };
}

/** The JSON log lines the terminal showed. */
function logLines(shell: SandboxShell): Record<string, unknown>[] {
  return shell.lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
}

const unavailable = await sandboxUnavailable();

Deno.test({
  ...skipWhen(
    unavailable,
    "deno task start serves the petstore example with validation both ways, and no Deno warning",
  ),
  ...E2E,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "urocket-petstore-" });
    await copyCheckout(dir);
    const shell = startSandboxShell({ cwd: dir, keep: [dir], env: terminalEnv() });
    try {
      await shell.type("deno task start &");
      const start = JSON.parse(await shell.waitFor((l) => l.includes('"msg":"start"'), "start"));
      assert.equal(start.listen, "0.0.0.0:8080");

      await t.step("the handlers' replies pass the document", async () => {
        const list = await curl(shell, "localhost:8080/pets");
        assert.equal(list.status, 200, list.body);
        assert.equal(JSON.parse(list.body).length, 3);
        assert.equal((await curl(shell, "'localhost:8080/pets?limit=2'")).status, 200);
        const created = await curl(
          shell,
          `-H 'Content-Type: application/json' -d '{"name":"Fido"}' localhost:8080/pets`,
        );
        assert.equal(created.status, 201, created.body);
        assert.deepEqual({ ...JSON.parse(created.body), id: 0 }, {
          id: 0,
          name: "Fido",
          tag: null,
        });
        const form = await curl(shell, "-d 'name=Fido&tag=dog' localhost:8080/pets");
        assert.equal(form.status, 201, form.body);
        assert.equal((await curl(shell, "localhost:8080/pets/1")).status, 200);
        const none = await curl(shell, "localhost:8080/pets/9");
        assert.equal(none.status, 404, none.body);
      });

      await t.step("a request that breaks the document: 400 with its pointer", async () => {
        const cases: [string, string, string][] = [
          [
            `-H 'Content-Type: application/json' -d '{"nam":"Fido"}' localhost:8080/pets`,
            "body",
            "/name",
          ],
          ["localhost:8080/pets/abc", "path", "/petId"],
          ["'localhost:8080/pets?limit=0'", "query", "/limit"],
        ];
        for (const [args, where, pointer] of cases) {
          const answer = await curl(shell, args);
          assert.equal(answer.status, 400, args);
          const problem = JSON.parse(answer.body);
          assert.equal(problem.errors.length, 1, answer.body);
          assert.deepEqual([problem.errors[0].in, problem.errors[0].pointer], [where, pointer]);
        }
      });

      await t.step("a reply that breaks the document: 502, and the replier 422", async () => {
        // Handlers are read at each spawn: this one now replies an id that is not an integer.
        await Deno.writeTextFile(
          `${dir}/examples/petstore/handlers/show-pet.sh`,
          `#!/bin/sh\ncurl -sS --fail --unix-socket "$UROCKET_SOCKET" -H 'Content-Type: application/json' \\
  --data '{"id":"one","name":"Rex"}' "$UROCKET_REPLY_URL"\n`,
        );
        const answer = await curl(shell, "localhost:8080/pets/1");
        assert.equal(answer.status, 502, answer.body);
        const id = JSON.parse(answer.body).request_id;
        await shell.waitFor(
          (l) => l.includes(id) && l.includes('"msg":"access"'),
          "the access line",
        );
        const access = logLines(shell).find((l) => l.msg === "access" && l.req_id === id)!;
        assert.equal(access.outcome, "invalid_reply");
        await shell.waitFor((l) => l.includes(id) && l.includes("error: 422"), "curl's 422");
      });

      assert.equal((await curl(shell, "localhost:9090/metrics")).status, 200);
      await shell.run(`kill ${start.pid}`);
      await shell.waitFor((l) => l.includes('"msg":"stopped"'), "the stopped line");
      assert.equal(await shell.close(), 0);
      // The console: deno task's own line, then urocket's JSON lines, and nothing else.
      const others = shell.lines.filter((l) => !l.startsWith("{"));
      assert.deepEqual(others.filter((l) => !/^Task start deno run /.test(l)), []);
    } finally {
      await shell.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "urocket check passes on the repository's urocket-service.yaml",
  ...E2E,
  async fn() {
    const result = await runUrocket(["check"], { cwd: REPO });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /ok, urocket would start with it/);
    assert.equal(result.stderr, "");
  },
});
