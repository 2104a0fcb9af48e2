import { strictEqual, throws } from "node:assert/strict";
import { parseDuration, parseSize } from "../../../lib/config/units.ts";

Deno.test("parseSize() reads KiB, MiB and GiB as powers of 1024", () => {
  strictEqual(parseSize("512KiB"), 512 * 1024);
  strictEqual(parseSize("1MiB"), 1024 ** 2);
  strictEqual(parseSize("2GiB"), 2 * 1024 ** 3);
});

Deno.test("parseSize() reads the short forms Ki, Mi and Gi as powers of 1024", () => {
  strictEqual(parseSize("4Ki"), 4096);
  strictEqual(parseSize("1Mi"), 1024 ** 2);
  strictEqual(parseSize("1Gi"), 1024 ** 3);
});

Deno.test("parseSize() reads KB, MB and GB as powers of 1000", () => {
  strictEqual(parseSize("10KB"), 10_000);
  strictEqual(parseSize("10MB"), 10_000_000);
  strictEqual(parseSize("3GB"), 3_000_000_000);
});

Deno.test("parseSize() reads the short forms K, M and G as powers of 1000", () => {
  strictEqual(parseSize("10K"), 10_000);
  strictEqual(parseSize("10M"), 10_000_000);
  strictEqual(parseSize("1G"), 1_000_000_000);
});

Deno.test("parseSize() reads a bare number, as a string or a YAML number, as bytes", () => {
  strictEqual(parseSize("4096"), 4096);
  strictEqual(parseSize(512), 512);
  strictEqual(parseSize(0), 0);
});

Deno.test("parseSize() rounds a fractional size down to whole bytes", () => {
  strictEqual(parseSize("1.5KiB"), 1536);
  strictEqual(parseSize("0.5B"), 0);
  strictEqual(parseSize("1.0000001KiB"), 1024);
});

Deno.test("parseSize() accepts one space between the number and the unit", () => {
  strictEqual(parseSize("1 MiB"), 1024 ** 2);
  strictEqual(parseSize(" 2KB "), 2000);
});

Deno.test("parseSize() refuses an unknown unit with a message listing the accepted ones", () => {
  throws(() => parseSize("10XB"), (error: unknown) => {
    strictEqual((error as Error).name, "RangeError");
    strictEqual((error as Error).message.startsWith('Invalid size "10XB"'), true);
    strictEqual((error as Error).message.includes("KiB, MiB, GiB"), true);
    return true;
  });
});

Deno.test("parseSize() refuses a duration unit", () => {
  throws(() => parseSize("10s"), RangeError);
  throws(() => parseSize("5ms"), RangeError);
});

Deno.test("parseSize() refuses negative, empty and non-numeric values", () => {
  for (const value of ["-1", "-1MiB", "", "MiB", "abc", "1e3", "0x10", "1,5MiB"]) {
    throws(() => parseSize(value), RangeError, `expected ${JSON.stringify(value)} to be refused`);
  }
  throws(() => parseSize(-1), RangeError);
  throws(() => parseSize(Number.NaN), RangeError);
  throws(() => parseSize(Number.POSITIVE_INFINITY), RangeError);
});

Deno.test("parseSize() refuses a size beyond the safe integer range", () => {
  throws(() => parseSize("10000000TiB"), RangeError);
});

Deno.test("parseDuration() reads ms, s, m and h into milliseconds", () => {
  strictEqual(parseDuration("500ms"), 500);
  strictEqual(parseDuration("10s"), 10_000);
  strictEqual(parseDuration("5m"), 300_000);
  strictEqual(parseDuration("1h"), 3_600_000);
});

Deno.test("parseDuration() reads a bare number as seconds", () => {
  strictEqual(parseDuration(2), 2000);
  strictEqual(parseDuration("30"), 30_000);
  strictEqual(parseDuration(0), 0);
});

Deno.test("parseDuration() keeps fractions of a second", () => {
  strictEqual(parseDuration("1.5s"), 1500);
  strictEqual(parseDuration(0.25), 250);
  strictEqual(parseDuration("0.5m"), 30_000);
});

Deno.test("parseDuration() refuses an unknown unit with a message listing the accepted ones", () => {
  throws(() => parseDuration("3d"), (error: unknown) => {
    strictEqual((error as Error).name, "RangeError");
    strictEqual((error as Error).message.startsWith('Invalid duration "3d"'), true);
    strictEqual((error as Error).message.includes("ms, s, m or h"), true);
    return true;
  });
});

Deno.test("parseDuration() refuses a size unit, a negative number and text", () => {
  for (const value of ["1MiB", "-5s", "", "s", "soon", "1h30m", "PT30S"]) {
    throws(
      () => parseDuration(value),
      RangeError,
      `expected ${JSON.stringify(value)} to be refused`,
    );
  }
  throws(() => parseDuration(-1), RangeError);
});
