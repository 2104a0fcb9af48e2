import { deepStrictEqual } from "node:assert/strict";
import { parseDocumentText } from "../../../../lib/openapi/document.ts";
import type { ParameterContract } from "../../../../lib/openapi/validation/contract.ts";
import {
  DocumentValidation,
  type OperationValidator,
  type ValidationError,
} from "../../../../lib/openapi/validation/mod.ts";
import {
  parseCookies,
  readParameters,
  split,
} from "../../../../lib/openapi/validation/parameters.ts";

function param(overrides: Partial<ParameterContract> & Pick<ParameterContract, "name" | "in">) {
  const style = overrides.in === "query" || overrides.in === "cookie" ? "form" : "simple";
  return {
    required: false,
    style,
    explode: (overrides.style ?? style) === "form",
    allowEmptyValue: false,
    shape: "primitive",
    json: false,
    location: { url: "file:///x", pointer: "" },
    ...overrides,
  } as ParameterContract;
}

function read(
  parameters: ParameterContract[],
  parts: { path?: Record<string, string>; query?: string; headers?: Record<string, string> },
) {
  return readParameters(parameters, {
    path: parts.path ?? {},
    query: new URLSearchParams(parts.query ?? ""),
    headers: new Headers(parts.headers ?? {}),
  });
}

Deno.test("split() reads primitives, arrays and objects in both explode forms", () => {
  deepStrictEqual(split("5", "primitive", ",", false), "5");
  deepStrictEqual(split("3,4,5", "array", ",", false), ["3", "4", "5"]);
  deepStrictEqual(split("", "array", ",", false), []);
  deepStrictEqual(split("R,100,G,200", "object", ",", false), { R: "100", G: "200" });
  deepStrictEqual(split("R=100,G=200", "object", ",", true), { R: "100", G: "200" });
  deepStrictEqual(split(" a , b", "array", ",", false, true), ["a", "b"]);
});

Deno.test("readParameters() reads path parameters in simple, label and matrix styles", () => {
  const { values, errors } = read([
    param({ name: "id", in: "path" }),
    param({ name: "ids", in: "path", shape: "array" }),
    param({ name: "l", in: "path", style: "label", shape: "array" }),
    param({ name: "le", in: "path", style: "label", shape: "array", explode: true }),
    param({ name: "m", in: "path", style: "matrix", shape: "array" }),
    param({ name: "me", in: "path", style: "matrix", shape: "array", explode: true }),
    param({ name: "mo", in: "path", style: "matrix", shape: "object", explode: true }),
    param({ name: "p", in: "path", style: "matrix" }),
  ], {
    path: {
      id: "5",
      ids: "3,4",
      l: ".3,4",
      le: ".3.4",
      m: ";m=3,4",
      me: ";me=3;me=4",
      mo: ";R=1;G=2",
      p: ";p=x",
    },
  });
  deepStrictEqual(errors, []);
  deepStrictEqual(values.path, {
    id: "5",
    ids: ["3", "4"],
    l: ["3", "4"],
    le: ["3", "4"],
    m: ["3", "4"],
    me: ["3", "4"],
    mo: { R: "1", G: "2" },
    p: "x",
  });
});

Deno.test("readParameters() reports a path value that is not in its declared style", () => {
  const { errors } = read([
    param({ name: "l", in: "path", style: "label" }),
    param({ name: "m", in: "path", style: "matrix" }),
  ], { path: { l: "3", m: "m=3" } });
  deepStrictEqual(errors, [
    { in: "path", pointer: "/l", message: 'must start with "." (label style)' },
    { in: "path", pointer: "/m", message: 'must start with ";" (matrix style)' },
  ]);
});

Deno.test("readParameters() reads query parameters in each style, with form/explode by default", () => {
  const { values, errors } = read([
    param({ name: "limit", in: "query" }),
    param({ name: "tag", in: "query", shape: "array" }),
    param({ name: "csv", in: "query", shape: "array", explode: false }),
    param({ name: "space", in: "query", style: "spaceDelimited", shape: "array" }),
    param({ name: "pipe", in: "query", style: "pipeDelimited", shape: "array" }),
    param({ name: "deep", in: "query", style: "deepObject", shape: "object", explode: true }),
    param({ name: "color", in: "query", shape: "object", explode: false }),
    param({ name: "absent", in: "query" }),
  ], {
    query: "limit=5&tag=a&tag=b&csv=1,2&space=x%20y&pipe=p|q&deep[a]=1&deep[b]=2&color=R,1,G,2",
  });
  deepStrictEqual(errors, []);
  deepStrictEqual(values.query, {
    limit: "5",
    tag: ["a", "b"],
    csv: ["1", "2"],
    space: ["x", "y"],
    pipe: ["p", "q"],
    deep: { a: "1", b: "2" },
    color: { R: "1", G: "2" },
  });
});

Deno.test("readParameters() gathers an exploded form object from its properties' own parameters", () => {
  const { values } = read([
    param({ name: "page", in: "query" }),
    param({ name: "filter", in: "query", shape: "object", properties: ["name", "age"] }),
  ], { query: "page=2&name=Rex&age=3&utm=x" });
  deepStrictEqual(values.query, { page: "2", filter: { name: "Rex", age: "3" } });
});

Deno.test("readParameters() keeps a scalar given twice as a list, for its schema to refuse", () => {
  deepStrictEqual(read([param({ name: "n", in: "query" })], { query: "n=1&n=2" }).values.query, {
    n: ["1", "2"],
  });
});

Deno.test("readParameters() reads headers case-insensitively and cookies by name", () => {
  const { values } = read([
    param({ name: "X-Ids", in: "header", shape: "array" }),
    param({ name: "X-Obj", in: "header", shape: "object", explode: true }),
    param({ name: "session", in: "cookie" }),
    param({ name: "ids", in: "cookie", shape: "array", explode: false }),
  ], {
    headers: {
      "x-ids": "1, 2",
      "x-obj": "R=1,G=2",
      cookie: "session=abc%20d; ids=1,2; other=x",
    },
  });
  deepStrictEqual(values.header, { "X-Ids": ["1", "2"], "X-Obj": { R: "1", G: "2" } });
  deepStrictEqual(values.cookie, { session: "abc d", ids: ["1", "2"] });
});

Deno.test("readParameters() treats an empty value as absent only with allowEmptyValue", () => {
  const { values } = read([
    param({ name: "a", in: "query", allowEmptyValue: true }),
    param({ name: "b", in: "query" }),
  ], { query: "a=&b=" });
  deepStrictEqual(values.query, { b: "" });
});

Deno.test("readParameters() parses a parameter declared with JSON content", () => {
  const p = param({ name: "f", in: "query", json: true });
  deepStrictEqual(read([p], { query: 'f={"a":1}' }).values.query, { f: { a: 1 } });
  deepStrictEqual(read([p], { query: "f={a" }).errors, [
    { in: "query", pointer: "/f", message: "is not valid JSON" },
  ]);
});

Deno.test("parseCookies() splits a Cookie header and unquotes values", () => {
  deepStrictEqual(parseCookies('a=1; b="two"; broken; c=%zz'), [["a", "1"], ["b", "two"], [
    "c",
    "%zz",
  ]]);
  deepStrictEqual(parseCookies(null), []);
});

// --- through the validator: defaults from the document, coercion -----------------------------

const DOC = `openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /items/{id}:
    parameters:
      - { name: id, in: path, required: true, schema: { type: integer, minimum: 1 } }
    get:
      parameters:
        - { name: limit, in: query, required: true, schema: { type: integer, maximum: 50 } }
        - { name: flag, in: query, schema: { type: boolean } }
        - { name: ids, in: query, schema: { type: array, items: { type: integer } } }
        - { name: ratio, in: query, schema: { type: number, nullable: true } }
        - name: where
          in: query
          style: deepObject
          explode: true
          schema: { type: object, properties: { min: { type: integer } }, additionalProperties: false }
        - { name: X-Version, in: header, required: true, schema: { type: integer, enum: [1, 2] } }
        - { name: Accept, in: header, required: true, schema: { type: string } }
        - { name: ids, in: cookie, schema: { type: array, items: { type: integer } }, explode: false }
      responses:
        "200": { description: ok }
`;

function validatorFor(doc: string, pointer: string): OperationValidator {
  const document = parseDocumentText(doc, "/srv/api/openapi.yaml");
  return new DocumentValidation(document).prepare({ pointer, name: "op" }, { in: true, out: true })
    .validator;
}

function errorsOf(
  validator: OperationValidator,
  path: Record<string, string>,
  query: string,
  headers: Record<string, string> = {},
): ValidationError[] {
  const verdict = validator.checkRequest({
    params: path,
    url: new URL(`http://localhost/x?${query}`),
    headers: new Headers(headers),
    body: new Uint8Array(),
  });
  return verdict.ok ? [] : verdict.errors;
}

Deno.test("OperationValidator coerces parameter strings to their schema types", () => {
  const v = validatorFor(DOC, "/paths/~1items~1{id}/get");
  deepStrictEqual(
    errorsOf(
      v,
      { id: "7" },
      "limit=50&flag=true&ids=1&ids=2&ratio=0.5&where[min]=3",
      { "x-version": "2", cookie: "ids=4,5" },
    ),
    [],
  );
  deepStrictEqual(errorsOf(v, { id: "7" }, "limit=1&ids=3", { "x-version": "1" }), [], "one item");
});

Deno.test("OperationValidator reports each parameter that breaks its schema, by location", () => {
  const v = validatorFor(DOC, "/paths/~1items~1{id}/get");
  deepStrictEqual(
    errorsOf(
      v,
      { id: "0" },
      "limit=abc&flag=maybe&ids=1&ids=x&where[max]=3",
      { "x-version": "3", cookie: "ids=4,y" },
    ),
    [
      { in: "path", pointer: "/id", message: "must be >= 1" },
      { in: "query", pointer: "/limit", message: "must be integer" },
      { in: "query", pointer: "/flag", message: "must be boolean" },
      { in: "query", pointer: "/ids/1", message: "must be integer" },
      { in: "query", pointer: "/where/max", message: "is not an allowed property" },
      { in: "header", pointer: "/X-Version", message: "must be one of: 1, 2" },
      { in: "cookie", pointer: "/ids/1", message: "must be integer" },
    ],
  );
});

Deno.test("OperationValidator reports missing required parameters and ignores Accept", () => {
  const v = validatorFor(DOC, "/paths/~1items~1{id}/get");
  deepStrictEqual(errorsOf(v, { id: "1" }, ""), [
    { in: "query", pointer: "/limit", message: "is required" },
    { in: "header", pointer: "/X-Version", message: "is required" },
  ]);
});
