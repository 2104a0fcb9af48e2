/**
 * What the reference page is made of: Swagger UI's files from the
 * `swagger-ui-dist` npm package (served by urocket, embedded in the compiled
 * binary with the package), a page and a small start script of urocket's
 * own, and the Content-Security-Policy they run under.
 *
 * @module
 */

/** Swagger UI's files the page loads, by the name they are served under, with their type. */
export const SWAGGER_UI_FILES: Readonly<Record<string, string>> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
};

/**
 * Files of the package a compiled binary keeps besides {@link SWAGGER_UI_FILES}:
 * what loading `absolute-path.js` needs, and the licence the package is
 * distributed under (Apache-2.0 asks for LICENSE and NOTICE to travel with it).
 */
export const SWAGGER_UI_KEPT: readonly string[] = [
  "package.json",
  "absolute-path.js",
  "LICENSE",
  "NOTICE",
];

/** The page's own start script, served beside it (a CSP without 'unsafe-inline' forbids inline ones). */
export const START_SCRIPT = "urocket-docs.js";

/**
 * The policy of every answer under the docs path: scripts and styles from
 * urocket only, requests ("try it", the document) to urocket only, no
 * frames, no forms, no plugins.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/**
 * The folder of the installed `swagger-ui-dist` package: in Deno's npm
 * cache under `deno run`, inside the binary's embedded file system once
 * compiled. `absolute-path.js` is the package's own answer to "where am I"
 * and loads nothing else (its `index.js` would evaluate the 1.7 MB bundle
 * inside urocket).
 */
export async function swaggerUiDir(): Promise<string> {
  const { default: absolutePath } = await import("swagger-ui-dist/absolute-path.js");
  return (absolutePath as () => string)();
}

/** The reference page for the docs path `docs`; its files are fetched from beside it. */
export function pageHtml(docs: string, title: string): string {
  const at = escapeHtml(docs);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${at}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-spec="${at}/openapi.json"></div>
<script src="${at}/swagger-ui-bundle.js"></script>
<script src="${at}/${START_SCRIPT}"></script>
</body>
</html>
`;
}

/**
 * Starts Swagger UI on the document beside the page: no validator badge
 * (it would call a public service), "try it" requests go to the document's
 * `servers` entry, which urocket sets to its own prefix.
 */
export const START_SCRIPT_TEXT = `"use strict";
(function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-spec"),
    domNode: root,
    deepLinking: true,
    validatorUrl: null,
    displayRequestDuration: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
})();
`;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
