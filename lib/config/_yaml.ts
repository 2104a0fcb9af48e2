/**
 * The config file as YAML: parsed with every syntax error and key written
 * twice found, and problems located at their key path and line.
 *
 * @module
 */

import { isMap, isScalar, LineCounter, type Node, parseDocument } from "yaml";
import { yamlDuplicateKeys } from "../yaml_keys/mod.ts";
import type { Problem } from "./errors.ts";

/** Reports a problem at a key path (`["paths", "/pets", "post", "timeout"]`). */
export type Report = (path: PropertyKey[], message: string) => void;

/** Where the resolvers report problems and warnings, and find the line of a key path. */
export interface Reporters {
  report: Report;
  warn: Report;
  locate: Locate;
}

/** The line of the key path `path` (of its key alone with `keyOnly`), or of its closest ancestor. */
export type Locate = (path: PropertyKey[], keyOnly?: boolean) => number | undefined;

/** A config file's text, parsed. */
export interface ParsedYaml {
  /** Its data, `{}` when it could not be read. */
  data: unknown;
  /** Its syntax errors, keys written twice, aliases that cannot be resolved. */
  problems: Problem[];
  locate: Locate;
}

/**
 * Parses the config `text` of `file`, finding every syntax error and every
 * key written twice (YAML would keep the last one without a word).
 */
export function parseYaml(text: string, file: string): ParsedYaml {
  const lineCounter = new LineCounter();
  // logLevel "error": the yaml package would otherwise print its warnings on stderr.
  // Keys written twice are found by duplicateKeys() rather than `uniqueKeys`, whose error names no key.
  const doc = parseDocument(text, {
    lineCounter,
    uniqueKeys: false,
    prettyErrors: false,
    logLevel: "error",
  });
  const problems: Problem[] = doc.errors.map((error) => ({
    file,
    line: error.linePos?.[0].line ?? lineCounter.linePos(error.pos[0]).line,
    key: "",
    message: `Invalid YAML: ${error.message.split("\n")[0]}`,
  }));
  if (problems.length === 0) problems.push(...duplicateKeys(doc.contents, lineCounter, file));
  let data: unknown = {};
  if (problems.length === 0) {
    try {
      // Aliases are resolved only here: an unknown anchor, or an alias bomb, throws.
      data = doc.toJS({ maxAliasCount: 100 }) ?? {};
    } catch (error) {
      problems.push({ file, key: "", message: `Invalid YAML: ${(error as Error).message}` });
    }
  }
  const locate = (path: PropertyKey[], keyOnly = false) => {
    const node = findNode(doc.contents, path, keyOnly);
    return node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
  };
  return { data, problems, locate };
}

/** Returns the node at `path`, or the closest ancestor's node that exists. */
function findNode(root: unknown, path: PropertyKey[], keyOnly: boolean): Node | undefined {
  let node = root as Node | undefined;
  for (let i = 0; i < path.length; i++) {
    if (!isMap(node)) return node;
    const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(path[i]));
    if (!pair) return node;
    if (keyOnly && i === path.length - 1) return pair.key as Node;
    const value = pair.value as Node | undefined;
    if (value === null || value === undefined) return pair.key as Node;
    if (i < path.length - 1 && !isMap(value)) {
      const seq = value as unknown as { items?: Node[] };
      const index = Number(path[i + 1]);
      if (Array.isArray(seq.items) && Number.isInteger(index) && seq.items[index]) {
        return seq.items[index];
      }
      return value;
    }
    node = value;
  }
  return node;
}

/**
 * A problem for every key written twice in one mapping, at the second one:
 * YAML would keep only the last, and a setting would be lost without a
 * word (see lib/yaml_keys/).
 */
function duplicateKeys(root: unknown, lineCounter: LineCounter, file: string): Problem[] {
  return yamlDuplicateKeys(root, lineCounter).map(({ key, path, line, firstLine }) => ({
    file,
    line,
    key: formatKeyPath(path),
    message: `Duplicate key ${JSON.stringify(key)} (first at line ${firstLine}): ` +
      "only the last one would be kept",
  }));
}

/** `["paths", "/pets", "post", "inject", "env", 1]` → `paths./pets.post.inject.env[1]`. */
export function formatKeyPath(path: PropertyKey[]): string {
  return path.reduce<string>(
    (out, part) =>
      typeof part === "number" ? `${out}[${part}]` : out ? `${out}.${String(part)}` : String(part),
    "",
  );
}
