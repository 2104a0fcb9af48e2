/**
 * bcrypt off the event loop: password checks run on a few Worker threads.
 * bcryptjs's own asynchronous `compare` gives the event loop back only every
 * 100 ms of work, so a cost-10 check (about 65 ms) held every other request
 * for its whole length, and four wrong passwords held them for a quarter of
 * a second or more.
 *
 * @module
 */

/** Threads at most: bcrypt is CPU-bound, and each Worker costs about 18 MiB of memory. */
export const BCRYPT_WORKERS = 2;
/** A worker that checked nothing for this long is ended, so that its memory comes back. */
const IDLE_MS = 30_000;

/** Options of {@link BcryptPool}. */
export interface BcryptPoolOptions {
  /** Threads at most (default {@link BCRYPT_WORKERS}). */
  workers?: number;
  /** How long an idle worker is kept (default 30 s). */
  idleMs?: number;
}

interface Slot {
  worker: Worker;
  jobs: Map<number, { resolve: (ok: boolean) => void; reject: (error: Error) => void }>;
  idle?: ReturnType<typeof setTimeout>;
}

/** Workers comparing passwords with bcrypt hashes, started on first use, ended when idle. */
export class BcryptPool {
  #slots: Slot[] = [];
  #nextId = 0;
  readonly #workers: number;
  readonly #idleMs: number;

  constructor(options: BcryptPoolOptions = {}) {
    this.#workers = options.workers ?? BCRYPT_WORKERS;
    this.#idleMs = options.idleMs ?? IDLE_MS;
  }

  /** How many worker threads are running. */
  get workers(): number {
    return this.#slots.length;
  }

  /** Whether `password` matches the bcrypt `hash`, computed on a worker thread. */
  compare(password: string, hash: string): Promise<boolean> {
    const slot = this.#slotFor();
    clearTimeout(slot.idle);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      slot.jobs.set(id, { resolve, reject });
      slot.worker.postMessage({ id, password, hash });
    });
  }

  /** Ends every worker; checks under way are rejected. */
  close(): void {
    for (const slot of [...this.#slots]) this.#end(slot, new Error("The bcrypt pool was closed"));
  }

  /** An idle worker, else a new one while there may be more, else the least busy. */
  #slotFor(): Slot {
    const idle = this.#slots.find((slot) => slot.jobs.size === 0);
    if (idle) return idle;
    if (this.#slots.length < this.#workers) return this.#start();
    return this.#slots.reduce((a, b) => b.jobs.size < a.jobs.size ? b : a);
  }

  #start(): Slot {
    const worker = new Worker(new URL("./_bcrypt_worker.ts", import.meta.url), { type: "module" });
    const slot: Slot = { worker, jobs: new Map() };
    worker.onmessage = ({ data }: MessageEvent<{ id: number; ok: boolean }>) => {
      slot.jobs.get(data.id)?.resolve(data.ok);
      slot.jobs.delete(data.id);
      if (slot.jobs.size === 0) {
        slot.idle = setTimeout(() => this.#end(slot), this.#idleMs);
      }
    };
    worker.onerror = (event) => {
      // Handled here: an error left unhandled in a Worker would end urocket itself.
      event.preventDefault();
      this.#end(slot, new Error(`The bcrypt worker failed: ${event.message}`));
    };
    this.#slots.push(slot);
    return slot;
  }

  #end(slot: Slot, error?: Error): void {
    clearTimeout(slot.idle);
    slot.worker.terminate();
    this.#slots = this.#slots.filter((s) => s !== slot);
    for (const job of slot.jobs.values()) job.reject(error ?? new Error("The bcrypt worker ended"));
    slot.jobs.clear();
  }
}
