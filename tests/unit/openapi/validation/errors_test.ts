import { deepStrictEqual, strictEqual } from "node:assert/strict";
import type { ErrorObject } from "ajv";
import {
  errorsDetail,
  fromAjvErrors,
  locateParameterErrors,
  MAX_ERRORS,
} from "../../../../lib/openapi/validation/errors.ts";

function ajvError(
  instancePath: string,
  keyword: string,
  params: Record<string, unknown> = {},
  message = `fails ${keyword}`,
): ErrorObject {
  return { instancePath, schemaPath: "#", keyword, params, message };
}

Deno.test("fromAjvErrors() points at the missing or extra property itself", () => {
  deepStrictEqual(
    fromAjvErrors([
      ajvError("/pets/0", "required", { missingProperty: "name" }),
      ajvError("", "additionalProperties", { additionalProperty: "a/b" }),
      ajvError("/x", "unevaluatedProperties", { unevaluatedProperty: "y" }),
    ], "body"),
    [
      { in: "body", pointer: "/pets/0/name", message: "is required" },
      { in: "body", pointer: "/a~1b", message: "is not an allowed property" },
      { in: "body", pointer: "/x/y", message: "is not an allowed property" },
    ],
  );
});

Deno.test("fromAjvErrors() words type, enum, const and format errors for people", () => {
  deepStrictEqual(
    fromAjvErrors([
      ajvError("/a", "type", { type: "string,null" }),
      ajvError("/b", "enum", { allowedValues: ["x", 1, null] }),
      ajvError("/c", "const", { allowedValue: "v" }),
      ajvError("/d", "format", { format: "email" }),
      ajvError("/e", "maximum", { limit: 3 }, "must be <= 3"),
    ], "query").map((e) => e.message),
    [
      "must be string or null",
      'must be one of: "x", 1, null',
      'must be "v"',
      "must be a valid email",
      "must be <= 3",
    ],
  );
});

Deno.test("fromAjvErrors() shortens a long list of allowed values", () => {
  const allowed = Array.from({ length: 30 }, (_, i) => i);
  const [error] = fromAjvErrors([ajvError("", "enum", { allowedValues: allowed })], "body");
  strictEqual(error.message, "must be one of: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, …");
});

Deno.test("fromAjvErrors() drops anyOf summaries and null branches that a specific error explains", () => {
  deepStrictEqual(
    fromAjvErrors([
      ajvError("/owner/email", "format", { format: "email" }),
      ajvError("/owner", "type", { type: "null" }),
      ajvError("/owner", "anyOf", {}, "must match a schema in anyOf"),
    ], "body"),
    [{ in: "body", pointer: "/owner/email", message: "must be a valid email" }],
  );
});

Deno.test("fromAjvErrors() keeps a summary that nothing else explains", () => {
  deepStrictEqual(
    fromAjvErrors([ajvError("/v", "oneOf", {}, "must match exactly one schema in oneOf")], "body"),
    [{ in: "body", pointer: "/v", message: "must match exactly one schema in oneOf" }],
  );
});

Deno.test("fromAjvErrors() says a wrong type once, not again as a failed format", () => {
  deepStrictEqual(
    fromAjvErrors([
      ajvError("/n", "type", { type: "integer" }),
      ajvError("/n", "format", { format: "int64" }),
      ajvError("/m", "format", { format: "int64" }),
    ], "body"),
    [
      { in: "body", pointer: "/n", message: "must be integer" },
      { in: "body", pointer: "/m", message: "must be a valid int64" },
    ],
  );
});

Deno.test("fromAjvErrors() removes duplicates", () => {
  const twice = [
    ajvError("/a", "type", { type: "integer" }),
    ajvError("/a", "type", { type: "integer" }),
  ];
  strictEqual(fromAjvErrors(twice, "body").length, 1);
});

Deno.test("locateParameterErrors() moves errors on the parameter object to their location", () => {
  deepStrictEqual(
    locateParameterErrors([
      { in: "query", pointer: "/path/id", message: "m" },
      { in: "query", pointer: "/header/X-A/0", message: "m" },
      { in: "query", pointer: "/cookie", message: "m" },
    ]),
    [
      { in: "path", pointer: "/id", message: "m" },
      { in: "header", pointer: "/X-A/0", message: "m" },
      { in: "cookie", pointer: "", message: "m" },
    ],
  );
});

Deno.test("errorsDetail() counts the errors and says when the list is cut", () => {
  strictEqual(
    errorsDetail("The request", 1),
    "The request does not match the API contract: 1 error",
  );
  strictEqual(
    errorsDetail("The reply", MAX_ERRORS + 5),
    `The reply does not match the API contract: ${
      MAX_ERRORS + 5
    } errors, the first ${MAX_ERRORS} listed`,
  );
});

Deno.test("fromAjvErrors() puts a failed oneOf's line before its closest alternative's errors", () => {
  const params = { count: 3, closest: 1, alone: false, types: [], kept: 1, passingSchemas: null };
  deepStrictEqual(
    fromAjvErrors([
      ajvError("/a", "type", { type: "string" }),
      ajvError("/pet/barks", "type", { type: "boolean" }),
      ajvError("/pet", "oneOf", params),
    ], "body"),
    [
      { in: "body", pointer: "/a", message: "must be string" },
      {
        in: "body",
        pointer: "/pet",
        message: "matches none of the 3 schemas of oneOf: the errors that follow are those of " +
          "the closest, schema 2",
      },
      { in: "body", pointer: "/pet/barks", message: "must be boolean" },
    ],
  );
});

Deno.test("fromAjvErrors() leaves the line out when the closest alternative was the only one of its type", () => {
  const params = { count: 2, closest: 0, alone: true, types: [], kept: 1, passingSchemas: null };
  deepStrictEqual(
    fromAjvErrors([
      ajvError("/owner/age", "type", { type: "integer" }),
      ajvError("/owner", "anyOf", params),
    ], "body"),
    [{ in: "body", pointer: "/owner/age", message: "must be integer" }],
  );
});

Deno.test("fromAjvErrors() says which types would do when every alternative failed on type", () => {
  const params = {
    count: 3,
    closest: -1,
    alone: false,
    types: ["object", "string", "object"],
    kept: 0,
    passingSchemas: null,
  };
  deepStrictEqual(fromAjvErrors([ajvError("/pet", "oneOf", params)], "body"), [
    { in: "body", pointer: "/pet", message: "must be object or string" },
  ]);
});

Deno.test("fromAjvErrors() names the alternatives a oneOf matched more than one of", () => {
  const params = {
    count: 3,
    closest: -1,
    alone: false,
    types: [],
    kept: 0,
    passingSchemas: [0, 2],
  };
  deepStrictEqual(fromAjvErrors([ajvError("", "oneOf", params)], "body"), [
    {
      in: "body",
      pointer: "",
      message: "must match exactly one of the 3 schemas of oneOf, but matches schemas 1 and 3",
    },
  ]);
});
