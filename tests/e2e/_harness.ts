/**
 * Starts the real urocket (`deno run -P main.ts`, with exactly the permission
 * set kept in deno.json — or a compiled binary) on a temporary folder, reads
 * its JSON log lines, and gives tests ways to wait on events instead of
 * sleeping.
 *
 * @module
 */

import assert from "node:assert/strict";

const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
/** Folder of the fixture handlers. */
export const FIXTURES = `${REPO}/tests/e2e/fixtures`;
/** The deno binary running the tests, also used for TypeScript handlers. */
export const DENO = Deno.execPath();

/** One parsed log line. */
export type LogLine = Record<string, unknown> & { msg: string; level: string };

/** Options of {@link startUrocket}. */
export interface StartOptions {
  /**
   * The config file's text. `{{dir}}` is replaced by the temporary folder,
   * `{{fixtures}}` by the fixtures folder, `{{deno}}` by the deno binary.
   * `socket` and `listen` are added when absent, and `shutdown-delay: 0s` (a test's stop
   * need not wait for load balancers).
   */
  config: string;
  /** The OpenAPI document's text (written as openapi.yaml); same placeholders. */
  openapi?: string;
  /** Extra files to write into the temporary folder (path → text). Executable when `mode` says so. */
  files?: TestFiles;
  /** Environment of urocket itself (PATH is always passed); same placeholders. */
  env?: Record<string, string>;
  /** Mode of the temporary folder (default 0700, as made), e.g. 0o755 for handlers of another user. */
  dirMode?: number;
  /** Extra command-line arguments. */
  args?: string[];
  /** A compiled urocket to run instead of `deno run -P main.ts`. */
  binary?: string;
  /** A command urocket runs under (e.g. `unshare … tini --`): urocket's command line follows it. */
  wrap?: string[];
}

/** A running urocket under test. */
export interface Urocket {
  /** Base URL of the front, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** pid of the process started: urocket's, or the wrapper's when `wrap` was given. */
  pid: number;
  socket: string;
  dir: string;
  /** Every JSON line so far. */
  logs: LogLine[];
  /** stdout lines that were not JSON (there should be none). */
  junk: string[];
  /** Resolves with the first line (past or future) matching `predicate`. */
  waitForLog(predicate: (line: LogLine) => boolean, what?: string): Promise<LogLine>;
  /** Lines matching `predicate` so far. */
  find(predicate: (line: LogLine) => boolean): LogLine[];
  /**
   * Sends a request to the front (`path` is appended to {@link url}) and reads
   * the whole answer. The request id is remembered, so that {@link stop} waits
   * for its access and process_exit lines.
   */
  call(path: string, init?: RequestInit): Promise<Answer>;
  /**
   * Remembers the id of a request answered some other way (a raw exchange),
   * so that {@link stop} waits for its access and process_exit lines too.
   */
  track(requestId: string): void;
  /**
   * Waits until `count` processes of the `hold.sh` fixture have said they are
   * ready, and returns their request ids and pids in order.
   */
  held(count?: number): Promise<{ reqId: string; pid: number }[]>;
  /** Ends a held process (and its group) and waits for its process_exit line. */
  release(pid: number): Promise<void>;
  /**
   * Sends a request to an operation whose handler is the `hold.sh` fixture
   * and waits until its process is ready: the test then replies in its
   * place, or not. One hold at a time: each takes the next process that
   * says it is ready.
   */
  hold(path: string, init?: RequestInit): Promise<Held>;
  /** POSTs (or PUTs) a reply on the unix socket, like a handler would. */
  reply(path: string, init?: RequestInit): Promise<Answer>;
  /**
   * Stops urocket with SIGTERM and checks it left nothing behind. `signal`
   * replaces sending SIGTERM to {@link pid} (a wrapper may not pass it on).
   */
  stop(options?: { check?: boolean; signal?: () => void }): Promise<StopResult>;
}

/** A request whose `hold.sh` process waits, so that the test replies in its place. */
export interface Held {
  reqId: string;
  pid: number;
  /** The client's answer, once there is one. */
  answer: Promise<Answer>;
  /** Replies for the process on `outtake` (`/uri` by default), as a handler would. */
  reply(init?: RequestInit, outtake?: string): Promise<Answer>;
  /** Ends the process (and its group) and waits for its process_exit line. */
  release(): Promise<void>;
}

/** A fully read response. */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  // deno-lint-ignore no-explicit-any
  json(): any;
}

/** How urocket exited. */
export interface StopResult {
  code: number;
  stderr: string;
}

/** Placeholders of fixture texts. */
export function fill(text: string, dir: string): string {
  return text.replaceAll("{{dir}}", dir).replaceAll("{{fixtures}}", FIXTURES).replaceAll(
    "{{deno}}",
    DENO,
  );
}

/** The OpenAPI document most end-to-end tests use. */
export const TEST_OPENAPI = `openapi: 3.0.3
info: { title: urocket tests, version: "1" }
paths:
  /run:
    post:
      operationId: run
      responses:
        "200":
          description: ok
          content:
            application/json: {}
  /run/{name}:
    get:
      operationId: runNamed
      parameters:
        - { name: name, in: path, required: true, schema: { type: string } }
      responses:
        "200": { description: ok }
  /other:
    post:
      operationId: other
      responses:
        "200": { description: ok }
  /unwired:
    get:
      operationId: unwired
      responses:
        "200": { description: ok }
`;

/**
 * Writes the config and files into a new temporary folder, starts urocket,
 * and waits for its start line.
 */
export async function startUrocket(options: StartOptions): Promise<Urocket> {
  const dir = await Deno.makeTempDir({ prefix: "urocket-e2e-" });
  if (options.dirMode !== undefined) await Deno.chmod(dir, options.dirMode);
  const socket = `${dir}/u.sock`;
  let config = fill(options.config, dir);
  if (!/^socket:/m.test(config)) config = `socket: ${socket}\n${config}`;
  if (!/^listen:/m.test(config)) config = `listen: 127.0.0.1:0\n${config}`;
  if (!/^shutdown-delay:/m.test(config)) config = `shutdown-delay: 0s\n${config}`;
  await Deno.writeTextFile(`${dir}/urocket-service.yaml`, config);
  await Deno.writeTextFile(`${dir}/openapi.yaml`, fill(options.openapi ?? TEST_OPENAPI, dir));
  await writeFiles(dir, options.files ?? {});
  const child = launchUrocket({
    dir,
    binary: options.binary,
    wrap: options.wrap,
    args: options.args,
    env: {
      // urocket's private directory (the spawn helper's) lands in the test's folder, and goes
      // with it even when urocket could not remove it.
      TMPDIR: dir,
      ...Object.fromEntries(
        Object.entries(options.env ?? {}).map(([name, value]) => [name, fill(value, dir)]),
      ),
    },
    log: "piped",
  });

  const logs: LogLine[] = [];
  const junk: string[] = [];
  const waiters: { predicate: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];
  let exited = false;
  const stdoutDone = (async () => {
    for await (const line of lines(child.stdout)) {
      let parsed: LogLine;
      try {
        parsed = JSON.parse(line);
      } catch {
        junk.push(line);
        continue;
      }
      logs.push(parsed);
      for (const waiter of [...waiters]) {
        if (waiter.predicate(parsed)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(parsed);
        }
      }
    }
  })();
  let stderr = "";
  const stderrDone = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) stderr += chunk;
  })();
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });

  const waitForLog = (predicate: (line: LogLine) => boolean, what = "a log line") => {
    const seen = logs.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise<LogLine>((resolve, reject) => {
      waiters.push({ predicate, resolve });
      Promise.all([status, stdoutDone]).then(() =>
        reject(new Error(`urocket exited before ${what}; stderr: ${stderr}`))
      );
    });
  };

  const start = await Promise.race([
    waitForLog((l) => l.msg === "start", "its start line"),
    status.then(() => undefined),
  ]);
  if (!start) {
    await Promise.all([stdoutDone, stderrDone]);
    await Deno.remove(dir, { recursive: true });
    throw new Error(`urocket did not start: ${stderr}${junk.join("\n")}`);
  }
  const client = Deno.createHttpClient({ proxy: { transport: "unix", path: socket } });
  const url = `http://${start.listen}`;
  const answered: string[] = [];
  /** Processes of hold.sh handed out by hold() so far. */
  let holds = 0;

  const uro: Urocket = {
    url,
    pid: child.pid,
    socket,
    dir,
    logs,
    junk,
    waitForLog,
    find: (predicate) => logs.filter(predicate),
    async hold(path, init) {
      const answer = uro.call(path, init);
      const { reqId, pid } = (await uro.held(++holds))[holds - 1];
      return {
        reqId,
        pid,
        answer,
        reply: (init, outtake = "/uri") => uro.reply(`${outtake}/${reqId}`, init),
        release: () => uro.release(pid),
      };
    },
    async held(count = 1) {
      const ready = (l: LogLine) => String(l.line).startsWith("ready ");
      await waitForLog(() => logs.filter(ready).length >= count, `${count} ready processes`);
      return logs.filter(ready).map((l) => ({
        reqId: String(l.req_id),
        pid: Number(String(l.line).split(" ")[1]),
      }));
    },
    async release(pid) {
      try {
        Deno.kill(-pid, "SIGKILL");
      } catch {
        // Already gone.
      }
      await waitForLog((l) => l.msg === "process_exit" && l.pid === pid, `the exit of ${pid}`);
    },
    async call(path, init) {
      const result = await call(url + path, init);
      const id = result.headers.get("x-request-id");
      if (id) answered.push(id);
      return result;
    },
    track: (requestId) => void answered.push(requestId),
    reply: (path, init = {}) =>
      answer(fetch(`http://localhost${path}`, { method: "POST", ...init, client })),
    async stop({ check = true, signal } = {}) {
      if (check && !exited) {
        // Every request answered must be logged, and its process gone, before the shutdown.
        for (const id of answered) {
          const access = await waitForLog(
            (l) => l.msg === "access" && l.req_id === id,
            `the access line of ${id}`,
          );
          if (typeof access.pid !== "number") continue;
          await waitForLog(
            (l) => l.msg === "process_exit" && l.req_id === id,
            `the process_exit line of ${id}`,
          );
        }
      }
      if (!exited) signal ? signal() : child.kill("SIGTERM");
      const { code } = await status;
      await Promise.all([stdoutDone, stderrDone]);
      client.close();
      if (check) {
        assert.deepEqual(junk, [], "urocket printed non-JSON lines on stdout");
        const shutdown = logs.find((l) => l.msg === "shutdown");
        assert.ok(shutdown, "urocket logged no shutdown line");
        assert.equal(shutdown.in_flight, 0, "requests were still pending at shutdown");
        assert.equal(shutdown.processes, 0, "process groups were still alive at shutdown");
        for (const pid of spawnedPids(logs)) {
          assert.ok(!isAlive(pid), `process ${pid} spawned by urocket is still alive`);
        }
        await assertGone(socket);
      }
      await Deno.remove(dir, { recursive: true });
      return { code, stderr };
    },
  };
  return uro;
}

/**
 * Starts urocket with `options`, runs `test` with it, and stops it whatever
 * happened ({@link Urocket.stop}, with its checks unless `check` is false):
 * the start/try/finally/stop of every end-to-end test.
 */
export async function withUrocket<T>(
  options: StartOptions & { check?: boolean },
  test: (uro: Urocket) => T | Promise<T>,
): Promise<T> {
  const uro = await startUrocket(options);
  try {
    return await test(uro);
  } finally {
    await uro.stop({ check: options.check ?? true });
  }
}

/**
 * What a `deno` started with a cleared environment needs from this one to
 * find the same module cache (and, should it have to fetch, to reach the
 * registry as this one does): `DENO_DIR` as Deno derives it on Linux
 * (`$DENO_DIR`, else `$XDG_CACHE_HOME/deno`, else `$HOME/.cache/deno`), and
 * the certificate and proxy settings that are set. Without it, a child
 * started with another `HOME`, or under a CI that moves the cache, would
 * fetch every package again.
 */
export function denoEnv(): Record<string, string> {
  const env = Deno.env.toObject();
  const dir = env.DENO_DIR ??
    (env.XDG_CACHE_HOME ? `${env.XDG_CACHE_HOME}/deno` : env.HOME ? `${env.HOME}/.cache/deno` : "");
  const passed = [
    "DENO_CERT",
    "DENO_TLS_CA_STORE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
    "NPM_CONFIG_REGISTRY",
  ].filter((name) => env[name] !== undefined);
  return {
    ...(dir ? { DENO_DIR: dir } : {}),
    ...Object.fromEntries(passed.map((name) => [name, env[name]])),
  };
}

/**
 * urocket's command line without its arguments: `deno run -P` with the
 * permission set of deno.json (of the checkout at `root`, this one by
 * default), or the compiled `binary`.
 */
export function urocketCommand(binary?: string, root = REPO): string[] {
  return binary ? [binary] : [
    DENO,
    "run",
    "-q", // as deno task start: Deno's experimental-permissions warning is not for users
    "-P",
    ...startV8Flags(root),
    "--config",
    `${root}/deno.json`,
    `${root}/main.ts`,
  ];
}

/**
 * The `--v8-flags=…` of `root`'s `deno task start`: urocket runs as that
 * task runs it (a baseline checkout as it shipped).
 */
function startV8Flags(root: string): string[] {
  const tasks = JSON.parse(Deno.readTextFileSync(`${root}/deno.json`)).tasks ?? {};
  const flags = /--v8-flags=\S+/.exec(String(tasks.start ?? ""));
  return flags ? [flags[0]] : [];
}

/** Options of {@link launchUrocket}. */
export interface LaunchOptions {
  /** The folder urocket runs in, holding its `urocket-service.yaml`. */
  dir: string;
  /** The checkout to run (this one by default), e.g. a baseline from `git archive`. */
  root?: string;
  /** A compiled urocket to run instead. */
  binary?: string;
  /** A command urocket runs under (e.g. `unshare … tini --`): urocket's command line follows it. */
  wrap?: string[];
  /** Extra command-line arguments. */
  args?: string[];
  /** urocket's environment besides PATH and NO_COLOR. */
  env?: Record<string, string>;
  /**
   * Where its log goes: `"piped"`, stdout and stderr to the caller; or a
   * file, written through a pipe (`cat`) as a container runtime takes logs,
   * stderr included, with the descriptor limit raised for many connections
   * (the benchmark's way: nothing of the caller's reads the lines meanwhile).
   */
  log: "piped" | { file: string };
}

/**
 * Starts urocket on `dir/urocket-service.yaml` with a clean environment:
 * the one start the end-to-end tests and the benchmarks share.
 */
export function launchUrocket(options: LaunchOptions): Deno.ChildProcess {
  const command = [
    ...(options.wrap ?? []),
    ...urocketCommand(options.binary, options.root),
    "-c",
    `${options.dir}/urocket-service.yaml`,
    ...(options.args ?? []),
  ];
  const toFile = options.log !== "piped";
  const [program, ...args] = toFile
    ? ["sh", "-c", 'ulimit -n 65536 2>/dev/null; "$@" 2>&1 | cat >"$UROCKET_LOG"', "sh", ...command]
    : command;
  return new Deno.Command(program, {
    args,
    cwd: options.dir,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      NO_COLOR: "1",
      ...(options.binary ? {} : denoEnv()),
      ...(options.log === "piped" ? {} : { UROCKET_LOG: options.log.file }),
      ...options.env,
    },
    clearEnv: true,
    stdin: "null",
    stdout: toFile ? "null" : "piped",
    stderr: toFile ? "null" : "piped",
  }).spawn();
}

/** Runs urocket's command line to its end (for start-up refusals, --help, …). */
export async function runUrocket(
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; binary?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const [program, ...base] = urocketCommand(options.binary);
  // A TMPDIR of its own: whatever urocket leaves there is removed with it.
  const tmp = await Deno.makeTempDir({ prefix: "urocket-run-" });
  try {
    const out = await new Deno.Command(program, {
      args: [...base, ...args],
      cwd: options.cwd,
      env: {
        PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
        NO_COLOR: "1",
        TMPDIR: tmp,
        ...(options.binary ? {} : denoEnv()),
        ...options.env,
      },
      clearEnv: true,
      stdin: "null",
    }).output();
    const decoder = new TextDecoder();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

/** Sends a request to the front and reads the whole answer. */
export function call(url: string, init: RequestInit = {}): Promise<Answer> {
  return answer(fetch(url, init));
}

async function answer(pending: Promise<Response>): Promise<Answer> {
  const response = await pending;
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    json: () => JSON.parse(text),
  };
}

/** pids of every process urocket reported spawning. */
export function spawnedPids(logs: LogLine[]): number[] {
  return [
    ...new Set(
      logs.filter((l) => typeof l.pid === "number" && l.msg !== "start").map((l) =>
        l.pid as number
      ),
    ),
  ];
}

/** Whether a process with `pid` exists (zombies included). */
export function isAlive(pid: number): boolean {
  try {
    Deno.kill(pid, 0 as unknown as Deno.Signal);
    return true;
  } catch {
    return false;
  }
}

async function assertGone(path: string): Promise<void> {
  try {
    await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  assert.fail(`socket file ${path} was left behind`);
}

async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffer = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let nl;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      yield buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
    }
  }
  if (buffer) yield buffer;
}

/** Files to write for a test: path → text, or text with a mode (e.g. executable). */
export type TestFiles = Record<string, string | { text: string; mode: number }>;

/** Writes `files` into `dir` (placeholders filled, folders made, modes set). */
export async function writeFiles(dir: string, files: TestFiles): Promise<void> {
  for (const [path, file] of Object.entries(files)) {
    const text = typeof file === "string" ? file : file.text;
    await Deno.mkdir(`${dir}/${path}`.replace(/\/[^/]*$/, ""), { recursive: true });
    await Deno.writeTextFile(`${dir}/${path}`, fill(text, dir));
    if (typeof file !== "string") await Deno.chmod(`${dir}/${path}`, file.mode);
  }
}

/** Writes `files` into a new temporary folder and returns its path. */
export async function makeFolder(prefix: string, files: TestFiles): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix });
  await writeFiles(dir, files);
  return dir;
}

/** Test options every end-to-end test uses: a timeout, so a hang fails instead of blocking CI. */
export const E2E = { timeout: 60_000 } as const;

/** A scrape of the admin listener's /metrics (`admin` is `host:port`) as `name{labels}` → value. */
export async function scrapeMetrics(admin: string): Promise<Map<string, number>> {
  const response = await fetch(`http://${admin}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
  const out = new Map<string, number>();
  for (const line of (await response.text()).split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}
