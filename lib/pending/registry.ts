/**
 * The table where a waiting client and the process's reply meet: request id
 * → pending request. The front opens an entry before it spawns; the reply
 * server claims it when a reply arrives. Nothing else lives here.
 *
 * @module
 */

/** A reply as received on the socket, handed to the waiting client. */
export interface Reply {
  status: number;
  headers: Headers;
  /** The body: bytes when it was collected whole, a stream when it flows through. */
  body: Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array>;
}

/**
 * What became of a delivered reply, reported by the front so that the reply
 * server can answer the replier.
 */
export type DeliveryResult =
  | { kind: "delivered" }
  /** The client left, or the request ended, before the reply reached it. */
  | { kind: "gone" }
  /** The streamed body passed `max-reply`. */
  | { kind: "too_large" }
  /** The reply broke the contract; `errors` say how. */
  | { kind: "invalid"; errors: unknown[] };

/** What a replier finds when it claims an id. */
export type Claim =
  | { kind: "claimed"; request: PendingRequest }
  | { kind: "unknown" }
  | { kind: "answered" }
  | { kind: "gone" }
  /** Another replier is sending this id's reply right now. */
  | { kind: "busy" };

/** How a pending request ended, remembered for a while so that late repliers get told. */
export type Ending = "answered" | "gone";

/** What the replier side needs to know about a pending request. */
export interface PendingOptions {
  /** The outtake path template replies for this id must use. */
  route: string;
  /** How long the id is remembered after the request finishes. */
  rememberMs: number;
  /** Largest reply body accepted. */
  maxReply: number;
  /** Whether the reply body must be collected whole before delivery (for validation). */
  collect: boolean;
  /** Content type of a reply that names none. */
  defaultContentType: string;
}

/** Options of {@link PendingRequests}. */
export interface PendingRequestsOptions {
  /** Most finished ids remembered; the oldest are forgotten first. Default 10,000. */
  maxRemembered?: number;
  /** Clock, injectable for tests. */
  now?: () => number;
}

/** An event the front waits on: the reply arrived, or a reply was refused whole. */
export type ReplyEvent =
  | { kind: "reply"; reply: Reply; settle: (result: DeliveryResult) => void }
  | { kind: "too_large" };

/**
 * One request waiting for its reply. The replier side calls {@link begin},
 * then {@link deliver} or {@link abandon}; the front side awaits
 * {@link event} and calls {@link end} when it stops waiting.
 */
export class PendingRequest {
  /** The request id. */
  readonly id: string;
  /** What the replier side needs to know. */
  readonly options: PendingOptions;
  /** Resolves when a reply is delivered, or refused in a way the client must hear about. */
  readonly event: Promise<ReplyEvent>;
  #resolve!: (event: ReplyEvent) => void;
  #state: "waiting" | "receiving" | "done" = "waiting";
  #onFinish: (ending: Ending) => void;

  /** Use {@link PendingRequests.open}, which keeps the table in step. */
  constructor(id: string, options: PendingOptions, onFinish: (ending: Ending) => void) {
    this.id = id;
    this.options = options;
    this.#onFinish = onFinish;
    this.event = new Promise((resolve) => this.#resolve = resolve);
  }

  /** Whether the request still waits (or is receiving) a reply. */
  get open(): boolean {
    return this.#state !== "done";
  }

  /** Replier side: a reply starts arriving; a second one is told `busy` meanwhile. */
  begin(): void {
    this.#state = "receiving";
  }

  /** Replier side: the reply broke off or was refused; the id waits again. */
  abandon(): void {
    if (this.#state === "receiving") this.#state = "waiting";
  }

  /**
   * Replier side: hands the reply to the waiting client. Returns how the
   * delivery went; `gone` at once when the client stopped waiting meanwhile.
   */
  deliver(reply: Reply): Promise<DeliveryResult> {
    if (this.#state === "done") return Promise.resolve({ kind: "gone" });
    this.#finish("answered");
    return new Promise((settle) => this.#resolve({ kind: "reply", reply, settle }));
  }

  /** Replier side: the reply was too large; the id is consumed and the client told. */
  refuseTooLarge(): void {
    if (this.#state === "done") return;
    this.#finish("gone");
    this.#resolve({ kind: "too_large" });
  }

  /** Front side: the client stops waiting (timeout, exit without reply, disconnect). */
  end(): void {
    if (this.#state !== "done") this.#finish("gone");
  }

  /** Whether a replier may start sending now. */
  get state(): "waiting" | "receiving" | "done" {
    return this.#state;
  }

  #finish(ending: Ending): void {
    this.#state = "done";
    this.#onFinish(ending);
  }
}

/**
 * Request id → pending request, plus a bounded memory of recently finished
 * ids so that a late or duplicate reply is told what happened (409/410)
 * rather than just "unknown".
 *
 * @example
 * ```ts
 * const registry = new PendingRequests();
 * const pending = registry.open(crypto.randomUUID(), {
 *   route: "/uri/{req_id}",
 *   rememberMs: 90_000,
 *   maxReply: 10 * 1024 * 1024,
 *   collect: false,
 *   defaultContentType: "application/json",
 * });
 * const claim = registry.claim(pending.id, "/uri/{req_id}"); // { kind: "claimed", … }
 * ```
 */
export class PendingRequests {
  #pending = new Map<string, PendingRequest>();
  #finished = new Map<string, { ending: Ending; expires: number }>();
  /** Outtake templates of the pending requests, with how many use each. */
  #routes = new Map<string, number>();
  #routesVersion = 0;
  #maxRemembered: number;
  #now: () => number;

  constructor(options: PendingRequestsOptions = {}) {
    this.#maxRemembered = options.maxRemembered ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /** Number of requests waiting for a reply. */
  get size(): number {
    return this.#pending.size;
  }

  /**
   * The outtake templates pending requests wait on: after a reload, those of
   * the old config stay served until their last request is done.
   */
  routes(): IterableIterator<string> {
    return this.#routes.keys();
  }

  /** Changes whenever the set of {@link routes} changes (a template appears or goes). */
  get routesVersion(): number {
    return this.#routesVersion;
  }

  /** Opens a pending request for `id`. */
  open(id: string, options: PendingOptions): PendingRequest {
    const route = options.route;
    const users = this.#routes.get(route) ?? 0;
    this.#routes.set(route, users + 1);
    if (users === 0) this.#routesVersion++;
    const request = new PendingRequest(id, options, (ending) => {
      const left = this.#routes.get(route)! - 1;
      if (left > 0) {
        this.#routes.set(route, left);
      } else {
        this.#routes.delete(route);
        this.#routesVersion++;
      }
      this.#pending.delete(id);
      this.#finished.set(id, { ending, expires: this.#now() + options.rememberMs });
      this.#prune();
    });
    this.#pending.set(id, request);
    return request;
  }

  /**
   * A replier claims `id` on the outtake template `route`. On `claimed` the
   * request is marked as receiving until the replier delivers or abandons.
   */
  claim(id: string, route: string): Claim {
    const request = this.#pending.get(id);
    if (request) {
      if (request.options.route !== route) return { kind: "unknown" };
      if (request.state === "receiving") return { kind: "busy" };
      request.begin();
      return { kind: "claimed", request };
    }
    const finished = this.#finished.get(id);
    if (!finished || finished.expires <= this.#now()) return { kind: "unknown" };
    return { kind: finished.ending };
  }

  #prune(): void {
    const now = this.#now();
    for (const [id, entry] of this.#finished) {
      if (this.#finished.size <= this.#maxRemembered && entry.expires > now) break;
      this.#finished.delete(id);
    }
  }
}
