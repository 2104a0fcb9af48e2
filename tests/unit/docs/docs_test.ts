import assert from "node:assert/strict";
import { parseConfig } from "../../../lib/config/mod.ts";
import { BUNDLED_KEY, bundleDocument, docsProblems } from "../../../lib/docs/mod.ts";
import type { Json } from "../../../lib/openapi/document.ts";
import { Router } from "../../../lib/openapi/router.ts";

const ROOT = "file:///srv/api/openapi.yaml";

/** A bundled document, read member by member. */
// deno-lint-ignore no-explicit-any
type Loose = any;

Deno.test("bundleDocument() carries the files of a split document and points every $ref into them", () => {
  const files = new Map<string, Json>([
    [ROOT, {
      openapi: "3.0.3",
      servers: [{ url: "https://api.example.com/v1" }],
      paths: {
        "/pets": { $ref: "paths/pets.yaml" },
        "/owners": {
          servers: [{ url: "https://elsewhere.example.com" }],
          get: { responses: { "200": { $ref: "#/components/responses/Ok" } } },
        },
      },
      components: { responses: { Ok: { description: "ok" } } },
    }],
    ["file:///srv/api/paths/pets.yaml", {
      get: {
        responses: {
          "200": {
            description: "pets",
            content: { "application/json": { schema: { $ref: "../schemas/pet.yaml#/Pet" } } },
          },
        },
      },
    }],
    ["file:///srv/api/schemas/pet.yaml", {
      Pet: {
        type: "object",
        properties: { parent: { $ref: "#/Pet" }, tag: { $ref: "https://example.com/tag.json" } },
        example: { $ref: "not a reference: data" },
      },
    }],
  ]);
  const bundled = bundleDocument(files, ROOT, "/v1") as Loose;
  assert.deepEqual(bundled.servers, [{ url: "/v1" }]);
  assert.equal(bundled.paths["/owners"].servers, undefined);
  assert.equal(bundled.paths["/pets"].$ref, `#/${BUNDLED_KEY}/paths~1pets.yaml`);
  assert.equal(bundled.paths["/owners"].get.responses["200"].$ref, "#/components/responses/Ok");
  const carried = bundled[BUNDLED_KEY];
  assert.deepEqual(Object.keys(carried), ["paths/pets.yaml", "schemas/pet.yaml"]);
  assert.equal(
    carried["paths/pets.yaml"].get.responses["200"].content["application/json"].schema.$ref,
    `#/${BUNDLED_KEY}/schemas~1pet.yaml/Pet`,
  );
  const pet = carried["schemas/pet.yaml"].Pet;
  assert.equal(pet.properties.parent.$ref, `#/${BUNDLED_KEY}/schemas~1pet.yaml/Pet`);
  assert.equal(pet.properties.tag.$ref, "https://example.com/tag.json");
  assert.equal(pet.example.$ref, "not a reference: data");
  // The loaded files are left as they were.
  assert.equal((files.get(ROOT) as Loose).paths["/pets"].$ref, "paths/pets.yaml");
});

Deno.test("bundleDocument() names a file outside the document's folder with ../ and serves / without a prefix", () => {
  const files = new Map<string, Json>([
    [ROOT, { openapi: "3.1.0", paths: { "/a": { $ref: "../shared/a.yaml" } } }],
    ["file:///srv/shared/a.yaml", { get: { responses: {} } }],
  ]);
  const bundled = bundleDocument(files, ROOT, "") as Loose;
  assert.deepEqual(bundled.servers, [{ url: "/" }]);
  assert.equal(bundled.paths["/a"].$ref, `#/${BUNDLED_KEY}/..~1shared~1a.yaml`);
  assert.ok(bundled[BUNDLED_KEY]["../shared/a.yaml"]);
});

function router(prefix: string, ...routes: [string, string][]) {
  return new Router(prefix, routes.map(([method, path]) => ({ path, method, value: null })));
}

Deno.test("docsProblems() refuses a docs path an operation would answer, naming the key and the operation", () => {
  const file = "/srv/urocket-service.yaml";
  assert.deepEqual(docsProblems(undefined, file, router("", ["get", "/{any}"])), []);
  assert.deepEqual(docsProblems("/docs", file, router("", ["get", "/pets"])), []);
  // Under another prefix, the operations do not reach the docs path.
  assert.deepEqual(docsProblems("/docs", file, router("/v1", ["get", "/{any}"])), []);
  const [problem] = docsProblems("/docs", file, router("", ["post", "/docs/{name}"]));
  assert.equal(problem.file, file);
  assert.equal(problem.key, "docs");
  assert.match(
    problem.message,
    /"\/docs\/openapi\.json" is a path of the API reference, but POST \/docs\/\{name\}/,
  );
  assert.equal(docsProblems("/docs", file, router("", ["get", "/{page}"])).length, 1);
  assert.equal(docsProblems("/v1/docs", file, router("/v1", ["get", "/docs"])).length, 1);
});

Deno.test("parseConfig() takes docs as a plain path and refuses anything else", async () => {
  const file = "/srv/urocket-service.yaml";
  assert.equal((await parseConfig("docs: /api/docs\n", { file, env: {} })).docs, "/api/docs");
  assert.equal((await parseConfig("{}\n", { file, env: {} })).docs, undefined);
  for (const bad of ["docs", "/docs/", "/", "/docs/{x}", "/docs?x", "/a/../docs", "true"]) {
    await assert.rejects(
      parseConfig(`docs: ${JSON.stringify(bad === "true" ? true : bad)}\n`, { file, env: {} }),
      (error: Error) => {
        assert.match(error.message, /docs: /, bad);
        return true;
      },
    );
  }
});
