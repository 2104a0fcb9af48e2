import assert from "node:assert/strict";
import { E2E, fill, runUrocket, withUrocket } from "./_harness.ts";

/** Writes `files` into a new temporary folder, runs urocket on its config to the end. */
async function refused(files: Record<string, string>) {
  const dir = await Deno.makeTempDir({ prefix: "urocket-validation-" });
  try {
    for (const [path, text] of Object.entries(files)) {
      await Deno.mkdir(`${dir}/${path}`.replace(/\/[^/]*$/, ""), { recursive: true });
      await Deno.writeTextFile(`${dir}/${path}`, fill(text, dir));
    }
    const result = await runUrocket(["-c", `${dir}/urocket-service.yaml`]);
    return { ...result, dir };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const BROKEN = `openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /pets:
    post:
      operationId: addPet
      requestBody:
        content:
          application/json:
            schema: { $ref: "#/components/schemas/Pet" }
      responses:
        "201": { description: created }
components:
  schemas:
    Pet:
      type: object
      properties:
        age: { type: integer, minimum: "zero" }
`;

Deno.test({
  name: "urocket refuses to start when a schema an operation validates is broken, naming both",
  ...E2E,
  async fn() {
    const { code, stderr, dir } = await refused({
      "openapi.yaml": BROKEN,
      "urocket-service.yaml": `listen: 127.0.0.1:0
socket: "{{dir}}/u.sock"
paths:
  /pets:
    post: { validate-in: true, inject: { cmd: /bin/true } }
`,
    });
    assert.equal(code, 2, stderr);
    assert.ok(
      stderr.includes(
        `${dir}/openapi.yaml: /components/schemas/Pet/properties/age/minimum: ` +
          "Invalid schema: must be number (in a schema addPet validates)",
      ),
      stderr,
    );
  },
});

Deno.test({
  name: "urocket starts with a broken schema that no operation validates",
  ...E2E,
  async fn() {
    await withUrocket({
      openapi: BROKEN,
      config: `paths:\n  /pets:\n    post: { inject: { cmd: "{{fixtures}}/reply.sh" } }\n`,
    }, async (uro) => {
      assert.equal((await uro.call("/pets", { method: "POST" })).status, 200);
    });
  },
});

Deno.test({
  name: "urocket refuses to start when a file a $ref names is missing",
  ...E2E,
  async fn() {
    const { code, stderr, dir } = await refused({
      "openapi.yaml": `openapi: 3.1.0
info: { title: t, version: "1" }
paths:
  /pets:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: { $ref: "schemas/pets.yaml#/Pets" }
`,
      "urocket-service.yaml": `listen: 127.0.0.1:0
socket: "{{dir}}/u.sock"
paths:
  /pets:
    get: { inject: { cmd: /bin/true } }
`,
    });
    assert.equal(code, 2, stderr);
    assert.match(
      stderr,
      new RegExp(
        `${dir}/openapi\\.yaml: /paths/~1pets/get/responses/200/content/application~1json/` +
          `schema/\\$ref: \\$ref "schemas/pets\\.yaml#/Pets" does not resolve: cannot load ` +
          `${dir}/schemas/pets\\.yaml`,
      ),
    );
  },
});

Deno.test({
  name: "urocket refuses to start when a validated schema refers to another host",
  ...E2E,
  async fn() {
    const { code, stderr } = await refused({
      "openapi.yaml": `openapi: 3.1.0
info: { title: t, version: "1" }
paths:
  /pets:
    post:
      operationId: addPet
      requestBody:
        content:
          application/json:
            schema: { $ref: "https://schemas.example.com/pet.json" }
      responses:
        "201": { description: created }
`,
      "urocket-service.yaml": `listen: 127.0.0.1:0
socket: "{{dir}}/u.sock"
paths:
  /pets:
    post: { validate-in: true, inject: { cmd: /bin/true } }
`,
    });
    assert.equal(code, 2, stderr);
    assert.match(
      stderr,
      /schema\/\$ref: \$ref "https:\/\/schemas\.example\.com\/pet\.json" is on another host/,
    );
  },
});
