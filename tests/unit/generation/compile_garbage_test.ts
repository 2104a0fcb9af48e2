import assert from "node:assert/strict";
import { CompileGarbage } from "../../../lib/generation/_compile_garbage.ts";

type Gc = (options?: unknown) => void;

/** Runs `fn` with `calls` recording each gc() a CompileGarbage makes (V8's own is not exposed to tests). */
function withSpyGc(fn: (calls: unknown[]) => void): void {
  const global = globalThis as { gc?: Gc };
  const saved = global.gc;
  const calls: unknown[] = [];
  global.gc = (options) => void calls.push(options ?? "major");
  try {
    fn(calls);
  } finally {
    if (saved) global.gc = saved;
    else delete global.gc;
  }
}

/** About 80 MiB the heap holds while `kept` does: a million small objects. */
function grow(kept: object[]): void {
  for (let i = 0; i < 1_000_000; i++) kept.push({ i, name: `object ${i}` });
}

Deno.test("CompileGarbage collects once the heap grew by 64 MiB, then fully at the end", () => {
  withSpyGc((calls) => {
    const garbage = new CompileGarbage();
    const kept: object[] = [];
    garbage.check();
    assert.deepEqual(calls, []);
    grow(kept);
    garbage.check();
    assert.deepEqual(calls, ["major"]);
    garbage.check();
    assert.deepEqual(calls, ["major"], "no second collection before the heap grows again");
    garbage.done();
    assert.deepEqual(calls, ["major", { type: "major", flavor: "last-resort" }]);
    assert.equal(kept.length, 1_000_000);
  });
});

Deno.test("CompileGarbage leaves a compile that grew the heap little to V8", () => {
  withSpyGc((calls) => {
    const garbage = new CompileGarbage();
    const small = Array.from({ length: 1000 }, (_, i) => ({ i }));
    garbage.check();
    garbage.done();
    assert.deepEqual(calls, []);
    assert.equal(small.length, 1000);
  });
});

Deno.test("CompileGarbage does nothing where V8's gc() is not exposed", () => {
  const global = globalThis as { gc?: Gc };
  const saved = global.gc;
  delete global.gc;
  try {
    const garbage = new CompileGarbage();
    const kept: object[] = [];
    grow(kept);
    garbage.check();
    garbage.done();
    assert.equal(kept.length, 1_000_000);
  } finally {
    if (saved) global.gc = saved;
  }
});
