/**
 * The clients of the soak's two hostile phases, which run beside the normal
 * mix. The first phase's clients exhaust descriptors and the log (idle
 * connections, a log reader that stops reading): each starts when called and
 * returns what ends it. The attack phase's attackers work on request bodies
 * (bodies sent as one-byte chunks, uploads that stall one byte short of their
 * `Content-Length`): each runs until it is stopped and reports what it saw.
 *
 * @module
 */

import type { Check } from "./soak_checks.ts";

/** Where the attackers connect: urocket's front. */
export interface Target {
  hostname: string;
  port: number;
}

/** What an attacker saw. */
export interface AttackReport {
  name: string;
  /** Requests it sent (or began to send). */
  sent: number;
  /** Answers by status. */
  statuses: Record<number, number>;
  /** What went wrong: an answer no such client may get, a connection that failed. */
  problems: string[];
}

/** A running attacker. */
export interface Attacker {
  readonly name: string;
  /**
   * Resolves at its first answer: a phase lasts until each attacker got one
   * (a stalled upload's comes only at body-timeout, which a fast phase may
   * not last).
   */
  readonly answered: Promise<void>;
  /** Stops attacking, closes its connections, and reports. */
  stop(): Promise<AttackReport>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * `clients` clients that each send, again and again, a body of `chunks`
 * one-byte chunks to `path` (an operation whose process replies with the
 * number of bytes it read as `bytes`). Each body must be answered 200 with
 * every byte delivered — or 503, when bodies being received fill
 * `max-body-memory`.
 */
export function tinyChunkBodies(
  target: Target,
  { path, chunks, clients }: { path: string; chunks: number; clients: number },
): Attacker {
  const report: AttackReport = { name: "tiny chunks", sent: 0, statuses: {}, problems: [] };
  const answered = Promise.withResolvers<void>();
  let stopping = false;
  const body = encoder.encode("1\r\nx\r\n".repeat(chunks) + "0\r\n\r\n");
  const head = encoder.encode(
    `POST ${path} HTTP/1.1\r\nHost: soak\r\nContent-Type: application/octet-stream\r\n` +
      "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
  );
  const client = async () => {
    while (!stopping) {
      report.sent++;
      const answer = await exchange(target, [head, body]).catch((error) => error as Error);
      if (answer instanceof Error) {
        report.problems.push(`${report.name}: ${answer.message}`);
        continue;
      }
      count(report, answer.status);
      answered.resolve();
      if (answer.status === 200) {
        const bytes = JSON.parse(answer.body).bytes;
        if (bytes !== chunks) report.problems.push(`${report.name}: the process read ${bytes}`);
      } else if (answer.status === 503) {
        // max-body-memory full (the stalled uploads leave room, but others may join the phase).
        await pause(200);
      } else {
        report.problems.push(`${report.name}: ${answer.status} ${answer.body.slice(0, 200)}`);
      }
    }
  };
  const running = Promise.all(Array.from({ length: clients }, client));
  return {
    name: report.name,
    answered: answered.promise,
    async stop() {
      stopping = true;
      await running;
      return report;
    },
  };
}

/**
 * `connections` clients that each announce a body of `size` bytes to `path`,
 * send all but its last byte, and wait: for 408 at `body-timeout`, or 503 at
 * once when `max-body-memory` is full; then start over on a new connection
 * (after a pause when refused, as a client that honours `Retry-After` would
 * not — an attacker need not either, but the soak is not a CPU benchmark).
 */
export function stalledUploads(
  target: Target,
  { path, size, connections }: { path: string; size: number; connections: number },
): Attacker {
  const report: AttackReport = { name: "stalled uploads", sent: 0, statuses: {}, problems: [] };
  const answered = Promise.withResolvers<void>();
  let stopping = false;
  const open = new Set<Deno.Conn>();
  const head = encoder.encode(
    `POST ${path} HTTP/1.1\r\nHost: soak\r\nContent-Length: ${size}\r\n\r\n`,
  );
  const body = new Uint8Array(size - 1).fill(0x78);
  const client = async () => {
    while (!stopping) {
      report.sent++;
      const answer = await exchange(target, [head, body], open).catch((error) => error as Error);
      if (stopping) break;
      if (answer instanceof Error) {
        report.problems.push(`${report.name}: ${answer.message}`);
        continue;
      }
      count(report, answer.status);
      answered.resolve();
      if (answer.status === 503) await pause(200);
      else if (answer.status !== 408) {
        report.problems.push(`${report.name}: ${answer.status} ${answer.body.slice(0, 200)}`);
      }
    }
  };
  const running = Promise.all(Array.from({ length: connections }, client));
  return {
    name: report.name,
    answered: answered.promise,
    async stop() {
      stopping = true;
      // The connections still stalled end now, unanswered: that is what stopping means.
      for (const connection of open) close(connection);
      await running;
      return report;
    },
  };
}

/** The checks of the attack phase, from what its attackers reported. */
export function attackChecks(reports: AttackReport[]): Check[] {
  return reports.map((report) => ({
    name: `attack: ${report.name} got only the answers they may`,
    ok: report.problems.length === 0 && Object.keys(report.statuses).length > 0,
    detail: `${report.sent} sent; ` +
      Object.entries(report.statuses).map(([status, n]) => `${n} × ${status}`).join(", ") +
      (report.problems.length ? `; first problems: ${report.problems.slice(0, 3).join("; ")}` : ""),
  }));
}

function count(report: AttackReport, status: number): void {
  report.statuses[status] = (report.statuses[status] ?? 0) + 1;
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function close(connection: Deno.Conn): void {
  try {
    connection.close();
  } catch {
    // Already closed.
  }
}

/**
 * Sends `parts` on a new connection and reads one response (Content-Length
 * framed, as urocket's problems and these replies are), then closes. The
 * connection sits in `open` meanwhile, so that a stop can cut it.
 */
async function exchange(
  target: Target,
  parts: Uint8Array[],
  open = new Set<Deno.Conn>(),
): Promise<{ status: number; body: string }> {
  const connection = await Deno.connect(target);
  open.add(connection);
  try {
    const answer = readAnswer(connection);
    // The answer may come before the body is all sent (a refusal): writing then fails.
    const writing = (async () => {
      for (const part of parts) {
        for (let at = 0; at < part.length;) at += await connection.write(part.subarray(at));
      }
    })().catch(() => {});
    const result = await answer;
    await writing;
    return result;
  } finally {
    open.delete(connection);
    close(connection);
  }
}

async function readAnswer(connection: Deno.Conn): Promise<{ status: number; body: string }> {
  let text = "";
  const buffer = new Uint8Array(16 * 1024);
  for (;;) {
    const end = text.indexOf("\r\n\r\n");
    if (end >= 0) {
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end))?.[1] ?? 0);
      if (text.length >= end + 4 + length) {
        return {
          status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]),
          body: text.slice(end + 4, end + 4 + length),
        };
      }
    }
    const n = await connection.read(buffer);
    if (n === null) throw new Error("the connection closed before an answer");
    text += decoder.decode(buffer.subarray(0, n));
  }
}

/**
 * Idle connections to the front at `listen` (`host:port`), opened and held,
 * never sending a byte: each holds a descriptor of urocket's.
 */
export async function idleConnections(listen: string, count: number): Promise<() => void> {
  const [hostname, port] = listen.split(/:(?=\d+$)/);
  const connections: Deno.Conn[] = [];
  for (let i = 0; i < count; i++) {
    connections.push(await Deno.connect({ hostname, port: Number(port) }));
  }
  return () => {
    for (const connection of connections) connection.close();
  };
}

/**
 * A log collector that hangs: urocket's stdout is not read any more, so its
 * log queue fills and lines are dropped.
 */
export function stoppedLogReader(log: { stopReading(): () => void }): () => void {
  return log.stopReading();
}
