/**
 * Routes a request path to an OpenAPI path template the way the OpenAPI
 * specification asks: concrete paths before templated ones, whatever the
 * document order, under the `servers[0].url` path prefix.
 *
 * @module
 */

/** One route: a path template, a method and what the caller attaches to it. */
export interface Route<T> {
  /** Path template as in the document, e.g. `/pets/{petId}`. */
  path: string;
  /** Lower-case method. */
  method: string;
  value: T;
}

/** The outcome of {@link Router.match}. */
export type RouteMatch<T> =
  | { kind: "found"; value: T; template: string; params: Record<string, string> }
  | { kind: "not_found" }
  | { kind: "method_not_allowed"; template: string; allow: string[] }
  | { kind: "bad_path"; detail: string };

interface Pattern<T> {
  regex: RegExp;
  literalLength: number;
  node: Node<T>;
}

/** What a method of a path holds: templates of one shape may name their parameters differently. */
interface Target<T> {
  value: T;
  template: string;
  /** Parameter names in path order. */
  names: string[];
}

interface Node<T> {
  literals: Map<string, Node<T>>;
  patterns: Pattern<T>[];
  template?: string;
  methods?: Map<string, Target<T>>;
}

const newNode = <T>(): Node<T> => ({ literals: new Map(), patterns: [] });

/**
 * Most leading segments {@link Router.suggest} drops: enough for prefixes
 * such as `/api/v2`, and bounded, since any client can ask.
 */
const SUGGEST_SKIPS = 3;

/**
 * A segment trie over the document's path templates.
 *
 * @example
 * ```ts
 * const router = new Router("/v1", [
 *   { path: "/pets/{petId}", method: "get", value: "getPet" },
 *   { path: "/pets/mine", method: "get", value: "mine" },
 * ]);
 * router.match("get", "/v1/pets/mine"); // { kind: "found", value: "mine", … }
 * ```
 */
export class Router<T> {
  #root: Node<T> = newNode();
  #prefix: string;

  /**
   * @param prefix path prefix every request path must start with (`""` for none)
   * @param routes the routes; a template may appear once per method
   */
  constructor(prefix: string, routes: Iterable<Route<T>>) {
    this.#prefix = prefix.replace(/\/+$/, "");
    for (const route of routes) this.#add(route);
  }

  #add(route: Route<T>): void {
    let node = this.#root;
    for (const segment of splitPath(route.path)) {
      if (!segment.includes("{")) {
        let next = node.literals.get(segment);
        if (!next) node.literals.set(segment, next = newNode());
        node = next;
        continue;
      }
      const source = patternSource(segment);
      let pattern = node.patterns.find((p) => p.regex.source === source.regex.source);
      if (!pattern) {
        pattern = { regex: source.regex, literalLength: source.literalLength, node: newNode() };
        node.patterns.push(pattern);
        node.patterns.sort((a, b) => b.literalLength - a.literalLength);
      }
      node = pattern.node;
    }
    node.template ??= route.path;
    node.methods ??= new Map();
    // The names belong to this template, not to the trie nodes it shares with others
    // (`/pets/{petId}` and `/pets/{id}/toys` share the node of their second segment).
    const names = splitPath(route.path).flatMap((segment) => patternSource(segment).names);
    node.methods.set(route.method.toLowerCase(), {
      value: route.value,
      template: route.path,
      names,
    });
  }

  /** The path prefix every request path must start with: `""` for none, else `/v1`. */
  get prefix(): string {
    return this.#prefix;
  }

  /**
   * Finds the route for `method` and the raw (percent-encoded) `path` of a
   * request. Path parameters come back percent-decoded.
   */
  match(method: string, path: string): RouteMatch<T> {
    const rest = this.#withoutPrefix(path);
    if (rest === undefined) return { kind: "not_found" };
    const segments = splitPath(rest);
    const decoded: (string | undefined)[] = segments.map(decodeSegment);
    const values: string[] = [];
    const found = this.#walk(this.#root, segments, decoded, 0, values);
    if (!found) {
      const bad = decoded.findIndex((d) => d === undefined);
      return bad >= 0
        ? {
          kind: "bad_path",
          detail: `Path segment ${JSON.stringify(segments[bad])} is not valid percent-encoding`,
        }
        : { kind: "not_found" };
    }
    const target = found.methods!.get(method.toLowerCase());
    if (target === undefined) {
      return {
        kind: "method_not_allowed",
        template: found.template!,
        allow: [...found.methods!.keys()].map((m) => m.toUpperCase()),
      };
    }
    const params: Record<string, string> = {};
    target.names.forEach((name, i) => params[name] = values[i]);
    return { kind: "found", value: target.value, template: target.template, params };
  }

  /**
   * For a `path` that {@link match} found nothing at, the path of a route
   * it likely meant: the same path under the prefix, or with its own first
   * segments (another prefix, up to {@link SUGGEST_SKIPS}) swapped for the
   * prefix. A route whose template is all parameters (`/{id}`) would fit
   * anything, so it is never suggested.
   */
  suggest(path: string): string | undefined {
    const segments = splitPath(this.#withoutPrefix(path) ?? path);
    for (let skip = 0; skip <= SUGGEST_SKIPS && skip < segments.length; skip++) {
      const rest = segments.slice(skip);
      const found = this.#walk(this.#root, rest, rest.map(decodeSegment), 0, []);
      if (found && splitPath(found.template!).some((segment) => !segment.includes("{"))) {
        return `${this.#prefix}/${rest.join("/")}`;
      }
    }
    return undefined;
  }

  /** `path` without the prefix (`/` for the prefix itself); `undefined` when it is not under it. */
  #withoutPrefix(path: string): string | undefined {
    if (!this.#prefix) return path;
    if (path !== this.#prefix && !path.startsWith(this.#prefix + "/")) return undefined;
    return path.slice(this.#prefix.length) || "/";
  }

  #walk(
    node: Node<T>,
    segments: string[],
    decoded: (string | undefined)[],
    i: number,
    values: string[],
  ): Node<T> | undefined {
    if (i === segments.length) return node.methods ? node : undefined;
    const segment = decoded[i];
    if (segment === undefined) return undefined;
    const literal = node.literals.get(segment);
    if (literal) {
      const found = this.#walk(literal, segments, decoded, i + 1, values);
      if (found) return found;
    }
    for (const pattern of node.patterns) {
      const m = pattern.regex.exec(segments[i]);
      if (!m) continue;
      const captured = m.slice(1).map(decodeSegment);
      if (captured.some((v) => v === undefined || v === "")) continue;
      const before = values.length;
      values.push(...captured as string[]);
      const found = this.#walk(pattern.node, segments, decoded, i + 1, values);
      if (found) return found;
      values.length = before;
    }
    return undefined;
  }
}

/** Splits a path into its segments: `/a/b` → `["a", "b"]`, `/` → `[]`. */
function splitPath(path: string): string[] {
  return path === "/" || path === "" ? [] : path.slice(1).split("/");
}

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/**
 * Turns a templated segment such as `{name}.{ext}` into a regular expression
 * over the raw segment, capturing each parameter (never across `/`).
 */
function patternSource(segment: string): { regex: RegExp; names: string[]; literalLength: number } {
  const names: string[] = [];
  let source = "";
  let literalLength = 0;
  for (const part of segment.split(/(\{[^}]*\})/)) {
    if (part.startsWith("{") && part.endsWith("}")) {
      names.push(part.slice(1, -1));
      source += "([^/]+?)";
    } else if (part) {
      literalLength += part.length;
      for (const char of part) source += literalChar(char);
    }
  }
  return { regex: new RegExp(`^${source}$`), names, literalLength };
}

/**
 * Matches one literal character of a template in a raw request path, which
 * may carry it as is or percent-encoded (hex in either case): clients leave
 * `:` and `@` unencoded, while `é` always arrives encoded.
 */
function literalChar(char: string): string {
  const encoded = [...new TextEncoder().encode(char)].map((byte) => {
    const hex = byte.toString(16).toUpperCase().padStart(2, "0");
    return `%[${hex[0]}${hex[0].toLowerCase()}][${hex[1]}${hex[1].toLowerCase()}]`;
  }).join("");
  return `(?:${char.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}|${encoded})`;
}
