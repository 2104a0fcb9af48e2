import assert from "node:assert/strict";
import { E2E, withUrocket } from "./_harness.ts";
import { generatedSplitDocument } from "./_split.ts";

// A document split over files, as generators and style guides write it: the
// path item, its parameter and its request body each live in another file.

Deno.test({
  name: "urocket serves an operation whose path item is in another file and validates its body",
  ...E2E,
  async fn() {
    await withUrocket({
      openapi: `openapi: 3.0.3
info: { title: split, version: "1" }
servers: [{ url: /v1 }]
paths:
  /pets/{petId}: { $ref: "paths/pet.yaml" }
`,
      files: {
        "paths/pet.yaml": `parameters: [{ $ref: "../parameters.yaml#/PetId" }]
put:
  operationId: putPet
  requestBody: { $ref: "../bodies.yaml#/Pet" }
  responses:
    "200": { description: ok, content: { application/json: {} } }
`,
        "parameters.yaml": "PetId: { name: petId, in: path, schema: { type: integer } }\n",
        "bodies.yaml": `Pet:
  required: true
  content:
    application/json:
      schema: { type: object, required: [name], properties: { name: { type: string } } }
`,
      },
      config: `paths:
  /pets/{petId}:
    put: { validate-in: true, inject: { cmd: "{{fixtures}}/echo.ts" } }
`,
    }, async (uro) => {
      const json = { "content-type": "application/json" };
      const served = await uro.call("/v1/pets/7", {
        method: "PUT",
        headers: json,
        body: '{"name":"Rex"}',
      });
      assert.equal(served.status, 200, served.text);
      const echoed = served.json();
      assert.equal(echoed.env.PATH_PARAM_PETID, "7");
      assert.equal(echoed.stdin, '{"name":"Rex"}');

      const refused = await uro.call("/v1/pets/seven", {
        method: "PUT",
        headers: json,
        body: '{"name":1}',
      });
      assert.equal(refused.status, 400, refused.text);
      assert.equal(refused.headers.get("content-type"), "application/problem+json");
      const problem = refused.json();
      assert.deepEqual(
        problem.errors.map((e: { in: string; pointer: string }) => `${e.in} ${e.pointer}`),
        ["path /petId", "body /name"],
      );
      const access = await uro.waitForLog((l) =>
        l.msg === "access" && l.req_id === refused.headers.get("x-request-id")
      );
      // Refused before any process starts.
      assert.equal(access.outcome, "rejected");
    });
  },
});

Deno.test({
  name: "urocket serves a document split over 2,400 generated files, saying once what is unwired",
  ...E2E,
  async fn() {
    const { "openapi.yaml": openapi, ...files } = generatedSplitDocument(600);
    await withUrocket({
      openapi,
      files,
      config: `paths:
  /things7/{id}:
    put: { validate-in: true, inject: { cmd: "{{fixtures}}/echo.ts" } }
`,
    }, async (uro) => {
      const start = uro.logs[0];
      assert.deepEqual(
        [start.msg, start.base_path, start.routes, start.operations],
        ["start", "/v2", 600, 1],
      );
      const json = { "content-type": "application/json" };
      const served = await uro.call("/v2/things7/3", {
        method: "PUT",
        headers: json,
        body: '{"name":"Rex"}',
      });
      assert.equal(served.status, 200, served.text);
      assert.equal(served.json().env.PATH_PARAM_ID, "3");
      const refused = await uro.call("/v2/things7/3", { method: "PUT", headers: json, body: "{}" });
      assert.equal(refused.status, 400, refused.text);
      const unwired = await uro.call("/v2/things8/3", { method: "PUT", headers: json, body: "{}" });
      assert.equal(unwired.status, 501, unwired.text);
      // One line for the 599 operations without config, not one each.
      const warnings = uro.find((l) => l.msg === "config_warning");
      assert.deepEqual(warnings.map((l) => [l.key, l.unwired, l.message]), [[
        "paths",
        599,
        "599 operations without config answer 501 (urocket check --verbose lists them)",
      ]]);
    });
  },
});
