/**
 * The wait for a reply: whichever comes first of the reply, the timeout,
 * the process exiting without replying, the client leaving, or urocket
 * giving up on in-flight requests.
 *
 * @module
 */

import type { PendingRequest, ReplyEvent } from "../pending/mod.ts";
import type { ProcessGroup } from "../process/mod.ts";

/** How the wait for a reply ended. */
export type Waited =
  | { kind: "reply"; event: Extract<ReplyEvent, { kind: "reply" }> }
  | { kind: "too_large" }
  | { kind: "timeout" }
  | { kind: "exited" }
  | { kind: "oom" }
  | { kind: "client_gone" }
  | { kind: "shutdown" };

/** What {@link waitForReply} waits on besides the reply. */
export interface WaitOptions {
  /** The client's request signal: aborted when it leaves. */
  signal: AbortSignal;
  /** Aborted when urocket stops waiting for in-flight requests. */
  stopping?: AbortSignal;
  timeoutMs: number;
  afterExit: "fail" | "wait";
}

/**
 * After the direct child exits without replying, how long a reply racing
 * the exit (say, a backgrounded curl) may still arrive.
 */
const EXIT_REPLY_GRACE_MS = 250;

/**
 * Waits for the first of: the reply, the deadline, the exit of the direct
 * child (unless `after-exit: wait` — but an OOM kill always counts), the
 * client leaving, urocket giving up on in-flight requests. Whatever wins,
 * the pending entry is closed to late repliers unless a reply was delivered.
 *
 * One promise settled by listeners rather than a race of promises: it runs
 * once per request and its state lives as long as the request waits, so
 * every promise, reaction and closure less counts (see BENCHMARKS.md).
 */
export function waitForReply(
  pending: PendingRequest,
  group: ProcessGroup,
  { signal, stopping, timeoutMs, afterExit }: WaitOptions,
): Promise<Waited> {
  return new Promise<Waited>((resolve) => {
    let settled = false;
    // Set once the wait is armed; `finish` may run before that.
    let deadline: ReturnType<typeof setTimeout> | undefined = undefined;
    let grace: ReturnType<typeof setTimeout> | undefined;
    const finish = (waited: Waited) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      if (grace !== undefined) clearTimeout(grace);
      signal.removeEventListener("abort", onAbort);
      stopping?.removeEventListener("abort", onStop);
      if (waited.kind !== "reply") {
        pending.end();
        // A reply delivered in the same turn that lost the race would wait for its answer forever
        // (and hold the reply server's shutdown): it is told the request is gone (410).
        pending.event.then((event) => {
          if (event.kind === "reply") event.settle({ kind: "gone" });
        });
      }
      resolve(waited);
    };
    const onAbort = () => finish({ kind: "client_gone" });
    const onStop = () => finish({ kind: "shutdown" });
    // Decided before the wait began (the client left during the spawn, say): nothing is armed,
    // so nothing is left on `stopping`, which lives as long as urocket.
    if (signal.aborted) return onAbort();
    if (stopping?.aborted) return onStop();
    signal.addEventListener("abort", onAbort, { once: true });
    stopping?.addEventListener("abort", onStop, { once: true });
    deadline = setTimeout(() => finish({ kind: "timeout" }), timeoutMs);
    pending.event.then((event) =>
      finish(event.kind === "reply" ? { kind: "reply", event } : { kind: "too_large" })
    );
    const exited = (oom: boolean) => {
      // Exiting after the race was decided (the usual case: reply, then exit) starts no timer.
      if (settled || (afterExit === "wait" && !oom)) return;
      const check = () => {
        grace = setTimeout(() => {
          // A reply that is arriving now may still win: looked at again after another grace, for
          // it may also break off (the deadline bounds one that neither ends nor breaks).
          if (pending.state === "receiving") check();
          else finish({ kind: oom ? "oom" : "exited" });
        }, EXIT_REPLY_GRACE_MS);
      };
      check();
    };
    group.exited.then((status) => {
      // The spawn server died and took the exit with it; the process may still run and reply.
      // The end of its group (which the group polls for) is then the exit.
      if (status.lost) group.ended.then(() => exited(false));
      else exited((status.oomKills ?? 0) > 0);
    });
  });
}
