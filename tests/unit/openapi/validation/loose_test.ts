import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { parseDocumentText } from "../../../../lib/openapi/document.ts";
import {
  DocumentValidation,
  type PreparedOperation,
  type Verdict,
} from "../../../../lib/openapi/validation/mod.ts";

// One case each of what real public documents write and mainstream validators accept, which
// urocket refused or answered 500 for: ids inside examples, `enum: []`, a repeated enum value, a
// pattern valid only without the u flag, a format on another type, nullable without type, a
// required name that properties do not list, a null schema.

const encoder = new TextEncoder();

/** Prepares POST /x of a document whose request body schema is `schema` (YAML flow or block). */
function prepare(schema: string, version = "3.0.3", components = ""): PreparedOperation {
  const text = `openapi: ${version}
info: { title: t, version: "1" }
paths:
  /x:
    post:
      requestBody:
        content:
          application/json:
            schema: ${schema}
      responses:
        "200": { description: ok }
${components}`;
  const document = parseDocumentText(text, "/srv/api/openapi.yaml");
  return new DocumentValidation(document).prepare(
    { pointer: "/paths/~1x/post", name: "op" },
    { in: true, out: false },
  );
}

function check(prepared: PreparedOperation, body: unknown): Verdict {
  deepStrictEqual(prepared.problems, []);
  return prepared.validator.checkRequest({
    params: {},
    url: new URL("http://localhost/x"),
    headers: new Headers({ "content-type": "application/json" }),
    body: encoder.encode(JSON.stringify(body)),
  });
}

const pointers = (verdict: Verdict) => verdict.ok ? [] : verdict.errors.map((e) => e.pointer);

Deno.test("checkRequest() reads no id inside a 3.0 document's examples, however often repeated", () => {
  const prepared = prepare(
    '{ $ref: "#/components/schemas/A" }',
    "3.0.3",
    `components:
  schemas:
    A:
      type: object
      properties: { b: { $ref: "#/components/schemas/B" } }
      example: { id: "19f06b6a-3ace-4315-b086-499a0e521b76" }
    B:
      type: string
      example: { id: "19f06b6a-3ace-4315-b086-499a0e521b76" }
      x-sample: { id: "19f06b6a-3ace-4315-b086-499a0e521b76" }
`,
  );
  strictEqual(check(prepared, { b: "x" }).ok, true);
  deepStrictEqual(pointers(check(prepared, { b: 1 })), ["/b"]);
});

Deno.test("checkRequest() takes id for no keyword in 3.0: $refs beside it resolve in the document", () => {
  const prepared = prepare(
    '{ $ref: "#/components/schemas/A" }',
    "3.0.3",
    `components:
  schemas:
    A:
      id: "https://elsewhere.example.com/a.json"
      type: object
      properties: { b: { $ref: "#/components/schemas/B" } }
    B: { type: integer }
`,
  );
  strictEqual(check(prepared, { b: 1 }).ok, true);
  deepStrictEqual(pointers(check(prepared, { b: "x" })), ["/b"]);
});

Deno.test("checkRequest() reads no $id inside a 3.1 document's examples or extensions", () => {
  const prepared = prepare(
    '{ $ref: "#/components/schemas/A" }',
    "3.1.0",
    `components:
  schemas:
    A:
      type: object
      properties: { b: { $ref: "#/components/schemas/B" } }
      example: { $id: "https://a.example/x" }
      examples: [{ $id: "https://a.example/x" }]
    B:
      type: string
      example: { $id: "https://a.example/x" }
      x-sample: { $id: "https://a.example/x" }
      x-other: { $id: "https://a.example/x" }
`,
  );
  strictEqual(check(prepared, { b: "x" }).ok, true);
  deepStrictEqual(pointers(check(prepared, { b: 1 })), ["/b"]);
});

Deno.test("checkRequest() matches nothing against enum: [], in 3.0 and 3.1", () => {
  for (const version of ["3.0.3", "3.1.0"]) {
    const prepared = prepare("{ type: object, properties: { a: { enum: [] } } }", version);
    strictEqual(check(prepared, {}).ok, true, version);
    deepStrictEqual(pointers(check(prepared, { a: "x" })), ["/a"], version);
  }
});

Deno.test("checkRequest() accepts an enum that lists a value twice", () => {
  const prepared = prepare("{ type: string, enum: [a, b, a] }");
  strictEqual(check(prepared, "a").ok, true);
  strictEqual(check(prepared, "c").ok, false);
});

Deno.test("prepare() warns about a pattern valid only without the u flag, which then works", () => {
  const prepared = prepare(String.raw`{ type: string, pattern: '^[a-z0-9_\-\:]+$' }`);
  deepStrictEqual(prepared.warnings.map((w) => w.pointer), [
    "/paths/~1x/post/requestBody/content/application~1json/schema/pattern",
  ]);
  strictEqual(check(prepared, "a:b-c").ok, true);
  strictEqual(check(prepared, "a b").ok, false);
});

Deno.test("prepare() still refuses a pattern no ECMAScript engine compiles", () => {
  const prepared = prepare("{ type: string, pattern: '(unclosed' }");
  deepStrictEqual(prepared.problems.map((p) => p.pointer), [
    "/paths/~1x/post/requestBody/content/application~1json/schema/pattern",
  ]);
});

Deno.test("checkRequest() applies a string format to strings only", () => {
  const prepared = prepare("{ type: integer, format: date-time }");
  strictEqual(check(prepared, 5).ok, true);
  strictEqual(check(prepared, "5").ok, false);
});

Deno.test("checkRequest() lets null through a 3.0 nullable without type, and checks the rest", () => {
  const prepared = prepare("{ nullable: true, properties: { a: { type: integer } } }");
  strictEqual(check(prepared, null).ok, true);
  strictEqual(check(prepared, { a: 1 }).ok, true);
  deepStrictEqual(pointers(check(prepared, { a: "x" })), ["/a"]);
});

Deno.test("checkRequest() requires a name that properties do not list", () => {
  const prepared = prepare("{ type: object, required: [ghost], properties: { a: {} } }");
  strictEqual(check(prepared, { ghost: 0 }).ok, true);
  deepStrictEqual(pointers(check(prepared, {})), ["/ghost"]);
});

Deno.test("prepare() takes schema: null for no schema, with a warning, instead of throwing", () => {
  const prepared = prepare("null");
  ok(prepared.warnings.some((w) => /is null/.test(w.message)), JSON.stringify(prepared.warnings));
  strictEqual(check(prepared, { anything: [1] }).ok, true);
});

Deno.test("checkReply() accepts an empty 204 even where the document declares content for it", () => {
  const document = parseDocumentText(
    `openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /x:
    delete:
      responses:
        "204":
          description: gone
          content: { application/json: { schema: { type: object } } }
`,
    "/srv/api/openapi.yaml",
  );
  const prepared = new DocumentValidation(document).prepare(
    { pointer: "/paths/~1x/delete", name: "op" },
    { in: false, out: true },
  );
  deepStrictEqual(prepared.problems, []);
  const verdict = prepared.validator.checkReply({
    status: 204,
    headers: new Headers(),
    body: new Uint8Array(),
  });
  deepStrictEqual(verdict, { ok: true });
});

Deno.test("checkRequest() validates a oneOf whose discriminator maps to files not there, as without it", () => {
  // DigitalOcean's document as bundled by the APIs-guru directory: the mapping still names the
  // files the bundler inlined.
  const prepared = prepare(
    `
              oneOf:
                - $ref: "#/components/schemas/A"
                - $ref: "#/components/schemas/MX"
              discriminator:
                propertyName: type
                mapping: { A: "models/types.yml#/a", MX: "models/types.yml#/mx" }`,
    "3.0.3",
    `components:
  schemas:
    A: { type: object, required: [type, ip], properties: { type: { enum: [A] }, ip: { type: string } } }
    MX: { type: object, required: [type, priority], properties: { type: { enum: [MX] }, priority: { type: integer } } }
`,
  );
  strictEqual(prepared.warnings.length, 2);
  strictEqual(check(prepared, { type: "MX", priority: 10 }).ok, true);
  deepStrictEqual(pointers(check(prepared, { type: "MX", priority: "high" })), ["", "/priority"]);
});
