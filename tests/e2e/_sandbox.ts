/**
 * A shell in a sandbox of its own, driven like a terminal, for tests that
 * run what the docs tell a user to type: the repository's own config binds
 * 0.0.0.0:8080 and /tmp/urocket.sock, which must neither collide with
 * anything else on the machine nor outlive the test.
 *
 * - a network namespace: a loopback of its own, so fixed ports are free;
 * - a mount namespace with an empty tmpfs at /tmp: fixed socket paths are
 *   free, and whatever is written there vanishes with the sandbox. Folders
 *   under /tmp the shell needs (the test's own) are bound back at their paths;
 * - a PID namespace: everything started in it ends when the shell does, and
 *   `--kill-child` ends it if the test dies first.
 *
 * @module
 */

import { denoEnv } from "./_harness.ts";

/** The namespaces (needs root, or user namespaces mapped to root). */
const UNSHARE = ["unshare", "--mount", "--net", "--pid", "--fork", "--kill-child", "--mount-proc"];

/** Marks the end of a command's output on the results channel (fd 3). */
const MARK = "\x1e";

/**
 * Sets the sandbox up, then reads commands from stdin. `$1` is the working
 * folder, the rest are folders to keep. Each kept folder under /tmp is opened
 * before /tmp is covered and bound back from its open descriptor (mount must
 * not canonicalise the /proc path, or it would resolve to the covered path).
 */
const SETUP = `set -e
cwd=$1; shift
n=3
for dir in "$@"; do eval "exec $n<\\"\\$dir\\""; n=$((n + 1)); done
mount -t tmpfs -o mode=1777 tmpfs /tmp
n=3
for dir in "$@"; do
  case "$dir" in /tmp/*) mkdir -p "$dir"; mount --no-canonicalize --bind "/proc/$$/fd/$n" "$dir" ;; esac
  eval "exec $n<&-"; n=$((n + 1))
done
ip link set lo up
cd "$cwd"
exec 3>&2 2>&1
exec sh -s
`;

/** What a command printed (stdout and stderr together) and its exit status. */
export interface Ran {
  output: string;
  code: number;
}

/** A running sandboxed shell. */
export interface SandboxShell {
  /** Runs `command` (sh, one or more lines) to its end, with stdin from /dev/null. */
  run(command: string): Promise<Ran>;
  /**
   * Runs `command` as a user would at the prompt, its output going to the
   * terminal: for a line ending in `&`, which starts a background job.
   */
  type(command: string): Promise<void>;
  /** Resolves with the first terminal line (past or future) matching `predicate`. */
  waitFor(predicate: (line: string) => boolean, what: string): Promise<string>;
  /** Every line the terminal showed so far (background jobs' output). */
  lines: string[];
  /** Ends the shell, and with it everything it started; resolves with its exit status. */
  close(): Promise<number>;
}

/**
 * The environment of a user's terminal, less everything the steps do not
 * need: `PATH`, `HOME`, `XDG_CACHE_HOME`, and where Deno's cache is ({@link denoEnv}).
 */
export function terminalEnv(): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1", ...denoEnv() };
  for (const name of ["PATH", "HOME", "XDG_CACHE_HOME"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** Why the sandbox cannot be made here, or undefined when it can. */
export async function sandboxUnavailable(): Promise<string | undefined> {
  try {
    const out = await new Deno.Command(UNSHARE[0], {
      args: [...UNSHARE.slice(1), "sh", "-c", SETUP, "sandbox", "/"],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    if (out.success) return undefined;
    return `${UNSHARE.join(" ")} (with a tmpfs at /tmp and a loopback) fails; root is needed: ` +
      new TextDecoder().decode(out.stderr).trim();
  } catch (error) {
    return `unshare cannot run: ${(error as Error).message}`;
  }
}

/** Starts a sandboxed shell in `cwd`, keeping `keep` (folders under /tmp) visible. */
export function startSandboxShell(
  options: { cwd: string; keep?: string[]; env: Record<string, string> },
): SandboxShell {
  const child = new Deno.Command(UNSHARE[0], {
    args: [...UNSHARE.slice(1), "sh", "-c", SETUP, "sandbox", options.cwd, ...options.keep ?? []],
    env: options.env,
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const encoder = new TextEncoder();
  const send = (text: string) => writer.write(encoder.encode(text));

  const lines: string[] = [];
  const waiters: { predicate: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  let ended = false;
  const terminalDone = (async () => {
    let buffer = "";
    const take = (line: string) => {
      lines.push(line);
      for (const waiter of [...waiters]) {
        if (!waiter.predicate(line)) continue;
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    };
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
        take(buffer.slice(0, nl));
        buffer = buffer.slice(nl + 1);
      }
    }
    if (buffer) take(buffer);
  })();

  // Results arrive on fd 3 (the child's stderr), each ending with MARK status MARK.
  let results = "";
  let onResult: (() => void) | undefined;
  const resultsDone = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      results += chunk;
      onResult?.();
    }
  })();
  const status = child.status.then((s) => {
    ended = true;
    onResult?.();
    return s;
  });

  const nextResult = () =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const end = results.indexOf(`${MARK}\n`, results.indexOf(MARK) + 1);
        if (results.indexOf(MARK) >= 0 && end >= 0) {
          const result = results.slice(0, end + 2);
          results = results.slice(end + 2);
          onResult = undefined;
          resolve(result);
        } else if (ended) {
          reject(new Error(`the sandbox's shell ended: ${results}${lines.join("\n")}`));
        }
      };
      onResult = check;
      check();
    });

  return {
    lines,
    async run(command) {
      const pending = nextResult();
      await send(
        `__out=$(mktemp); { ${command}\n} >"$__out" 2>&1 </dev/null; __status=$?; ` +
          `{ cat "$__out"; printf '\\n${MARK}%s${MARK}\\n' "$__status"; } >&3; rm -f "$__out"\n`,
      );
      const result = await pending;
      const at = result.lastIndexOf(`\n${MARK}`, result.length - 3);
      return { output: result.slice(0, at), code: Number(result.slice(at + 2, -2)) };
    },
    async type(command) {
      const pending = nextResult();
      await send(`${command}\nprintf '${MARK}0${MARK}\\n' >&3\n`);
      await pending;
    },
    waitFor(predicate, what) {
      const seen = lines.find(predicate);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise<string>((resolve, reject) => {
        waiters.push({ predicate, resolve });
        Promise.all([status, terminalDone]).then(() =>
          reject(new Error(`the sandbox ended before ${what}:\n${lines.join("\n")}`))
        );
      });
    },
    async close() {
      await writer.close().catch(() => {});
      const { code } = await status;
      await Promise.all([terminalDone, resultsDone]);
      return code;
    },
  };
}
