/**
 * Loads the files a split OpenAPI document is made of — as many as its
 * `$ref`s name, each read once — and checks every `$ref` urocket follows.
 * There is no cap on their number: they are the files the document's authors
 * wrote, so the document bounds them (DigitalOcean's published document
 * names about 1,500 of its 2,900), and a cap would only refuse real documents.
 *
 * @module
 */

import { isObject, type Json, parseJsonOrYaml } from "./json.ts";
import {
  filePath,
  isRemote,
  type Location,
  locationUri,
  MAX_HOPS,
  refTarget,
  resolveLocation,
  resolveRef,
} from "./refs.ts";
import { type Shape, walkStructure } from "./structure.ts";

/** One broken `$ref`. */
export interface RefProblem {
  /** Path of the file holding the `$ref`. */
  file: string;
  /** JSON pointer of the `$ref` member in that file. */
  pointer: string;
  message: string;
}

/** A `$ref` met on the walk: where it is written, as written, and where it points. */
interface Link {
  from: Location;
  ref: string;
  /** `undefined` when `ref` is not a usable URI reference. */
  target?: Location;
}

/** A place to walk, and what is there. */
interface Visit {
  location: Location;
  shape: Shape;
}

/**
 * The walk of a document and its files: each place a `$ref` points to is
 * walked once per shape it is used as, once its file is there.
 */
class Crawl {
  readonly files: Map<string, Json>;
  readonly links: Link[] = [];
  /** Places whose file is not loaded yet. */
  waiting: Visit[] = [];
  #queue: Visit[] = [];
  #seen = new Set<string>();

  constructor(url: string, document: Json) {
    this.files = new Map([[url, document]]);
    this.#queue.push({ location: { url, pointer: "" }, shape: "document" });
  }

  /** Walks every place whose file is loaded, and those their `$ref`s lead to in loaded files. */
  drain(): void {
    // An index, not shift(): the queue holds thousands of places in a large split document.
    for (let i = 0; i < this.#queue.length; i++) {
      const { location, shape } = this.#queue[i];
      const node = resolveLocation(this.files, location)?.value;
      walkStructure(node, shape, location.pointer, (ref, pointer, refShape) => {
        const target = refTarget(location.url, ref);
        this.links.push({ from: { url: location.url, pointer }, ref, target });
        if (!target || isRemote(target.url)) return;
        const key = `${refShape} ${target.url}#${target.pointer}`;
        if (this.#seen.has(key)) return;
        this.#seen.add(key);
        const visit = { location: target, shape: refShape };
        (this.files.has(target.url) ? this.#queue : this.waiting).push(visit);
      });
    }
    this.#queue = [];
  }

  /** Queues the waiting places whose file is now loaded; the others are dropped. */
  resume(): void {
    this.#queue = this.waiting.filter((visit) => this.files.has(visit.location.url));
    this.waiting = [];
  }
}

/**
 * The broken `$ref`s of a document whose local `$ref`s are all there is:
 * those into other files are not checked (nor are the files read).
 */
export function localRefProblems(url: string, document: Json): RefProblem[] {
  const crawl = new Crawl(url, document);
  crawl.drain();
  return problemsOf(crawl, new Map());
}

/** Options of {@link loadRefFiles}. */
export interface LoadRefFilesOptions {
  /**
   * Reads a file's text; injected so that tests need no disk. It should
   * refuse what is not a regular file: a FIFO would block the start.
   */
  read: (path: string) => Promise<string>;
}

/**
 * Loads every file the document at `url` names in a `$ref` urocket follows
 * (see structure.ts), transitively, and checks that each such `$ref`
 * resolves and that no chain of them loops. Refs to other hosts (`https:`)
 * are left alone: urocket never fetches, at start or at run time.
 */
export async function loadRefFiles(
  url: string,
  document: Json,
  options: LoadRefFilesOptions,
): Promise<{ files: Map<string, Json>; problems: RefProblem[] }> {
  const crawl = new Crawl(url, document);
  const failed = new Map<string, string>();
  crawl.drain();
  while (crawl.waiting.length > 0) {
    const urls = new Set(crawl.waiting.map((visit) => visit.location.url));
    for (const file of urls) {
      if (crawl.files.has(file) || failed.has(file)) continue;
      try {
        crawl.files.set(file, parseJsonOrYaml(await options.read(filePath(file))));
      } catch (error) {
        failed.set(file, (error as Error).message.split("\n")[0]);
      }
    }
    crawl.resume();
    crawl.drain();
  }
  return { files: crawl.files, problems: problemsOf(crawl, failed) };
}

/**
 * Every `$ref` met that does not resolve, or starts a chain of `$ref`s that
 * loops: what it stands for (a path item, a request body) would be silently
 * missing. Refs into files that are neither loaded nor `failed` are not checked.
 */
function problemsOf(crawl: Crawl, failed: ReadonlyMap<string, string>): RefProblem[] {
  const { files } = crawl;
  const problems: RefProblem[] = [];
  // A place walked as two shapes (a schema and a parameter's) lists its $refs twice.
  const reported = new Set<string>();
  for (const { from, ref, target } of crawl.links) {
    const at = `${from.url}#${from.pointer}`;
    if (reported.has(at)) continue;
    reported.add(at);
    const problem = (message: string) =>
      problems.push({ file: filePath(from.url), pointer: from.pointer, message });
    if (!target) {
      problem(`$ref ${JSON.stringify(ref)} is not a valid URI reference`);
      continue;
    }
    const reason = failed.get(target.url);
    if (reason !== undefined) {
      problem(
        `$ref ${JSON.stringify(ref)} does not resolve: cannot load ${
          filePath(target.url)
        }: ${reason}`,
      );
      continue;
    }
    if (!files.has(target.url)) continue;
    const resolved = resolveLocation(files, target);
    if (!resolved) {
      problem(
        `$ref ${JSON.stringify(ref)} does not resolve` +
          (target.url === from.url ? "" : `: ${filePath(target.url)} has no ${target.pointer}`),
      );
    } else if (
      isObject(resolved.value) && typeof resolved.value.$ref === "string" &&
      chainLoops(files, from.url, ref)
    ) {
      problem(
        `$ref ${
          JSON.stringify(ref)
        } leads to a chain of $refs that loops (or has ${MAX_HOPS} $refs or more)`,
      );
    }
  }
  return problems;
}

/**
 * Whether the chain of `$ref`s that starts with `ref` (in the file at
 * `base`) comes back to a place it passed, or is too long for `follow()`
 * of refs.ts. A chain that ends (at a value, a broken link or another host)
 * does not loop: the broken link is reported where it is, a remote one is
 * left to the validation that needs it.
 */
function chainLoops(files: ReadonlyMap<string, Json>, base: string, ref: string): boolean {
  const seen = new Set<string>();
  let current = resolveRef(files, base, ref);
  for (let hops = 1; current; hops++) {
    if (!isObject(current.value) || typeof current.value.$ref !== "string") return false;
    const at = locationUri(current);
    // follow() resolves at most MAX_HOPS refs, the last of which must lead to a value.
    if (seen.has(at) || hops + 1 >= MAX_HOPS) return true;
    seen.add(at);
    current = resolveRef(files, current.url, current.value.$ref);
  }
  return false;
}
