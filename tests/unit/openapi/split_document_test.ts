import { deepStrictEqual, fail, match, ok, strictEqual } from "node:assert/strict";
import { DocumentError, loadDocument } from "../../../lib/openapi/document.ts";
import { fileUrl } from "../../../lib/openapi/refs.ts";
import { generatedSplitDocument } from "../../e2e/_split.ts";

/** Writes `files` (path → text) into a new temporary folder and returns its path. */
async function folder(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "urocket-split-" });
  for (const [path, text] of Object.entries(files)) {
    const at = `${dir}/${path}`;
    await Deno.mkdir(at.slice(0, at.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(at, text);
  }
  return dir;
}

/** The DocumentError `loadDocument(file)` is refused with. */
async function refusal(file: string): Promise<DocumentError> {
  const error = await loadDocument(file).then(
    () => fail("expected a DocumentError"),
    (error) => error,
  );
  ok(error instanceof DocumentError, String(error));
  return error;
}

Deno.test("loadDocument() loads a document split over more than 1,000 files, each once", async () => {
  // The end-to-end test serves one of 2,400 files; this one is over the 1,000 files once refused.
  const dir = await folder(generatedSplitDocument(300));
  try {
    const document = await loadDocument(`${dir}/openapi.yaml`);
    strictEqual(document.operations.length, 300);
    // The document, four files per operation and the two shared ones.
    strictEqual(document.files.size, 1 + 300 * 4 + 2);
    const last = document.operations[299];
    deepStrictEqual(
      [last.path, last.method, last.parameters.map((p) => p.name), last.requestBody?.required],
      ["/things299/{id}", "put", ["id"], true],
    );
    strictEqual(last.location.url, fileUrl(`${dir}/resources/thing299/path.yml`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadDocument() never follows a $ref in code samples, examples, descriptions, tags or links", async () => {
  const dir = await folder({
    "openapi.yaml": `openapi: 3.1.0
info: { title: t, version: "1", description: { $ref: "nowhere.md" } }
tags: [{ name: a, description: { $ref: "nowhere.yml#/a" } }]
x-tagGroups: [{ $ref: "nowhere.yml" }]
paths:
  /a:
    summary: { $ref: "nowhere.yml" }
    get:
      description: { $ref: "nowhere.yml" }
      x-codeSamples: [{ $ref: "examples/curl/a.yml" }]
      responses:
        "200":
          description: ok
          links: { next: { $ref: "nowhere.yml#/links/next" } }
          content:
            application/json:
              schema:
                type: object
                example: { $ref: "nowhere.yml" }
                default: { $ref: "nowhere.yml" }
                properties:
                  example: { $ref: "schemas.yml#/Example" }
              example: { $ref: "nowhere.yml" }
              examples:
                one: { $ref: "nowhere.yml#/examples/one" }
                two: { value: { $ref: "nowhere.yml" } }
components:
  examples: { three: { $ref: "nowhere.yml" } }
  securitySchemes: { key: { $ref: "nowhere.yml" } }
  links: { four: { $ref: "nowhere.yml" } }
`,
    "schemas.yml": "Example: { type: string }\n",
  });
  try {
    const document = await loadDocument(`${dir}/openapi.yaml`);
    deepStrictEqual([...document.files.keys()], [
      fileUrl(`${dir}/openapi.yaml`),
      fileUrl(`${dir}/schemas.yml`),
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadDocument() reads of a file only what is referenced: a broken $ref in an unused entry is no problem", async () => {
  const dir = await folder({
    "openapi.yaml": `openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /a:
    get:
      parameters: [{ $ref: "parameters.yml#/used" }]
      responses: { "200": { description: ok } }
`,
    "parameters.yml": `used: { name: q, in: query, schema: { type: string } }
unused: { name: r, in: query, schema: { $ref: "missing.yml" } }
`,
  });
  try {
    strictEqual((await loadDocument(`${dir}/openapi.yaml`)).operations[0].parameters.length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadDocument() names the file and pointer of a broken $ref, and the file that lacks its target", async () => {
  const dir = await folder({
    "openapi.yaml": `openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /pets/{id}: { $ref: "paths/pet.yaml" }
`,
    "paths/pet.yaml": `put:
  parameters: [{ $ref: "../parameters.yaml#/Id" }]
  requestBody: { $ref: "../bodies.yaml#/Nope" }
  responses: { "200": { description: ok } }
`,
    "parameters.yaml": "Id: { name: id, in: path, schema: { $ref: './schemas.yaml' } }\n",
    "bodies.yaml": "Pet: { content: {} }\n",
  });
  try {
    const error = await refusal(`${dir}/openapi.yaml`);
    deepStrictEqual(error.problems.map((p) => [p.file, p.pointer]), [
      [`${dir}/paths/pet.yaml`, "/put/requestBody/$ref"],
      [`${dir}/parameters.yaml`, "/Id/schema/$ref"],
    ]);
    strictEqual(
      error.problems[0].message,
      `$ref "../bodies.yaml#/Nope" does not resolve: ${dir}/bodies.yaml has no /Nope`,
    );
    match(
      error.problems[1].message,
      new RegExp(
        `^\\$ref "./schemas.yaml" does not resolve: cannot load ${dir}/schemas.yaml: No such file`,
      ),
    );
    // The message names the file each problem is in, not the document.
    match(error.message, new RegExp(`^${dir}/paths/pet.yaml: /put/requestBody/\\$ref: `, "m"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadDocument() refuses a $ref to a file that is not a regular file, without reading it", async () => {
  const dir = await folder({
    "openapi.yaml": `openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /a: { $ref: "fifo.yaml" }
  /b: { $ref: "folder" }
`,
  });
  try {
    // Reading a FIFO nobody writes to would block the start for ever.
    const made = await new Deno.Command("mkfifo", { args: [`${dir}/fifo.yaml`] }).output();
    ok(made.success, "mkfifo");
    await Deno.mkdir(`${dir}/folder`);
    const error = await refusal(`${dir}/openapi.yaml`);
    deepStrictEqual(error.problems.map((p) => p.message), [
      `$ref "fifo.yaml" does not resolve: cannot load ${dir}/fifo.yaml: not a regular file`,
      `$ref "folder" does not resolve: cannot load ${dir}/folder: not a regular file`,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
