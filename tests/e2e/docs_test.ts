/**
 * The API reference on the front (`docs`): the document as urocket routes
 * it, Swagger UI's files served by urocket itself, and a docs path that
 * would hide an operation refused at start.
 */

import assert from "node:assert/strict";
import { parse } from "yaml";
import { E2E, makeFolder, runUrocket, withUrocket } from "./_harness.ts";

const SPLIT = {
  openapi: `openapi: 3.0.3
info: { title: split, version: "1" }
servers: [{ url: "https://api.example.com/v1" }]
paths:
  /pets/{petId}: { $ref: "paths/pet.yaml" }
`,
  files: {
    "paths/pet.yaml": `parameters: [{ $ref: "../parameters.yaml#/PetId" }]
get:
  operationId: getPet
  responses:
    "200": { description: ok, content: { application/json: {} } }
`,
    "parameters.yaml": "PetId: { name: petId, in: path, schema: { type: integer } }\n",
  },
};

Deno.test({
  name:
    "docs serves the split document as one file whose server is urocket's prefix, and the page's files",
  ...E2E,
  async fn() {
    await withUrocket({
      ...SPLIT,
      config: `docs: /docs
paths:
  /pets/{petId}:
    get: { inject: { cmd: "{{fixtures}}/reply.sh" } }
`,
    }, async (uro) => {
      const json = await fetch(`${uro.url}/docs/openapi.json`);
      assert.equal(json.status, 200);
      assert.match(json.headers.get("content-type")!, /^application\/json/);
      const document = await json.json();
      assert.deepEqual(document.servers, [{ url: "/v1" }]);
      assert.equal(document.paths["/pets/{petId}"].$ref, "#/x-urocket-bundled/paths~1pet.yaml");
      const item = document["x-urocket-bundled"]["paths/pet.yaml"];
      assert.equal(item.parameters[0].$ref, "#/x-urocket-bundled/parameters.yaml/PetId");
      assert.equal(document["x-urocket-bundled"]["parameters.yaml"].PetId.name, "petId");

      const yaml = await fetch(`${uro.url}/docs/openapi.yaml`);
      assert.match(yaml.headers.get("content-type")!, /^application\/yaml/);
      assert.deepEqual(parse(await yaml.text()), document);

      const page = await fetch(`${uro.url}/docs`);
      assert.equal(page.status, 200);
      const csp = page.headers.get("content-security-policy")!;
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /script-src 'self'(;|$)/);
      assert.match(csp, /connect-src 'self'(;|$)/);
      const html = await page.text();
      assert.match(html, /<title>split: API reference<\/title>/);
      for (
        const [file, type] of [["swagger-ui-bundle.js", "text/javascript"], [
          "swagger-ui.css",
          "text/css",
        ]]
      ) {
        assert.ok(html.includes(`/docs/${file}`), file);
        const asset = await fetch(`${uro.url}/docs/${file}`);
        assert.equal(asset.status, 200, file);
        assert.match(asset.headers.get("content-type")!, new RegExp(`^${type}`));
        assert.ok((await asset.arrayBuffer()).byteLength > 100_000, `${file} is Swagger UI's`);
        const again = await fetch(`${uro.url}/docs/${file}`, {
          headers: { "if-none-match": asset.headers.get("etag")! },
        });
        await again.body?.cancel();
        assert.equal(again.status, 304);
      }

      const post = await uro.call("/docs", { method: "POST" });
      assert.equal(post.status, 405);
      assert.equal(post.headers.get("allow"), "GET, HEAD");
      // Other paths under the docs path are the front's, as ever.
      assert.equal((await uro.call("/docs/elsewhere")).status, 404);
      assert.equal((await uro.call("/v1/pets/7")).status, 200);
    });
  },
});

Deno.test({
  name: "docs serves the document with base-path as its server when the config overrides it",
  ...E2E,
  async fn() {
    await withUrocket({
      ...SPLIT,
      config: `docs: /docs
base-path: /mounted
paths:
  /pets/{petId}:
    get: { inject: { cmd: "{{fixtures}}/reply.sh" } }
`,
    }, async (uro) => {
      const document = await (await fetch(`${uro.url}/docs/openapi.json`)).json();
      assert.deepEqual(document.servers, [{ url: "/mounted" }]);
      // "Try it" builds its URLs from that server: they reach the operation.
      assert.equal((await uro.call("/mounted/pets/7")).status, 200);
    });
  },
});

Deno.test({
  name: "without docs, the front serves no reference page",
  ...E2E,
  async fn() {
    await withUrocket({
      config: 'paths:\n  /run:\n    post:\n      inject: { cmd: "{{fixtures}}/reply.sh" }\n',
    }, async (uro) => {
      for (const path of ["/docs", "/docs/openapi.json"]) {
        const answer = await uro.call(path);
        assert.equal(answer.status, 404, path);
        assert.equal(answer.headers.get("content-type"), "application/problem+json");
      }
    });
  },
});

Deno.test({
  name:
    "a docs path that an operation of the document would answer refuses the start, naming file and key",
  ...E2E,
  async fn() {
    const dir = await makeFolder("urocket-docs-clash-", {
      "openapi.yaml": `openapi: 3.0.3
info: { title: clash, version: "1" }
paths:
  /reference/{page}:
    get:
      responses: { "200": { description: ok } }
`,
      "urocket-service.yaml": "docs: /reference\nlisten: 127.0.0.1:0\nsocket: {{dir}}/u.sock\n",
    });
    try {
      const { code, stderr } = await runUrocket(["-c", `${dir}/urocket-service.yaml`]);
      assert.equal(code, 2, stderr);
      assert.match(
        stderr,
        new RegExp(
          `${dir}/urocket-service\\.yaml: docs: "/reference/openapi\\.json" is a path of the API ` +
            "reference, but GET /reference/\\{page\\} of the OpenAPI document answers there too",
        ),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
