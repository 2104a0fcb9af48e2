/**
 * Splits a `cmd` string into argv words with POSIX quoting rules only.
 *
 * No expansion of any kind happens — no variables, globs, `~`, command
 * substitution or operators — because urocket never runs a shell: `$HOME`,
 * `*` and `|` are ordinary characters and reach the program as written.
 *
 * @module
 */

/**
 * Splits `text` into words. Whitespace separates words; single quotes keep
 * everything literally; inside double quotes a backslash escapes only `"`,
 * `\`, `$`, `` ` `` and a newline (as in POSIX sh); outside quotes a backslash
 * keeps the next character literally.
 *
 * @example
 * ```ts
 * splitCommand(`handlers/add-pet.sh --name 'Rex the dog' "a \"b\""`);
 * // ["handlers/add-pet.sh", "--name", "Rex the dog", 'a "b"']
 * ```
 * @throws {SyntaxError} on an unterminated quote or a trailing backslash.
 */
export function splitCommand(text: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === " " || ch === "\t" || ch === "\n" || ch === "\r") {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
      i++;
    } else if (ch === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new SyntaxError("Unterminated single quote: add the closing '");
      word += text.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (ch === '"') {
      i++;
      let closed = false;
      while (i < text.length) {
        const c = text[i];
        if (c === '"') {
          closed = true;
          i++;
          break;
        }
        if (c === "\\" && i + 1 < text.length && `"\\$\`\n`.includes(text[i + 1])) {
          if (text[i + 1] !== "\n") word += text[i + 1];
          i += 2;
        } else {
          word += c;
          i++;
        }
      }
      if (!closed) throw new SyntaxError('Unterminated double quote: add the closing "');
      inWord = true;
    } else if (ch === "\\") {
      if (i + 1 >= text.length) {
        throw new SyntaxError("Trailing backslash: escape it as \\\\ or remove it");
      }
      if (text[i + 1] !== "\n") {
        word += text[i + 1];
        inWord = true;
      }
      i += 2;
    } else {
      word += ch;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}
