import { deepStrictEqual, throws } from "node:assert/strict";
import { splitCommand } from "../../../lib/config/split_command.ts";

Deno.test("splitCommand() splits on spaces, tabs and newlines, ignoring runs of them", () => {
  deepStrictEqual(splitCommand("  deno run\t--allow-net \n main.ts  "), [
    "deno",
    "run",
    "--allow-net",
    "main.ts",
  ]);
});

Deno.test("splitCommand() returns no words for an empty or blank command", () => {
  deepStrictEqual(splitCommand(""), []);
  deepStrictEqual(splitCommand(" \t\n"), []);
});

Deno.test("splitCommand() keeps everything inside single quotes literally", () => {
  deepStrictEqual(splitCommand(`echo 'Rex the dog' '$HOME \\n "x"'`), [
    "echo",
    "Rex the dog",
    `$HOME \\n "x"`,
  ]);
});

Deno.test('splitCommand() unescapes only \\", \\\\, \\$ and \\` inside double quotes', () => {
  deepStrictEqual(splitCommand(`printf "a \\"b\\" \\\\ \\$x \\\` \\n \\q"`), [
    "printf",
    'a "b" \\ $x ` \\n \\q',
  ]);
});

Deno.test("splitCommand() drops a backslash-newline inside double quotes", () => {
  deepStrictEqual(splitCommand('echo "one\\\ntwo"'), ["echo", "onetwo"]);
});

Deno.test("splitCommand() keeps the character after a backslash outside quotes", () => {
  deepStrictEqual(splitCommand("touch my\\ file \\'q\\' \\\\"), ["touch", "my file", "'q'", "\\"]);
});

Deno.test("splitCommand() treats a backslash-newline outside quotes as a line continuation", () => {
  deepStrictEqual(splitCommand("run --a \\\n--b"), ["run", "--a", "--b"]);
  deepStrictEqual(splitCommand("ab\\\ncd"), ["abcd"]);
});

Deno.test("splitCommand() joins adjacent quoted and unquoted parts into one word", () => {
  deepStrictEqual(splitCommand(`--name='Rex'" the "dog`), ["--name=Rex the dog"]);
});

Deno.test("splitCommand() keeps an empty quoted word", () => {
  deepStrictEqual(splitCommand(`cmd '' "" x`), ["cmd", "", "", "x"]);
});

Deno.test("splitCommand() does not expand variables, ~, globs or command substitution", () => {
  deepStrictEqual(splitCommand("echo $HOME ${USER} ~ ~/x *.sh ?.txt [ab] $(id) `id`"), [
    "echo",
    "$HOME",
    "${USER}",
    "~",
    "~/x",
    "*.sh",
    "?.txt",
    "[ab]",
    "$(id)",
    "`id`",
  ]);
  deepStrictEqual(splitCommand('echo "$HOME"'), ["echo", "$HOME"]);
});

Deno.test("splitCommand() passes shell operators through as ordinary words", () => {
  deepStrictEqual(splitCommand("a | b && c; d > out < in 2>&1 &"), [
    "a",
    "|",
    "b",
    "&&",
    "c;",
    "d",
    ">",
    "out",
    "<",
    "in",
    "2>&1",
    "&",
  ]);
  deepStrictEqual(splitCommand("a|b>c"), ["a|b>c"]);
});

Deno.test("splitCommand() does not treat # as a comment", () => {
  deepStrictEqual(splitCommand("run # not a comment"), ["run", "#", "not", "a", "comment"]);
});

Deno.test("splitCommand() throws SyntaxError on an unterminated single quote", () => {
  throws(() => splitCommand("echo 'abc"), {
    name: "SyntaxError",
    message: "Unterminated single quote: add the closing '",
  });
});

Deno.test("splitCommand() throws SyntaxError on an unterminated double quote", () => {
  throws(() => splitCommand('echo "abc'), {
    name: "SyntaxError",
    message: 'Unterminated double quote: add the closing "',
  });
  throws(() => splitCommand('echo "abc\\"'), SyntaxError);
});

Deno.test("splitCommand() throws SyntaxError on a trailing backslash", () => {
  throws(() => splitCommand("echo abc\\"), {
    name: "SyntaxError",
    message: "Trailing backslash: escape it as \\\\ or remove it",
  });
});
