import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { ConfigSchema, OperationSchema } from "../../../lib/config/schema.ts";
import { configJsonSchemaText, SCHEMA_FILE } from "../../../lib/config/json_schema.ts";

const REPO = new URL("../../../", import.meta.url).pathname;

Deno.test("the committed urocket-service.schema.json is the schema generated from ConfigSchema", async () => {
  const committed = await Deno.readTextFile(`${REPO}${SCHEMA_FILE}`);
  strictEqual(
    committed,
    configJsonSchemaText(),
    `${SCHEMA_FILE} is stale: regenerate it with "deno task schema"`,
  );
});

Deno.test("configJsonSchemaText() describes every key of the config and of an operation", () => {
  const schema = JSON.parse(configJsonSchemaText());
  deepStrictEqual(Object.keys(schema.properties), Object.keys(ConfigSchema.shape));
  strictEqual(schema.additionalProperties, false, "a misspelt key is flagged by editors too");
  const operation = schema.definitions.operation;
  deepStrictEqual(Object.keys(operation.properties), Object.keys(OperationSchema.shape));
  deepStrictEqual(
    Object.keys(operation.properties.inject.properties),
    Object.keys(OperationSchema.shape.inject.shape),
  );
  strictEqual(
    schema.properties.paths.additionalProperties.properties.post.allOf[0].$ref,
    "#/definitions/operation",
  );
  for (const [key, value] of Object.entries(schema.properties)) {
    ok((value as { description?: string }).description, `${key} has a description`);
  }
});

/** Every urocket-service.yaml in the repository outside tests. */
async function exampleConfigs(dir = REPO): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}${entry.name}`;
    if (entry.isDirectory && !entry.name.startsWith(".") && entry.name !== "tests") {
      found.push(...await exampleConfigs(`${path}/`));
    } else if (entry.isFile && entry.name === "urocket-service.yaml") {
      found.push(path);
    }
  }
  return found;
}

Deno.test("every example config points editors at the schema on its first line", async () => {
  const configs = await exampleConfigs();
  ok(configs.length >= 2, `found ${configs.join(", ")}`);
  for (const config of configs) {
    const first = (await Deno.readTextFile(config)).split("\n")[0];
    const match = /^# yaml-language-server: \$schema=(\S+)$/.exec(first);
    ok(match, `${config} starts with "# yaml-language-server: $schema=…"`);
    const target = new URL(match[1], `file://${config}`).pathname;
    strictEqual(target, `${REPO}${SCHEMA_FILE}`, `${config} points at ${SCHEMA_FILE}`);
  }
});
