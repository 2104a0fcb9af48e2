import assert from "node:assert/strict";
import { E2E, FIXTURES, runUrocket, startUrocket } from "./_harness.ts";
import { type RequestCase, runRequestTable, validationFixture } from "./_validation.ts";

// What real public documents write and other engines accept (fixtures/validation/loose, and a
// 3.1 document below): urocket starts, lets valid requests through, refuses invalid ones with
// 400 and never answers 500.

const json = { "content-type": "application/json" };
const post = (
  name: string,
  path: string,
  body: unknown,
  status: number,
  errors: [string, string][] = [],
): RequestCase => ({
  name,
  method: "POST",
  path,
  headers: json,
  body: JSON.stringify(body),
  status,
  errors,
});

const HANDLER = `{ validate-in: true, inject: { cmd: "{{fixtures}}/reply.sh" } }`;

Deno.test({
  name: "validate-in serves a 3.0 document with ids in examples, empty and repeated enums, " +
    "non-Unicode patterns, formats on other types, nullable without type",
  ...E2E,
  async fn() {
    const fixture = await validationFixture("loose");
    const uro = await startUrocket({
      ...fixture,
      config: `paths:
  /droplets: { post: ${HANDLER} }
  /never: { post: ${HANDLER} }
  /sizes: { post: ${HANDLER} }
  /tags: { post: ${HANDLER} }
  /misc: { post: ${HANDLER} }
  /items: { post: ${HANDLER} }
  /pets: { post: ${HANDLER} }
`,
    });
    try {
      await runRequestTable(uro, [
        post("a droplet", "/droplets", { name: "web-1" }, 200),
        post("a droplet without a name", "/droplets", { size: {} }, 400, [["body", "/name"]]),
        post("a droplet with an empty name", "/droplets", { name: "" }, 400, [["body", "/name"]]),
        post("no value where the enum is empty", "/never", {}, 200),
        post("any value where the enum is empty", "/never", { retired: "x" }, 400, [
          ["body", "/retired"],
        ]),
        post("a value the enum lists twice", "/sizes", { size: "small" }, 200),
        post("a value the enum does not list", "/sizes", { size: "medium" }, 400, [
          ["body", "/size"],
        ]),
        post("a name the pattern allows", "/tags", { name: "web:prod-1" }, 200),
        post("a name the pattern refuses", "/tags", { name: "web prod" }, 400, [
          ["body", "/name"],
        ]),
        post("an integer with a string format, nulls", "/misc", {
          ghost: 1,
          count: 5,
          anything: null,
          owner: null,
        }, 200),
        post(
          "a nullable object's member of the wrong type",
          "/misc",
          {
            ghost: 1,
            owner: { age: "old" },
          },
          400,
          [["body", "/owner/age"]],
        ),
        post("a required member that properties do not list", "/misc", {}, 400, [
          ["body", "/ghost"],
        ]),
        post("a body whose schema is null", "/items", { anything: [1, "two"] }, 200),
        post("a pet of the right kind", "/pets", { pet: { kind: "dog", barks: true } }, 200),
      ]);
      assert.equal(uro.find((l) => l.level === "error").length, 0);
    } finally {
      await uro.stop();
    }
  },
});

Deno.test({
  name: "urocket check accepts the loose 3.0 document, warning once about the non-Unicode pattern",
  ...E2E,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "urocket-loose-" });
    try {
      await Deno.copyFile(
        `${FIXTURES}/validation/loose/openapi.yaml`,
        `${dir}/openapi.yaml`,
      );
      const handler = `{ validate-in: true, validate-out: true, inject: { cmd: /bin/true } }`;
      await Deno.writeTextFile(
        `${dir}/urocket-service.yaml`,
        `listen: 127.0.0.1:0\nsocket: ${dir}/u.sock\npaths:\n` +
          ["droplets", "never", "sizes", "tags", "misc", "items", "pets"]
            .map((p) => `  /${p}: { post: ${handler} }\n`).join(""),
      );
      const result = await runUrocket(["check", "-c", `${dir}/urocket-service.yaml`]);
      assert.equal(result.code, 0, result.stderr);
      const pattern = result.stderr.split("\n").filter((l) =>
        l.includes("is not valid with the u")
      );
      assert.deepEqual(pattern, [
        `warning: ${dir}/openapi.yaml: /paths/~1tags/post/requestBody/content/application~1json/` +
        String.raw`schema/properties/name/pattern: Pattern "^[a-zA-Z0-9_\\-\\:]+$" is not valid ` +
        "with the u (Unicode) flag JSON Schema asks for: it is used without it, as ECMAScript " +
        "engines without that flag read it",
      ]);
      assert.match(result.stderr, /createItem: the schema of application\/json is null/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a failed oneOf lists the closest alternative's errors after one line, not every one's",
  ...E2E,
  async fn() {
    const fixture = await validationFixture("loose");
    const uro = await startUrocket({
      ...fixture,
      config: `paths:\n  /pets: { post: ${HANDLER} }\n`,
    });
    try {
      const errors = async (body: unknown) => {
        const answer = await uro.call("/pets", {
          method: "POST",
          headers: json,
          body: JSON.stringify(body),
        });
        assert.equal(answer.status, 400, answer.text);
        return answer.json().errors;
      };
      assert.deepEqual(await errors({ pet: { kind: "dog", barks: "yes" } }), [
        {
          in: "body",
          pointer: "/pet",
          message: "matches none of the 3 schemas of oneOf: the errors that follow are those " +
            "of the closest, schema 2",
        },
        { in: "body", pointer: "/pet/barks", message: "must be boolean" },
      ]);
      assert.deepEqual(await errors({ pet: { kind: "cat" } }), [
        {
          in: "body",
          pointer: "/pet",
          message: "matches none of the 3 schemas of oneOf: the errors that follow are those " +
            "of the closest, schema 1",
        },
        { in: "body", pointer: "/pet/lives", message: "is required" },
      ]);
      assert.deepEqual(await errors({ pet: 7 }), [
        { in: "body", pointer: "/pet", message: "must be object or string" },
      ]);
    } finally {
      await uro.stop();
    }
  },
});

Deno.test({
  name: "validate-in and validate-out serve a 3.1 document with $id in examples and enum: []",
  ...E2E,
  async fn() {
    const uro = await startUrocket({
      openapi: `openapi: 3.1.0
info: { title: t, version: "1" }
paths:
  /guilds:
    post:
      requestBody:
        content:
          application/json:
            schema: { $ref: "#/components/schemas/Guild" }
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: { type: object, properties: { ok: { type: boolean } } }
components:
  schemas:
    Guild:
      type: object
      required: [name]
      properties:
        name: { type: string }
        features: { type: array, items: { type: string, enum: [] } }
        tier: { type: [integer, "null"], enum: [0, 1, 1, 2, null] }
      examples:
        - { $id: "https://example.com/guild", name: a }
        - { $id: "https://example.com/guild", name: b }
`,
      config: `paths:
  /guilds:
    post:
      validate-in: true
      validate-out: true
      inject: { cmd: "{{fixtures}}/reply.sh" }
`,
    });
    try {
      await runRequestTable(uro, [
        post("a guild", "/guilds", { name: "g", features: [], tier: 1 }, 200),
        post(
          "a guild with a feature the empty enum refuses",
          "/guilds",
          {
            name: "g",
            features: ["x"],
          },
          400,
          [["body", "/features/0"]],
        ),
        post("a tier the enum does not list", "/guilds", { name: "g", tier: 3 }, 400, [
          ["body", "/tier"],
        ]),
      ]);
      assert.equal(uro.find((l) => l.level === "error").length, 0);
    } finally {
      await uro.stop();
    }
  },
});
