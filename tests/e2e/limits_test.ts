/**
 * Limits: one cgroup v2 group per process, joined before the handler runs.
 * A test machine seldom delegates cgroup v2 controllers, so the cgroup driver
 * — urocket's setup and the spawn server's per-process work — runs against a
 * plain directory laid out like cgroupfs (UROCKET_CGROUP_ROOT), whose kernel
 * side the fixture handler plays. Also: refusing to start when
 * limits cannot be enforced, `limits-enforce: best-effort`, and `user`.
 */

import assert from "node:assert/strict";
import { E2E, FIXTURES, runUrocket, startUrocket, type Urocket, withUrocket } from "./_harness.ts";

/** A cgroupfs-like folder: a delegated, non-root cgroup offering `controllers`. */
function fakeCgroup(controllers = "cpuset cpu io memory pids") {
  return {
    "cg/cgroup.type": "domain\n",
    "cg/cgroup.controllers": `${controllers}\n`,
    "cg/cgroup.procs": "",
    "cg/cgroup.subtree_control": "",
  };
}

const LIMITED = `limits: { memory: 64Mi, cpu: 0.5, pids: 32 }
paths:
  /run:
    post:
      inject: { cmd: ["{{fixtures}}/cgroup.sh", report], env: ["CG_ROOT={{dir}}/cg"] }
  /run/{name}:
    get:
      limits: { cpu: 250m }
      inject: { cmd: ["{{fixtures}}/cgroup.sh", stats], env: ["CG_ROOT={{dir}}/cg"] }
  /other:
    post:
      limits: { memory: 8Mi }
      inject: { cmd: ["{{fixtures}}/cgroup.sh", oom], env: ["CG_ROOT={{dir}}/cg"] }
  /unwired:
    get:
      inject: { cmd: "{{fixtures}}/reply.sh" }
`;

/** Names of the per-process groups left in the fake cgroup. */
async function groupsLeft(uro: Urocket): Promise<string[]> {
  const left: string[] = [];
  for await (const entry of Deno.readDir(`${uro.dir}/cg`)) {
    if (entry.name.startsWith("req-")) left.push(entry.name);
  }
  return left;
}

async function exitOf(uro: Urocket, id: string | null) {
  return await uro.waitForLog((l) => l.msg === "process_exit" && l.req_id === id);
}

Deno.test({
  name:
    "each process runs in a cgroup of its own, made with its limits and joined before it runs, removed after it",
  ...E2E,
  async fn() {
    await withUrocket({
      config: LIMITED,
      files: fakeCgroup(),
      env: { UROCKET_CGROUP_ROOT: "{{dir}}/cg" },
    }, async (uro) => {
      // Set up once at start: urocket moved into a leaf, controllers enabled for the groups.
      const limits = await uro.waitForLog((l) => l.msg === "limits");
      assert.equal(limits.enforced, true);
      assert.equal(limits.cgroup, `${uro.dir}/cg`);
      assert.deepEqual(limits.controllers, ["cpu", "memory", "pids"]);
      assert.equal(limits.stats_source, "cgroup");
      const start = uro.logs.find((l) => l.msg === "start")!;
      const leaf = await Deno.readTextFile(`${uro.dir}/cg/urocket/cgroup.procs`);
      assert.ok(leaf.split("\n").includes(String(start.pid)), `urocket's pid is not in ${leaf}`);
      assert.equal(
        await Deno.readTextFile(`${uro.dir}/cg/cgroup.subtree_control`),
        "+cpu +memory +pids",
      );

      // The handler's first command finds its own pid in its group: it joined before exec.
      const answer = await uro.call("/run", { method: "POST" });
      assert.equal(answer.status, 200, answer.text);
      const seen = answer.json();
      assert.match(seen.group, /^req-[0-9a-f]{16}$/);
      assert.equal(seen["memory.max"], String(64 * 1024 * 1024));
      assert.equal(seen["memory.oom.group"], "1");
      assert.equal(seen["cpu.max"], "50000 100000");
      assert.equal(seen["pids.max"], "32");
      // Per operation, a limit overrides the top-level one and the others still apply.
      const named = await uro.call("/run/x");
      assert.equal(named.status, 200, named.text);
      assert.equal(named.json()["cpu.max"], "25000 100000");
      assert.equal(named.json()["memory.max"], String(64 * 1024 * 1024));
      // An operation without limits of its own inherits the top-level ones.
      const inherited = await uro.call("/unwired");
      assert.equal(inherited.status, 200);

      const exit = await exitOf(uro, answer.headers.get("x-request-id"));
      assert.equal(exit.exit_code, 0);
      // The cgroup is the source; the fake one has no accounting files: wait4's figures then.
      assert.equal(exit.stats_source, "wait4");
      const stats = await exitOf(uro, named.headers.get("x-request-id"));
      assert.equal(stats.stats_source, "cgroup");
      assert.equal(stats.cpu_user_ms, 250);
      assert.equal(stats.cpu_sys_ms, 120);
      assert.equal(stats.max_rss_kb, 102400);
      await exitOf(uro, inherited.headers.get("x-request-id"));
      assert.deepEqual(await groupsLeft(uro), [], "every group is removed after its process");
    });
  },
});

Deno.test({
  name: "a process killed for exceeding its memory limit answers 502 with outcome oom_killed",
  ...E2E,
  async fn() {
    await withUrocket({
      config: LIMITED,
      files: fakeCgroup(),
      env: { UROCKET_CGROUP_ROOT: "{{dir}}/cg" },
    }, async (uro) => {
      const answer = await uro.call("/other", { method: "POST" });
      assert.equal(answer.status, 502);
      assert.equal(answer.headers.get("content-type"), "application/problem+json");
      assert.equal(
        answer.json().detail,
        "The handler was killed for exceeding its memory limit (limits.memory: 8 MiB)",
      );
      const id = answer.headers.get("x-request-id");
      const access = await uro.waitForLog((l) => l.msg === "access" && l.req_id === id);
      assert.equal(access.outcome, "oom_killed");
      const exit = await exitOf(uro, id);
      assert.equal(exit.oom_killed, true);
      assert.equal(exit.signal, "SIGKILL");
      assert.deepEqual(await groupsLeft(uro), []);
    });
  },
});

/** Writes a config and an OpenAPI document into a new folder and runs urocket to its end. */
async function refused(
  config: string,
  env: Record<string, string> = {},
  files: Record<string, string> = {},
) {
  const dir = await Deno.makeTempDir({ prefix: "urocket-limits-" });
  try {
    for (const [path, text] of Object.entries(files)) {
      await Deno.mkdir(`${dir}/${path}`.replace(/\/[^/]*$/, ""), { recursive: true });
      await Deno.writeTextFile(`${dir}/${path}`, text);
    }
    await Deno.writeTextFile(
      `${dir}/openapi.yaml`,
      "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /run:\n    post:\n" +
        "      responses: { '200': { description: ok } }\n",
    );
    const socket = /^socket: (.*)$/m.exec(config)?.[1] ?? `${dir}/u.sock`;
    await Deno.writeTextFile(
      `${dir}/urocket-service.yaml`,
      `listen: 127.0.0.1:0\n${config.includes("socket:") ? "" : `socket: ${socket}\n`}` +
        config.replaceAll("{{dir}}", dir),
    );
    const result = await runUrocket(["-c", `${dir}/urocket-service.yaml`], {
      env: Object.fromEntries(
        Object.entries(env).map(([name, value]) => [name, value.replaceAll("{{dir}}", dir)]),
      ),
    });
    await assert.rejects(Deno.lstat(socket), Deno.errors.NotFound, "no socket file left");
    return { ...result, dir };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const ONE_LIMITED = `paths:
  /run:
    post:
      limits: { memory: 256Mi, pids: 64 }
      inject: { cmd: "/bin/true" }
`;

/** Whether /sys/fs/cgroup is a cgroup2 mount here (the test runner may read /proc). */
async function unified(): Promise<boolean> {
  const mounts = await Deno.readTextFile("/proc/self/mounts");
  return mounts.split("\n").some((line) => /^\S+ \/sys\/fs\/cgroup cgroup2 /.test(line));
}

Deno.test({
  name:
    "urocket refuses to start (exit 2) when limits cannot be enforced, saying why and what to do",
  ...E2E,
  async fn() {
    // Whatever the host offers, when it is not the unified hierarchy (cgroup v1, the hybrid layout).
    if (!await unified()) {
      const host = await refused(ONE_LIMITED);
      assert.equal(host.code, 2, host.stderr);
      assert.match(
        host.stderr,
        /urocket-service\.yaml:5: paths\.\/run\.post\.limits: Cannot enforce limits: \/sys\/fs\/cgroup is not a cgroup v2 mount \(cgroup v1, or the hybrid layout\); run urocket on a system with the unified cgroup v2 hierarchy .*; or set "limits-enforce: best-effort" to run without them/,
      );
    }
    const missing = await refused(ONE_LIMITED, { UROCKET_CGROUP_ROOT: "{{dir}}/cg" }, {
      ...fakeCgroup("cpu io"),
    });
    assert.equal(missing.code, 2);
    assert.match(
      missing.stderr,
      /Cannot enforce limits: .*\/cg lacks memory,pids \(its cgroup\.controllers lists: cpu io\); enable the controllers/,
    );
    const root = await refused(ONE_LIMITED, { UROCKET_CGROUP_ROOT: "{{dir}}" });
    assert.equal(root.code, 2);
    assert.match(root.stderr, /is the root of the cgroup hierarchy .*Delegate=yes/);
    const fallback = await refused(ONE_LIMITED, { UROCKET_SPAWN_HELPER: "off" });
    assert.equal(fallback.code, 2);
    assert.match(
      fallback.stderr,
      /Cannot enforce limits: they need the spawn server, and urocket spawns with detached: true \(UROCKET_SPAWN_HELPER=off\); build the spawn helper/,
    );
  },
});

Deno.test({
  name: "with limits-enforce: best-effort urocket warns once and runs the processes without limits",
  ...E2E,
  async fn() {
    await withUrocket({
      config: `limits-enforce: best-effort\n${LIMITED}`,
      files: fakeCgroup("cpu io"),
      env: { UROCKET_CGROUP_ROOT: "{{dir}}/cg" },
    }, async (uro) => {
      const warning = await uro.waitForLog((l) => l.msg === "limits");
      assert.equal(warning.level, "warn");
      assert.equal(warning.enforced, false);
      assert.match(String(warning.reason), /lacks memory,pids/);
      for (let i = 0; i < 3; i++) {
        const answer = await uro.call("/unwired");
        assert.equal(answer.status, 200);
        const exit = await exitOf(uro, answer.headers.get("x-request-id"));
        assert.equal(exit.stats_source, "wait4");
      }
      assert.equal(uro.find((l) => l.msg === "limits").length, 1, "said once");
      assert.deepEqual(await groupsLeft(uro), []);
    });
  },
});

Deno.test({
  name:
    "a reload that adds limits prepares the cgroup then; one that needs a controller it lacks is refused",
  ...E2E,
  async fn() {
    const plain = `paths:
  /run:
    post:
      inject: { cmd: ["{{fixtures}}/cgroup.sh", report], env: ["CG_ROOT={{dir}}/cg"] }
`;
    const uro = await startUrocket({
      config: plain,
      files: fakeCgroup("cpu memory"),
      env: { UROCKET_CGROUP_ROOT: "{{dir}}/cg" },
    });
    const reload = async (config: string) => {
      const text = `socket: ${uro.socket}\nlisten: 127.0.0.1:0\nshutdown-delay: 0s\n${config}`
        .replaceAll("{{dir}}", uro.dir).replaceAll("{{fixtures}}", FIXTURES);
      await Deno.writeTextFile(`${uro.dir}/urocket-service.yaml`, text);
      const before = uro.find((l) => l.msg === "reload").length;
      Deno.kill(uro.pid, "SIGHUP");
      await uro.waitForLog(() => uro.find((l) => l.msg === "reload").length > before);
      return uro.find((l) => l.msg === "reload")[before];
    };
    try {
      assert.equal(uro.find((l) => l.msg === "limits").length, 0, "no limits, no cgroup work");
      await assert.rejects(Deno.stat(`${uro.dir}/cg/urocket`), Deno.errors.NotFound);
      assert.equal((await uro.call("/run", { method: "POST" })).status, 502, "in no group");

      const applied = await reload(`limits: { memory: 32Mi }\n${plain}`);
      assert.equal(applied.outcome, "applied");
      const limits = await uro.waitForLog((l) => l.msg === "limits");
      assert.equal(limits.enforced, true);
      const answer = await uro.call("/run", { method: "POST" });
      assert.equal(answer.status, 200, answer.text);
      assert.equal(answer.json()["memory.max"], String(32 * 1024 * 1024));

      const refused = await reload(`limits: { pids: 10 }\n${plain}`);
      assert.equal(refused.outcome, "refused");
      assert.match(
        (refused.problems as string[]).join("\n"),
        /Cannot enforce limits: the controllers pids are not enabled in .*\/cg \(it has: cpu, memory\)/,
      );
      const still = await uro.call("/run", { method: "POST" });
      assert.equal(still.json()["memory.max"], String(32 * 1024 * 1024), "the old limits hold");
    } finally {
      await uro.stop();
    }
  },
});

const ROOT = Deno.uid() === 0;

Deno.test({
  name: "an operation with user and group runs its processes as them, with their HOME",
  ignore: !ROOT,
  ...E2E,
  async fn() {
    await withUrocket({
      config: `socket-mode: "0660"
socket-group: nogroup
paths:
  /run:
    post:
      user: nobody
      group: nogroup
      inject: { cmd: "{{fixtures}}/whoami.sh" }
  /other:
    post:
      inject: { cmd: "{{fixtures}}/whoami.sh" }
`,
      // The handler's user must reach the socket (and its working directory) through it.
      dirMode: 0o755,
    }, async (uro) => {
      const info = await Deno.stat(uro.socket);
      assert.equal(info.gid, 65534, "socket-group sets the socket file's group");
      assert.equal(info.mode! & 0o777, 0o660);
      const nobody = await uro.call("/run", { method: "POST" });
      assert.equal(nobody.status, 200, nobody.text);
      assert.deepEqual(nobody.json(), {
        uid: 65534,
        gid: 65534,
        groups: "65534",
        home: "/nonexistent",
      });
      const root = await uro.call("/other", { method: "POST" });
      assert.equal(root.json().uid, 0, "an operation without user runs as urocket");
    });
  },
});

Deno.test({
  name:
    "urocket refuses a user that could not reach the reply socket, and users with the fallback spawner",
  ignore: !ROOT,
  ...E2E,
  async fn() {
    const config = `paths:
  /run:
    post:
      user: nobody
      inject: { cmd: "/bin/true" }
`;
    const closed = await refused(config);
    assert.equal(closed.code, 2);
    // The test folder is 0700: nobody cannot even reach the socket's directory.
    assert.match(
      closed.stderr,
      /paths\.\/run\.post\.user: The user "nobody" \(uid 65534, gid 65534\) could not reply: cannot reach \/tmp\/urocket-limits-\w+: it is mode 0700/,
    );
    const modeOnly = await refused(
      config.replace("paths:", `socket: /tmp/urocket-user-${crypto.randomUUID()}.sock\npaths:`),
    );
    assert.equal(modeOnly.code, 2);
    assert.match(
      modeOnly.stderr,
      /could not reply: cannot connect to \/tmp\/urocket-user-[\w-]+\.sock: it is mode 0600, owner 0, group 0: set socket-mode "0660" with a socket-group the user is in, or "0666"/,
    );
    const fallback = await refused(config, { UROCKET_SPAWN_HELPER: "off" });
    assert.equal(fallback.code, 2);
    assert.match(fallback.stderr, /that needs the spawn server/);
    const unknown = await refused(config.replace("nobody", "no-such-user-here"));
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /user: No user "no-such-user-here" in \/etc\/passwd/);
  },
});
