/**
 * The API reference on the front (config key `docs`, off by default): the
 * document as urocket routes it at `<docs>/openapi.json` and
 * `<docs>/openapi.yaml`, and Swagger UI at `<docs>`, every file served by
 * urocket itself under a strict Content-Security-Policy.
 *
 * @module
 */

import { stringify } from "yaml";
import type { Problem } from "../config/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { OpenApiDocument, Router } from "../openapi/mod.ts";
import { HttpProblem, problemResponse } from "../http/mod.ts";
import {
  CONTENT_SECURITY_POLICY,
  pageHtml,
  START_SCRIPT,
  START_SCRIPT_TEXT,
  SWAGGER_UI_FILES,
  swaggerUiDir,
} from "./assets.ts";
import { bundleDocument } from "./bundle.ts";

export { BUNDLED_KEY, bundleDocument } from "./bundle.ts";
export { SWAGGER_UI_FILES, SWAGGER_UI_KEPT, swaggerUiDir } from "./assets.ts";

/**
 * What the docs read of a generation (lib/generation/, which checks the
 * docs path against its routes with {@link docsProblems}).
 */
export interface DocsSource {
  config: { docs?: string };
  document: Pick<OpenApiDocument, "raw" | "files" | "url">;
  /** The prefix urocket routes the document's operations under. */
  basePath: string;
}

/**
 * The path prefix "try it" requests need: the one urocket routes the
 * document's operations under. The one place that says so, for the served
 * document's `servers` entry.
 */
export function servedBasePath(generation: DocsSource): string {
  return generation.basePath;
}

/** Every path the docs answer at, for the docs path `docs`. */
export function docsPaths(docs: string): string[] {
  return [
    docs,
    `${docs}/`,
    `${docs}/openapi.json`,
    `${docs}/openapi.yaml`,
    `${docs}/${START_SCRIPT}`,
    ...Object.keys(SWAGGER_UI_FILES).map((name) => `${docs}/${name}`),
  ];
}

/**
 * A problem for each path of the docs that an operation of the document
 * would answer too (with any method): the docs would hide it, so the
 * config is refused.
 */
export function docsProblems(
  docs: string | undefined,
  file: string,
  router: Router<unknown>,
): Problem[] {
  if (docs === undefined) return [];
  for (const path of docsPaths(docs)) {
    const match = router.match("get", path);
    if (match.kind === "found" || match.kind === "method_not_allowed") {
      const methods = match.kind === "found" ? "GET" : match.allow.join(", ");
      return [{
        file,
        key: "docs",
        message: `${JSON.stringify(path)} is a path of the API reference, but ${methods} ` +
          `${match.template} of the OpenAPI document answers there too: choose a docs path ` +
          'no operation matches, e.g. "/_docs"',
      }];
    }
  }
  return [];
}

/** What {@link withDocs} needs. */
export interface DocsDeps {
  /** The generation new requests use; read once per request. */
  generation: () => DocsSource;
  logger: Logger;
}

/** A request handler, as `Deno.serve` takes it. */
export type Fetch = (request: Request) => Response | Promise<Response>;

/** The served document of a generation, made on first use. */
const served = new WeakMap<DocsSource, { json: string; yaml: string }>();

/**
 * Wraps the front's handler: requests for the docs paths (when the current
 * generation sets `docs`) are answered here, every other goes to `next`.
 * A request that is not for the docs costs a string comparison.
 */
export function withDocs(next: Fetch, deps: DocsDeps): Fetch {
  let assets: Promise<string> | undefined;
  return (request) => {
    const generation = deps.generation();
    const docs = generation.config.docs;
    if (docs === undefined) return next(request);
    const path = rawPath(request.url);
    if (path !== docs && !path.startsWith(docs + "/")) return next(request);
    const name = docsFile(new URL(request.url).pathname, docs);
    if (name === undefined) return next(request);
    if (request.method !== "GET" && request.method !== "HEAD") {
      return problemResponse(
        new HttpProblem(
          "method_not_allowed",
          `${request.method} is not served by the API reference: use GET`,
          {
            headers: { allow: "GET, HEAD" },
          },
        ),
      );
    }
    if (name in SWAGGER_UI_FILES) {
      assets ??= swaggerUiDir();
      return serveAsset(request, assets, name).catch((error) => {
        deps.logger.error("docs_asset", { file: name, error: (error as Error).message });
        return problemResponse(new HttpProblem("internal", "The API reference cannot be served"));
      });
    }
    return answer(request, ...ownFile(name, generation, docs));
  };
}

/** The docs file `pathname` names (`""` for the page), or undefined when it names none. */
function docsFile(pathname: string, docs: string): string | undefined {
  if (pathname === docs || pathname === `${docs}/`) return "";
  const name = pathname.slice(docs.length + 1);
  return docsPaths(docs).includes(pathname) ? name : undefined;
}

/** The page, the start script or the document: text made by urocket, with its type. */
function ownFile(name: string, generation: DocsSource, docs: string): [string, string] {
  if (name === "") {
    const info = generation.document.raw.info as { title?: unknown } | undefined;
    const title = typeof info?.title === "string" ? info.title : "API";
    return [pageHtml(docs, `${title}: API reference`), "text/html; charset=utf-8"];
  }
  if (name === START_SCRIPT) return [START_SCRIPT_TEXT, "text/javascript; charset=utf-8"];
  let document = served.get(generation);
  if (!document) {
    const { files, url } = generation.document;
    const bundled = bundleDocument(files, url, servedBasePath(generation));
    document = {
      json: JSON.stringify(bundled, null, 2) + "\n",
      yaml: stringify(bundled, { aliasDuplicateObjects: false, lineWidth: 0 }),
    };
    served.set(generation, document);
  }
  return name === "openapi.json"
    ? [document.json, "application/json; charset=utf-8"]
    : [document.yaml, "application/yaml; charset=utf-8"];
}

const HEADERS = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

function answer(request: Request, body: string, type: string): Response {
  return new Response(request.method === "HEAD" ? null : body, {
    headers: { ...HEADERS, "content-type": type, "cache-control": "no-cache" },
  });
}

/** One of Swagger UI's files, revalidated by the package's version (an upgrade changes it). */
async function serveAsset(request: Request, dir: Promise<string>, name: string) {
  const path = `${await dir}/${name}`;
  const info = await Deno.stat(path);
  const etag = `"${info.size.toString(36)}-${(info.mtime?.getTime() ?? 0).toString(36)}"`;
  const headers = {
    ...HEADERS,
    "content-type": SWAGGER_UI_FILES[name],
    "cache-control": "no-cache",
    "content-length": String(info.size),
    etag,
  };
  if (request.headers.get("if-none-match") === etag) {
    return new Response(null, { status: 304, headers });
  }
  if (request.method === "HEAD") return new Response(null, { headers });
  const file = await Deno.open(path);
  return new Response(file.readable, { headers });
}

/** The path of an absolute request URL as sent, without its query: no URL is parsed. */
function rawPath(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const end = url.indexOf("?", start);
  return url.slice(start, end < 0 ? undefined : end);
}
