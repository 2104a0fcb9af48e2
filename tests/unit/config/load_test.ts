import { deepStrictEqual, fail, match, ok, strictEqual } from "node:assert/strict";
import {
  type Accounts,
  ConfigError,
  type FileInfo,
  formatListen,
  MAX_TIMER_MS,
  type OperationConfig,
  parseAccounts,
  parseConfig,
  parseListen,
  type Problem,
  type ServiceConfig,
  SHUTDOWN_KILL_WAIT_MS,
  STREAM_KILL_BACKSTOP_MS,
} from "../../../lib/config/mod.ts";

const FILE = "/srv/app/urocket-service.yaml";

type Kind = "dir" | "exe" | "file";

/** The in-memory file system most tests run against. */
const TREE: Record<string, Kind> = {
  "/srv/app": "dir",
  "/srv/app/handlers": "dir",
  "/srv/app/handlers/list.sh": "exe",
  "/srv/app/handlers/plain.sh": "file",
  "/usr/bin": "dir",
  "/usr/bin/python3": "exe",
};

function fakeStat(tree: Record<string, Kind>): (path: string) => Promise<FileInfo | undefined> {
  return (path) => {
    const kind = tree[path];
    if (kind === undefined) return Promise.resolve(undefined);
    return Promise.resolve({
      isFile: kind !== "dir",
      isDirectory: kind === "dir",
      mode: kind === "file" ? 0o644 : 0o755,
    });
  };
}

interface LoadInput {
  env?: Record<string, string>;
  tree?: Record<string, Kind>;
  /** Replaces the in-memory file system's stat. */
  stat?: (path: string) => Promise<FileInfo | undefined>;
  accounts?: Accounts;
}

/** The /etc/passwd and /etc/group the tests that name users read. */
const ACCOUNTS = parseAccounts(
  "root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n" +
    "app:x:1000:1000::/home/app:/bin/sh\nbroken line\n",
  "root:x:0:\nwww-data:x:33:\nurocket:x:900:app,www-data\ndocker:x:999:app\napp:x:1000:\n",
);

function load(text: string, input: LoadInput = {}): Promise<ServiceConfig> {
  return parseConfig(text, {
    file: FILE,
    env: input.env ?? { PATH: "/usr/bin" },
    stat: input.stat ?? fakeStat(input.tree ?? TREE),
    accounts: () => Promise.resolve(input.accounts ?? ACCOUNTS),
  });
}

async function problemsOf(text: string, input: LoadInput = {}): Promise<Problem[]> {
  try {
    await load(text, input);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  fail("expected parseConfig() to throw a ConfigError");
}

/** The single problem of `text`, failing when there is not exactly one. */
async function onlyProblem(text: string, input: LoadInput = {}): Promise<Problem> {
  const problems = await problemsOf(text, input);
  strictEqual(problems.length, 1, JSON.stringify(problems, null, 2));
  return problems[0];
}

function operation(config: ServiceConfig, method: string, path = "/pets"): OperationConfig {
  const op = config.operations.find((o) => o.method === method && o.path === path);
  if (!op) fail(`no operation ${method} ${path}`);
  return op;
}

/** A config file with one operation, `GET /pets`, whose block gets `lines` (already indented). */
function withGet(...lines: string[]): string {
  return ["paths:", "  /pets:", "    get:", ...lines].join("\n") + "\n";
}

const LIST = ["      inject:", "        cmd: handlers/list.sh"];

// --- defaults -------------------------------------------------------------------------------

Deno.test("parseConfig() applies the documented top-level defaults to an empty file", async () => {
  const config = await load("");
  deepStrictEqual(config, {
    file: FILE,
    openapi: "/srv/app/openapi.yaml",
    listen: { hostname: "0.0.0.0", port: 8080 },
    socket: "/tmp/urocket.sock",
    socketMode: 0o600,
    limitsEnforce: "required",
    maxInflight: 64,
    maxBodyMemory: 64 * 1024 * 1024,
    shutdownDelayMs: 5_000,
    shutdownTimeoutMs: 25_000,
    security: {},
    securityLines: {},
    operations: [],
    warnings: [],
  });
});

Deno.test("parseConfig() applies the documented defaults to an operation that sets only cmd", async () => {
  const config = await load(withGet(...LIST));
  const { line: _line, ...op } = operation(config, "get");
  strictEqual(config.operations.length, 1);
  deepStrictEqual(op, {
    path: "/pets",
    method: "get",
    validateIn: false,
    validateOut: false,
    wd: "/srv/app",
    env: {},
    program: "/srv/app/handlers/list.sh",
    args: [],
    channel: "stdin",
    encoding: "json",
    passHeaders: [],
    logStdout: false,
    outtake: "/uri/{req_id}",
    timeoutMs: 30_000,
    bodyTimeoutMs: 30_000,
    killGraceMs: 2_000,
    maxBody: 1024 * 1024,
    maxReply: 10 * 1024 * 1024,
    logLimit: 1024 * 1024,
    afterExit: "fail",
    streamTimeoutMs: 300_000,
    securityOpen: false,
    maxInflight: undefined,
  });
});

Deno.test("parseConfig() reads every top-level key", async () => {
  const config = await load(
    [
      "openapi: ../spec/api.json",
      "listen: '[::1]:0'",
      "socket: run/urocket.sock",
      'socket-mode: "0660"',
      "max-inflight: 3",
      "max-body-memory: 8MiB",
      "",
    ].join("\n"),
  );
  strictEqual(config.openapi, "/srv/spec/api.json");
  deepStrictEqual(config.listen, { hostname: "::1", port: 0 });
  strictEqual(config.socket, "/srv/app/run/urocket.sock");
  strictEqual(config.socketMode, 0o660);
  strictEqual(config.maxInflight, 3);
  strictEqual(config.maxBodyMemory, 8 * 1024 * 1024);
});

Deno.test("parseConfig() reads a listen address without a host as 0.0.0.0", async () => {
  const config = await load("listen: ':9090'\n");
  deepStrictEqual(config.listen, { hostname: "0.0.0.0", port: 9090 });
});

Deno.test("parseConfig() passes the top-level limits down to every operation", async () => {
  const config = await load(
    [
      "timeout: 5s",
      "body-timeout: 3s",
      "kill-grace: 500ms",
      "max-body: 10KiB",
      "max-reply: 2MB",
      "log-limit: 64KiB",
      "after-exit: wait",
      "",
    ].join("\n") + withGet(...LIST),
  );
  const op = operation(config, "get");
  strictEqual(op.timeoutMs, 5_000);
  strictEqual(op.bodyTimeoutMs, 3_000);
  strictEqual(op.killGraceMs, 500);
  strictEqual(op.maxBody, 10 * 1024);
  strictEqual(op.maxReply, 2_000_000);
  strictEqual(op.logLimit, 64 * 1024);
  strictEqual(op.afterExit, "wait");
});

Deno.test("parseConfig() lets an operation override the top-level limits", async () => {
  const config = await load(
    "timeout: 5s\nmax-body: 10KiB\nafter-exit: wait\n" +
      withGet(
        "      timeout: 2m",
        "      body-timeout: 250ms",
        "      kill-grace: 1",
        "      max-body: 1M",
        "      max-reply: 512",
        "      log-limit: 2KB",
        "      after-exit: fail",
        "      max-inflight: 2",
        ...LIST,
      ),
  );
  const op = operation(config, "get");
  strictEqual(op.timeoutMs, 120_000);
  strictEqual(op.bodyTimeoutMs, 250);
  strictEqual(op.killGraceMs, 1_000);
  strictEqual(op.maxBody, 1_000_000);
  strictEqual(op.maxReply, 512);
  strictEqual(op.logLimit, 2_000);
  strictEqual(op.afterExit, "fail");
  strictEqual(op.maxInflight, 2);
});

Deno.test("parseConfig() reads the operation's flags and inject keys", async () => {
  const config = await load(withGet(
    "      validate-in: true",
    "      validate-out: true",
    "      logstdout: true",
    "      outtake: usocket:///replies/v1/{req_id}",
    "      inject:",
    "        cmd: handlers/list.sh",
    "        channel: cmdline",
    "        encoding: raw",
    "        pass-headers: [X-Api-Key, Accept]",
  ));
  const op = operation(config, "get");
  strictEqual(op.validateIn, true);
  strictEqual(op.validateOut, true);
  strictEqual(op.logStdout, true);
  strictEqual(op.outtake, "/replies/v1/{req_id}");
  strictEqual(op.channel, "cmdline");
  strictEqual(op.encoding, "raw");
  deepStrictEqual(op.passHeaders, ["X-Api-Key", "Accept"]);
});

Deno.test("parseConfig() treats validatein as an alias of validate-in", async () => {
  const config = await load(withGet("      validatein: true", ...LIST));
  strictEqual(operation(config, "get").validateIn, true);
});

Deno.test("parseConfig() accepts validatein and validate-in that agree", async () => {
  const config = await load(withGet("      validatein: true", "      validate-in: true", ...LIST));
  strictEqual(operation(config, "get").validateIn, true);
});

Deno.test("parseConfig() refuses validatein and validate-in that disagree", async () => {
  const problem = await onlyProblem(
    withGet("      validatein: true", "      validate-in: false", ...LIST),
  );
  strictEqual(problem.key, "paths./pets.get.validatein");
  strictEqual(problem.line, 4);
  match(problem.message, /Conflicts with "validate-in"/);
});

// --- paths on disk --------------------------------------------------------------------------

Deno.test("parseConfig() resolves wd against the config file's folder", async () => {
  const config = await load(withGet(
    "      inject:",
    "        wd: ./sub/../handlers/",
    "        cmd: ./list.sh",
  ));
  const op = operation(config, "get");
  strictEqual(op.wd, "/srv/app/handlers");
  strictEqual(op.program, "/srv/app/handlers/list.sh");
});

Deno.test("parseConfig() keeps an absolute wd and an absolute program as written", async () => {
  const config = await load(withGet(
    "      inject:",
    "        wd: /usr/bin",
    "        cmd: /srv/app/handlers/list.sh",
  ));
  const op = operation(config, "get");
  strictEqual(op.wd, "/usr/bin");
  strictEqual(op.program, "/srv/app/handlers/list.sh");
});

Deno.test("parseConfig() resolves a program with a slash against wd", async () => {
  const config = await load(withGet(
    "      inject:",
    "        wd: handlers",
    "        cmd: ./list.sh",
  ));
  strictEqual(operation(config, "get").program, "/srv/app/handlers/list.sh");
});

Deno.test("parseConfig() never looks a program without a slash up in wd", async () => {
  const problem = await onlyProblem(withGet(
    "      inject:",
    "        wd: handlers",
    "        cmd: list.sh",
  ));
  strictEqual(
    problem.message,
    'Cannot run "list.sh": not found in PATH (to run the file in wd, write "./list.sh")',
  );
});

Deno.test("parseConfig() looks a program without a slash up in PATH, in order", async () => {
  const tree: Record<string, Kind> = {
    ...TREE,
    "/opt/a/tool": "file",
    "/opt/b/tool": "exe",
    "/opt/c/tool": "exe",
  };
  const config = await load(withGet("      inject:", "        cmd: tool --verbose"), {
    env: { PATH: "/opt/missing:/opt/a:/opt/b:/opt/c" },
    tree,
  });
  const op = operation(config, "get");
  strictEqual(op.program, "/opt/b/tool");
  deepStrictEqual(op.args, ["--verbose"]);
});

Deno.test("parseConfig() refuses a program that is not found in PATH", async () => {
  const problem = await onlyProblem(withGet("      inject:", "        cmd: nosuchtool"), {
    env: { PATH: "/usr/bin:/bin" },
  });
  strictEqual(problem.key, "paths./pets.get.inject.cmd");
  strictEqual(problem.line, 5);
  strictEqual(problem.message, 'Cannot run "nosuchtool": not found in PATH');
});

Deno.test("parseConfig() refuses a program without a slash when PATH is unset", async () => {
  const problem = await onlyProblem(withGet("      inject:", "        cmd: python3"), { env: {} });
  strictEqual(problem.key, "paths./pets.get.inject.cmd");
  match(problem.message, /not found in PATH/);
});

Deno.test("parseConfig() refuses a program path that does not exist", async () => {
  const problem = await onlyProblem(withGet("      inject:", "        cmd: handlers/nope.sh -x"));
  strictEqual(problem.key, "paths./pets.get.inject.cmd");
  match(problem.message, /^Cannot run "\/srv\/app\/handlers\/nope\.sh": no such file/);
});

Deno.test("parseConfig() refuses a program that is not executable, with a hint", async () => {
  const problem = await onlyProblem(withGet("      inject:", "        cmd: handlers/plain.sh"));
  strictEqual(problem.key, "paths./pets.get.inject.cmd");
  strictEqual(problem.line, 5);
  match(problem.message, /^Cannot run "\/srv\/app\/handlers\/plain\.sh": file is not executable/);
  match(problem.message, /chmod \+x/);
});

Deno.test("parseConfig() refuses a program path that is a directory", async () => {
  const problem = await onlyProblem(withGet("      inject:", "        cmd: ./handlers"));
  strictEqual(problem.key, "paths./pets.get.inject.cmd");
  match(problem.message, /^Cannot run "\/srv\/app\/handlers"/);
});

Deno.test("parseConfig() refuses a wd that does not exist", async () => {
  const problem = await onlyProblem(withGet(
    "      inject:",
    "        wd: nowhere",
    "        cmd: handlers/list.sh",
  ));
  strictEqual(problem.key, "paths./pets.get.inject.wd");
  strictEqual(problem.line, 5);
  strictEqual(problem.message, '"/srv/app/nowhere" does not exist');
});

Deno.test("parseConfig() refuses a wd that is a file", async () => {
  const problem = await onlyProblem(withGet(
    "      inject:",
    "        wd: handlers/list.sh",
    "        cmd: ./x",
  ));
  strictEqual(problem.key, "paths./pets.get.inject.wd");
  strictEqual(problem.message, '"/srv/app/handlers/list.sh" is not a directory');
});

Deno.test("parseConfig() refuses a socket path longer than a unix socket allows", async () => {
  const problem = await onlyProblem(`socket: /tmp/${"s".repeat(100)}.sock\n`);
  strictEqual(problem.key, "socket");
  strictEqual(problem.line, 1);
  match(problem.message, /longer than 107 bytes/);
});

Deno.test("parseConfig() refuses a socket folder that leaves no room to bind the socket beside it", async () => {
  // 103 bytes fit a socket path, but not the folder's 100 bytes and ".u" with a pid.
  const folder = `/tmp/${"f".repeat(95)}`;
  strictEqual((await load(`socket: ${folder.slice(0, -1)}/a.sock\n`)).socket.length, 106);
  const problem = await onlyProblem(`socket: ${folder}/a\n`);
  strictEqual(problem.key, "socket");
  match(problem.message, /^Socket folder path is longer than 99 bytes/);
});

// --- cmd ------------------------------------------------------------------------------------

Deno.test("parseConfig() splits a cmd string with POSIX quoting and no expansion", async () => {
  const config = await load(withGet(
    "      inject:",
    `        cmd: handlers/list.sh --name 'Rex the dog' "$HOME" *.txt`,
  ));
  const op = operation(config, "get");
  strictEqual(op.program, "/srv/app/handlers/list.sh");
  deepStrictEqual(op.args, ["--name", "Rex the dog", "$HOME", "*.txt"]);
});

Deno.test("parseConfig() uses a cmd list as argv unchanged", async () => {
  const config = await load(withGet(
    "      inject:",
    `        cmd: [python3, -c, "print('a b')", "$HOME", "'q'", ""]`,
  ));
  const op = operation(config, "get");
  strictEqual(op.program, "/usr/bin/python3");
  deepStrictEqual(op.args, ["-c", "print('a b')", "$HOME", "'q'", ""]);
});

Deno.test("parseConfig() refuses an operation without cmd", async () => {
  const problem = await onlyProblem(withGet("      inject:", "        wd: handlers"));
  strictEqual(problem.key, "paths./pets.get.inject.cmd");
  strictEqual(problem.line, 5);
});

Deno.test("parseConfig() refuses an empty cmd string, a blank one and an empty list", async () => {
  const cases: [string, RegExp][] = [
    ['""', /./],
    ['"   "', /^The command is empty$/],
    ["[]", /./],
  ];
  for (const [cmd, message] of cases) {
    const problems = await problemsOf(withGet("      inject:", `        cmd: ${cmd}`));
    strictEqual(problems[0].key, "paths./pets.get.inject.cmd", cmd);
    strictEqual(problems[0].line, 5, cmd);
    match(problems[0].message, message, cmd);
  }
});

Deno.test("parseConfig() refuses a command whose program is an empty word", async () => {
  for (const cmd of [`"'' --flag"`, '[""]', '["", "x"]']) {
    const problem = await onlyProblem(withGet("      inject:", `        cmd: ${cmd}`));
    strictEqual(problem.key, "paths./pets.get.inject.cmd", cmd);
    strictEqual(problem.message, "The command's program is empty", cmd);
  }
});

Deno.test("parseConfig() refuses a NUL byte in cmd, env and wd, which no exec can carry", async () => {
  const problems = await problemsOf(withGet(
    "      inject:",
    '        cmd: ["handlers/list.sh", "a\\0b"]',
    '        env: ["A=x\\0y"]',
    "  /pets/{id}:",
    "    get:",
    "      inject:",
    '        cmd: "handlers/list.sh \\"a\\0b\\""',
    '        wd: "handlers\\0"',
  ));
  const nul = "Contains a NUL byte, which no command line, environment or path can carry";
  deepStrictEqual(problems.map((p) => [p.key, p.message]), [
    ["paths./pets.get.inject.cmd", nul],
    ["paths./pets.get.inject.env[0]", nul],
    ["paths./pets/{id}.get.inject.cmd", nul],
    ["paths./pets/{id}.get.inject.wd", nul],
  ]);
});

Deno.test("parseConfig() reports a path the system refuses to inspect as a problem, not a crash", async () => {
  const problem = await onlyProblem(withGet(...LIST), {
    tree: TREE,
    stat: (path) =>
      path === "/srv/app"
        ? Promise.reject(new Error("File name too long (os error 36)"))
        : fakeStat(TREE)(path),
  });
  strictEqual(problem.key, "paths./pets.get.inject.wd");
  strictEqual(problem.message, 'Cannot inspect "/srv/app": File name too long (os error 36)');
});

Deno.test("parseConfig() refuses a cmd string with an unterminated quote", async () => {
  const problems = await problemsOf(withGet("      inject:", `        cmd: "a 'b"`));
  strictEqual(problems[0].key, "paths./pets.get.inject.cmd");
  strictEqual(problems[0].line, 5);
  strictEqual(problems[0].message, "Unterminated single quote: add the closing '");
});

Deno.test("parseConfig() reports an unusable cmd once, not also as a program not found", async () => {
  for (const cmd of ['"   "', `"a 'b"`]) {
    const problems = await problemsOf(withGet("      inject:", `        cmd: ${cmd}`));
    deepStrictEqual(
      problems.map((p) => p.message).filter((m) => m.startsWith("Cannot run")),
      [],
      cmd,
    );
  }
});

// --- env ------------------------------------------------------------------------------------

Deno.test("parseConfig() reads NAME=value env entries, keeping everything after the first =", async () => {
  const config = await load(withGet(
    "      inject:",
    "        cmd: handlers/list.sh",
    '        env: ["MODE=test", "URL=http://x/?a=b", "EMPTY=", "_x1=y"]',
  ));
  deepStrictEqual(operation(config, "get").env, {
    MODE: "test",
    URL: "http://x/?a=b",
    EMPTY: "",
    _x1: "y",
  });
});

Deno.test("parseConfig() gives a bare env NAME urocket's own value", async () => {
  const config = await load(
    withGet("      inject:", "        cmd: handlers/list.sh", "        env: [HOME, TOKEN]"),
    { env: { PATH: "/usr/bin", HOME: "/root", TOKEN: "s3cret" } },
  );
  deepStrictEqual(operation(config, "get").env, { HOME: "/root", TOKEN: "s3cret" });
  deepStrictEqual(config.warnings, []);
});

Deno.test("parseConfig() skips an unset bare env NAME with a warning", async () => {
  const config = await load(
    withGet("      inject:", "        cmd: handlers/list.sh", "        env: [A=1, NOPE]"),
    { env: { PATH: "/usr/bin" } },
  );
  deepStrictEqual(operation(config, "get").env, { A: "1" });
  deepStrictEqual(config.warnings, [{
    file: FILE,
    line: 6,
    key: "paths./pets.get.inject.env[1]",
    message: "NOPE is not set in urocket's environment: skipped",
  }]);
});

Deno.test("parseConfig() refuses env names that are not identifiers", async () => {
  const problems = await problemsOf(withGet(
    "      inject:",
    "        cmd: handlers/list.sh",
    "        env:",
    "          - 9LIVES=1",
    "          - A-B=1",
    "          - A B=1",
    "          - ÄPFEL=1",
  ));
  deepStrictEqual(problems.map((p) => [p.key, p.line]), [
    ["paths./pets.get.inject.env[0]", 7],
    ["paths./pets.get.inject.env[1]", 8],
    ["paths./pets.get.inject.env[2]", 9],
    ["paths./pets.get.inject.env[3]", 10],
  ]);
  strictEqual(
    problems[0].message,
    '"9LIVES" is not a valid variable name: use letters, digits and _, not starting with a digit',
  );
});

Deno.test("parseConfig() refuses an env entry with an empty name", async () => {
  const problem = await onlyProblem(withGet(
    "      inject:",
    "        cmd: handlers/list.sh",
    '        env: ["=value"]',
  ));
  strictEqual(problem.key, "paths./pets.get.inject.env[0]");
  match(problem.message, /^"" is not a valid variable name/);
});

Deno.test("parseConfig() refuses env names that urocket sets for every request", async () => {
  const names = [
    "REQUEST_ID",
    "URIPATH",
    "REQUEST_METHOD",
    "QUERY_STRING",
    "CONTENT_TYPE",
    "CONTENT_LENGTH",
    "UROCKET_SOCKET",
    "UROCKET_REPLY_URL",
    "UROCKET_DEADLINE_MS",
    "UROCKET_ANYTHING",
    "PATH_PARAM_X",
    "PATH_PARAM_PETID",
  ];
  const problems = await problemsOf(withGet(
    "      inject:",
    "        cmd: handlers/list.sh",
    "        env:",
    ...names.map((name) => `          - ${name}=1`),
  ));
  deepStrictEqual(
    problems.map((p) => p.message),
    names.map((name) => `${name} is set by urocket for every request and cannot be overridden`),
  );
  deepStrictEqual(
    problems.map((p) => p.key),
    names.map((_, i) => `paths./pets.get.inject.env[${i}]`),
  );
});

Deno.test("parseConfig() refuses a bare env NAME that is reserved even when urocket has it set", async () => {
  const problem = await onlyProblem(
    withGet("      inject:", "        cmd: handlers/list.sh", "        env: [REQUEST_ID]"),
    { env: { PATH: "/usr/bin", REQUEST_ID: "abc" } },
  );
  strictEqual(problem.key, "paths./pets.get.inject.env[0]");
});

Deno.test("parseConfig() refuses HTTP_<NAME> for a header the operation passes", async () => {
  const problem = await onlyProblem(withGet(
    "      inject:",
    "        cmd: handlers/list.sh",
    "        pass-headers: [X-Api-Key]",
    "        env: [HTTP_X_API_KEY=forged]",
  ));
  strictEqual(problem.key, "paths./pets.get.inject.env[0]");
  strictEqual(
    problem.message,
    "HTTP_X_API_KEY is set by urocket for every request and cannot be overridden",
  );
});

Deno.test("parseConfig() allows HTTP_<NAME> for headers the operation does not pass", async () => {
  const config = await load(withGet(
    "      inject:",
    "        cmd: handlers/list.sh",
    "        pass-headers: [Accept]",
    '        env: ["HTTP_PROXY=http://proxy:3128", "HTTP_X_API_KEY=k"]',
  ));
  deepStrictEqual(operation(config, "get").env, {
    HTTP_PROXY: "http://proxy:3128",
    HTTP_X_API_KEY: "k",
  });
});

// --- pass-headers ---------------------------------------------------------------------------

Deno.test("parseConfig() refuses to pass the Proxy header, in any case", async () => {
  const problems = await problemsOf(withGet(
    "      inject:",
    "        cmd: handlers/list.sh",
    "        pass-headers: [Accept, Proxy, proxy]",
  ));
  deepStrictEqual(problems.map((p) => p.key), [
    "paths./pets.get.inject.pass-headers[1]",
    "paths./pets.get.inject.pass-headers[2]",
  ]);
  match(problems[0].message, /^The "Proxy" header is never passed/);
  match(problems[0].message, /httpoxy/);
});

Deno.test("parseConfig() refuses two pass-headers that would become the same variable", async () => {
  const problem = await onlyProblem(withGet(
    "      inject:",
    "        cmd: handlers/list.sh",
    "        pass-headers: [X-Api-Key, x-api-key, X_Api_Key]",
  ));
  strictEqual(problem.key, "paths./pets.get.inject.pass-headers[2]");
  strictEqual(
    problem.message,
    '"X_Api_Key" and "X-Api-Key" would both become HTTP_X_API_KEY: pass only one of them',
  );
});

Deno.test("parseConfig() refuses a pass-headers entry that is not a header name", async () => {
  const problem = await onlyProblem(withGet(
    "      inject:",
    "        cmd: handlers/list.sh",
    '        pass-headers: ["X Api Key"]',
  ));
  strictEqual(problem.key, "paths./pets.get.inject.pass-headers[0]");
  strictEqual(problem.message, '"X Api Key" is not a header name');
});

// --- outtake --------------------------------------------------------------------------------

Deno.test("parseConfig() turns an outtake URL into its socket path", async () => {
  for (
    const [outtake, path] of [
      ["usocket://uri/{req_id}", "/uri/{req_id}"],
      ["usocket:///uri/{req_id}", "/uri/{req_id}"],
      ["usocket://{req_id}", "/{req_id}"],
      ["usocket://a/{req_id}/done", "/a/{req_id}/done"],
    ]
  ) {
    const config = await load(withGet(`      outtake: "${outtake}"`, ...LIST));
    strictEqual(operation(config, "get").outtake, path, outtake);
  }
});

Deno.test("parseConfig() refuses an outtake that is not usocket://", async () => {
  for (const outtake of ["http://localhost/uri/{req_id}", "/uri/{req_id}", "unix://uri/{req_id}"]) {
    const problem = await onlyProblem(withGet(`      outtake: "${outtake}"`, ...LIST));
    strictEqual(problem.key, "paths./pets.get.outtake", outtake);
    strictEqual(problem.line, 4, outtake);
    match(problem.message, /^Expected usocket:\/\/<path>/, outtake);
  }
});

Deno.test("parseConfig() refuses an outtake without exactly one whole {req_id} segment", async () => {
  for (
    const outtake of [
      "usocket://uri/",
      "usocket://uri/{id}",
      "usocket://uri/x{req_id}",
      "usocket://uri/{req_id}.json",
      "usocket://uri/{req_id}/{req_id}",
      "usocket://{other}/{req_id}",
    ]
  ) {
    const problem = await onlyProblem(withGet(`      outtake: "${outtake}"`, ...LIST));
    strictEqual(problem.key, "paths./pets.get.outtake", outtake);
    match(problem.message, /exactly one whole \{req_id\} segment/, outtake);
  }
});

Deno.test("parseConfig() refuses an outtake path with empty, dot or encoded segments", async () => {
  for (
    const outtake of [
      "usocket://uri//{req_id}",
      "usocket://uri/../{req_id}",
      "usocket://uri/%41/{req_id}",
      "usocket://uri/{req_id}?x=1",
      "usocket://a|b/{req_id}",
      "usocket://a\\\\b/{req_id}",
    ]
  ) {
    const problem = await onlyProblem(withGet(`      outtake: "${outtake}"`, ...LIST));
    strictEqual(problem.key, "paths./pets.get.outtake", outtake);
  }
});

// --- sizes, durations and other values ------------------------------------------------------

Deno.test("parseConfig() reads base-path without its trailing slash, / as the root", async () => {
  strictEqual((await load("")).basePath, undefined);
  strictEqual((await load("base-path: /api/v3\n")).basePath, "/api/v3");
  strictEqual((await load("base-path: /api/v3/\n")).basePath, "/api/v3");
  strictEqual((await load("base-path: /\n")).basePath, "");
  strictEqual((await load('base-path: "/v1;x=1/@me:~"\n')).basePath, "/v1;x=1/@me:~");
});

Deno.test("parseConfig() refuses a base-path that is not a plain absolute path, saying why", async () => {
  const cases: [string, RegExp][] = [
    ["api/v3", /must start with \//],
    ['""', /must start with \//],
    ["/api?v=3", /no query \(\?\) or fragment/],
    ['"/api#top"', /no query \(\?\) or fragment/],
    ["/api/{version}", /cannot hold a template/],
    ["/api//v3", /empty segment/],
    ["/api/../v3", /"\." or "\.\." segment/],
    ['"/my api"', /not " "/],
    ["/caf\u00e9", /not "\u00e9"/],
    ["/a%20b", /not "%"/],
    ["3", /expected string/],
  ];
  for (const [value, reason] of cases) {
    const problem = await onlyProblem(`base-path: ${value}\n`);
    strictEqual(problem.key, "base-path", value);
    strictEqual(problem.line, 1, value);
    match(problem.message, reason, value);
  }
});

Deno.test("parseConfig() refuses a bare-number socket-mode with a hint to quote it", async () => {
  const problem = await onlyProblem("socket-mode: 0600\n");
  strictEqual(problem.key, "socket-mode");
  strictEqual(problem.line, 1);
  match(problem.message, /quoted octal string such as "0600"/);
  match(problem.message, /YAML reads a bare 0600 as the decimal number 600/);
});

Deno.test("parseConfig() refuses a socket-mode that is not octal", async () => {
  for (const mode of ['"0800"', '"rw-------"', '"06000"', '"60"']) {
    const problem = await onlyProblem(`socket-mode: ${mode}\n`);
    strictEqual(problem.key, "socket-mode", mode);
  }
});

Deno.test("parseConfig() accepts socket-mode with or without its leading 0", async () => {
  strictEqual((await load('socket-mode: "660"\n')).socketMode, 0o660);
  strictEqual((await load('socket-mode: "0640"\n')).socketMode, 0o640);
});

Deno.test("parseConfig() refuses a socket-mode that denies the owner write, which connecting takes", async () => {
  for (const mode of ["000", "0400", "0500", "0060", "0066"]) {
    const problem = await onlyProblem(`socket-mode: "${mode}"\n`);
    strictEqual(problem.key, "socket-mode", mode);
    strictEqual(problem.line, 1, mode);
    strictEqual(
      problem.message,
      `Mode "${mode}" denies the socket's owner write permission, which connecting takes: ` +
        'processes running as urocket\'s own user (every operation without "user") could not ' +
        'reply; give the owner write, e.g. "0600"',
    );
  }
  // Write alone is what connect() checks: the owner's read bit is not needed.
  strictEqual((await load('socket-mode: "0200"\n')).socketMode, 0o200);
});

Deno.test("parseConfig() refuses an invalid listen address", async () => {
  for (const listen of ["localhost", "0.0.0.0:70000", "0.0.0.0:http", "::1:8080"]) {
    const problem = await onlyProblem(`listen: "${listen}"\n`);
    strictEqual(problem.key, "listen", listen);
    match(problem.message, /^Invalid listen address/, listen);
  }
});

Deno.test("parseConfig() refuses invalid top-level sizes and durations at their keys", async () => {
  const problems = await problemsOf(
    "timeout: soon\nkill-grace: 2d\nmax-body: 1XB\nmax-reply: -5\nlog-limit: lots\n",
  );
  deepStrictEqual(problems.map((p) => [p.key, p.line]), [
    ["timeout", 1],
    ["kill-grace", 2],
    ["max-body", 3],
    ["max-reply", 4],
    ["log-limit", 5],
  ]);
  match(problems[0].message, /^Invalid duration "soon"/);
  match(problems[2].message, /^Invalid size "1XB"/);
});

Deno.test("parseConfig() refuses invalid per-operation sizes and durations at their keys", async () => {
  const problems = await problemsOf(withGet(
    "      timeout: 10 minutes",
    "      max-body: 1 parsec",
    "      log-limit: 1 page",
    ...LIST,
  ));
  deepStrictEqual(problems.map((p) => [p.key, p.line]), [
    ["paths./pets.get.timeout", 4],
    ["paths./pets.get.max-body", 5],
    ["paths./pets.get.log-limit", 6],
  ]);
});

Deno.test("parseConfig() refuses a zero timeout on an operation", async () => {
  const problem = await onlyProblem(withGet("      timeout: 0", ...LIST));
  strictEqual(problem.key, "paths./pets.get.timeout");
  strictEqual(problem.line, 4);
  strictEqual(problem.message, "The timeout must be greater than zero");
});

Deno.test("parseConfig() reports a zero top-level timeout at the top-level key", async () => {
  const problems = await problemsOf("timeout: 0s\n" + withGet(...LIST));
  deepStrictEqual(problems.map((p) => [p.key, p.line]), [["timeout", 1]]);
});

Deno.test("parseConfig() refuses a zero stream-timeout, which would cut every streamed reply", async () => {
  const problem = await onlyProblem(withGet("      stream-timeout: 0s", ...LIST));
  strictEqual(problem.key, "paths./pets.get.stream-timeout");
  strictEqual(problem.message, "The stream-timeout must be greater than zero");
  const top = await problemsOf("stream-timeout: 0\n" + withGet(...LIST));
  deepStrictEqual(top.map((p) => [p.key, p.line]), [["stream-timeout", 1]]);
});

Deno.test("parseConfig() refuses a zero body-timeout, which would refuse every body", async () => {
  const problem = await onlyProblem(withGet("      body-timeout: 0", ...LIST));
  strictEqual(problem.key, "paths./pets.get.body-timeout");
  strictEqual(problem.message, "The body-timeout must be greater than zero");
  const top = await problemsOf("body-timeout: 0s\n" + withGet(...LIST));
  deepStrictEqual(top.map((p) => [p.key, p.line]), [["body-timeout", 1]]);
});

Deno.test("parseConfig() reads body-timeout with the duration syntax of timeout", async () => {
  const problem = await onlyProblem(withGet("      body-timeout: soon", ...LIST));
  strictEqual(problem.key, "paths./pets.get.body-timeout");
  match(problem.message, /Invalid duration "soon"/);
});

Deno.test("parseConfig() raises the default max-body-memory to the largest max-body", async () => {
  const config = await load(withGet("      max-body: 100MiB", ...LIST));
  strictEqual(config.maxBodyMemory, 100 * 1024 * 1024);
});

Deno.test("parseConfig() refuses a max-body-memory smaller than an operation's max-body", async () => {
  const problem = await onlyProblem(
    "max-body-memory: 1MiB\n" + withGet("      max-body: 2MiB", ...LIST),
  );
  strictEqual(problem.key, "max-body-memory");
  strictEqual(problem.line, 1);
  strictEqual(
    problem.message,
    "max-body-memory (1048576 bytes) is smaller than the max-body of GET /pets (2097152 bytes), " +
      "so such a body could never be received: raise max-body-memory",
  );
});

Deno.test("parseConfig() refuses a timeout longer than a timer can wait", async () => {
  // setTimeout() holds at most 2^31-1 ms (about 24.8 days); a longer delay fires at once.
  const problems = await problemsOf(
    "timeout: 1000h\n" + withGet("      kill-grace: 600h", ...LIST),
  );
  deepStrictEqual(problems.map((p) => p.key).sort(), ["paths./pets.get.kill-grace", "timeout"]);
});

Deno.test("parseConfig() bounds stream-timeout and kill-grace so that what urocket adds to them still fits a timer", async () => {
  // The front arms the group's deadline at stream-timeout + its backstop, and shutdown waits the
  // longest kill-grace + its own wait: each sum must stay within 2^31-1 ms, else it fires at once.
  strictEqual(MAX_TIMER_MS, 2_147_483_647);
  strictEqual(2_147_482_647 + STREAM_KILL_BACKSTOP_MS, MAX_TIMER_MS);
  strictEqual(2_147_473_647 + SHUTDOWN_KILL_WAIT_MS, MAX_TIMER_MS);
  const longest = await load(
    "stream-timeout: 2147482647ms\nkill-grace: 2147473647ms\n" +
      withGet("      stream-timeout: 2147482647ms", "      kill-grace: 2147473647ms", ...LIST),
  );
  strictEqual(operation(longest, "get").streamTimeoutMs, 2_147_482_647);
  strictEqual(operation(longest, "get").killGraceMs, 2_147_473_647);

  const problems = await problemsOf(
    "stream-timeout: 2147482648ms\nkill-grace: 2147473648ms\n" +
      withGet("      stream-timeout: 2147482648ms", "      kill-grace: 2147473648ms", ...LIST),
  );
  deepStrictEqual(problems.map((p) => [p.key, p.line, p.message]), [
    [
      "stream-timeout",
      1,
      'Duration "2147482648ms" is too long: the longest urocket can wait here is 2147482647 ms ' +
      "(about 24 days), since it waits 1000 ms beyond it and a timer holds at most 2147483647 ms",
    ],
    [
      "kill-grace",
      2,
      'Duration "2147473648ms" is too long: the longest urocket can wait here is 2147473647 ms ' +
      "(about 24 days), since it waits 10000 ms beyond it and a timer holds at most 2147483647 ms",
    ],
    [
      "paths./pets.get.stream-timeout",
      6,
      'Duration "2147482648ms" is too long: the longest urocket can wait here is 2147482647 ms ' +
      "(about 24 days), since it waits 1000 ms beyond it and a timer holds at most 2147483647 ms",
    ],
    [
      "paths./pets.get.kill-grace",
      7,
      'Duration "2147473648ms" is too long: the longest urocket can wait here is 2147473647 ms ' +
      "(about 24 days), since it waits 10000 ms beyond it and a timer holds at most 2147483647 ms",
    ],
  ]);
});

Deno.test("parseConfig() lets the durations urocket adds nothing to reach a timer's limit, not beyond", async () => {
  const keys = ["timeout", "shutdown-delay", "shutdown-timeout"];
  const longest = await load(keys.map((key) => `${key}: 2147483647ms\n`).join(""));
  deepStrictEqual(
    [longest.shutdownDelayMs, longest.shutdownTimeoutMs],
    [2_147_483_647, 2_147_483_647],
  );
  strictEqual(
    operation(await load("timeout: 2147483647ms\n" + withGet(...LIST)), "get").timeoutMs,
    2_147_483_647,
  );
  const problems = await problemsOf(keys.map((key) => `${key}: 2147483648ms\n`).join(""));
  deepStrictEqual(problems.map((p) => p.key), keys);
  for (const problem of problems) {
    strictEqual(
      problem.message,
      'Duration "2147483648ms" is too long: the longest urocket can wait is 2147483647 ms ' +
        "(about 24 days)",
    );
  }
});

Deno.test("parseConfig() refuses a max-inflight below 1 or not an integer", async () => {
  const problems = await problemsOf(
    "max-inflight: 0\n" + withGet("      max-inflight: 1.5", ...LIST),
  );
  deepStrictEqual(problems.map((p) => [p.key, p.line]), [
    ["max-inflight", 1],
    ["paths./pets.get.max-inflight", 5],
  ]);
});

Deno.test("parseConfig() refuses an unknown channel, encoding and after-exit", async () => {
  const problems = await problemsOf(withGet(
    "      after-exit: retry",
    "      inject:",
    "        cmd: handlers/list.sh",
    "        channel: pipe",
    "        encoding: base64",
  ));
  deepStrictEqual(problems.map((p) => [p.key, p.line]), [
    ["paths./pets.get.after-exit", 4],
    ["paths./pets.get.inject.channel", 7],
    ["paths./pets.get.inject.encoding", 8],
  ]);
});

Deno.test("parseConfig() refuses a path that does not start with /", async () => {
  const problems = await problemsOf(
    ["paths:", "  pets:", "    get:", ...LIST].join("\n") + "\n",
  );
  strictEqual(problems[0].key, "paths.pets");
  // The schema's own message, not zod's generic "Invalid key in record".
  match(problems[0].message, /must start with \//);
});

// --- unknown keys and YAML ------------------------------------------------------------------

Deno.test("parseConfig() refuses an unknown key with a did-you-mean suggestion at every level", async () => {
  const problems = await problemsOf(
    [
      "listn: 0.0.0.0:8080",
      "paths:",
      "  /pets:",
      "    gett:",
      "      inject:",
      "        cmd: x",
      "    post:",
      "      tiemout: 5s",
      "      inject:",
      "        chanel: stdin",
      "        cmd: handlers/list.sh",
      "",
    ].join("\n"),
  );
  deepStrictEqual(problems, [
    {
      file: FILE,
      line: 1,
      key: "listn",
      message: 'Unknown key "listn": did you mean "listen"?',
    },
    {
      file: FILE,
      line: 4,
      key: "paths./pets.gett",
      message: 'Unknown key "gett": did you mean "get"?',
    },
    {
      file: FILE,
      line: 8,
      key: "paths./pets.post.tiemout",
      message: 'Unknown key "tiemout": did you mean "timeout"?',
    },
    {
      file: FILE,
      line: 10,
      key: "paths./pets.post.inject.chanel",
      message: 'Unknown key "chanel": did you mean "channel"?',
    },
  ]);
});

Deno.test("parseConfig() suggests validate-in for validate_in", async () => {
  const problem = await onlyProblem(withGet("      validate_in: true", ...LIST));
  strictEqual(problem.message, 'Unknown key "validate_in": did you mean "validate-in"?');
});

Deno.test("parseConfig() suggests nothing for an unknown key that resembles no key", async () => {
  const problem = await onlyProblem("completely-unrelated: 1\n");
  strictEqual(problem.key, "completely-unrelated");
  strictEqual(problem.message, 'Unknown key "completely-unrelated"');
});

Deno.test("parseConfig() refuses invalid YAML", async () => {
  const problems = await problemsOf("listen: 0.0.0.0:8080\npaths: [\n");
  ok(problems.length >= 1);
  for (const problem of problems) {
    strictEqual(problem.file, FILE);
    match(problem.message, /^Invalid YAML: /);
  }
});

Deno.test("parseConfig() refuses an alias to an anchor that does not exist", async () => {
  const problem = await onlyProblem("timeout: *missing\n");
  strictEqual(problem.file, FILE);
  match(problem.message, /^Invalid YAML: Unresolved alias .*: missing$/);
});

Deno.test("parseConfig() refuses a YAML alias bomb instead of expanding it", async () => {
  const levels = ["a: &a [x, x, x, x, x, x, x, x, x]"];
  for (const name of "bcdefg") {
    const previous = String.fromCharCode(name.charCodeAt(0) - 1);
    levels.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(", ")}]`);
  }
  const problem = await onlyProblem(levels.join("\n") + "\n");
  match(problem.message, /^Invalid YAML: Excessive alias count/);
});

Deno.test("parseConfig() refuses a key written twice, naming it and the line of the first", async () => {
  const problems = await problemsOf("timeout: 5s\nlisten: ':1'\ntimeout: 6s\n");
  deepStrictEqual(problems, [{
    file: FILE,
    line: 3,
    key: "timeout",
    message: 'Duplicate key "timeout" (first at line 1): only the last one would be kept',
  }]);
});

Deno.test("parseConfig() refuses a key written twice deep in an operation, with its key path", async () => {
  const problems = await problemsOf(`paths:
  /pets:
    get:
      inject: { cmd: /bin/true }
      timeout: 5s
      timeout: 6s
`);
  deepStrictEqual(problems.map((p) => [p.line, p.key, p.message]), [
    [
      6,
      "paths./pets.get.timeout",
      'Duplicate key "timeout" (first at line 5): only the last one would be kept',
    ],
  ]);
});

Deno.test("parseConfig() gives the line of a YAML syntax error", async () => {
  const problems = await problemsOf("timeout: 5s\nlisten: ':1'\nmax-body: 1m: 2\n");
  match(problems[0].message, /^Invalid YAML: /);
  strictEqual(problems[0].line, 3);
});

Deno.test("parseConfig() refuses a file that is not a mapping", async () => {
  const problem = await onlyProblem("- a\n- b\n");
  strictEqual(problem.file, FILE);
});

// --- every problem at once ------------------------------------------------------------------

Deno.test("parseConfig() reports every problem of a file at once, in line order", async () => {
  const text = [
    "socket-mode: 600", //                      1
    "max-body: lots", //                        2
    "paths:", //                                3
    "  /pets:", //                              4
    "    get:", //                              5
    "      outtake: http://x/{req_id}", //      6
    "      inject:", //                         7
    "        cmd: nosuchtool", //               8
    "    post:", //                             9
    "      inject:", //                         10
    "        wd: nowhere", //                   11
    "        cmd: handlers/list.sh", //         12
    "  /pets/{petId}:", //                      13
    "    get:", //                              14
    "      inject:", //                         15
    "        cmd: handlers/plain.sh", //        16
    "        env: [REQUEST_ID=1, 1X=2]", //     17
    "",
  ].join("\n");
  const problems = await problemsOf(text);
  deepStrictEqual(problems.map((p) => [p.line, p.key]), [
    [1, "socket-mode"],
    [2, "max-body"],
    [6, "paths./pets.get.outtake"],
    [8, "paths./pets.get.inject.cmd"],
    [11, "paths./pets.post.inject.wd"],
    [16, "paths./pets/{petId}.get.inject.cmd"],
    [17, "paths./pets/{petId}.get.inject.env[0]"],
    [17, "paths./pets/{petId}.get.inject.env[1]"],
  ]);
  for (const problem of problems) strictEqual(problem.file, FILE);
});

Deno.test("parseConfig() reports the file-system problems of every valid operation at once", async () => {
  const text = [
    "paths:",
    "  /a:",
    "    get:",
    "      inject:",
    "        cmd: nosuchtool",
    "    post:",
    "      inject:",
    "        cmd: handlers/plain.sh",
    "    put:",
    "      inject:",
    "        wd: nowhere",
    "        cmd: handlers/list.sh",
    "",
  ].join("\n");
  const problems = await problemsOf(text);
  deepStrictEqual(problems.map((p) => [p.line, p.key]), [
    [5, "paths./a.get.inject.cmd"],
    [8, "paths./a.post.inject.cmd"],
    [11, "paths./a.put.inject.wd"],
  ]);
});

Deno.test("parseConfig() reports an operation's other problems beside its unknown key", async () => {
  const problems = await problemsOf(withGet(
    "      logstdot: true",
    "      inject:",
    "        cmd: handlers/list.sh",
    "        env: [REQUEST_ID=forged]",
  ));
  deepStrictEqual(problems.map((p) => p.key), [
    "paths./pets.get.logstdot",
    "paths./pets.get.inject.env[0]",
  ]);
});

Deno.test("parseConfig() reports an operation's other problems beside a bad value", async () => {
  const problems = await problemsOf(withGet(
    "      max-inflight: 0",
    "      inject:",
    "        cmd: nosuchtool",
    "        channel: pipe",
  ));
  deepStrictEqual(problems.map((p) => [p.line, p.key]), [
    [4, "paths./pets.get.max-inflight"],
    [6, "paths./pets.get.inject.cmd"],
    [7, "paths./pets.get.inject.channel"],
  ]);
});

Deno.test("ConfigError.message lists one problem per line as file:line: key: message", async () => {
  try {
    await load("listn: x\nsocket-mode: 0600\n");
    fail("expected a ConfigError");
  } catch (caught) {
    if (!(caught instanceof ConfigError)) throw caught;
    strictEqual(caught.name, "ConfigError");
    deepStrictEqual(caught.message.split("\n"), [
      `${FILE}:1: listn: Unknown key "listn": did you mean "listen"?`,
      `${FILE}:2: socket-mode: ${caught.problems[1].message}`,
    ]);
  }
});

// --- supervision: limits, users, shutdown ----------------------------------------------------

Deno.test("parseConfig() reads limits and merges the top-level ones limit by limit", async () => {
  const config = await load(
    [
      "limits: { memory: 256Mi, cpu: 0.5, pids: 64 }",
      "paths:",
      "  /pets:",
      "    get:",
      "      limits: { cpu: 250m }",
      ...LIST,
      "    post:",
      "      limits: { memory: 1Gi }",
      ...LIST,
    ].join("\n") + "\n",
  );
  deepStrictEqual(operation(config, "get").limits, {
    memoryBytes: 256 * 1024 ** 2,
    cpu: 0.25,
    pids: 64,
  });
  deepStrictEqual(operation(config, "post").limits, { memoryBytes: 1024 ** 3, cpu: 0.5, pids: 64 });
});

Deno.test("parseConfig() leaves limits out of an operation when none is set", async () => {
  const config = await load(withGet(...LIST));
  strictEqual(operation(config, "get").limits, undefined);
  strictEqual(config.limitsEnforce, "required");
});

Deno.test("parseConfig() refuses bad limits with the key and a hint", async () => {
  const cpu = await onlyProblem(withGet("      limits: { cpu: 0 }", ...LIST));
  strictEqual(cpu.key, "paths./pets.get.limits.cpu");
  match(cpu.message, /Invalid CPU limit "?0"?: use a fraction of one CPU of at least 0\.01/);
  const memory = await onlyProblem(withGet("      limits: { memory: 256 }", ...LIST));
  strictEqual(memory.key, "paths./pets.get.limits.memory");
  match(memory.message, /would kill any process as it starts: give a unit, e.g. "256Mi"/);
  const pids = await onlyProblem(withGet("      limits: { pids: 0 }", ...LIST));
  strictEqual(pids.key, "paths./pets.get.limits.pids");
  const unknown = await onlyProblem(withGet("      limits: { memroy: 1Gi }", ...LIST));
  match(unknown.message, /Unknown key "memroy"/);
  const enforce = await onlyProblem("limits-enforce: sometimes\n");
  strictEqual(enforce.key, "limits-enforce");
});

Deno.test("parseConfig() refuses cpu and pids limits beyond what the kernel takes, at their keys", async () => {
  const longest = await load(withGet("      limits: { cpu: 175921860, pids: 4194304 }", ...LIST));
  deepStrictEqual(operation(longest, "get").limits, { cpu: 175921860, pids: 4194304 });
  strictEqual(
    operation(await load(withGet('      limits: { cpu: "175921860000m" }', ...LIST)), "get")
      .limits?.cpu,
    175921860,
  );
  const problems = await problemsOf(
    "limits: { cpu: 175921860.01, pids: 4194305 }\n" +
      withGet('      limits: { cpu: "175921860001m", pids: 10000000000 }', ...LIST),
  );
  deepStrictEqual(problems.map((p) => [p.key, p.line, p.message]), [
    [
      "limits.cpu",
      1,
      "CPU limit 175921860.01 is more than cpu.max takes: at most 175921860 (a quota of 2^44 - 1 " +
      "µs per 100 ms period); to leave CPU unlimited, leave cpu out",
    ],
    [
      "limits.pids",
      1,
      "pids.max takes at most 4194304 (the kernel's PID_MAX_LIMIT on 64-bit): to leave the count " +
      "unlimited, leave pids out",
    ],
    [
      "paths./pets.get.limits.cpu",
      5,
      'CPU limit "175921860001m" is more than cpu.max takes: at most 175921860 (a quota of 2^44 ' +
      "- 1 µs per 100 ms period); to leave CPU unlimited, leave cpu out",
    ],
    [
      "paths./pets.get.limits.pids",
      5,
      "pids.max takes at most 4194304 (the kernel's PID_MAX_LIMIT on 64-bit): to leave the count " +
      "unlimited, leave pids out",
    ],
  ]);
});

Deno.test("parseConfig() resolves user and group by name or number from /etc/passwd and /etc/group", async () => {
  const config = await load(
    [
      "paths:",
      "  /pets:",
      "    get:",
      "      user: app",
      ...LIST,
      "    post:",
      "      user: www-data",
      "      group: urocket",
      ...LIST,
      "    put:",
      "      user: 4242",
      "      group: 4242",
      ...LIST,
    ].join("\n") + "\n",
  );
  deepStrictEqual(operation(config, "get").user, {
    user: "app",
    uid: 1000,
    gid: 1000,
    groups: [1000, 900, 999],
    home: "/home/app",
  });
  deepStrictEqual(operation(config, "post").user, {
    user: "www-data",
    uid: 33,
    gid: 900,
    groups: [900],
    home: "/var/www",
  });
  deepStrictEqual(operation(config, "put").user, {
    user: "4242",
    uid: 4242,
    gid: 4242,
    groups: [4242],
  });
});

Deno.test("parseConfig() refuses a uid or gid over 32 bits, which would wrap around (4294967296 to root)", async () => {
  const user = await onlyProblem(withGet("      user: 4294967296", "      group: 0", ...LIST));
  strictEqual(user.key, "paths./pets.get.user");
  match(user.message, /uid 4294967296 is out of range: ids go from 0 to 4294967294/);
  const group = await onlyProblem(
    withGet("      user: 4242", '      group: "4294967296"', ...LIST),
  );
  strictEqual(group.key, "paths./pets.get.group");
  match(group.message, /gid 4294967296 is out of range/);
  const socket = await onlyProblem("socket-group: 99999999999\n");
  strictEqual(socket.key, "socket-group");
  match(socket.message, /gid 99999999999 is out of range/);
});

Deno.test("parseConfig() refuses unknown users and groups, a group without user, a uid without group", async () => {
  const unknown = await onlyProblem(withGet("      user: nobody-here", ...LIST));
  strictEqual(unknown.key, "paths./pets.get.user");
  match(
    unknown.message,
    /No user "nobody-here" in \/etc\/passwd: use its name there, or a numeric uid/,
  );
  const group = await onlyProblem(withGet("      user: app", "      group: wheel", ...LIST));
  strictEqual(group.key, "paths./pets.get.group");
  match(group.message, /No group "wheel" in \/etc\/group/);
  const alone = await onlyProblem(withGet("      group: app", ...LIST));
  match(alone.message, /A group needs a user: set "user" too/);
  const numeric = await onlyProblem(withGet("      user: 4242", ...LIST));
  match(
    numeric.message,
    /User 4242 is not in \/etc\/passwd, so it has no primary group: set "group" too/,
  );
});

Deno.test("parseConfig() reads socket-group, and never reads the account files when nothing names an account", async () => {
  const config = await load('socket-group: urocket\nsocket-mode: "0660"\n');
  deepStrictEqual(config.socketGroup, { name: "urocket", gid: 900 });
  strictEqual(config.socketMode, 0o660);
  strictEqual((await load("socket-group: 123\n")).socketGroup?.gid, 123);
  const problem = await onlyProblem("socket-group: nope\n");
  strictEqual(problem.key, "socket-group");
  let read = false;
  await parseConfig(withGet(...LIST), {
    file: FILE,
    env: { PATH: "/usr/bin" },
    stat: fakeStat(TREE),
    accounts: () => {
      read = true;
      return Promise.resolve(ACCOUNTS);
    },
  });
  strictEqual(read, false);
});

Deno.test("parseConfig() reads shutdown-delay and shutdown-timeout as durations", async () => {
  const config = await load("shutdown-delay: 0s\nshutdown-timeout: 2m\n");
  strictEqual(config.shutdownDelayMs, 0);
  strictEqual(config.shutdownTimeoutMs, 120_000);
  const bad = await onlyProblem("shutdown-timeout: soon\n");
  strictEqual(bad.key, "shutdown-timeout");
  match(bad.message, /Invalid duration "soon"/);
});

Deno.test("formatListen() writes back what parseListen() reads, brackets around IPv6", () => {
  for (const text of ["0.0.0.0:8080", "127.0.0.1:0", "[::]:8080", "[::1]:9090", "localhost:80"]) {
    const address = parseListen(text);
    if (typeof address === "string") fail(address);
    strictEqual(formatListen(address), text);
  }
});

// --- security -------------------------------------------------------------------------------

Deno.test("parseConfig() keeps the security mapping and suggests the key a scheme misspells", async () => {
  const config = await load(
    "security:\n  api_key: { keys-file: keys }\n  bearer:\n    jwks: jwks.json\n    issuer: i\n" +
      "    audience: [a, b]\n    leeway: 30s\n" + withGet(...LIST, "      security: open"),
  );
  deepStrictEqual(config.security, {
    api_key: { "keys-file": "keys" },
    bearer: { jwks: "jwks.json", issuer: "i", audience: ["a", "b"], leeway: "30s" },
  });
  deepStrictEqual(config.securityLines, { api_key: 2, bearer: 3 });
  strictEqual(operation(config, "get").securityOpen, true);
  const typo = await onlyProblem("security:\n  api_key: { keys_file: keys }\n");
  strictEqual(typo.key, "security.api_key.keys_file");
  match(typo.message, /Unknown key "keys_file": did you mean "keys-file"\?/);
  const hmac = await onlyProblem("security:\n  gh: { hmac: { secret-file: s, algorithm: md5 } }\n");
  strictEqual(hmac.key, "security.gh.hmac.algorithm");
});

Deno.test('parseConfig() takes only "open" as an operation\'s security', async () => {
  const problem = await onlyProblem(withGet(...LIST, "      security: closed"));
  strictEqual(problem.key, "paths./pets.get.security");
  match(problem.message, /The only value per operation is "open"/);
});

Deno.test("parseConfig() refuses an env that would set the caller's identity (AUTH_*)", async () => {
  const problem = await onlyProblem(withGet(...LIST, "        env: [AUTH_SUBJECT=admin]"));
  strictEqual(problem.key, "paths./pets.get.inject.env[0]");
  match(problem.message, /AUTH_SUBJECT is set by urocket for every request/);
});
