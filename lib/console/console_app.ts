/**
 * The console's routes on the admin listener: the page at `/`, its script
 * and style, a JSON endpoint behind each panel, and `/api/events`, a
 * server-sent event stream that keeps the page up to date. Read-only.
 *
 * @module
 */

import { Hono } from "hono";
import { type LiveStats, readLiveStats } from "./proc.ts";
import type { ConsoleState, InflightRow } from "./state.ts";

/** Facts about the running service the console shows beside its own. */
export interface ServiceFacts {
  version: string;
  pid: number;
  /** How processes are spawned: `spawn_server`, `detached`, … */
  spawnMode: string;
  /** Where the figures at exit come from: `wait4`, `cgroup` or `none`. */
  statsSource: string;
  config: string;
  openapi: string;
  listen: string;
  /** The docs path, when the API reference is on. */
  docs?: string;
  operations: number;
  maxInflight: number;
  /** Live process groups. */
  processes: number;
  /** Log lines dropped because stdout did not keep up. */
  logLinesDropped: number;
}

/** What the console's routes need. */
export interface ConsoleDeps {
  state: ConsoleState;
  /** Read on every status: the service as it is now. */
  facts: () => ServiceFacts;
  /** Epoch ms at which urocket started. */
  startedAt: number;
  /**
   * Usage of running processes: the spawn server's answer when urocket spawns
   * through it; default: `/proc` through `cat`.
   */
  liveStats?: (pids: number[]) => Promise<Map<number, LiveStats>>;
  /** Aborted at shutdown: every event stream ends. */
  signal?: AbortSignal;
}

/** Event streams open at once; more get 503 (each holds a timer and a little state). */
export const MAX_EVENT_STREAMS = 16;
/** How often an event stream sends the state even when nothing finished: ages, CPU, memory. */
const TICK_MS = 1_000;
/** Live figures younger than this are reused, unless a process is missing from them. */
const STATS_FRESH_MS = 1_000;
/** …and younger than this are reused in any case: a busy front changes many times a second. */
const STATS_MIN_MS = 250;
/** How long a change waits for others before it is sent. */
const CHANGE_DELAY_MS = 100;

const STATIC: Record<string, string> = {
  "/": "index.html",
  "/console.js": "console.js",
  "/console.css": "console.css",
};
const TYPES: Record<string, string> = {
  "index.html": "text/html; charset=utf-8",
  "console.js": "text/javascript; charset=utf-8",
  "console.css": "text/css; charset=utf-8",
};
const SECURITY = {
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; " +
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; " +
    "frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

/** A request in flight with its live usage, as the page shows it. */
export type LiveRow = InflightRow & { ageMs: number; cpuMs: number | null; rssKb: number | null };

/**
 * Builds the console's routes; mount them on the admin app.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { ConsoleState } from "./state.ts";
 *
 * declare const facts: () => ServiceFacts;
 * const admin = new Hono();
 * admin.route("/", createConsoleApp({ state: new ConsoleState(), facts, startedAt: Date.now() }));
 * ```
 */
export function createConsoleApp(consoleDeps: ConsoleDeps): Hono {
  const deps = { ...consoleDeps, liveStats: sharedStats(consoleDeps.liveStats ?? readLiveStats) };
  const app = new Hono();
  const files = new Map<string, Promise<string>>();
  let streams = 0;
  for (const [route, name] of Object.entries(STATIC)) {
    app.get(route, async () => {
      if (!files.has(name)) {
        files.set(name, Deno.readTextFile(new URL(`./static/${name}`, import.meta.url)));
      }
      return new Response(await files.get(name)!, {
        headers: { ...SECURITY, "content-type": TYPES[name] },
      });
    });
  }
  app.get("/api/status", () => json(status(deps)));
  app.get("/api/inflight", async () => json(await inflight(deps)));
  app.get("/api/recent", (c) => json(deps.state.recent(Number(c.req.query("after") ?? 0) || 0)));
  app.get("/api/operations", () => json(deps.state.operations()));
  app.get("/api/events", () => {
    if (streams >= MAX_EVENT_STREAMS) {
      return new Response("Too many console event streams open\n", {
        status: 503,
        headers: { "content-type": "text/plain; charset=utf-8", "retry-after": "5" },
      });
    }
    streams++;
    return eventStream(deps, () => streams--);
  });
  return app;
}

function json(value: unknown): Response {
  return new Response(JSON.stringify(value), {
    headers: { "content-type": "application/json", "cache-control": "no-store" },
  });
}

function status(deps: ConsoleDeps) {
  const now = Date.now();
  return {
    ...deps.facts(),
    startedAt: deps.startedAt,
    uptimeS: Math.round((now - deps.startedAt) / 1000),
    generation: deps.state.generation,
    lastReload: deps.state.lastReload ?? null,
    inflight: deps.state.inflight().length,
  };
}

/** The rows in flight with their age and, where it can be read, their live usage. */
async function inflight(deps: ConsoleDeps, stats?: Map<number, LiveStats>): Promise<LiveRow[]> {
  const rows = deps.state.inflight();
  stats ??= await deps.liveStats!(
    rows.flatMap((row) => row.pid !== undefined && row.state !== "exited" ? [row.pid] : []),
  );
  const now = Date.now();
  return rows.map((row) => {
    const live = row.pid !== undefined ? stats!.get(row.pid) : undefined;
    return {
      ...row,
      ageMs: now - row.startedAt,
      cpuMs: live?.cpuMs ?? null,
      rssKb: live?.rssKb ?? null,
    };
  });
}

/**
 * One client's stream: a `state` event at once (with the whole ring of
 * recent requests), then after each change and every second (with the
 * recent requests it has not seen). A client that does not read is skipped
 * rather than queued for: its stream holds at most one event.
 */
function eventStream(deps: ConsoleDeps, onClose: () => void): Response {
  const encoder = new TextEncoder();
  let seen = 0;
  let stats: Map<number, LiveStats>;
  let tick: ReturnType<typeof setInterval> | undefined;
  let delay: ReturnType<typeof setTimeout> | undefined;
  let unsubscribe = () => {};
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(tick);
    clearTimeout(delay);
    unsubscribe();
    deps.signal?.removeEventListener("abort", end);
    onClose();
  };
  let end = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = () => sendState().catch(() => {});
      const sendState = async () => {
        const pids = deps.state.inflight().flatMap((row) => row.pid ?? []);
        stats = await deps.liveStats!(pids);
        if (closed || (controller.desiredSize ?? 1) <= 0) return;
        const recent = deps.state.recent(seen);
        const event = {
          status: status(deps),
          inflight: await inflight(deps, stats),
          recent,
          operations: deps.state.operations(),
        };
        if (closed) return;
        seen = recent.at(-1)?.seq ?? seen;
        controller.enqueue(encoder.encode(`event: state\ndata: ${JSON.stringify(event)}\n\n`));
      };
      end = () => {
        close();
        controller.close();
      };
      deps.signal?.addEventListener("abort", end, { once: true });
      unsubscribe = deps.state.subscribe(() => {
        delay ??= setTimeout(() => {
          delay = undefined;
          send();
        }, CHANGE_DELAY_MS);
      });
      tick = setInterval(send, TICK_MS);
      send();
    },
    cancel: close,
  });
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
    },
  });
}

/**
 * One reading of the live figures for every client and endpoint: `/proc`
 * is read at most every {@link STATS_MIN_MS}, and every
 * {@link STATS_FRESH_MS} when no new process appeared.
 */
function sharedStats(
  read: (pids: number[]) => Promise<Map<number, LiveStats>>,
): (pids: number[]) => Promise<Map<number, LiveStats>> {
  let last: { at: number; pids: Set<number>; stats: Promise<Map<number, LiveStats>> } | undefined;
  return (pids) => {
    const age = last ? performance.now() - last.at : Infinity;
    const known = last && pids.every((pid) => last!.pids.has(pid));
    if (last && (age < STATS_MIN_MS || (known && age < STATS_FRESH_MS))) return last.stats;
    last = { at: performance.now(), pids: new Set(pids), stats: read(pids) };
    return last.stats;
  };
}
