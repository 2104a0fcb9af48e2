/**
 * The spawn server's frame codec: the request frames urocket writes (start,
 * release, drop, stats) and the reply lines it reads back (`S`, `D`, `C`,
 * `F`, `X`, `R`, `U`), decoded into calls on a {@link ReplyHandler}. The format is
 * described in `native/urocket_spawn.c`.
 *
 * @module
 */

import { concatBytes } from "../http/mod.ts";
import {
  commandStatus,
  ERRNO_EINVAL,
  FLAG,
  HEADER_LEN,
  MAX_PIPED_PAYLOAD,
  spawnErrorFor,
  TOKEN_LEN,
} from "./_spawn_protocol.ts";
import type { LiveStats } from "../console/mod.ts";
import type { ExitStatus, GroupUsage, OutputStream, SpawnError, SpawnSpec } from "./spawn.ts";

/** A frame's text up to this size (in bytes) is encoded in {@link SCRATCH}, shared by all servers. */
const SCRATCH_BYTES = 16 * 1024;
const SCRATCH = new Uint8Array(SCRATCH_BYTES);
const encoder = new TextEncoder();

/** Frame fields between FLAGS and ARGC that a request without a cgroup or a user leaves empty. */
const NO_GROUP_NO_USER = ["", "", "", "", "", "", ""];

/** What urocket reads the server's replies into at first: one relayed chunk (16 KiB) fits many times. */
const READ_BUFFER = 64 * 1024;
/** `\n` */
const NEWLINE = 10;
/** fd numbers of the server's `D` and `C` lines. */
const STREAM_OF_FD: Record<string, OutputStream> = { "1": "stdout", "2": "stderr" };

/** A start request, encoded. */
export interface StartFrame {
  frame: Uint8Array;
  /** Whether the server puts the payload in a pipe itself (else it comes on a socket, or none). */
  piped: boolean;
}

/**
 * Encodes the request that starts `spec` under `token`, or returns the
 * error for a field holding a NUL byte, which a frame cannot carry.
 */
export function startFrame(token: string, spec: SpawnSpec): StartFrame | SpawnError {
  const env: string[] = [];
  for (const name in spec.env) env.push(`${name}=${spec.env[name]}`);
  const payload = spec.stdin && spec.payload && spec.payload.length <= MAX_PIPED_PAYLOAD
    ? spec.payload
    : undefined;
  const stdinFlag = spec.stdin ? (payload ? FLAG.stdinPipe : FLAG.stdinSocket) : 0;
  const { cgroup, user } = spec;
  const flags = stdinFlag | (spec.stdout ? FLAG.stdout : 0) | (cgroup ? FLAG.cgroup : 0) |
    (user ? FLAG.user : 0);
  const parts = [
    token,
    String(flags),
    spec.cwd,
    cgroup?.parent ?? "",
    cgroup?.memoryMax ?? "",
    cgroup?.cpuMax ?? "",
    cgroup?.pidsMax ?? "",
    user ? String(user.uid) : "",
    user ? String(user.gid) : "",
    user ? user.groups.join(",") : "",
    String(1 + spec.args.length),
    spec.program,
    ...spec.args,
    String(env.length),
    ...env,
    String(payload?.length ?? 0),
  ];
  for (const part of parts) {
    if (part.includes("\0")) return spawnErrorFor(spec.program, ERRNO_EINVAL);
  }
  return { frame: encodeFrame(parts, payload), piped: !!payload };
}

/** Encodes the request that reads the usage of `token`'s cgroup under `parent` and removes it. */
export function releaseFrame(token: string, parent: string): Uint8Array {
  return encodeFrame([token, String(FLAG.release), "", parent, ...NO_GROUP_NO_USER]);
}

/** Encodes the request that stops relaying `token`'s output. */
export function dropFrame(token: string): Uint8Array {
  return encodeFrame([token, String(FLAG.drop), ""]);
}

/** Encodes the request that reads the live usage of `pids` (those the server started). */
export function statsFrame(token: string, pids: number[]): Uint8Array {
  return encodeFrame([token, String(FLAG.stats), pids.join(",")]);
}

/** A 4-byte little-endian length, then the NUL-terminated fields, then the payload. */
function encodeFrame(parts: string[], payload?: Uint8Array): Uint8Array {
  const text = parts.join("\0") + "\0";
  // The usual frame is encoded into a buffer kept for the next one, then copied once into the
  // frame: no intermediate array per request. A large one (a big command line) gets its own.
  const encoded = text.length * 3 <= SCRATCH_BYTES
    ? SCRATCH.subarray(0, encoder.encodeInto(text, SCRATCH).written)
    : encoder.encode(text);
  const size = encoded.length + (payload?.length ?? 0);
  const frame = new Uint8Array(4 + size);
  frame[0] = size & 0xff;
  frame[1] = (size >>> 8) & 0xff;
  frame[2] = (size >>> 16) & 0xff;
  frame[3] = size >>> 24;
  frame.set(encoded, 4);
  if (payload) frame.set(payload, 4 + encoded.length);
  return frame;
}

/** What the server's replies say, one call per reply. */
export interface ReplyHandler {
  /** `S`: started, with its pid. */
  started(token: string, pid: number): void;
  /** `D`: output of the process. */
  output(token: string, stream: OutputStream, bytes: Uint8Array): void;
  /** `C`: that output ended (or was dropped). */
  ended(token: string, stream: OutputStream): void;
  /** `F`: not started. */
  failed(token: string, errno: number): void;
  /** `X`: the process exited. */
  exited(token: string, status: ExitStatus): void;
  /** `R`: its cgroup was released. */
  released(token: string, usage: GroupUsage): void;
  /** `U`: the live usage of the pids asked for that the server answered. */
  stats(token: string, stats: Map<number, LiveStats>): void;
}

/**
 * Decodes the server's replies as they arrive: lines, and after each `D`
 * line the bytes it announces, into one buffer that grows to hold the
 * largest reply.
 */
export class ReplyReader {
  #buffer = new Uint8Array(READ_BUFFER);
  #filled = 0;
  #decoder = new TextDecoder();
  #handler: ReplyHandler;

  constructor(handler: ReplyHandler) {
    this.#handler = handler;
  }

  /** Where to read the next bytes into (never empty). */
  space(): Uint8Array {
    if (this.#filled === this.#buffer.length) {
      const larger = new Uint8Array(this.#buffer.length * 2);
      larger.set(this.#buffer);
      this.#buffer = larger;
    }
    return this.#buffer.subarray(this.#filled);
  }

  /** Takes the `n` bytes just read into {@link space}, and hands on every whole reply. */
  received(n: number): void {
    const buffer = this.#buffer;
    const filled = this.#filled += n;
    let start = 0;
    for (;;) {
      const nl = buffer.indexOf(NEWLINE, start);
      if (nl < 0 || nl >= filled) break;
      const line = this.#decoder.decode(buffer.subarray(start, nl));
      if (line.charCodeAt(0) === 68 /* D */) {
        const [, token, fd, length] = line.split(" ");
        const end = nl + 1 + Number(length);
        if (end > filled) break;
        const stream = STREAM_OF_FD[fd];
        if (stream) this.#handler.output(token, stream, buffer.slice(nl + 1, end));
        start = end;
      } else {
        this.#line(line);
        start = nl + 1;
      }
    }
    buffer.copyWithin(0, start, filled);
    this.#filled -= start;
  }

  #line(line: string): void {
    const fields = line.split(" ");
    const [kind, token, a, b, c, d, e, f, g] = fields;
    const handler = this.#handler;
    if (kind === "U") {
      handler.stats(token, statsOf(fields));
    } else if (kind === "S") {
      handler.started(token, Number(a));
    } else if (kind === "C") {
      const stream = STREAM_OF_FD[a];
      if (stream) handler.ended(token, stream);
    } else if (kind === "F") {
      handler.failed(token, Number(a));
    } else if (kind === "X") {
      // a = pid, b = raw wait status, c/d/e = utime_us, stime_us, maxrss_kb, f = whether the
      // group was still there, g = OOM kills in the cgroup (-1 without one).
      const status: ExitStatus = commandStatus(Number(b));
      if (f === "0") status.groupAlive = false;
      status.usage = { userUs: Number(c), sysUs: Number(d), maxRssKb: Number(e) };
      if (Number(g) >= 0) status.oomKills = Number(g);
      handler.exited(token, status);
    } else if (kind === "R") {
      // a/b = user_usec, system_usec, c = memory.peak, d = oom_kill (-1: unreadable), e = removed.
      const known = (value: string) => Number(value) >= 0 ? Number(value) : undefined;
      handler.released(token, {
        userUs: known(a),
        sysUs: known(b),
        peakBytes: known(c),
        oomKills: known(d),
        removed: e === "1",
      });
    }
  }
}

/** `U TOKEN [PID CPU_US RSS_KB]…` → each pid's usage (CPU in whole milliseconds). */
function statsOf(fields: string[]): Map<number, LiveStats> {
  const stats = new Map<number, LiveStats>();
  for (let i = 2; i + 2 < fields.length; i += 3) {
    const [pid, cpuUs, rssKb] = fields.slice(i, i + 3).map(Number);
    if (pid > 0 && cpuUs >= 0 && rssKb >= 0) {
      stats.set(pid, { cpuMs: Math.round(cpuUs / 1000), rssKb });
    }
  }
  return stats;
}

/**
 * Writes frames to the server's control connection, in order: frames sent
 * before it is connected, or while a write is under way, leave together in
 * the next write. A server that is gone fails every request at once (the
 * server client watches its exit), so a failed write is dropped.
 */
export class FrameWriter {
  #conn: Deno.UnixConn | undefined;
  #outbox: Uint8Array[] = [];
  #sending = false;

  /** Queues `frame`, written at once when nothing is being written. */
  send(frame: Uint8Array): void {
    this.#outbox.push(frame);
    if (this.#conn && !this.#sending) this.#pump(this.#conn);
  }

  /** The control connection is there: what was queued goes out. */
  connect(conn: Deno.UnixConn): void {
    this.#conn = conn;
    if (this.#outbox.length > 0) this.#pump(conn);
  }

  async #pump(conn: Deno.UnixConn): Promise<void> {
    this.#sending = true;
    try {
      while (this.#outbox.length > 0) {
        const chunk = this.#outbox.length === 1 ? this.#outbox[0] : concatBytes(this.#outbox);
        this.#outbox = [];
        let offset = 0;
        while (offset < chunk.length) offset += await conn.write(chunk.subarray(offset));
      }
    } catch {
      this.#outbox = [];
    } finally {
      this.#sending = false;
    }
  }
}

/** A connection's header: the token of its request (or the control token) and its kind. */
export interface ConnectionHeader {
  token: string;
  /** `C`: the control connection, `I`: a handler's stdin. */
  kind: string;
}

/** Reads a connection's header; `undefined` when it ends or breaks before a whole one. */
export async function readHeader(conn: Deno.UnixConn): Promise<ConnectionHeader | undefined> {
  const header = new Uint8Array(HEADER_LEN);
  let got = 0;
  try {
    while (got < HEADER_LEN) {
      const n = await conn.read(header.subarray(got));
      if (n === null) return undefined;
      got += n;
    }
  } catch {
    // Broken before its header: nobody's stream.
    return undefined;
  }
  return {
    token: String.fromCharCode(...header.subarray(0, TOKEN_LEN)),
    kind: String.fromCharCode(header[TOKEN_LEN]),
  };
}
