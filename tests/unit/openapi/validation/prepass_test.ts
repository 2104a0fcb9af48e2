import { deepStrictEqual, match, strictEqual } from "node:assert/strict";
import { parseDocumentText } from "../../../../lib/openapi/document.ts";
import {
  DocumentValidation,
  type Enabled,
  type PreparedOperation,
} from "../../../../lib/openapi/validation/mod.ts";

const FILE = "/srv/api/openapi.yaml";

function prepare(doc: string, enabled: Enabled = { in: true, out: true }): PreparedOperation[] {
  const document = parseDocumentText(doc, FILE);
  const validation = new DocumentValidation(document);
  return document.operations.map((op) =>
    validation.prepare({ pointer: op.pointer, name: op.operationId ?? op.path }, enabled)
  );
}

function head(version: string): string {
  return `openapi: ${version}\ninfo: { title: t, version: "1" }\n`;
}

Deno.test("DocumentValidation.prepare() names the operation and the pointer of a broken schema", () => {
  const [op] = prepare(
    head("3.0.3") + `paths:
  /pets:
    post:
      operationId: addPet
      requestBody:
        content:
          application/json:
            schema: { $ref: "#/components/schemas/Pet" }
      responses: {}
components:
  schemas:
    Pet:
      type: object
      properties:
        age: { type: integer, minimum: "zero" }
        kind: { type: animal }
`,
  );
  deepStrictEqual(op.problems.map((p) => [p.file, p.pointer]), [
    [FILE, "/components/schemas/Pet/properties/age/minimum"],
    [FILE, "/components/schemas/Pet/properties/kind/type"],
  ]);
  match(
    op.problems[0].message,
    /^Invalid schema: must be number \(in a schema addPet validates\)$/,
  );
});

Deno.test("DocumentValidation.prepare() checks only the directions an operation validates", () => {
  const doc = head("3.1.0") + `paths:
  /a:
    get:
      operationId: a
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: { type: object, maxProperties: -1 }
`;
  strictEqual(prepare(doc, { in: true, out: false })[0].problems.length, 0);
  deepStrictEqual(prepare(doc, { in: false, out: true })[0].problems.map((p) => p.pointer), [
    "/paths/~1a/get/responses/200/content/application~1json/schema/maxProperties",
  ]);
});

Deno.test("DocumentValidation.prepare() accepts what OpenAPI 3.0 documents commonly write", () => {
  const [op] = prepare(
    head("3.0.3") + `paths:
  /a:
    post:
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: []
              properties:
                n: { type: number, minimum: 0, exclusiveMinimum: true }
                s: { type: string, nullable: true, example: "x" }
      responses: {}
`,
  );
  deepStrictEqual(op.problems, []);
  deepStrictEqual(op.warnings, []);
});

Deno.test("DocumentValidation.prepare() refuses a $ref to another host and a bad pattern", () => {
  const [op] = prepare(
    head("3.1.0") + `paths:
  /a:
    post:
      requestBody:
        content:
          application/json:
            schema:
              properties:
                remote: { $ref: "https://example.com/schemas/x.json" }
                code: { type: string, pattern: "[a-" }
      responses: {}
`,
  );
  deepStrictEqual(op.problems.map((p) => p.pointer), [
    "/paths/~1a/post/requestBody/content/application~1json/schema/properties/remote/$ref",
    "/paths/~1a/post/requestBody/content/application~1json/schema/properties/code/pattern",
  ]);
  match(op.problems[0].message, /on another host, which urocket never fetches/);
  match(op.problems[1].message, /^Invalid pattern "\[a-": /);
});

Deno.test("DocumentValidation.prepare() sets aside a discriminator mapping to no schema, warning", () => {
  const [op] = prepare(
    head("3.0.3") + `paths:
  /a:
    post:
      requestBody:
        content:
          application/json:
            schema: { $ref: "#/components/schemas/Pet" }
      responses: {}
components:
  schemas:
    Pet:
      type: object
      discriminator: { propertyName: kind, mapping: { dog: Dog, cat: "#/components/schemas/Cat" } }
    Dog: { type: object }
`,
  );
  deepStrictEqual(op.problems, []);
  deepStrictEqual(op.warnings.map((w) => w.pointer), [
    "/components/schemas/Pet/discriminator/mapping/cat",
  ]);
  match(op.warnings[0].message, /does not resolve: the discriminator is set aside/);
});

Deno.test("DocumentValidation.prepare() checks a schema used by many operations once", () => {
  const ops = prepare(
    head("3.0.3") + `paths:
  /a:
    post:
      operationId: one
      requestBody: { content: { application/json: { schema: { $ref: "#/components/schemas/Bad" } } } }
      responses: {}
    put:
      operationId: two
      requestBody: { content: { application/json: { schema: { $ref: "#/components/schemas/Bad" } } } }
      responses: {}
components:
  schemas:
    Bad: { type: object, required: name }
`,
  );
  deepStrictEqual(ops.map((op) => op.problems.length), [1, 0]);
});

Deno.test("DocumentValidation.prepare() warns once per operation about bodies it cannot validate", () => {
  const [op] = prepare(
    head("3.0.3") + `paths:
  /upload:
    post:
      operationId: upload
      requestBody:
        content:
          multipart/form-data: { schema: { type: object } }
          application/xml: { schema: { type: object } }
          application/octet-stream: {}
      responses:
        "200":
          description: ok
          content:
            text/xml: { schema: { type: string } }
`,
  );
  deepStrictEqual(op.problems, []);
  deepStrictEqual(op.warnings.map((w) => [w.pointer, w.message]), [[
    "/paths/~1upload/post",
    "upload: bodies of type multipart/form-data, application/xml, text/xml cannot be validated " +
    "and pass unchecked",
  ]]);
});

Deno.test("DocumentValidation.prepare() warns once about a format it does not know", () => {
  const ops = prepare(
    head("3.0.3") + `paths:
  /a:
    post:
      operationId: a
      requestBody:
        content:
          application/json:
            schema:
              properties:
                phone: { type: string, format: phone }
                other: { type: string, format: phone }
                mail: { type: string, format: email }
      responses: {}
    put:
      operationId: b
      requestBody:
        content:
          application/json: { schema: { type: string, format: phone } }
      responses: {}
`,
  );
  deepStrictEqual(ops.flatMap((op) => op.warnings.map((w) => w.message)), [
    'Format "phone" is unknown to urocket: values are not checked against it',
  ]);
});
