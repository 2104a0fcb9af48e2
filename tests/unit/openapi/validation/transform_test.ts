import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { parse } from "yaml";
import type { Json, JsonObject } from "../../../../lib/openapi/json.ts";
import { SchemaSet } from "../../../../lib/openapi/validation/schemas.ts";
import {
  type Direction,
  DIRECTIONAL_REQUIRED,
} from "../../../../lib/openapi/validation/directional.ts";
import { DISCRIMINATOR, transformFiles } from "../../../../lib/openapi/validation/transform.ts";

const URL_ = "file:///srv/api/openapi.yaml";

function schemasOf(yaml: string): JsonObject {
  return { openapi: "3.0.3", components: { schemas: parse(yaml) } };
}

/** The rewritten `components.schemas` of a one-file document. */
function transformed(yaml: string, options: { version?: "3.0" | "3.1" } = {}): JsonObject {
  const files = new Map<string, Json>([[URL_, schemasOf(yaml)]]);
  const out = transformFiles(files, { version: options.version ?? "3.0" });
  return ((out.get(URL_) as JsonObject).components as JsonObject).schemas as JsonObject;
}

/** Whether `data` is valid against components.schemas[name] of a 3.0 document. */
function valid(yaml: string, name: string, data: unknown, view: Direction = "request"): boolean {
  const set = new SchemaSet({
    version: "3.0",
    files: new Map([[URL_, schemasOf(yaml)]]),
  });
  return set.check(`${URL_}#/components/schemas/${name}`, data, { view, coerce: false }) === null;
}

Deno.test("transformFiles() turns nullable beside a type into a type list, enum included", () => {
  deepStrictEqual(
    transformed(`
A: { type: string, nullable: true, enum: [x, y] }
B: { type: integer, nullable: false }
`),
    {
      A: { type: ["string", "null"], enum: ["x", "y", null] },
      B: { type: "integer" },
    },
  );
});

Deno.test("transformFiles() wraps nullable beside $ref or allOf, which has no type to extend", () => {
  const out = transformed(`
Owner: { type: object }
A: { nullable: true, allOf: [{ $ref: "#/components/schemas/Owner" }] }
B: { $ref: "#/components/schemas/Owner", nullable: true }
`);
  deepStrictEqual(out.A, {
    anyOf: [{ allOf: [{ $ref: "#/components/schemas/Owner" }] }, { type: "null" }],
  });
  deepStrictEqual(out.B, { anyOf: [{ $ref: "#/components/schemas/Owner" }, { type: "null" }] });
});

Deno.test("the nullable rewrite lets Ajv accept null beside allOf and still check the object", () => {
  const yaml = `
Owner: { type: object, required: [email], properties: { email: { type: string } } }
A: { nullable: true, allOf: [{ $ref: "#/components/schemas/Owner" }] }
`;
  strictEqual(valid(yaml, "A", null), true);
  strictEqual(valid(yaml, "A", { email: "a@b.c" }), true);
  strictEqual(valid(yaml, "A", {}), false);
  strictEqual(valid(yaml, "A", "text"), false);
});

Deno.test("transformFiles() drops nullable in 3.1, where it means nothing", () => {
  deepStrictEqual(transformed("A: { type: string, nullable: true }", { version: "3.1" }), {
    A: { type: "string" },
  });
});

Deno.test("transformFiles() moves readOnly and writeOnly names out of required, by direction", () => {
  const yaml = `
Id: { type: string, readOnly: true }
Pet:
  type: object
  required: [id, ref, name, secret]
  properties:
    id: { type: integer, readOnly: true }
    ref: { $ref: "#/components/schemas/Id" }
    name: { type: string }
    secret: { type: string, writeOnly: true }
`;
  deepStrictEqual(transformed(yaml).Pet, {
    type: "object",
    required: ["name"],
    [DIRECTIONAL_REQUIRED]: { request: ["secret"], response: ["id", "ref"] },
    properties: parse(yaml).Pet.properties,
  });
});

Deno.test("a readOnly property is required in replies only, a writeOnly one in requests only", () => {
  const yaml = `
Pet:
  type: object
  required: [id, secret]
  properties:
    id: { type: integer, readOnly: true }
    secret: { type: string, writeOnly: true }
`;
  strictEqual(valid(yaml, "Pet", { secret: "s" }, "request"), true);
  strictEqual(valid(yaml, "Pet", { id: 1 }, "request"), false);
  strictEqual(valid(yaml, "Pet", { id: 1 }, "response"), true);
  strictEqual(valid(yaml, "Pet", { secret: "s" }, "response"), false);
});

Deno.test("transformFiles() removes a required list that only named readOnly properties", () => {
  const out = transformed(`
A: { type: object, required: [id], properties: { id: { type: string, readOnly: true } } }
`);
  strictEqual("required" in (out.A as JsonObject), false);
  deepStrictEqual((out.A as JsonObject)[DIRECTIONAL_REQUIRED], { request: [], response: ["id"] });
});

Deno.test("transformFiles() turns a discriminator over oneOf into a mapping of URIs", () => {
  const out = transformed(`
Cat: { type: object }
Dog: { type: object }
Pet:
  oneOf: [{ $ref: "#/components/schemas/Cat" }, { $ref: "#/components/schemas/Dog" }]
  discriminator:
    propertyName: kind
    mapping: { dog: "#/components/schemas/Dog", kitty: Cat }
`);
  deepStrictEqual(out.Pet, {
    [DISCRIMINATOR]: {
      propertyName: "kind",
      mapping: {
        Cat: `${URL_}#/components/schemas/Cat`,
        Dog: `${URL_}#/components/schemas/Dog`,
        dog: `${URL_}#/components/schemas/Dog`,
        kitty: `${URL_}#/components/schemas/Cat`,
      },
    },
  });
});

Deno.test("transformFiles() keeps oneOf when a branch is inline: there is no name to select it", () => {
  const out = transformed(`
Pet:
  oneOf: [{ type: object }, { $ref: "#/components/schemas/Dog" }]
  discriminator: { propertyName: kind }
Dog: { type: object }
`);
  deepStrictEqual(out.Pet, { oneOf: [{ type: "object" }, { $ref: "#/components/schemas/Dog" }] });
});

Deno.test("transformFiles() maps a base discriminator to the schemas that extend it", () => {
  const out = transformed(`
Pet:
  type: object
  discriminator: { propertyName: kind }
Dog: { allOf: [{ $ref: "#/components/schemas/Pet" }, { type: object }] }
Other: { allOf: [{ type: object }] }
`);
  deepStrictEqual((out.Pet as JsonObject)[DISCRIMINATOR], {
    propertyName: "kind",
    mapping: {
      Dog: `${URL_}#/components/schemas/Dog`,
      Pet: `${URL_}#/components/schemas/Pet`,
    },
    self: `${URL_}#/components/schemas/Pet`,
  });
});

Deno.test("the discriminator rewrite validates against the selected schema only", () => {
  const yaml = `
Pet:
  type: object
  required: [kind]
  properties: { kind: { type: string } }
  discriminator: { propertyName: kind, mapping: { dog: Dog, cat: Cat } }
Dog:
  allOf:
    - $ref: "#/components/schemas/Pet"
    - { type: object, required: [barks], properties: { barks: { type: boolean } } }
Cat:
  allOf:
    - $ref: "#/components/schemas/Pet"
    - { type: object, required: [lives], properties: { lives: { type: integer } } }
`;
  strictEqual(valid(yaml, "Pet", { kind: "dog", barks: true }), true);
  strictEqual(valid(yaml, "Pet", { kind: "dog", lives: 9 }), false, "a dog must bark");
  strictEqual(valid(yaml, "Pet", { kind: "cat", lives: 9 }), true);
  strictEqual(valid(yaml, "Pet", { kind: "cow" }), false, "cow names no schema");
  strictEqual(valid(yaml, "Dog", { kind: "dog", barks: false }), true, "a case refers back");
});

Deno.test("transformFiles() leaves the user's document unchanged, examples out, data as written", () => {
  const original = schemasOf(`
A:
  type: string
  nullable: true
  example: { nullable: true, discriminator: { propertyName: x } }
  default: null
B:
  type: object
  properties:
    nullable: { type: boolean }
    discriminator: { type: object }
`);
  const copy = structuredClone(original);
  const files = new Map<string, Json>([[URL_, original]]);
  const out = transformFiles(files, { version: "3.0" });
  deepStrictEqual(original, copy);
  const schemas = ((out.get(URL_) as JsonObject).components as JsonObject).schemas as JsonObject;
  deepStrictEqual(schemas.A, { type: ["string", "null"], default: null });
  deepStrictEqual(schemas.B, ((copy.components as JsonObject).schemas as JsonObject).B);
});

Deno.test("the discriminator rewrite of a oneOf refuses a missing or unmapped value", () => {
  const yaml = `
Card: { type: object, required: [last4], properties: { last4: { type: string } } }
Cash: { type: object }
Payment:
  oneOf: [{ $ref: "#/components/schemas/Card" }, { $ref: "#/components/schemas/Cash" }]
  discriminator: { propertyName: method, mapping: { card: Card, cash: Cash } }
`;
  strictEqual(valid(yaml, "Payment", { method: "card", last4: "4242" }), true);
  strictEqual(valid(yaml, "Payment", { method: "Card", last4: "4242" }), true, "implicit name");
  strictEqual(valid(yaml, "Payment", { method: "card" }), false, "a card needs last4");
  strictEqual(valid(yaml, "Payment", { method: "cash" }), true);
  strictEqual(valid(yaml, "Payment", { method: "cheque" }), false);
  strictEqual(valid(yaml, "Payment", {}), false);
});

Deno.test("transformFiles() makes $refs into files absolute, so a file named whole resolves its own $refs", () => {
  const files = new Map<string, Json>([
    [URL_, {
      openapi: "3.0.3",
      components: { schemas: { Pet: { $ref: "models/pet.yml" } } },
    }],
    ["file:///srv/api/models/pet.yml", {
      type: "object",
      required: ["owner", "tag"],
      properties: { owner: { $ref: "../shared/owner.yml" }, tag: { $ref: "#/definitions/Tag" } },
      definitions: { Tag: { type: "string" } },
    }],
    ["file:///srv/api/shared/owner.yml", { type: "object", required: ["name"] }],
  ]);
  const out = transformFiles(files, { version: "3.0" });
  deepStrictEqual((out.get("file:///srv/api/models/pet.yml") as JsonObject).properties, {
    owner: { $ref: "file:///srv/api/shared/owner.yml#" },
    tag: { $ref: "file:///srv/api/models/pet.yml#/definitions/Tag" },
  });
  // Ajv looks the $refs of a file named whole up from the file that names it: before, it found
  // no ../shared/owner.yml next to openapi.yaml, and failed to compile.
  const set = new SchemaSet({ version: "3.0", files });
  const check = (data: unknown) =>
    set.check(`${URL_}#/components/schemas/Pet`, data, { view: "request", coerce: false });
  strictEqual(check({ owner: { name: "Ann" }, tag: "a" }), null);
  strictEqual(check({ owner: {}, tag: 1 })?.length, 2);
});
