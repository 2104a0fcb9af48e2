/**
 * A JSON Web Key Set at an https:// URL: fetched at start (readiness waits
 * for the first set), refreshed periodically and when a token names a key
 * id it does not hold (at most once per cool-down), and kept as it was when
 * a fetch fails.
 *
 * @module
 */

import { concatBytes } from "../http/mod.ts";
import type { createLocalJWKSet as CreateLocalJWKSet, JSONWebKeySet } from "jose";

/** The key lookup jose's jwtVerify takes. */
export type KeyLookup = ReturnType<typeof CreateLocalJWKSet>;

/** Where a remote key set reports what happened. */
export interface KeySetLog {
  info(msg: string, fields: Record<string, unknown>): void;
  error(msg: string, fields: Record<string, unknown>): void;
}

/** What a {@link RemoteKeySet} needs. */
export interface RemoteKeySetOptions {
  /** jose's createLocalJWKSet, which checks the set and looks keys up in it. */
  createLocalJWKSet: typeof CreateLocalJWKSet;
  /** The fetch to use; injected for tests. */
  fetch?: typeof fetch;
  /** How often the set is fetched again. */
  refreshMs?: number;
  /** The least time between two fetches caused by unknown key ids. */
  cooldownMs?: number;
  /** How long one fetch may take. */
  timeoutMs?: number;
}

/** Fetching again every five minutes keeps a rotated key's wait short without flooding the issuer. */
const REFRESH_MS = 5 * 60_000;
const COOLDOWN_MS = 30_000;
const TIMEOUT_MS = 10_000;
/** The largest key set read: real ones are a few KiB. */
const MAX_JWKS_BYTES = 1024 * 1024;
/** Retries of a first fetch that failed: from 1 s, doubling, up to a minute apart. */
const RETRY_MAX_MS = 60_000;

/** One remote key set. */
export class RemoteKeySet {
  /** The URL the set is fetched from. */
  readonly url: string;
  #options: Required<Omit<RemoteKeySetOptions, "fetch">> & { fetch: typeof fetch };
  #keys: KeyLookup | undefined;
  #log: KeySetLog | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #inFlight: Promise<boolean> | undefined;
  /** When a token's unknown key id last caused a fetch. */
  #lastUnknownFetch = -Infinity;
  #stopped = false;
  #abort = new AbortController();

  constructor(url: string, options: RemoteKeySetOptions) {
    this.url = url;
    this.#options = {
      fetch: options.fetch ?? fetch,
      refreshMs: options.refreshMs ?? REFRESH_MS,
      cooldownMs: options.cooldownMs ?? COOLDOWN_MS,
      timeoutMs: options.timeoutMs ?? TIMEOUT_MS,
      createLocalJWKSet: options.createLocalJWKSet,
    };
  }

  /** The keys of the last set fetched, or undefined before the first fetch succeeded. */
  get keys(): KeyLookup | undefined {
    return this.#keys;
  }

  /** Starts fetching: now, then every refresh period; a failing first fetch is retried. */
  start(log: KeySetLog): void {
    this.#log = log;
    this.#stopped = false;
    this.#cycle(1_000);
  }

  /** Stops fetching; the keys held stay usable. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#abort.abort();
    this.#abort = new AbortController();
  }

  /**
   * Fetches again because a token named a key id the set lacks — at most
   * once per cool-down, so that tokens with made-up key ids cannot make
   * urocket flood the issuer. Resolves true when a new set came.
   */
  refreshForUnknownKey(): Promise<boolean> {
    if (this.#inFlight) return this.#inFlight;
    if (performance.now() - this.#lastUnknownFetch < this.#options.cooldownMs) {
      return Promise.resolve(false);
    }
    this.#lastUnknownFetch = performance.now();
    return this.refresh("unknown_kid");
  }

  /** Fetches the set now; on failure the keys held stay. Resolves true when a new set came. */
  refresh(reason: string): Promise<boolean> {
    this.#inFlight ??= this.#fetch(reason).finally(() => this.#inFlight = undefined);
    return this.#inFlight;
  }

  #cycle(retryMs: number): void {
    this.refresh(this.#keys ? "periodic" : "start").then((ok) => {
      if (this.#stopped) return;
      const wait = ok || this.#keys ? this.#options.refreshMs : retryMs;
      this.#timer = setTimeout(() => this.#cycle(Math.min(retryMs * 2, RETRY_MAX_MS)), wait);
    });
  }

  async #fetch(reason: string): Promise<boolean> {
    const signal = AbortSignal.any([
      this.#abort.signal,
      AbortSignal.timeout(this.#options.timeoutMs),
    ]);
    try {
      const response = await this.#options.fetch(this.url, {
        signal,
        headers: { accept: "application/jwk-set+json, application/json" },
        redirect: "error",
      });
      if (!response.ok) {
        await response.body?.cancel();
        throw new Error(`HTTP ${response.status}`);
      }
      const text = await boundedText(response, MAX_JWKS_BYTES);
      const set = JSON.parse(text) as JSONWebKeySet;
      const keys = this.#options.createLocalJWKSet(set);
      this.#keys = keys;
      this.#log?.info("jwks_loaded", { url: this.url, reason, keys: set.keys.length });
      return true;
    } catch (error) {
      if (this.#stopped) return false;
      this.#log?.error("jwks_fetch_failed", {
        url: this.url,
        reason,
        error: describe(error),
        keeping: this.#keys ? "the last set fetched" : "none yet: tokens get 503",
      });
      return false;
    }
  }
}

/** The body of `response` as text, refusing one larger than `limit` bytes. */
async function boundedText(response: Response, limit: number): Promise<string> {
  if (!response.body) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.length;
    if (size > limit) throw new Error(`the key set is larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return new TextDecoder().decode(concatBytes(chunks, size));
}

/** An error's message with those of its causes: fetch's own says only "fetch failed". */
function describe(error: unknown): string {
  const parts: string[] = [];
  for (let e = error; e instanceof Error && parts.length < 4; e = e.cause) parts.push(e.message);
  return parts.join(": ") || String(error);
}
