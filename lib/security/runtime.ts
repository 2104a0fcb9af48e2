/**
 * What of a configuration's security lives in time: the remote key sets of
 * JWKS URLs, fetched from start until stop, and whether they are loaded
 * (readiness waits for them).
 *
 * @module
 */

import { type KeySetLog, RemoteKeySet } from "./remote_jwks.ts";

/** Options of {@link SecurityRuntime}. */
export interface SecurityRuntimeOptions {
  /** The fetch the key sets use; injected for tests. */
  fetch?: typeof fetch;
}

/** The remote key sets of one loaded configuration. */
export class SecurityRuntime {
  #sets = new Map<string, RemoteKeySet | undefined>();
  /** URLs whose sets a later configuration took over: they go on after this one stops. */
  #handedOver = new Set<string>();
  #fetch: typeof fetch | undefined;
  #started = false;

  constructor(options: SecurityRuntimeOptions = {}) {
    this.#fetch = options.fetch;
  }

  /**
   * Declares a key set URL; returns how a verifier reaches its set, which
   * exists once {@link start} ran (a reload may hand over the previous
   * configuration's set of the same URL).
   */
  declare(url: string): () => RemoteKeySet | undefined {
    if (!this.#sets.has(url)) this.#sets.set(url, undefined);
    return () => this.#sets.get(url);
  }

  /** The URLs of the remote key sets. */
  get urls(): string[] {
    return [...this.#sets.keys()];
  }

  /** Whether every remote key set has been fetched at least once. */
  get ready(): boolean {
    return [...this.#sets.values()].every((set) => set?.keys !== undefined);
  }

  /**
   * Starts fetching. With `previous` (the configuration a reload replaces),
   * the sets of URLs both name are taken over as they are — keys, timers
   * and all — rather than fetched again.
   */
  async start(log: KeySetLog, previous?: SecurityRuntime): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const jose = this.#sets.size > 0 ? await import("jose") : undefined;
    for (const url of this.#sets.keys()) {
      const kept = previous ? previous.#sets.get(url) : undefined;
      if (kept) {
        previous!.#handedOver.add(url);
        this.#sets.set(url, kept);
        continue;
      }
      const set = new RemoteKeySet(url, {
        createLocalJWKSet: jose!.createLocalJWKSet,
        ...(this.#fetch ? { fetch: this.#fetch } : {}),
      });
      this.#sets.set(url, set);
      set.start(log);
    }
  }

  /** Stops every key set it still holds (those handed over go on). */
  stop(): void {
    for (const [url, set] of this.#sets) if (!this.#handedOver.has(url)) set?.stop();
  }
}
