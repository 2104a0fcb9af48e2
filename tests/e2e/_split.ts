// Generated split documents, for the tests of documents made of thousands of files.

/**
 * A document laid out as DigitalOcean publishes its own: each operation in
 * a file of its own, with its parameter, response and schema in files of
 * theirs, `$ref`s to shared files up the tree, and code samples, an example
 * and descriptions named by `$ref`s to files that are not there (a
 * renderer's business, not urocket's). `operations` × 4 + 3 files.
 */
export function generatedSplitDocument(operations: number): Record<string, string> {
  const files: Record<string, string> = {};
  const paths: string[] = [];
  for (let i = 0; i < operations; i++) {
    paths.push(`  /things${i}/{id}: { $ref: "resources/thing${i}/path.yml" }`);
    files[`resources/thing${i}/path.yml`] = `put:
  operationId: putThing${i}
  parameters: [{ $ref: "parameters.yml#/thing_id" }]
  requestBody:
    required: true
    content:
      application/json:
        schema: { $ref: "models/thing.yml" }
        example: { $ref: "examples/body.yml" }
  responses:
    "200": { $ref: "responses/ok.yml" }
    default: { $ref: "../../shared/responses/error.yml" }
  x-codeSamples:
    - $ref: "examples/curl/put.yml"
    - $ref: "examples/python/put.yml"
`;
    files[`resources/thing${i}/parameters.yml`] =
      `thing_id: { name: id, in: path, required: true, schema: { type: integer } }\n`;
    files[`resources/thing${i}/responses/ok.yml`] = `description: ok
content:
  application/json:
    schema: { $ref: "../models/thing.yml" }
`;
    files[`resources/thing${i}/models/thing.yml`] = `type: object
required: [name]
properties:
  name: { type: string }
  shared: { $ref: "../../../shared/models/meta.yml" }
`;
  }
  files["shared/responses/error.yml"] = "description: an error\n";
  files["shared/models/meta.yml"] = "type: object\n";
  files["openapi.yaml"] = `openapi: 3.0.0
info: { title: split, version: "1", description: { $ref: "description.yml#/missing" } }
servers: [{ url: "https://api.example.com/v2" }]
tags:
  - name: Things
    description: { $ref: "description.yml#/things" }
paths:
${paths.join("\n")}
`;
  return files;
}
