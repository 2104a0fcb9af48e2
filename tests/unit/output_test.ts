import { deepStrictEqual } from "node:assert/strict";
import { LineSplitter, readLines } from "../../lib/process/output.ts";

const encoder = new TextEncoder();

/** The lines a splitter emits for `chunks`, each as [line, truncated]. */
function split(chunks: (string | Uint8Array)[], maxLine?: number): [string, boolean][] {
  const lines: [string, boolean][] = [];
  const splitter = new LineSplitter((line, truncated) => lines.push([line, truncated]), maxLine);
  for (const chunk of chunks) {
    splitter.push(typeof chunk === "string" ? encoder.encode(chunk) : chunk);
  }
  splitter.end();
  return lines;
}

Deno.test("LineSplitter joins lines across chunks and emits a last line without a newline", () => {
  deepStrictEqual(split(["a", "b\nc", "\n", "d"]), [["ab", false], ["c", false], ["d", false]]);
});

Deno.test("LineSplitter removes a trailing carriage return and keeps empty lines", () => {
  deepStrictEqual(split(["x\r\n\ny\r\n"]), [["x", false], ["", false], ["y", false]]);
});

Deno.test("LineSplitter decodes a character split between two chunks", () => {
  const bytes = encoder.encode("é€\n");
  deepStrictEqual(split([bytes.subarray(0, 1), bytes.subarray(1, 3), bytes.subarray(3)]), [
    ["é€", false],
  ]);
});

Deno.test("LineSplitter cuts a line over maxLine once and skips the rest of it", () => {
  deepStrictEqual(split(["0123456789", "abcdef", "ghi\nnext\n"], 8), [
    ["01234567", true],
    ["next", false],
  ]);
});

Deno.test("LineSplitter cuts a long line that ends within one chunk too", () => {
  deepStrictEqual(split(["0123456789abcdef\nshort\n"], 8), [
    ["01234567", true],
    ["short", false],
  ]);
});

Deno.test("LineSplitter cuts before a surrogate pair rather than through it", () => {
  deepStrictEqual(split(["abcdefg😀tail\n"], 8), [["abcdefg", true]]);
});

Deno.test("readLines() reads a stream to its end through the same splitting", async () => {
  const lines: string[] = [];
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode("one\ntw"));
      controller.enqueue(encoder.encode("o\nthree"));
      controller.close();
    },
  });
  await readLines(stream, { onLine: (line) => lines.push(line) });
  deepStrictEqual(lines, ["one", "two", "three"]);
});
