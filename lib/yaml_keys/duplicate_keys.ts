/**
 * Keys written twice in one mapping of a parsed YAML file. YAML parsers
 * keep the last and drop the other without a word — a setting or a path
 * pasted twice would be lost — so urocket's config and the OpenAPI document
 * (and the files it refers to) are both refused with every duplicate named.
 * Shared by `config/` and `openapi/`, which import nothing from each other.
 *
 * @module
 */

import { isMap, isScalar, isSeq, type LineCounter } from "yaml";

/** A key written twice in one mapping. */
export interface YamlDuplicateKey {
  key: string;
  /** Keys and list indexes from the root down to the key itself. */
  path: (string | number)[];
  /** 1-based line of the second one. */
  line: number;
  /** 1-based line of the first one. */
  firstLine: number;
}

/**
 * The keys written twice in the mappings under `root` (a parsed document's
 * `contents`), in file order. Keys are compared as `toJS()` names the
 * members: `1` and `"1"` are one key, `null` is `""`.
 *
 * @example
 * ```ts
 * import { LineCounter, parseDocument } from "yaml";
 *
 * const lineCounter = new LineCounter();
 * const doc = parseDocument("a: 1\na: 2\n", { uniqueKeys: false, lineCounter });
 * yamlDuplicateKeys(doc.contents, lineCounter); // [{ key: "a", path: ["a"], line: 2, firstLine: 1 }]
 * ```
 */
export function yamlDuplicateKeys(root: unknown, lineCounter: LineCounter): YamlDuplicateKey[] {
  const found: YamlDuplicateKey[] = [];
  const walk = (node: unknown, path: (string | number)[]) => {
    if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, [...path, i]));
    } else if (isMap(node)) {
      const seen = new Map<string, number>();
      for (const pair of node.items) {
        // A key that is a map or a list has no JSON name: it is nobody's duplicate.
        if (!isScalar(pair.key)) continue;
        const key = pair.key.value === null ? "" : String(pair.key.value);
        const at = pair.key.range?.[0] ?? 0;
        const first = seen.get(key);
        if (first === undefined) {
          seen.set(key, at);
        } else {
          found.push({
            key,
            path: [...path, key],
            line: lineCounter.linePos(at).line,
            firstLine: lineCounter.linePos(first).line,
          });
        }
        walk(pair.value, [...path, key]);
      }
    }
  };
  walk(root, []);
  return found;
}
