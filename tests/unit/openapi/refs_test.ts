import { deepStrictEqual, match, ok, rejects, strictEqual } from "node:assert/strict";
import { DocumentError, loadDocument } from "../../../lib/openapi/document.ts";
import type { Json } from "../../../lib/openapi/json.ts";
import {
  filePath,
  fileUrl,
  follow,
  followPointer,
  locationUri,
  resolveRef,
} from "../../../lib/openapi/refs.ts";
import { loadRefFiles } from "../../../lib/openapi/ref_files.ts";
import { type Shape, walkStructure } from "../../../lib/openapi/structure.ts";
import { parse } from "yaml";

const MAIN = "file:///srv/api/openapi.yaml";

/** Loads `main` with the files of `disk` (path → YAML text) as the only readable ones. */
function load(main: Json, disk: Record<string, string>) {
  const read: string[] = [];
  return loadRefFiles(MAIN, main, {
    read: (path) => {
      read.push(path);
      return path in disk
        ? Promise.resolve(disk[path])
        : Promise.reject(new Deno.errors.NotFound(`No such file: ${path}`));
    },
  }).then((result) => ({ ...result, read }));
}

Deno.test("fileUrl() and filePath() convert paths with spaces, # and % both ways", () => {
  for (const path of ["/srv/api/openapi.yaml", "/my docs/a#b%c?.yaml"]) {
    const url = fileUrl(path);
    ok(url.startsWith("file:///"), url);
    strictEqual(filePath(url), path);
  }
});

Deno.test("locationUri() percent-encodes pointer tokens such as path templates", () => {
  strictEqual(
    locationUri({ url: MAIN, pointer: "/paths/~1pets~1{petId}/get" }),
    `${MAIN}#/paths/~1pets~1%7BpetId%7D/get`,
  );
  strictEqual(locationUri({ url: MAIN, pointer: "" }), `${MAIN}#`);
});

Deno.test("loadRefFiles() loads the files refs name, transitively, and each once", async () => {
  const main = parse(`
paths: {}
components:
  schemas:
    Pet: { $ref: "schemas/pet.yaml#/Pet" }
    Owner: { $ref: "./schemas/pet.yaml#/Owner" }
    Local: { $ref: "#/components/schemas/Pet" }
    Remote: { $ref: "https://example.com/x.json" }
`);
  const { files, problems, read } = await load(main, {
    "/srv/api/schemas/pet.yaml": `
Pet: { properties: { tag: { $ref: "../common/tag.yaml" } } }
Owner: { type: object }
`,
    "/srv/api/common/tag.yaml": "type: string\n",
  });
  deepStrictEqual(problems, []);
  deepStrictEqual(read, ["/srv/api/schemas/pet.yaml", "/srv/api/common/tag.yaml"]);
  deepStrictEqual([...files.keys()], [
    MAIN,
    "file:///srv/api/schemas/pet.yaml",
    "file:///srv/api/common/tag.yaml",
  ]);
  const tag = resolveRef(files, "file:///srv/api/schemas/pet.yaml", "../common/tag.yaml");
  deepStrictEqual(tag?.value, { type: "string" });
});

Deno.test("loadRefFiles() reports a missing file at each $ref that names it", async () => {
  const main = parse(`
paths: {}
components:
  schemas:
    A: { $ref: "missing.yaml#/A" }
    B: { items: { $ref: "missing.yaml#/B" } }
`);
  const { problems } = await load(main, {});
  deepStrictEqual(problems.map((p) => [p.file, p.pointer]), [
    ["/srv/api/openapi.yaml", "/components/schemas/A/$ref"],
    ["/srv/api/openapi.yaml", "/components/schemas/B/items/$ref"],
  ]);
  match(
    problems[0].message,
    /^\$ref "missing\.yaml#\/A" does not resolve: cannot load \/srv\/api\/missing\.yaml: No such file/,
  );
});

Deno.test("loadRefFiles() reports a pointer that leads nowhere in a loaded file, in that file", async () => {
  const main = parse(`
components:
  schemas:
    A: { $ref: "a.yaml#/Nope" }
    B: { $ref: "a.yaml#/Loop" }
`);
  const { problems } = await load(main, {
    "/srv/api/a.yaml": "Real: { type: string }\nLoop: { $ref: '#/Missing' }\n",
  });
  deepStrictEqual(problems, [
    {
      file: "/srv/api/openapi.yaml",
      pointer: "/components/schemas/A/$ref",
      message: '$ref "a.yaml#/Nope" does not resolve: /srv/api/a.yaml has no /Nope',
    },
    {
      file: "/srv/api/a.yaml",
      pointer: "/Loop/$ref",
      message: '$ref "#/Missing" does not resolve',
    },
  ]);
});

Deno.test("loadRefFiles() reports a file that is not YAML or JSON", async () => {
  const main = parse(`components: { schemas: { A: { $ref: "a.yaml" } } }`);
  const { problems } = await load(main, { "/srv/api/a.yaml": "a: [1\n" });
  strictEqual(problems.length, 1);
  match(problems[0].message, /cannot load \/srv\/api\/a\.yaml/);
});

Deno.test("loadRefFiles() refuses a file with a duplicate key, naming the key and its lines", async () => {
  const main = parse(`components: { schemas: { A: { $ref: "a.yaml#/A" } } }`);
  const { problems } = await load(main, {
    "/srv/api/a.yaml": "A: { type: object }\nB: { type: string }\nA: { type: array }\n",
  });
  deepStrictEqual(problems.map((p) => p.message), [
    '$ref "a.yaml#/A" does not resolve: cannot load /srv/api/a.yaml: ' +
    'Duplicate key "A" at line 3 (first at line 1)',
  ]);
});

Deno.test("walkStructure() finds the $refs of schemas and OpenAPI objects only, with their kind", () => {
  const found: string[] = [];
  walkStructure(
    parse(`
info: { description: { $ref: "#/not-a-ref" } }
x-vendor: { $ref: "#/not-a-ref" }
paths:
  x-paths: { $ref: "#/not-a-ref" }
  /a:
    parameters: [{ $ref: "#/p" }]
    get:
      x-codeSamples: [{ $ref: "#/not-a-ref" }]
      requestBody: { $ref: "#/b" }
      responses:
        "200":
          headers: { x-rate-limit: { schema: { $ref: "#/h" } } }
          content:
            application/json:
              schema:
                properties:
                  default: { $ref: "#/a" }
                  example: { $ref: "#/b" }
                example: { $ref: "#/not-a-ref" }
                default: { $ref: "#/not-a-ref" }
                x-vendor: { $ref: "#/not-a-ref" }
                items: { $ref: "#/c" }
                allOf: [{ $ref: "#/d" }]
              example: { $ref: "#/not-a-ref" }
              examples: { one: { $ref: "#/not-a-ref" } }
components:
  schemas:
    S: { $ref: "#/s" }
    T: { properties: { $ref: "#/props" }, allOf: { $ref: "#/not-a-list" } }
    U: { properties: { $ref: { type: string } } }
  parameters: { $ref: "#/params" }
  examples: { E: { $ref: "#/not-a-ref" } }
`),
    "document",
    "",
    (ref, pointer, shape: Shape) => found.push(`${pointer} ${ref} ${shape}`),
  );
  const media = "/paths/~1a/get/responses/200/content/application~1json/schema";
  deepStrictEqual(found, [
    "/paths/~1a/parameters/0/$ref #/p parameter",
    "/paths/~1a/get/requestBody/$ref #/b requestBody",
    "/paths/~1a/get/responses/200/headers/x-rate-limit/schema/$ref #/h schema",
    `${media}/properties/default/$ref #/a schema`,
    `${media}/properties/example/$ref #/b schema`,
    `${media}/items/$ref #/c schema`,
    `${media}/allOf/0/$ref #/d schema`,
    "/components/schemas/S/$ref #/s schema",
    "/components/schemas/T/properties/$ref #/props map:schema",
    "/components/parameters/$ref #/params map:parameter",
  ]);
});

Deno.test("loadRefFiles() loads the file a $ref standing for a list or a map names, and walks it as one", async () => {
  const main = parse(`
paths:
  /a:
    get:
      parameters: { $ref: "lists.yaml#/common" }
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: { type: object, properties: { $ref: "props.yaml" } }
`);
  const { problems, read } = await load(main, {
    "/srv/api/lists.yaml": "common: [{ $ref: 'params.yaml#/Limit' }]\n",
    "/srv/api/params.yaml": "Limit: { name: limit, in: query, schema: { type: integer } }\n",
    "/srv/api/props.yaml": "name: { $ref: 'missing.yaml' }\n",
  });
  deepStrictEqual(read, [
    "/srv/api/lists.yaml",
    "/srv/api/props.yaml",
    "/srv/api/params.yaml",
    "/srv/api/missing.yaml",
  ]);
  deepStrictEqual(problems.map((p) => [p.file, p.pointer]), [[
    "/srv/api/props.yaml",
    "/name/$ref",
  ]]);
});

Deno.test("follow() follows a chain of refs across files and stops on a loop", () => {
  const files = new Map<string, Json>([
    [MAIN, { a: { $ref: "other.yaml#/b" }, loop: { $ref: "#/loop" } }],
    ["file:///srv/api/other.yaml", { b: { $ref: "#/c" }, c: { type: "string" } }],
  ]);
  const start = { url: MAIN, pointer: "/a", value: { $ref: "other.yaml#/b" } };
  deepStrictEqual(follow(files, start), {
    url: "file:///srv/api/other.yaml",
    pointer: "/c",
    value: { type: "string" },
  });
  strictEqual(follow(files, { url: MAIN, pointer: "/loop", value: { $ref: "#/loop" } }), undefined);
});

Deno.test("followPointer() follows the $refs met on the way, across files", () => {
  const files = new Map<string, Json>([
    [MAIN, { paths: { "/pets": { $ref: "paths/pets.yaml#/Pets" } } }],
    ["file:///srv/api/paths/pets.yaml", {
      Pets: { post: { requestBody: { $ref: "../bodies.yaml" } } },
    }],
    ["file:///srv/api/bodies.yaml", { required: true }],
  ]);
  deepStrictEqual(followPointer(files, { url: MAIN, pointer: "/paths/~1pets/post/requestBody" }), {
    url: "file:///srv/api/bodies.yaml",
    pointer: "",
    value: { required: true },
  });
  strictEqual(followPointer(files, { url: MAIN, pointer: "/paths/~1pets/get" }), undefined);
  strictEqual(followPointer(files, { url: MAIN, pointer: "/paths/~1dogs/get" }), undefined);
});

Deno.test("loadDocument() loads the files next to the document and refuses a missing one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/schemas`);
    await Deno.writeTextFile(`${dir}/schemas/pet.yaml`, "Pet: { type: object }\n");
    const text = (ref: string) =>
      `openapi: 3.0.3\ninfo: {title: t, version: "1"}\npaths: {}\n` +
      `components: { schemas: { Pet: { $ref: "${ref}" } } }\n`;
    await Deno.writeTextFile(`${dir}/openapi.yaml`, text("schemas/pet.yaml#/Pet"));
    const document = await loadDocument(`${dir}/openapi.yaml`);
    deepStrictEqual(document.files.get(fileUrl(`${dir}/schemas/pet.yaml`)), {
      Pet: { type: "object" },
    });
    await Deno.writeTextFile(`${dir}/openapi.yaml`, text("schemas/nope.yaml#/Pet"));
    await rejects(loadDocument(`${dir}/openapi.yaml`), (error: unknown) => {
      ok(error instanceof DocumentError);
      strictEqual(error.file, `${dir}/openapi.yaml`);
      deepStrictEqual(error.problems.map((p) => p.pointer), ["/components/schemas/Pet/$ref"]);
      match(error.problems[0].message, /cannot load .*schemas\/nope\.yaml/);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
