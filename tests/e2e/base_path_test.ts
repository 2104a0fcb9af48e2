/**
 * The base path: the path of `servers[0].url` prefixes every route, as in
 * Swagger Petstore 3 (`/api/v3`), unless `base-path` says otherwise; the
 * start line says which, and a 404 that only missed the prefix says so.
 */

import assert from "node:assert/strict";
import { E2E, fill, type LogLine, type Urocket, withUrocket } from "./_harness.ts";

/** A few operations of Swagger Petstore 3, with its `servers` entry. */
const PETSTORE = `openapi: 3.0.4
info: { title: Swagger Petstore - OpenAPI 3.0, version: 1.0.27 }
servers: [{ url: /api/v3 }]
paths:
  /pet/findByStatus:
    get:
      operationId: findPetsByStatus
      parameters:
        - name: status
          in: query
          required: false
          explode: true
          schema: { type: string, default: available, enum: [available, pending, sold] }
      responses:
        "200": { description: successful operation }
        "400": { description: Invalid status value }
  /pet/{petId}:
    get:
      operationId: getPetById
      parameters: [{ name: petId, in: path, required: true, schema: { type: integer } }]
      responses: { "200": { description: successful operation } }
  /store/inventory:
    get:
      operationId: getInventory
      responses: { "200": { description: successful operation } }
`;

const CONFIG = `paths:
  /pet/findByStatus:
    get: { validate-in: true, inject: { cmd: "{{fixtures}}/echo.ts" } }
`;

/** The problem `path` is answered with, which must be a 404. */
async function notFound(uro: Urocket, path: string): Promise<string> {
  const answer = await uro.call(path);
  assert.equal(answer.status, 404, `${path}: ${answer.text}`);
  assert.equal(answer.headers.get("content-type"), "application/problem+json");
  return answer.json().detail;
}

Deno.test({
  name:
    "urocket routes under the path of servers[0].url, says so at start, and in a 404 that missed it",
  ...E2E,
  async fn() {
    await withUrocket({ openapi: PETSTORE, config: CONFIG }, async (uro) => {
      const start = uro.logs[0];
      assert.deepEqual([start.base_path, start.routes, start.operations], ["/api/v3", 3, 1]);
      const served = await uro.call("/api/v3/pet/findByStatus?status=available");
      assert.equal(served.status, 200, served.text);
      assert.equal(served.json().env.QUERY_STRING, "status=available");
      assert.equal(
        await notFound(uro, "/pet/findByStatus?status=available"),
        'No operation at "/pet/findByStatus" (the base path is "/api/v3"): ' +
          'did you mean "/api/v3/pet/findByStatus"?',
      );
      assert.equal(
        await notFound(uro, "/api/v2/pet/7"),
        'No operation at "/api/v2/pet/7" (the base path is "/api/v3"): ' +
          'did you mean "/api/v3/pet/7"?',
      );
      assert.equal(await notFound(uro, "/owners"), 'No operation at "/owners"');
    });
  },
});

Deno.test({
  name: "urocket serves at the root with base-path: /, and a reload can move the routes",
  ...E2E,
  async fn() {
    await withUrocket({ openapi: PETSTORE, config: `base-path: /\n${CONFIG}` }, async (uro) => {
      assert.equal(uro.logs[0].base_path, "/");
      const served = await uro.call("/pet/findByStatus?status=available");
      assert.equal(served.status, 200, served.text);
      assert.equal(
        await notFound(uro, "/api/v3/pet/findByStatus"),
        'No operation at "/api/v3/pet/findByStatus" (the base path is "/"): ' +
          'did you mean "/pet/findByStatus"?',
      );

      const text = `socket: ${uro.socket}\nlisten: 127.0.0.1:0\nshutdown-delay: 0s\n` +
        `base-path: /petstore/\n${fill(CONFIG, uro.dir)}`;
      await Deno.writeTextFile(`${uro.dir}/next.yaml`, text);
      await Deno.rename(`${uro.dir}/next.yaml`, `${uro.dir}/urocket-service.yaml`);
      Deno.kill(uro.pid, "SIGHUP");
      const line: LogLine = await uro.waitForLog((l) => l.msg === "reload", "a reload line");
      assert.deepEqual([line.outcome, line.settings], ["applied", ["base-path"]]);
      assert.equal((await uro.call("/petstore/pet/findByStatus")).status, 200);
      await notFound(uro, "/pet/findByStatus");
    });
  },
});
