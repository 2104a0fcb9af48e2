/**
 * The shape of lib/, checked: each folder shows one face (its `mod.ts`),
 * which is all other folders import; helpers named `_x.ts` stay in their
 * folder; imports between folders run one way, down the layers that
 * docs/architecture.md draws; and a file past 400 lines says why it must
 * stay whole.
 *
 * @module
 */

import assert from "node:assert/strict";

const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/**
 * lib/'s folders from the top down: a folder imports only folders of lower
 * layers. Two folders of one layer never import each other (front/ and
 * reply/, the two edges, meet in pending/). docs/architecture.md shows the
 * same block.
 */
const LAYERS = `
main.ts
service
cli front
exchange
generation reply
docs process security
config listener openapi
admin common console http log metrics pending yaml_keys
`;

/** Longest file of lib/ that needs no word about its size. */
const MAX_LINES = 400;

/** One import of one file, as written. */
interface Import {
  from: string;
  specifier: string;
}

/** The relative imports of `text`: static, re-exports, type-only and dynamic ones alike. */
export function importsOf(file: string, text: string): Import[] {
  // Examples in doc comments are not imports.
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const found: Import[] = [];
  const patterns = [
    /\b(?:import|export)\b[^;"'`]*?\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*["']([^"']+)["']/g,
    /\bimport\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const match of code.matchAll(pattern)) {
      if (match[1].startsWith(".")) found.push({ from: file, specifier: match[1] });
    }
  }
  return found;
}

/** `a/b/../c/./d.ts` → `a/c/d.ts`. */
function normalize(path: string): string {
  const out: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") out.pop();
    else out.push(segment);
  }
  return out.join("/");
}

function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "" : path.slice(0, i);
}

/** The folder of lib/ a file belongs to (`lib/openapi/validation/x.ts` → `openapi`), or `main.ts`. */
function folderOf(path: string): string {
  return path.startsWith("lib/") ? path.split("/")[1] : path;
}

/** Folder → its layer (0 the top), from {@link LAYERS}. */
function layersOf(text: string): Map<string, number> {
  const layers = new Map<string, number>();
  text.trim().split("\n").forEach((line, i) => {
    for (const folder of line.trim().split(/\s+/)) layers.set(folder, i);
  });
  return layers;
}

/**
 * Every breach of lib/'s boundaries among `files` (repository path → text):
 * a cross-folder import of anything but a `mod.ts`, a `_x.ts` imported from
 * another folder, an import of a folder of the same or a higher layer, a
 * folder the layers do not place, an import of a file that does not exist.
 */
export function checkBoundaries(files: Map<string, string>, layersText = LAYERS): string[] {
  const layers = layersOf(layersText);
  const problems: string[] = [];
  for (const [file, text] of files) {
    for (const { specifier } of importsOf(file, text)) {
      const target = normalize(`${dirname(file)}/${specifier}`);
      if (!target.startsWith("lib/")) continue;
      const what = `${file} imports ${specifier}`;
      if (!files.has(target)) {
        problems.push(`${what}, which does not exist`);
        continue;
      }
      const [from, to] = [folderOf(file), folderOf(target)];
      const name = target.slice(target.lastIndexOf("/") + 1);
      if (name.startsWith("_") && dirname(target) !== dirname(file)) {
        problems.push(`${what}: a _private helper of another folder`);
      }
      if (from === to) continue;
      if (name !== "mod.ts") {
        problems.push(`${what}: another folder is imported through its mod.ts`);
      }
      const [above, below] = [layers.get(from), layers.get(to)];
      if (above === undefined || below === undefined) {
        problems.push(`${what}: ${above === undefined ? from : to} has no layer`);
      } else if (above >= below) {
        problems.push(
          `${what}: ${from} may import only folders below it, and ${to} is ` +
            (above === below ? "beside it" : "above it"),
        );
      }
    }
  }
  return problems;
}

/** Every .ts file of lib/, and main.ts, by repository path. */
async function sources(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(`${REPO}/${dir}`)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (path.endsWith(".ts")) files.set(path, await Deno.readTextFile(`${REPO}/${path}`));
    }
  };
  await walk("lib");
  files.set("main.ts", await Deno.readTextFile(`${REPO}/main.ts`));
  return files;
}

Deno.test("checkBoundaries() passes lib/ and main.ts: folders meet through mod.ts, down the layers", async () => {
  const files = await sources();
  const imports = [...files].flatMap(([file, text]) => importsOf(file, text));
  assert.ok(imports.length > 200, `only ${imports.length} imports were read`);
  assert.deepEqual(checkBoundaries(files), []);
});

Deno.test("checkBoundaries() reports a deep import, another folder's _helper, an arrow back up and an unplaced folder", () => {
  const files = new Map([
    ["main.ts", 'import { startService } from "./lib/service/start.ts";\n'],
    ["lib/service/mod.ts", 'export { startService } from "./start.ts";\n'],
    [
      "lib/service/start.ts",
      'import { f } from "../front/mod.ts";\nexport const startService = f;\n',
    ],
    ["lib/front/mod.ts", 'export { f } from "./_f.ts";\n'],
    ["lib/front/_f.ts", 'import type { S } from "../service/mod.ts";\nexport const f = 1;\n'],
    ["lib/exchange/mod.ts", 'import { f } from "../front/_f.ts";\nexport { f };\n'],
    ["lib/extra/mod.ts", 'export const x = await import("../front/mod.ts");\n'],
    // An example in a doc comment is no import.
    ["lib/front/app.ts", '/**\n * import { y } from "../service/start.ts";\n */\nexport {};\n'],
  ]);
  assert.deepEqual(checkBoundaries(files, "main.ts\nservice\nfront exchange"), [
    "main.ts imports ./lib/service/start.ts: another folder is imported through its mod.ts",
    "lib/front/_f.ts imports ../service/mod.ts: front may import only folders below it, and service is above it",
    "lib/exchange/mod.ts imports ../front/_f.ts: a _private helper of another folder",
    "lib/exchange/mod.ts imports ../front/_f.ts: another folder is imported through its mod.ts",
    "lib/exchange/mod.ts imports ../front/_f.ts: exchange may import only folders below it, and front is beside it",
    "lib/extra/mod.ts imports ../front/mod.ts: extra has no layer",
  ]);
});

Deno.test("lib/ has a mod.ts in every folder and no file of its own", async () => {
  const files = await sources();
  const folders = new Set([...files.keys()].filter((f) => f.startsWith("lib/")).map(dirname));
  assert.deepEqual([...folders].filter((dir) => dir === "lib"), [], "loose files at lib/'s root");
  for (const dir of folders) assert.ok(files.has(`${dir}/mod.ts`), `${dir}/ has no mod.ts`);
  const placed = new Set(layersOf(LAYERS).keys());
  for (const dir of folders) assert.ok(placed.has(folderOf(`${dir}/x.ts`)), `${dir} has no layer`);
});

Deno.test("docs/architecture.md draws the layers the boundary check enforces", async () => {
  const page = await Deno.readTextFile(`${REPO}/docs/architecture.md`);
  assert.ok(page.includes("```\n" + LAYERS.trim() + "\n```"), "the layers block differs");
});

Deno.test(`a file of lib/ over ${MAX_LINES} lines says why it must stay whole`, async () => {
  const long = [...await sources()].filter(([file, text]) =>
    file.startsWith("lib/") && text.split("\n").length - 1 > MAX_LINES &&
    !text.includes("must stay whole")
  ).map(([file]) => file);
  assert.deepEqual(long, []);
});
