import { ok, strictEqual } from "node:assert/strict";
import fc from "fast-check";
import { parseDuration, parseSize } from "../../../lib/config/mod.ts";
import { check } from "../_fuzz.ts";

const SIZE_FACTORS: Record<string, number> = {
  "": 1,
  B: 1,
  K: 1e3,
  KB: 1e3,
  M: 1e6,
  MB: 1e6,
  G: 1e9,
  GB: 1e9,
  Ki: 1024,
  KiB: 1024,
  Mi: 1024 ** 2,
  MiB: 1024 ** 2,
  Gi: 1024 ** 3,
  GiB: 1024 ** 3,
};
const DURATION_FACTORS: Record<string, number> = {
  "": 1000,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Text that looks like a value with a unit, or does not. */
const unitText = fc.oneof(
  fc.tuple(
    fc.constantFrom("", " ", "\t"),
    fc.oneof(
      fc.nat().map(String),
      fc.double({ min: 0, max: 1e20, noNaN: true }).map(String),
      fc.constantFrom("-1", "+1", "1e3", ".5", "5.", "0x10", "Infinity", "NaN", "1_000", "٣"),
    ),
    fc.constantFrom("", " ", "  "),
    fc.constantFrom(
      ...Object.keys(SIZE_FACTORS),
      ...Object.keys(DURATION_FACTORS),
      "toString",
      "__proto__",
      "constructor",
      "kib",
      "MIB",
      "d",
      "µs",
    ),
    fc.constantFrom("", " ", "x"),
  ).map((parts) => parts.join("")),
  fc.string({ maxLength: 10 }),
);

/** Any value YAML could hand the parsers for a size or duration key. */
const unitValue = fc.oneof(
  unitText,
  fc.double(),
  fc.integer(),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, -0, Infinity, NaN),
);

function outcome(parse: (v: string | number) => number, value: string | number) {
  try {
    return parse(value);
  } catch (error) {
    ok(error instanceof RangeError, `${JSON.stringify(value)}: ${error}`);
    return undefined;
  }
}

Deno.test("parseSize() returns a whole, non-negative, safe number of bytes or throws RangeError", async () => {
  await check(
    fc.property(unitValue, (value) => {
      const bytes = outcome(parseSize, value);
      if (bytes !== undefined) ok(Number.isSafeInteger(bytes) && bytes >= 0, String(bytes));
    }),
    1000,
  );
});

Deno.test("parseDuration() returns whole milliseconds a timer can wait, or throws RangeError", async () => {
  await check(
    fc.property(unitValue, (value) => {
      const ms = outcome(parseDuration, value);
      if (ms !== undefined) {
        ok(Number.isSafeInteger(ms) && ms >= 0 && ms <= MAX_TIMER_MS, String(ms));
      }
    }),
    1000,
  );
});

Deno.test("parseSize() multiplies a whole number by its unit's factor", async () => {
  await check(
    fc.property(
      fc.integer({ min: 0, max: 1_000_000 }),
      fc.constantFrom(...Object.keys(SIZE_FACTORS)),
      fc.constantFrom("", " "),
      (n, unit, space) => {
        strictEqual(parseSize(`${n}${unit ? space : ""}${unit}`), n * SIZE_FACTORS[unit]);
      },
    ),
    500,
  );
  await check(
    fc.property(fc.maxSafeNat(), (n) => strictEqual(parseSize(n), n)),
    200,
  );
});

Deno.test("parseDuration() multiplies a number by its unit's factor, up to the longest timer", async () => {
  await check(
    fc.property(
      fc.integer({ min: 0, max: 10_000_000 }),
      fc.constantFrom(...Object.keys(DURATION_FACTORS)),
      (n, unit) => {
        const expected = n * DURATION_FACTORS[unit];
        const parsed = outcome(parseDuration, `${n}${unit}`);
        strictEqual(parsed, expected <= MAX_TIMER_MS ? expected : undefined);
      },
    ),
    500,
  );
});
