import { deepStrictEqual, ok } from "node:assert/strict";
import fc from "fast-check";
import { splitCommand } from "../../../lib/config/mod.ts";
import { check } from "../_fuzz.ts";

/** Characters a shell would act on; splitCommand must keep every one of them literally. */
const SHELL_SPECIAL = [..."$`*?[]{}~!#&|;<>()=%^@,:+-_./\\'\"\n\t "];

/** A word of shell metacharacters, quotes, whitespace and ordinary text. */
const word = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...SHELL_SPECIAL) },
    { weight: 1, arbitrary: fc.constantFrom("$HOME", "$(id)", "`id`", "${X:-y}", "~root", "*.sh") },
    { weight: 2, arbitrary: fc.string({ maxLength: 4 }) },
  ),
  { maxLength: 8 },
).map((parts) => parts.join(""));

/** Quotes `text` for splitCommand the way one quotes for sh: in single quotes, `'` as `'\''`. */
const singleQuoted = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;

/** Quotes `text` in double quotes, escaping the four characters that are special there. */
const doubleQuoted = (text: string) => `"${text.replace(/["\\$`]/g, "\\$&")}"`;

/** Escapes every character with a backslash, except a newline, which only single quotes keep. */
const backslashed = (text: string) =>
  [...text].map((c) => (c === "\n" ? "'\n'" : `\\${c}`)).join("");

Deno.test("splitCommand() returns exactly the words of any argv quoted for sh, metacharacters included", async () => {
  await check(
    fc.property(
      fc.array(fc.tuple(word, fc.constantFrom(singleQuoted, doubleQuoted, backslashed)), {
        minLength: 1,
        maxLength: 6,
      }),
      fc.constantFrom(" ", "  ", "\t", "\n", " \t\n "),
      (quoted, separator) => {
        const argv = quoted.map(([w]) => w);
        const text = quoted.map(([w, quote]) => (w === "" ? "''" : quote(w))).join(separator);
        deepStrictEqual(splitCommand(text), argv, `text: ${JSON.stringify(text)}`);
      },
    ),
    500,
  );
});

Deno.test("splitCommand() leaves unquoted metacharacters in place and expands nothing", async () => {
  const plain = fc.array(
    fc.constantFrom(...SHELL_SPECIAL.filter((c) => !` \t\n'"\\`.includes(c)), "a", "Z", "9"),
    { minLength: 1, maxLength: 10 },
  ).map((chars) => chars.join(""));
  await check(
    fc.property(fc.array(plain, { minLength: 1, maxLength: 6 }), (words) => {
      deepStrictEqual(splitCommand(words.join(" ")), words);
    }),
    500,
  );
});

Deno.test("splitCommand() throws nothing but SyntaxError, and never yields more words than it was given", async () => {
  await check(
    fc.property(
      fc.oneof(
        fc.string({ unit: "binary", maxLength: 60 }),
        fc.array(fc.constantFrom(...SHELL_SPECIAL, "a", "b"), { maxLength: 30 }).map((c) =>
          c.join("")
        ),
      ),
      (text) => {
        let words: string[];
        try {
          words = splitCommand(text);
        } catch (error) {
          ok(error instanceof SyntaxError, `${JSON.stringify(text)}: ${error}`);
          return;
        }
        // Each word consumed at least one character, and quotes and escapes only remove some.
        const length = words.reduce((sum, w) => sum + w.length, 0);
        ok(length <= text.length, JSON.stringify(text));
        ok(words.length <= text.length, JSON.stringify(text));
      },
    ),
    300,
  );
});
