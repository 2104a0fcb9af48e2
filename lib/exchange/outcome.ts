/**
 * What came of one request's exchange: the answer the client gets, and the
 * facts its one access line reports. The exchange returns it; the front
 * turns it into the HTTP response and the line.
 *
 * @module
 */

import { HttpProblem } from "../http/mod.ts";
import type { ValidationError } from "../openapi/validation/mod.ts";

/** How a request ended: the access line's `outcome`. */
export type OutcomeKind =
  | "replied"
  | "timeout"
  | "no_reply"
  | "spawn_failed"
  | "client_gone"
  | "rejected"
  | "reply_too_large"
  | "reply_broken"
  | "stream_timeout"
  | "invalid_reply"
  | "oom_killed"
  | "shutdown"
  // Refused by the operation's security (./guard.ts).
  | "unauthorized"
  | "forbidden"
  | "auth_busy"
  | "auth_unavailable";

/** What the client is answered. */
export type Answer =
  /** The process's reply; `body` is null when it has none (or the request was a HEAD). */
  | {
    kind: "reply";
    status: number;
    headers: Headers;
    body: Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array> | null;
  }
  /** An answer urocket gives instead: an {@link HttpProblem}, or any error (a 500). */
  | { kind: "problem"; error: unknown }
  /** The client left: nothing is sent, the access line says 499. */
  | { kind: "client_gone" };

/** Who called, as the access line says it: never a credential. */
export interface AuthFacts {
  /** The scheme(s) the caller passed. */
  scheme?: string;
  subject?: string;
  /** Why credentials were refused (`scheme: reason`), for the log only. */
  error?: string;
}

/** How a streamed reply's body ended. */
export interface StreamEnd {
  kind: OutcomeKind;
  /** Bytes of the body sent to the client. */
  bytes: number;
}

/** What came of one request's exchange. */
export interface Outcome {
  kind: OutcomeKind;
  answer: Answer;
  /**
   * The process group, once spawned: its pid, and the output lines dropped
   * so far because the log queue was full (read when the line is written).
   */
  process?: { readonly pid: number; readonly droppedLines: number };
  /** Bytes of the reply body sent to the client (a whole reply). */
  bytes?: number;
  /** How the request or the reply broke the contract (a capped list). */
  errors?: ValidationError[];
  auth?: AuthFacts;
  /**
   * A streamed reply: resolves when its body has ended, with how; the
   * access line waits for it.
   */
  streamed?: Promise<StreamEnd>;
}

/**
 * Thrown by a step of the exchange that decides, before any reply, how the
 * request ends; the exchange returns it as its outcome. (Any other
 * {@link HttpProblem} thrown on the way is a `rejected` request.)
 */
export class Refusal extends Error {
  readonly kind: OutcomeKind;
  readonly problem: HttpProblem;
  readonly facts: Pick<Outcome, "errors" | "auth">;

  constructor(
    kind: OutcomeKind,
    problem: HttpProblem,
    facts: Pick<Outcome, "errors" | "auth"> = {},
  ) {
    super(problem.message, { cause: problem });
    this.name = "Refusal";
    this.kind = kind;
    this.problem = problem;
    this.facts = facts;
  }
}

/** The outcome of an exchange that ended with `error` thrown by one of its steps. */
export function outcomeOf(error: unknown, known: Pick<Outcome, "auth" | "process">): Outcome {
  if (error instanceof Refusal) {
    return {
      kind: error.kind,
      answer: { kind: "problem", error: error.problem },
      ...known,
      ...error.facts,
    };
  }
  return { kind: "rejected", answer: { kind: "problem", error }, ...known };
}

/** The answer to a request urocket no longer serves because it is stopping. */
export function shuttingDown(): HttpProblem {
  return new HttpProblem("shutting_down", "urocket is shutting down: try again", {
    headers: { "retry-after": "1" },
  });
}
