/**
 * Live reload on SIGHUP: all or nothing, new requests under the new config,
 * in-flight requests finishing under theirs — their replies still matching
 * their old outtake path.
 */

import assert from "node:assert/strict";
import { E2E, fill, type LogLine, startUrocket, type Urocket, withUrocket } from "./_harness.ts";

/** Replaces the config file (atomically, as a ConfigMap's symlink swap does) with `config`. */
async function rewrite(uro: Urocket, config: string): Promise<void> {
  const text = `socket: ${uro.socket}\nlisten: 127.0.0.1:0\nshutdown-delay: 0s\n` +
    fill(config, uro.dir);
  await Deno.writeTextFile(`${uro.dir}/next.yaml`, text);
  await Deno.rename(`${uro.dir}/next.yaml`, `${uro.dir}/urocket-service.yaml`);
}

/** Sends SIGHUP and returns the `reload` line it produced. */
async function reload(uro: Urocket): Promise<LogLine> {
  const before = uro.find((l) => l.msg === "reload").length;
  Deno.kill(uro.pid, "SIGHUP");
  await uro.waitForLog(() => uro.find((l) => l.msg === "reload").length > before, "a reload line");
  return uro.find((l) => l.msg === "reload")[before];
}

/** A config whose /run replies {"v":<version>}, plus `extra` operations. */
function versioned(version: number, extra = ""): string {
  return `paths:
  /run:
    post:
      inject: { cmd: ["{{fixtures}}/reply.sh", '{"v":${version}}'] }
${extra}`;
}

const OTHER = `  /other:
    post:
      inject: { cmd: "{{fixtures}}/reply.sh" }
`;

Deno.test({
  name: "a reload under load fails no request, and requests after each reload use its config",
  ...E2E,
  async fn() {
    const uro = await startUrocket({ config: versioned(0) });
    let running = true;
    const seen: number[][] = [[], [], [], []];
    const failures: string[] = [];
    let answered = 0;
    let waiter: { count: number; resolve: () => void } | undefined;
    /** Resolves once the workers have had `count` more answers. */
    const progress = (count: number) =>
      new Promise<void>((resolve) => waiter = { count: answered + count, resolve });
    const worker = async (lane: number) => {
      while (running) {
        try {
          const answer = await uro.call("/run", { method: "POST" });
          if (answer.status !== 200) failures.push(`${answer.status} ${answer.text}`);
          else seen[lane].push(answer.json().v);
        } catch (error) {
          failures.push(String(error));
        }
        if (waiter && ++answered >= waiter.count) waiter.resolve();
      }
    };
    const workers = [0, 1, 2, 3].map(worker);
    try {
      for (let version = 1; version <= 5; version++) {
        // Requests keep flowing (and some are in flight) while the config changes.
        await progress(8);
        // Every other version adds an operation, the next removes it again.
        await rewrite(uro, versioned(version, version % 2 ? OTHER : ""));
        const line = await reload(uro);
        assert.equal(line.outcome, "applied", JSON.stringify(line));
        assert.deepEqual(line.changed, ["POST /run"]);
        assert.deepEqual(line[version % 2 ? "added" : "removed"], ["POST /other"]);
        // A request sent after the reload line gets the new config.
        const after = await uro.call("/run", { method: "POST" });
        assert.equal(after.status, 200);
        assert.equal(after.json().v, version);
        // Unwired again, the document's operation answers 501.
        const other = await uro.call("/other", { method: "POST" });
        assert.equal(other.status, version % 2 ? 200 : 501);
      }
      running = false;
      await Promise.all(workers);
      assert.deepEqual(failures, []);
      for (const lane of seen) {
        assert.ok(lane.length > 0);
        // Each lane's requests are sequential: versions never go back.
        assert.deepEqual(lane, [...lane].sort((a, b) => a - b), "a request used an older config");
      }
    } finally {
      running = false;
      await Promise.all(workers);
      await uro.stop();
    }
  },
});

Deno.test({
  name:
    "a reload with a broken config, a broken document or a new listen address keeps the old config",
  ...E2E,
  async fn() {
    await withUrocket({ config: versioned(1) }, async (uro) => {
      const cases: [string, string, string | undefined, RegExp][] = [
        ["broken YAML", "paths: [unclosed\n", undefined, /urocket-service\.yaml:\d+: Invalid YAML/],
        [
          "an unknown key and a missing command",
          `${
            versioned(2)
          }      timout: 5s\n  /other:\n    post:\n      inject: { cmd: ./none.sh }\n`,
          undefined,
          /Unknown key "timout": did you mean "timeout"\?.*none\.sh/s,
        ],
        [
          "a broken OpenAPI document",
          versioned(3),
          "openapi: 3.0.3\ninfo: { title: t, version: '1' }\npaths:\n  /run: { post: { responses: { '200': { $ref: '#/nowhere' } } } }\n",
          /openapi\.yaml: .*nowhere/,
        ],
      ];
      for (const [what, config, openapi, problem] of cases) {
        const document = await Deno.readTextFile(`${uro.dir}/openapi.yaml`);
        if (openapi) await Deno.writeTextFile(`${uro.dir}/openapi.yaml`, openapi);
        await rewrite(uro, config);
        const line = await reload(uro);
        assert.equal(line.outcome, "refused", what);
        assert.equal(line.level, "error");
        const problems = (line.problems as string[]).join("\n");
        assert.match(problems, problem, `${what}: ${problems}`);
        const answer = await uro.call("/run", { method: "POST" });
        assert.equal(answer.json().v, 1, `${what}: the old config still serves`);
        if (openapi) await Deno.writeTextFile(`${uro.dir}/openapi.yaml`, document);
      }

      // listen, socket and admin are bound at start: changing them needs a restart.
      await Deno.writeTextFile(
        `${uro.dir}/urocket-service.yaml`,
        `socket: ${uro.dir}/other.sock\nlisten: 127.0.0.1:1\nadmin: 127.0.0.1:0\n` +
          fill(versioned(4), uro.dir),
      );
      const line = await reload(uro);
      assert.equal(line.outcome, "refused");
      const problems = (line.problems as string[]).join("\n");
      assert.match(problems, /socket: Changed from ".*\/u\.sock" to ".*\/other\.sock": that needs/);
      await assert.rejects(Deno.lstat(`${uro.dir}/other.sock`), Deno.errors.NotFound);
      assert.match(
        problems,
        /listen: Changed from "127\.0\.0\.1:0" to "127\.0\.0\.1:1": that needs a restart/,
      );
      assert.match(problems, /admin: Changed from "off" to "127\.0\.0\.1:0": that needs a restart/);
      assert.equal((await uro.call("/run", { method: "POST" })).json().v, 1);

      // Fixed, the next SIGHUP applies it.
      await rewrite(uro, versioned(5));
      assert.equal((await reload(uro)).outcome, "applied");
      assert.equal((await uro.call("/run", { method: "POST" })).json().v, 5);
    });
  },
});

Deno.test({
  name:
    "a request in flight when its outtake path changes on reload still gets its reply on the old path",
  ...E2E,
  async fn() {
    const held = (outtake: string) =>
      `paths:
  /run:
    post:
      outtake: usocket://${outtake}/{req_id}
      inject: { cmd: "{{fixtures}}/hold.sh" }
`;
    const uro = await startUrocket({ config: held("old") });
    const json = { "content-type": "application/json" };
    try {
      const first = uro.call("/run", { method: "POST" });
      const [a] = await uro.held(1);
      await rewrite(uro, held("new"));
      const line = await reload(uro);
      assert.equal(line.outcome, "applied");
      assert.deepEqual(line.changed, ["POST /run"]);

      const second = uro.call("/run", { method: "POST" });
      const [, b] = await uro.held(2);
      // Each request answers only on its own generation's path.
      assert.equal((await uro.reply(`/new/${a.reqId}`, { headers: json, body: "{}" })).status, 404);
      assert.equal((await uro.reply(`/old/${b.reqId}`, { headers: json, body: "{}" })).status, 404);
      const old = await uro.reply(`/old/${a.reqId}`, { headers: json, body: '{"path":"old"}' });
      assert.equal(old.status, 200, old.text);
      assert.deepEqual((await first).json(), { path: "old" });
      const fresh = await uro.reply(`/new/${b.reqId}`, { headers: json, body: '{"path":"new"}' });
      assert.equal(fresh.status, 200, fresh.text);
      assert.deepEqual((await second).json(), { path: "new" });

      // With no request left on it, the old path is no longer served.
      const stale = await uro.reply(`/old/${crypto.randomUUID()}`, { headers: json, body: "{}" });
      assert.equal(stale.status, 404);
      assert.match(stale.json().detail, /matches no outtake path/);
      // The reply app still checks the id and the status header on the paths it serves.
      const bad = await uro.reply(`/new/not-an-id`, { headers: json, body: "{}" });
      assert.equal(bad.status, 400);
      await uro.release(a.pid);
      await uro.release(b.pid);
    } finally {
      await uro.stop();
    }
  },
});

Deno.test({
  name:
    "SIGHUPs in quick succession reload, and never end urocket as Deno's default would (exit 129)",
  ...E2E,
  async fn() {
    // Two at once: the second arrives during the first reload (queued) or merges with it.
    await withUrocket({ config: versioned(1) }, async (uro) => {
      Deno.kill(uro.pid, "SIGHUP");
      Deno.kill(uro.pid, "SIGHUP");
      await uro.waitForLog((l) => l.msg === "reload");
      assert.equal((await uro.call("/run", { method: "POST" })).json().v, 1);
    });
  },
});
