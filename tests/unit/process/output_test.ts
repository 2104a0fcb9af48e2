import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { LineSplitter, OutputBudget, readLines } from "../../../lib/process/output.ts";

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

Deno.test("OutputBudget.take() counts UTF-8 bytes and a newline per line, and cuts once", () => {
  const budget = new OutputBudget(12);
  strictEqual(budget.take("ab"), "logged"); // 3
  strictEqual(budget.take("€"), "logged"); // 4: three bytes in UTF-8
  strictEqual(budget.take("😀"), "logged"); // 5: four bytes, two UTF-16 code units
  strictEqual(budget.take(""), "cut"); // 1 more would be 13
  strictEqual(budget.take("x"), "discarded");
  budget.discard(100);
  strictEqual(budget.logged, 12);
  strictEqual(budget.discarded, 1 + 2 + 100);
  strictEqual(budget.cut, true);
});

Deno.test("readLines() reads past a cut budget without splitting, so a writer never blocks", async () => {
  const budget = new OutputBudget(4);
  const lines: string[] = [];
  const chunks = ["abc\n", "def\nghi\n", "x".repeat(70_000)];
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = chunks.shift();
      if (next === undefined) controller.close();
      else controller.enqueue(new TextEncoder().encode(next));
    },
  });
  await readLines(stream, {
    onLine: (line) => budget.take(line) === "logged" && lines.push(line),
    budget,
  });
  deepStrictEqual(lines, ["abc"]);
  strictEqual(budget.discarded, 8 + 70_000);
});
