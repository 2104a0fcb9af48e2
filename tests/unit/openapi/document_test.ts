import { deepStrictEqual, fail, match, ok, strictEqual, throws } from "node:assert/strict";
import {
  DocumentError,
  type DocumentProblem,
  loadDocument,
  type OpenApiDocument,
  parseDocumentText,
  responseMediaTypes,
  serverBasePath,
} from "../../../lib/openapi/document.ts";
import { jsonDuplicateKeys, type JsonObject, parseJsonOrYaml } from "../../../lib/openapi/json.ts";
import { fileUrl } from "../../../lib/openapi/refs.ts";
import { loadGeneration } from "../../../lib/generation/generation.ts";
import { ConfigError } from "../../../lib/config/mod.ts";

const FILE = "/srv/app/openapi.yaml";

function parse(text: string): OpenApiDocument {
  return parseDocumentText(text, FILE);
}

/** The problems `text` is refused with. */
function problemsOf(text: string): readonly DocumentProblem[] {
  let problems: readonly DocumentProblem[] | undefined;
  throws(() => parse(text), (error: unknown) => {
    if (!(error instanceof DocumentError)) return false;
    strictEqual(error.file, FILE);
    problems = error.problems;
    return true;
  });
  return problems!;
}

function doc(version: string, rest: string): string {
  return `openapi: ${version}\ninfo: {title: t, version: "1"}\n${rest}`;
}

const PETS = `paths:
  /pets:
    get:
      operationId: listPets
      responses:
        "200": {description: ok}
`;

Deno.test("parseDocumentText() accepts OpenAPI 3.0 documents", () => {
  const parsed = parse(doc("3.0.3", PETS));
  strictEqual(parsed.version, "3.0");
  strictEqual(parsed.file, FILE);
  deepStrictEqual(parsed.operations.map((o) => [o.method, o.path, o.operationId]), [
    ["get", "/pets", "listPets"],
  ]);
});

Deno.test("parseDocumentText() accepts OpenAPI 3.1 documents, in JSON too", () => {
  strictEqual(parse(doc("3.1.0", PETS)).version, "3.1");
  const json = JSON.stringify({
    openapi: "3.1.1",
    info: { title: "t", version: "1" },
    paths: { "/a": { post: { responses: {} } } },
  });
  const parsed = parse(json);
  strictEqual(parsed.version, "3.1");
  deepStrictEqual(parsed.operations.map((o) => [o.method, o.path]), [["post", "/a"]]);
});

Deno.test("parseDocumentText() keeps the document as parsed in raw", () => {
  const parsed = parse(doc("3.0.0", PETS));
  strictEqual(parsed.raw.openapi, "3.0.0");
  deepStrictEqual(parsed.raw.info, { title: "t", version: "1" });
});

Deno.test("parseDocumentText() refuses a Swagger 2.0 document with a hint to convert it", () => {
  const problems = problemsOf('swagger: "2.0"\ninfo: {title: t, version: "1"}\n' + PETS);
  deepStrictEqual(problems.map((p) => p.pointer), ["/openapi"]);
  match(problems[0].message, /Swagger 2\.0 documents need converting to OpenAPI 3/);
});

Deno.test("parseDocumentText() refuses other OpenAPI versions", () => {
  for (const version of ['"2.0"', '"3.2.0"', '"4.0.0"', '"3.0"', "3.0", '"v3.0.0"']) {
    const problems = problemsOf(doc(version, PETS));
    deepStrictEqual(problems.map((p) => p.pointer), ["/openapi"], version);
    match(problems[0].message, /^Expected "openapi: 3\.0\.x" or "3\.1\.x", found /, version);
  }
});

Deno.test("parseDocumentText() refuses a document without a paths object", () => {
  deepStrictEqual(problemsOf(doc("3.0.3", "")), [
    { pointer: "/paths", message: "The document has no paths object" },
  ]);
  deepStrictEqual(problemsOf(doc("3.0.3", "paths: [a]\n")).map((p) => p.pointer), ["/paths"]);
});

Deno.test("parseDocumentText() accepts an empty paths object", () => {
  deepStrictEqual(parse(doc("3.1.0", "paths: {}\n")).operations, []);
});

Deno.test("parseDocumentText() reports a wrong version and missing paths together", () => {
  deepStrictEqual(problemsOf("openapi: 2.0\n").map((p) => p.pointer), ["/openapi", "/paths"]);
});

Deno.test("parseDocumentText() refuses text that is not YAML or JSON", () => {
  const problems = problemsOf("openapi: [3.0.3\n");
  strictEqual(problems.length, 1);
  strictEqual(problems[0].pointer, "");
  match(problems[0].message, /^Invalid YAML or JSON: /);
});

Deno.test("parseDocumentText() refuses a document that is not an object", () => {
  for (const text of ["- a\n- b\n", "just text\n", ""]) {
    deepStrictEqual(problemsOf(text), [{ pointer: "", message: "Expected an OpenAPI object" }]);
  }
});

Deno.test("parseDocumentText() refuses a local $ref that does not resolve, naming its pointer", () => {
  const problems = problemsOf(doc(
    "3.0.3",
    `paths:
  /pets/{petId}:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Nope"}
components:
  schemas:
    Pet: {type: object}
`,
  ));
  deepStrictEqual(problems, [{
    pointer: "/paths/~1pets~1{petId}/get/responses/200/content/application~1json/schema/$ref",
    message: '$ref "#/components/schemas/Nope" does not resolve',
  }]);
});

Deno.test("parseDocumentText() reports every unresolvable $ref at once", () => {
  const problems = problemsOf(doc(
    "3.1.0",
    `paths:
  /a:
    get:
      parameters: [{$ref: "#/components/parameters/Missing"}]
      responses:
        "200": {$ref: "#/components/responses/Missing"}
`,
  ));
  deepStrictEqual(problems.map((p) => p.pointer), [
    "/paths/~1a/get/parameters/0/$ref",
    "/paths/~1a/get/responses/200/$ref",
  ]);
});

Deno.test("parseDocumentText() does not treat $ref inside an example as a reference", () => {
  const parsed = parse(doc(
    "3.1.0",
    `paths:
  /a:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              example: {$ref: "#/not/a/reference"}
`,
  ));
  strictEqual(parsed.operations.length, 1);
});

Deno.test("parseDocumentText() checks $refs where the files are walked: a property named default, not an extension or an example's value", () => {
  const problems = problemsOf(doc(
    "3.1.0",
    `x-vendor: {$ref: "#/not/a/reference"}
paths:
  /a:
    get:
      x-codegen: {template: {$ref: "#/not/a/reference"}}
      responses:
        default: {$ref: "#/components/responses/Missing"}
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Settings"}
              examples:
                one: {value: {$ref: "#/not/a/reference"}}
components:
  schemas:
    Settings:
      properties:
        default: {$ref: "#/components/schemas/Missing"}
        example: {$ref: "#/components/schemas/Settings"}
      default: {$ref: "#/not/a/reference"}
`,
  ));
  deepStrictEqual(problems.map((p) => p.pointer), [
    "/paths/~1a/get/responses/default/$ref",
    "/components/schemas/Settings/properties/default/$ref",
  ]);
});

Deno.test("parseDocumentText() leaves a remote $ref alone", () => {
  const parsed = parse(doc(
    "3.1.0",
    `paths:
  /a:
    get:
      responses:
        "200": {$ref: "common.yaml#/responses/Ok"}
`,
  ));
  strictEqual(parsed.operations.length, 1);
});

Deno.test("parseDocumentText() takes the base path from servers[0].url", () => {
  const cases: [string, string][] = [
    ["/v1", "/v1"],
    ["/api/v1/", "/api/v1"],
    ["/", ""],
    ["v1", "/v1"],
    ["https://api.example.com/v2", "/v2"],
    ["https://api.example.com:8443/v2/", "/v2"],
    ["https://api.example.com", ""],
    ["//cdn.example.com/x", "/x"],
  ];
  for (const [url, basePath] of cases) {
    const parsed = parse(doc("3.0.3", `servers:\n  - url: "${url}"\n  - url: /other\n` + PETS));
    strictEqual(parsed.basePath, basePath, url);
  }
});

Deno.test("parseDocumentText() has an empty base path without servers", () => {
  strictEqual(parse(doc("3.0.3", PETS)).basePath, "");
  strictEqual(parse(doc("3.0.3", "servers: []\n" + PETS)).basePath, "");
});

Deno.test("parseDocumentText() fills server variables with their defaults", () => {
  const parsed = parse(doc(
    "3.0.3",
    `servers:
  - url: "https://{region}.example.com/{base}/{version}"
    variables:
      region: {default: eu, enum: [eu, us]}
      base: {default: api}
      version: {default: v3}
` + PETS,
  ));
  strictEqual(parsed.basePath, "/api/v3");
});

Deno.test("serverBasePath() takes the path of relative, templated and schemeless server URLs", () => {
  const cases: [string, string, string][] = [
    ["/v1", "", "/v1"],
    ["v1/", "", "/v1"],
    ["{scheme}://api.example.com/v1", "", "/v1"],
    ["{scheme}://api.example.com/v1", "scheme: { default: https }", "/v1"],
    ["https://{region}.api.example.com/v2", "", "/v2"],
    ["https://{region}.api.example.com/v2", "region: { default: eu }", "/v2"],
    ["{server}/v1", "server: { default: 'https://api.example.com/api' }", "/api/v1"],
    ["https://api.example.com/v1?debug=1#top", "", "/v1"],
    ["/a/./b/../c/", "", "/a/c"],
    ["/café", "", "/caf%C3%A9"],
    ["https://api.example.com", "", ""],
    ["", "", ""],
  ];
  for (const [url, variables, path] of cases) {
    const server = parseJsonOrYaml(`url: "${url}"\nvariables: { ${variables} }`) as JsonObject;
    deepStrictEqual(serverBasePath({ servers: [server] }), { path }, url);
  }
});

Deno.test("serverBasePath() notes a variable without a default in the path, not in the host", () => {
  deepStrictEqual(serverBasePath({ servers: [{ url: "https://{host}/v1" }] }), { path: "/v1" });
  deepStrictEqual(serverBasePath({ servers: [{ url: "https://api.example.com/{version}/x" }] }), {
    path: "/x",
    note: 'servers[0].url "https://api.example.com/{version}/x" has {version} without a ' +
      'default in its path: the base path is taken as "/x"; set base-path to say which',
  });
});

Deno.test("parseDocumentText() merges path-level and operation-level parameters", () => {
  const parsed = parse(doc(
    "3.0.3",
    `paths:
  /pets/{petId}:
    parameters:
      - {name: petId, in: path, required: true, schema: {type: string}}
      - {name: limit, in: query, description: shared}
      - {name: X-Trace, in: header}
    get:
      parameters:
        - {name: limit, in: query, required: true, description: own}
        - {name: limit, in: header}
      responses: {}
    delete:
      responses: {}
`,
  ));
  const get = parsed.operations.find((o) => o.method === "get")!;
  deepStrictEqual(get.parameters.map((p) => [p.name, p.in, p.required]), [
    ["petId", "path", true],
    ["X-Trace", "header", false],
    ["limit", "query", true],
    ["limit", "header", false],
  ]);
  strictEqual(get.parameters.find((p) => p.in === "query")!.spec.description, "own");
  const del = parsed.operations.find((o) => o.method === "delete")!;
  deepStrictEqual(del.parameters.map((p) => [p.name, p.in]), [
    ["petId", "path"],
    ["limit", "query"],
    ["X-Trace", "header"],
  ]);
});

Deno.test("parseDocumentText() treats every path parameter as required", () => {
  const parsed = parse(doc(
    "3.0.3",
    `paths:
  /pets/{petId}:
    get:
      parameters: [{name: petId, in: path}]
      responses: {}
`,
  ));
  strictEqual(parsed.operations[0].parameters[0].required, true);
});

Deno.test("parseDocumentText() resolves $ref'd parameters, request bodies and path items", () => {
  const parsed = parse(doc(
    "3.1.0",
    `paths:
  /pets:
    $ref: "#/components/pathItems/Pets"
  /pets/{petId}:
    parameters: [{$ref: "#/components/parameters/PetId"}]
    get:
      parameters: [{$ref: "#/components/parameters/Limit"}]
      responses: {}
components:
  parameters:
    PetId: {name: petId, in: path, required: true, schema: {type: integer}}
    Limit: {$ref: "#/components/parameters/RealLimit"}
    RealLimit: {name: limit, in: query, schema: {type: integer}}
  requestBodies:
    NewPet:
      required: true
      content: {application/json: {schema: {type: object}}}
  pathItems:
    Pets:
      post:
        requestBody: {$ref: "#/components/requestBodies/NewPet"}
        responses: {}
`,
  ));
  const post = parsed.operations.find((o) => o.method === "post")!;
  strictEqual(post.path, "/pets");
  deepStrictEqual(post.requestBody, {
    required: true,
    content: { "application/json": { schema: { type: "object" } } },
  });
  const get = parsed.operations.find((o) => o.method === "get")!;
  deepStrictEqual(get.parameters.map((p) => [p.name, p.in, p.required]), [
    ["petId", "path", true],
    ["limit", "query", false],
  ]);
  deepStrictEqual(get.parameters[0].spec.schema, { type: "integer" });
});

Deno.test("parseDocumentText() lists operations with their JSON pointer and responses", () => {
  const parsed = parse(doc(
    "3.0.3",
    `paths:
  /pets/{petId}:
    put:
      responses: {"204": {description: done}}
    get:
      responses: {"200": {description: ok}}
    x-internal: {get: {}}
`,
  ));
  deepStrictEqual(
    parsed.operations.map((o) => [o.method, o.pointer, Object.keys(o.responses)]),
    [
      ["get", "/paths/~1pets~1{petId}/get", ["200"]],
      ["put", "/paths/~1pets~1{petId}/put", ["204"]],
    ],
  );
});

/**
 * Writes `files` (path relative to a new temporary folder → text), loads its
 * `openapi.yaml`, runs `fn` on it, and removes the folder.
 */
async function withFiles(
  files: Record<string, string>,
  fn: (document: OpenApiDocument, dir: string) => void,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "urocket-document-" });
  try {
    for (const [path, text] of Object.entries(files)) {
      await Deno.mkdir(`${dir}/${path}`.replace(/\/[^/]*$/, ""), { recursive: true });
      await Deno.writeTextFile(`${dir}/${path}`, text);
    }
    fn(await loadDocument(`${dir}/openapi.yaml`), dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("loadDocument() follows a path item $ref into a neighbouring file", async () => {
  await withFiles({
    "openapi.yaml": doc(
      "3.0.3",
      `paths:
  /pets: { $ref: "./paths/pets.yaml" }
`,
    ),
    "paths/pets.yaml": `get:
  operationId: listPets
  parameters: [{ name: limit, in: query, schema: { type: integer } }]
  responses: { "200": { description: ok } }
post:
  responses: { "201": { description: created } }
`,
  }, (document, dir) => {
    deepStrictEqual(document.operations.map((o) => [o.method, o.path, o.operationId]), [
      ["get", "/pets", "listPets"],
      ["post", "/pets", undefined],
    ]);
    const get = document.operations[0];
    strictEqual(get.pointer, "/paths/~1pets/get");
    deepStrictEqual(get.location, { url: fileUrl(`${dir}/paths/pets.yaml`), pointer: "/get" });
    deepStrictEqual(get.parameters.map((p) => [p.name, p.in]), [["limit", "query"]]);
  });
});

Deno.test("loadDocument() follows a path item $ref with a fragment, and local refs in that file", async () => {
  await withFiles({
    "openapi.yaml": doc(
      "3.1.0",
      `paths:
  /pets/{petId}: { $ref: "paths.yaml#/components/pathItems/PetById" }
`,
    ),
    "paths.yaml": `components:
  pathItems:
    PetById:
      parameters: [{ $ref: "#/components/parameters/PetId" }]
      delete:
        requestBody: { $ref: "#/components/requestBodies/Reason" }
        responses: { "204": { description: gone } }
  parameters:
    PetId: { name: petId, in: path, required: true, schema: { type: integer } }
  requestBodies:
    Reason: { content: { text/plain: {} } }
`,
  }, (document, dir) => {
    const [del] = document.operations;
    deepStrictEqual([del.method, del.path], ["delete", "/pets/{petId}"]);
    deepStrictEqual(del.location, {
      url: fileUrl(`${dir}/paths.yaml`),
      pointer: "/components/pathItems/PetById/delete",
    });
    deepStrictEqual(del.parameters.map((p) => [p.name, p.in, p.spec.schema]), [
      ["petId", "path", { type: "integer" }],
    ]);
    deepStrictEqual(del.requestBody, { content: { "text/plain": {} } });
  });
});

Deno.test("loadDocument() follows parameter and requestBody $refs into neighbouring files", async () => {
  await withFiles({
    "openapi.yaml": doc(
      "3.0.3",
      `paths:
  /pets/{petId}:
    parameters: [{ $ref: "./params.yaml#/PetId" }]
    put:
      parameters: [{ $ref: "./params.yaml#/Limit" }]
      requestBody: { $ref: "./bodies.yaml#/Pet" }
      responses: { "204": { description: done } }
`,
    ),
    "params.yaml": `PetId: { name: petId, in: path, schema: { type: string } }
Limit: { name: limit, in: query, required: true, schema: { type: integer } }
`,
    "bodies.yaml": `Pet:
  required: true
  content: { application/json: { schema: { type: object } } }
`,
  }, (document) => {
    const [put] = document.operations;
    deepStrictEqual(put.parameters.map((p) => [p.name, p.in, p.required]), [
      ["petId", "path", true],
      ["limit", "query", true],
    ]);
    deepStrictEqual(put.requestBody, {
      required: true,
      content: { "application/json": { schema: { type: "object" } } },
    });
  });
});

Deno.test("loadDocument() follows a chain of $refs from file to file, each relative to its file", async () => {
  await withFiles({
    "openapi.yaml": doc(
      "3.0.3",
      `paths:
  /owners: { $ref: "paths/owners.yaml" }
`,
    ),
    // A file that is only a $ref, relative to paths/, into a file that refers on.
    "paths/owners.yaml": `$ref: "../shared/items.yaml#/Owners"
`,
    "shared/items.yaml": `Owners:
  post:
    parameters: [{ $ref: "params/common.yaml#/Dry" }]
    requestBody: { $ref: "#/Body" }
    responses: { "200": { $ref: "params/common.yaml#/Ok" } }
Body: { $ref: "params/common.yaml#/Body" }
`,
    "shared/params/common.yaml": `Dry: { name: dry, in: query, schema: { type: boolean } }
Body: { content: { application/json: {} } }
Ok: { description: ok, content: { text/csv: {} } }
`,
  }, (document, dir) => {
    const [post] = document.operations;
    deepStrictEqual([post.method, post.path], ["post", "/owners"]);
    deepStrictEqual(post.location, {
      url: fileUrl(`${dir}/shared/items.yaml`),
      pointer: "/Owners/post",
    });
    deepStrictEqual(post.parameters.map((p) => [p.name, p.in]), [["dry", "query"]]);
    deepStrictEqual(post.requestBody, { content: { "application/json": {} } });
    deepStrictEqual([...responseMediaTypes(document.files, post)], ["text/csv"]);
  });
});

Deno.test("parseDocumentText() lists no operation for a path item in a file it does not load", () => {
  const parsed = parse(doc(
    "3.0.3",
    `paths:
  /pets: { $ref: "./paths/pets.yaml" }
  /local: { $ref: "#/components/pathItems/Local" }
components:
  pathItems:
    Local: { get: { responses: {} } }
`,
  ));
  deepStrictEqual(parsed.operations.map((o) => [o.method, o.path]), [["get", "/local"]]);
});

Deno.test("parseDocumentText() refuses a YAML document with a duplicate key, naming its line and the first", () => {
  const text = doc(
    "3.0.3",
    `paths:
  /pets:
    get:
      responses: {"200": {description: ok}}
  /owners:
    get:
      responses: {"200": {description: ok}}
  /pets:
    post:
      responses: {"201": {description: created}}
`,
  );
  throws(() => parse(text), (error: unknown) => {
    if (!(error instanceof DocumentError)) return false;
    deepStrictEqual(error.problems, [{
      pointer: "/paths/~1pets",
      line: 10,
      message: 'Duplicate key "/pets" (first at line 4): only the last one would be kept',
    }]);
    strictEqual(
      error.message,
      `${FILE}:10: /paths/~1pets: Duplicate key "/pets" (first at line 4): ` +
        "only the last one would be kept",
    );
    return true;
  });
});

Deno.test("parseDocumentText() reports every duplicate key, in lists and as the parser names keys", () => {
  const problems = problemsOf(doc(
    "3.0.3",
    `paths:
  /pets:
    get:
      parameters:
        - {name: limit, in: query, in: header}
      responses:
        200: {description: ok}
        "200": {description: also ok}
    get: {responses: {}}
`,
  ));
  deepStrictEqual(problems.map((p) => [p.pointer, p.line]), [
    ["/paths/~1pets/get/parameters/0/in", 7],
    ["/paths/~1pets/get/responses/200", 10],
    ["/paths/~1pets/get", 11],
  ]);
});

Deno.test("parseDocumentText() refuses a strict JSON document with a duplicate key, naming its line", () => {
  // Escaped quotes and backslashes, and braces inside strings, do not confuse the scan.
  const text = String.raw`{
  "openapi": "3.1.0",
  "info": {"title": "a \\\"}{, \"title\": \"", "version": "1"},
  "paths": {
    "/pets": {
      "get": {"responses": {}},
      "g\u0065t": {"responses": {}}
    },
    "/owners": {"get": {"responses": {}}, "parameters": [{"name": "a"}, {"name": "b", "name": "c"}]}
  }
}`;
  // Strict JSON, so read by JSON.parse and scanned, not by the YAML parser.
  deepStrictEqual(jsonDuplicateKeys(text).map((d) => d.key), ["get", "name"]);
  deepStrictEqual(problemsOf(text).map((p) => [p.pointer, p.line, p.message]), [
    [
      "/paths/~1pets/get",
      7,
      'Duplicate key "get" (first at line 6): only the last one would be kept',
    ],
    [
      "/paths/~1owners/parameters/1/name",
      9,
      'Duplicate key "name" (first at line 9): only the last one would be kept',
    ],
  ]);
  // The same keys in different objects, and key-like text in strings, are no duplicates.
  strictEqual(
    parse(JSON.stringify(
      {
        openapi: "3.1.0",
        info: { title: '"title": "x", {"title"', version: "1" },
        paths: { "/a": { get: { responses: {} } }, "/b": { get: { responses: {} } } },
      },
      null,
      2,
    )).operations.length,
    2,
  );
});

Deno.test("parseDocumentText() refuses a duplicate key in JSON-like text only YAML reads", () => {
  deepStrictEqual(
    problemsOf('{"openapi": "3.1.0", "paths": {}, "paths": {},}').map((p) => [p.pointer, p.line]),
    [["/paths", 1]],
  );
});

Deno.test("DocumentError.message names the file and each pointer", () => {
  throws(() => parse("openapi: 2.0\n"), (error: unknown) => {
    if (!(error instanceof DocumentError)) return false;
    strictEqual(error.name, "DocumentError");
    deepStrictEqual(error.message.split("\n"), [
      `${FILE}: /openapi: Expected "openapi: 3.0.x" or "3.1.x", found 2`,
      `${FILE}: /paths: The document has no paths object`,
    ]);
    return true;
  });
});

Deno.test("parseJsonOrYaml() reads JSON, YAML, and JSON-like text that only YAML accepts", () => {
  deepStrictEqual(parseJsonOrYaml('{"openapi": "3.1.0", "paths": {}}'), {
    openapi: "3.1.0",
    paths: {},
  });
  deepStrictEqual(parseJsonOrYaml("openapi: 3.1.0\npaths: {}\n"), { openapi: "3.1.0", paths: {} });
  deepStrictEqual(parseJsonOrYaml('{"a": 1, "b": [1, 2,],}'), { a: 1, b: [1, 2] });
  throws(() => parseJsonOrYaml("{unclosed: [1"));
});

Deno.test("loadDocument() refuses a chain of $refs that loops, within the document or across files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "urocket-document-" });
  try {
    // A request body that is a $ref to a $ref to itself: the body would be silently missing.
    await Deno.writeTextFile(
      `${dir}/openapi.yaml`,
      doc(
        "3.0.3",
        `paths:
  /pets:
    post:
      requestBody: { $ref: "#/components/requestBodies/A" }
      responses: { "201": { description: created } }
  /owners: { $ref: "./a.yaml" }
components:
  requestBodies:
    A: { $ref: "#/components/requestBodies/B" }
    B: { $ref: "#/components/requestBodies/A" }
`,
      ),
    );
    // A path item whose $ref goes to a file whose root is a $ref back: no operation at all.
    await Deno.writeTextFile(`${dir}/a.yaml`, `$ref: "./b.yaml"\n`);
    await Deno.writeTextFile(`${dir}/b.yaml`, `$ref: "./a.yaml"\n`);
    const error = await loadDocument(`${dir}/openapi.yaml`).then(
      () => fail("expected a DocumentError"),
      (error) => error,
    );
    ok(error instanceof DocumentError, String(error));
    const loops = error.problems.filter((p: { message: string }) => /loops/.test(p.message));
    deepStrictEqual(
      loops.map((p: { pointer: string; file?: string }) => [p.file?.replace(dir, ""), p.pointer])
        .sort(),
      [
        ["/a.yaml", "/$ref"],
        ["/b.yaml", "/$ref"],
        [undefined, "/components/requestBodies/A/$ref"],
        [undefined, "/components/requestBodies/B/$ref"],
        [undefined, "/paths/~1owners/$ref"],
        [undefined, "/paths/~1pets/post/requestBody/$ref"],
      ].sort(),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadGeneration() refuses a document nested too deeply to walk, naming it, instead of crashing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "urocket-document-" });
  try {
    const depth = 50_000;
    await Deno.writeTextFile(
      `${dir}/openapi.json`,
      `{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{},` +
        `"components":{"schemas":{"A":${'{"items":'.repeat(depth)}{}${"}".repeat(depth)}}}}`,
    );
    await Deno.writeTextFile(`${dir}/urocket-service.yaml`, "openapi: openapi.json\npaths: {}\n");
    const error = await loadGeneration(`${dir}/urocket-service.yaml`, { env: {} }).then(
      () => fail("expected a ConfigError"),
      (error) => error,
    );
    ok(error instanceof ConfigError, String(error));
    deepStrictEqual(error.problems.map((p: { file: string }) => p.file), [`${dir}/openapi.json`]);
    match(error.message, /nested too deeply/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadDocument() takes a chain of $refs that ends at another host or at a broken link for no loop", async () => {
  const dir = await Deno.makeTempDir({ prefix: "urocket-document-" });
  try {
    await Deno.writeTextFile(
      `${dir}/openapi.yaml`,
      doc(
        "3.1.0",
        `paths:
  /pets:
    post:
      requestBody:
        content:
          application/json:
            schema: { $ref: "#/components/schemas/Pet" }
      responses: { "201": { description: created } }
components:
  schemas:
    Pet: { $ref: "https://example.com/schemas/pet.json" }
`,
      ),
    );
    // A remote schema is only refused when an operation validates against it.
    strictEqual((await loadDocument(`${dir}/openapi.yaml`)).operations.length, 1);
    await Deno.writeTextFile(
      `${dir}/openapi.yaml`,
      doc(
        "3.0.3",
        `paths:
  /owners:
    post:
      requestBody: { $ref: "./bodies.yaml#/Owner" }
      responses: { "201": { description: created } }
`,
      ),
    );
    await Deno.writeTextFile(`${dir}/bodies.yaml`, `Owner: { $ref: "#/Missing" }\n`);
    const error = await loadDocument(`${dir}/openapi.yaml`).then(
      () => fail("expected a DocumentError"),
      (error) => error,
    );
    ok(error instanceof DocumentError, String(error));
    deepStrictEqual(
      error.problems.map((p: { message: string }) => p.message),
      ['$ref "#/Missing" does not resolve'],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadDocument() follows a chain of 31 $refs and refuses one of 32, as many as it follows", async () => {
  // The request body's own $ref, then `length` more.
  for (const [length, refused] of [[30, false], [31, true]] as const) {
    const links = Array.from(
      { length },
      (_, i) =>
        `    B${i}: { $ref: "#/components/requestBodies/${i + 1 < length ? `B${i + 1}` : "End"}" }`,
    ).join("\n");
    const text = doc(
      "3.0.3",
      `paths:
  /pets:
    post:
      requestBody: { $ref: "#/components/requestBodies/B0" }
      responses: { "201": { description: created } }
components:
  requestBodies:
${links}
    End: { content: { application/json: { schema: { type: object } } } }
`,
    );
    const dir = await Deno.makeTempDir({ prefix: "urocket-document-" });
    try {
      await Deno.writeTextFile(`${dir}/openapi.yaml`, text);
      const loaded = await loadDocument(`${dir}/openapi.yaml`).then((d) => d, (e) => e);
      if (refused) {
        ok(loaded instanceof DocumentError, `${length} refs: ${loaded}`);
      } else {
        ok(!(loaded instanceof Error), `${length} refs: ${loaded}`);
        ok(loaded.operations[0].requestBody, "the body at the end of the chain");
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("loadGeneration() routes under base-path when set, and warns of a guessed base path only without it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "urocket-document-" });
  try {
    await Deno.writeTextFile(
      `${dir}/openapi.yaml`,
      doc("3.0.3", `servers: [{ url: "https://api.example.com/{version}/pets" }]\n${PETS}`),
    );
    await Deno.writeTextFile(`${dir}/urocket-service.yaml`, "paths: {}\n");
    const guessed = await loadGeneration(`${dir}/urocket-service.yaml`, { env: {} });
    strictEqual(guessed.basePath, "/pets");
    deepStrictEqual(guessed.warnings.map((w) => [w.file, w.key]), [
      [`${dir}/openapi.yaml`, "/servers/0/url"],
    ]);
    match(guessed.warnings[0].message, /\{version\} without a default/);
    strictEqual(guessed.router.match("get", "/pets/pets").kind, "found");
    deepStrictEqual(guessed.unwired, ["GET /pets"]);

    await Deno.writeTextFile(`${dir}/urocket-service.yaml`, "base-path: /v1/pets\npaths: {}\n");
    const set = await loadGeneration(`${dir}/urocket-service.yaml`, { env: {} });
    strictEqual(set.basePath, "/v1/pets");
    deepStrictEqual(set.warnings, []);
    strictEqual(set.router.match("get", "/v1/pets/pets").kind, "found");
    strictEqual(set.router.match("get", "/pets/pets").kind, "not_found");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
