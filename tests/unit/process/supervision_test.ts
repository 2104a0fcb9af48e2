import { deepStrictEqual, match, strictEqual } from "node:assert/strict";
import type { OperationConfig, RunAs, ServiceConfig } from "../../../lib/config/mod.ts";
import type { CgroupSetup, Controller } from "../../../lib/process/cgroup.ts";
import { checkSupervision, type SupervisionFacts } from "../../../lib/process/supervision.ts";
import { type FileAccess, socketAccessProblem } from "../../../lib/reply/socket.ts";

const NOBODY: RunAs = { user: "nobody", uid: 65534, gid: 65534, groups: [65534] };

function op(path: string, extra: Partial<OperationConfig> = {}): OperationConfig {
  return {
    path,
    method: "post",
    line: 7,
    validateIn: false,
    validateOut: false,
    wd: "/",
    env: {},
    program: "/bin/true",
    args: [],
    channel: "stdin",
    encoding: "json",
    passHeaders: [],
    logStdout: false,
    outtake: "/uri/{req_id}",
    timeoutMs: 1000,
    bodyTimeoutMs: 1000,
    killGraceMs: 1000,
    maxBody: 1,
    maxReply: 1,
    logLimit: 1,
    afterExit: "fail",
    streamTimeoutMs: 1000,
    securityOpen: false,
    ...extra,
  };
}

function config(
  operations: OperationConfig[],
  limitsEnforce: "required" | "best-effort" = "required",
): ServiceConfig {
  return {
    file: "/etc/urocket/urocket-service.yaml",
    openapi: "/etc/urocket/openapi.yaml",
    listen: { hostname: "0.0.0.0", port: 8080 },
    socket: "/run/urocket/urocket.sock",
    socketMode: 0o600,
    limitsEnforce,
    maxInflight: 64,
    maxBodyMemory: 1,
    shutdownDelayMs: 0,
    shutdownTimeoutMs: 0,
    security: {},
    securityLines: {},
    operations,
    warnings: [],
  };
}

/** Facts of a urocket with the spawn server, whose cgroup setup answers `setup`. */
function facts(setup: CgroupSetup, extra: Partial<SupervisionFacts> = {}) {
  const asked: Controller[][] = [];
  const result: SupervisionFacts = {
    strategy: {
      mode: "spawn_server",
      reason: "built",
      prepareCgroups: (needed) => {
        asked.push(needed);
        return Promise.resolve(setup);
      },
    },
    uid: 0,
    socketProblem: () => undefined,
    ...extra,
  };
  return { facts: result, asked };
}

const ENFORCED: CgroupSetup = {
  ok: true,
  dir: "/sys/fs/cgroup",
  controllers: ["cpu", "memory", "pids"],
};
const READ_ONLY: CgroupSetup = {
  ok: false,
  stage: "delegation",
  message: "cannot create /sys/fs/cgroup/urocket: Read-only file system",
};

Deno.test("checkSupervision() leaves cgroups alone when no operation has limits", async () => {
  const { facts: f, asked } = facts(ENFORCED);
  const verdict = await checkSupervision(config([op("/a")]), f);
  deepStrictEqual(verdict, { problems: [], limits: { kind: "none" } });
  deepStrictEqual(asked, []);
});

Deno.test("checkSupervision() prepares cgroups for the controllers the limits need", async () => {
  const { facts: f, asked } = facts(ENFORCED);
  const verdict = await checkSupervision(
    config([op("/a", { limits: { pids: 3 } }), op("/b", { limits: { memoryBytes: 1 << 20 } })]),
    f,
  );
  deepStrictEqual(asked, [["memory", "pids"]]);
  deepStrictEqual(verdict.limits, {
    kind: "enforced",
    dir: "/sys/fs/cgroup",
    controllers: ["cpu", "memory", "pids"],
  });
  deepStrictEqual(verdict.problems, []);
});

Deno.test("checkSupervision() refuses limits it cannot enforce, unless best-effort", async () => {
  const limited = [op("/a", { limits: { cpu: 0.5 } })];
  const refused = await checkSupervision(config(limited), facts(READ_ONLY).facts);
  strictEqual(refused.problems.length, 1);
  const [problem] = refused.problems;
  strictEqual(problem.key, "paths./a.post.limits");
  strictEqual(problem.line, 7);
  match(
    problem.message,
    /^Cannot enforce limits: cannot create \/sys\/fs\/cgroup\/urocket: Read-only file system; delegate .*; or set "limits-enforce: best-effort" to run without them$/,
  );
  const tolerated = await checkSupervision(config(limited, "best-effort"), facts(READ_ONLY).facts);
  deepStrictEqual(tolerated.problems, []);
  strictEqual(tolerated.limits.kind, "unenforced");

  const partial = await checkSupervision(
    config(limited),
    facts({ ok: true, dir: "/cg", controllers: ["memory"] }).facts,
  );
  match(
    partial.problems[0].message,
    /the controllers cpu are not enabled in \/cg \(it has: memory\)/,
  );
});

Deno.test("checkSupervision() lets processes run as another user only from root with the spawn server", async () => {
  const users = config([op("/a", { user: NOBODY })]);
  deepStrictEqual((await checkSupervision(users, facts(ENFORCED).facts)).problems, []);
  const notRoot = await checkSupervision(users, facts(ENFORCED, { uid: 1000 }).facts);
  match(notRoot.problems[0].message, /urocket runs as uid 1000, and only root may start processes/);
  strictEqual(notRoot.problems[0].key, "paths./a.post.user");
  const { facts: detached } = facts(ENFORCED);
  detached.strategy = { ...detached.strategy, mode: "detached", reason: "no helper" };
  match(
    (await checkSupervision(users, detached)).problems[0].message,
    /needs the spawn server, and urocket spawns with detached: true \(no helper\)/,
  );
  const socket = await checkSupervision(
    users,
    facts(ENFORCED, { socketProblem: () => "cannot connect to /s" }).facts,
  );
  match(
    socket.problems[0].message,
    /The user "nobody" \(uid 65534, gid 65534\) could not reply: cannot connect to \/s/,
  );
});

/** A socket owned by root:`gid` with `mode`, in /run/urocket (root, `dirMode`), in / and /run. */
function chain(mode: number, gid = 0, dirMode = 0o755): FileAccess[] {
  return [
    { path: "/run/urocket/urocket.sock", uid: 0, gid, mode },
    { path: "/run/urocket", uid: 0, gid: 0, mode: dirMode },
    { path: "/run", uid: 0, gid: 0, mode: 0o755 },
    { path: "/", uid: 0, gid: 0, mode: 0o755 },
  ];
}

Deno.test("socketAccessProblem() checks the socket's write bit and each directory's search bit", () => {
  strictEqual(socketAccessProblem(NOBODY, chain(0o666)), undefined);
  strictEqual(socketAccessProblem(NOBODY, chain(0o660, 65534)), undefined);
  match(
    String(socketAccessProblem(NOBODY, chain(0o660))),
    /cannot connect to .*mode 0660, owner 0, group 0/,
  );
  match(
    String(socketAccessProblem(NOBODY, chain(0o600))),
    /set socket-mode "0660" with a socket-group/,
  );
  match(
    String(socketAccessProblem(NOBODY, chain(0o666, 0, 0o700))),
    /^cannot reach \/run\/urocket: it is mode 0700/,
  );
  // Owner bits count for the owner even when others may (as the kernel checks).
  const owner = { uid: 1000, gid: 1000, groups: [1000] };
  const own = chain(0o066).map((f, i) => i === 0 ? { ...f, uid: 1000 } : f);
  match(String(socketAccessProblem(owner, own)), /cannot connect/);
  strictEqual(
    socketAccessProblem({ uid: 0, gid: 0, groups: [0] }, chain(0o600, 0, 0o700)),
    undefined,
  );
});
