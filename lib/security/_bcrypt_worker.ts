/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />
/**
 * A Worker that compares passwords with bcrypt hashes, one message at a
 * time, so that bcrypt's tens of milliseconds per check are spent off
 * urocket's event loop (see _bcrypt_pool.ts).
 *
 * @module
 */

import { compareSync } from "bcryptjs";

self.onmessage = ({ data }: MessageEvent<{ id: number; password: string; hash: string }>) => {
  self.postMessage({ id: data.id, ok: compareSync(data.password, data.hash) });
};
