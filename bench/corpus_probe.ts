/**
 * Running urocket on one wired corpus document: `urocket check`, then the
 * server (time to ready, RSS at ready), then the requests, each answer
 * classified. Everything urocket writes goes to files in the document's
 * folder, read back for log excerpts.
 *
 * @module
 */

import { urocketCommand } from "../tests/e2e/_harness.ts";
import type { CorpusReply, CorpusRequest } from "./corpus_wire.ts";

/** The urocket checkout to run: this one, or another's folder (e.g. a baseline from `git archive`). */
export const UROCKET = Deno.env.get("CORPUS_UROCKET") ??
  new URL("../", import.meta.url).pathname.replace(/\/$/, "");

/** How `urocket check` ended. */
export interface CheckOutcome {
  /** `ok`, `refused` (exit 2), `timeout`, or `crash` (any other exit). */
  result: "ok" | "refused" | "timeout" | "crash";
  ms: number;
  /** CPU time (user + system), in ms: what wall time is on an idle machine. */
  cpuMs?: number;
  /** Problem lines (stderr), at most 200. */
  problems: string[];
}

/** How a request was answered. */
export type Verdict =
  | "handled" // the handler's reply reached the client
  | "reply_refused" // the handler replied, validate-out refused it (502)
  | "refused" // 400 or 415 before spawning
  | "server_error" // 500
  | "not_found" // 404 or 405: routing
  | "other";

/** One request's outcome. */
export interface RequestOutcome {
  request: CorpusRequest;
  status: number;
  verdict: Verdict;
  /** The problem's errors or detail, shortened. */
  detail: string;
  /** For a 500: urocket's log lines of that request id. */
  log?: string;
  /** From sending to the whole answer read, in ms. */
  ms: number;
}

/** One serve run. */
export interface ServeOutcome {
  started: boolean;
  /** Why it did not start (its last stderr/stdout lines), or how it died. */
  failure?: string;
  /** From spawning to the start line, in ms. */
  startMs?: number;
  /** From spawning to /readyz answering 200, in ms. */
  readyMs?: number;
  /** CPU time urocket had used when ready, in ms. */
  readyCpuMs?: number;
  rssMiB?: number;
  crashed: boolean;
  outcomes: RequestOutcome[];
}

/** Runs `urocket check` on `dir`'s config. */
export async function runCheck(dir: string, timeoutMs: number): Promise<CheckOutcome> {
  const started = performance.now();
  // Through time(1), for the CPU time (wall time says little on a shared machine), under
  // timeout(1), which kills the whole process group.
  const seconds = String(Math.ceil(timeoutMs / 1000));
  const child = new Deno.Command("timeout", {
    args: ["-s", "KILL", seconds, "/usr/bin/time", "-f", "cpu_seconds=%U+%S"]
      .concat(urocketCommand(undefined, UROCKET), ["check", "-c", `${dir}/urocket-service.yaml`]),
    cwd: dir,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const output = await child.output();
  const ms = performance.now() - started;
  if (output.code === 137) return { result: "timeout", ms, problems: [] };
  const stderr = new TextDecoder().decode(output.stderr).split("\n").filter((l) => l !== "");
  const cpu = stderr.map((l) => /^cpu_seconds=([\d.]+)\+([\d.]+)$/.exec(l)).find(Boolean);
  const problems = stderr.filter((l) =>
    !l.startsWith("warning:") && !l.includes("is an experimental feature") &&
    !l.startsWith("cpu_seconds=") && !l.startsWith("Command exited with")
  ).slice(0, 200);
  const result = output.code === 0 ? "ok" : output.code === 2 ? "refused" : "crash";
  const cpuMs = cpu ? (Number(cpu[1]) + Number(cpu[2])) * 1000 : undefined;
  return { result, ms, cpuMs, problems };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** CPU time (user + system) a process has used, in ms, from /proc. */
async function cpuMs(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10; // USER_HZ is 100 on Linux
}

async function rssMiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024;
}

/** Options of {@link runServe}. */
export interface ServeOptions {
  requests: readonly CorpusRequest[];
  /** What the handler replies, by operation index. */
  replies: ReadonlyMap<number, CorpusReply>;
  timeoutMs: number;
  /** Requests in flight at once (default 4). */
  concurrency?: number;
  /** The urocket checkout to run (default {@link UROCKET}). */
  urocket?: string;
}

/** Starts urocket on `dir`'s config, sends the requests, and stops it. */
export async function runServe(dir: string, options: ServeOptions): Promise<ServeOutcome> {
  const { requests, replies, timeoutMs, concurrency = 4, urocket = UROCKET } = options;
  const log = `${dir}/urocket.log`;
  // Not a previous run's: its start line would be read before the shell truncates the file.
  await Deno.remove(log).catch(() => {});
  const started = performance.now();
  const child = new Deno.Command("sh", {
    args: ["-c", 'exec "$@" >"$UROCKET_CORPUS_LOG" 2>&1', "sh"]
      .concat(urocketCommand(undefined, urocket), ["-c", `${dir}/urocket-service.yaml`]),
    cwd: dir,
    env: { UROCKET_CORPUS_LOG: log, NO_COLOR: "1" },
    stdin: "null",
  }).spawn();
  let exited: Deno.CommandStatus | undefined;
  const status = child.status.then((s) => exited = s);
  // The last lines that say something: a document's start-up warnings can be hundreds.
  const tail = async () =>
    (await Deno.readTextFile(log).catch(() => "")).split("\n")
      .filter((l) => !l.includes('"config_warning"')).slice(-6);
  let start: Record<string, unknown> | undefined;
  let startMs: number | undefined;
  let ready = false;
  while (!ready) {
    if (exited) {
      return { started: false, failure: (await tail()).join("\n"), crashed: false, outcomes: [] };
    }
    if (performance.now() - started > timeoutMs) {
      child.kill("SIGKILL");
      await status;
      const failure = `timed out before ready:\n${(await tail()).join("\n")}`;
      return { started: false, failure, crashed: false, outcomes: [] };
    }
    if (!start) {
      const line = (await Deno.readTextFile(log).catch(() => "")).split("\n")
        .find((l) => l.includes('"msg":"start"'));
      if (line) {
        start = JSON.parse(line);
        startMs = performance.now() - started;
      }
    }
    if (start) {
      const answer = await fetch(`http://${start.admin}/readyz`).catch(() => undefined);
      ready = answer?.status === 200;
      await answer?.body?.cancel();
    }
    if (!ready) await sleep(10);
  }
  const readyMs = performance.now() - started;
  const pid = Number(start!.pid);
  const rss = await rssMiB(pid);
  const readyCpuMs = await cpuMs(pid);
  const outcomes: RequestOutcome[] = [];
  const queue = [...requests];
  const worker = async () => {
    while (queue.length > 0 && !exited) {
      const request = queue.shift()!;
      outcomes.push(await send(`http://${start!.listen}`, request, replies, log));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const crashed = exited !== undefined;
  if (!crashed) {
    child.kill("SIGTERM");
    setTimeout(() => exited || child.kill("SIGTERM"), 500);
  }
  await status;
  return { started: true, startMs, readyMs, readyCpuMs, rssMiB: rss, crashed, outcomes };
}

async function send(
  url: string,
  request: CorpusRequest,
  replies: ReadonlyMap<number, CorpusReply>,
  log: string,
): Promise<RequestOutcome> {
  let response: Response;
  const sent = performance.now();
  try {
    response = await fetch(url + request.target, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    const ms = performance.now() - sent;
    return { request, status: 0, verdict: "other", detail: (error as Error).message, ms };
  }
  const text = await response.text();
  const ms = performance.now() - sent;
  const status = response.status;
  const problem = (response.headers.get("content-type") ?? "").includes("problem+json");
  let detail = "";
  if (problem) {
    try {
      const body = JSON.parse(text);
      detail = body.errors
        ? body.errors.slice(0, 3).map((e: Record<string, string>) =>
          `${e.in}${e.pointer} ${e.message}`
        ).join("; ")
        : String(body.detail ?? "");
    } catch {
      detail = text.slice(0, 200);
    }
  }
  const expected = replies.get(request.operation.index)?.status;
  let verdict: Verdict;
  if (status === 500) verdict = "server_error";
  else if (status === expected && !(problem && status >= 400)) verdict = "handled";
  else if (status === 502 && problem) verdict = "reply_refused";
  else if ((status === 400 || status === 415) && problem) verdict = "refused";
  else if ((status === 404 || status === 405) && problem) verdict = "not_found";
  else verdict = "other";
  if (verdict === "reply_refused") {
    // The reply's errors are in the log, not in the client's answer.
    const id = response.headers.get("x-request-id");
    let line: string | undefined;
    // The access line may follow the answer by a moment.
    for (let tries = 0; !line && tries < 50; tries++) {
      if (tries > 0) await sleep(20);
      line = (await Deno.readTextFile(log)).split("\n")
        .find((l) => id && l.includes(id) && l.includes('"errors"'));
    }
    if (line) {
      const errors = JSON.parse(line).errors as Record<string, string>[];
      detail = errors.slice(0, 3).map((e) => `${e.in}${e.pointer} ${e.message}`).join("; ");
    }
  }
  const outcome: RequestOutcome = { request, status, verdict, detail: detail.slice(0, 300), ms };
  if (verdict === "server_error") {
    const id = response.headers.get("x-request-id");
    const lines = (await Deno.readTextFile(log)).split("\n")
      .filter((l) => id && l.includes(id) || l.includes('"level":"error"'));
    outcome.log = lines.slice(0, 4).map((line) => {
      try {
        const parsed = JSON.parse(line);
        return `${parsed.msg}: ${String(parsed.error ?? parsed.message ?? "").split("\n")[0]}`;
      } catch {
        return line;
      }
    }).join("\n").slice(0, 1500);
  }
  return outcome;
}
