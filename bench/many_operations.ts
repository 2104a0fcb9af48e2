/**
 * Generates a realistic OpenAPI 3.0 document of many operations, for
 * measuring start-up and compilation: `resources` resources with five
 * operations each (list, create, get, replace, delete), every one with
 * parameters, a request body or responses that refer to component schemas
 * with formats, enums, nullable, readOnly and nested refs.
 *
 * @module
 */

/** The document (as a JSON-compatible object) with `resources × 5` operations. */
export function manyOperationsDocument(resources: number): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {
    Error: {
      type: "object",
      required: ["code", "message"],
      properties: { code: { type: "integer", format: "int32" }, message: { type: "string" } },
    },
    Audit: {
      type: "object",
      properties: {
        createdAt: { type: "string", format: "date-time", readOnly: true },
        createdBy: { type: "string", format: "email" },
        tags: { type: "array", items: { type: "string", maxLength: 20 }, maxItems: 10 },
      },
    },
  };
  const error = {
    description: "error",
    content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
  };
  for (let i = 0; i < resources; i++) {
    const name = `Thing${i}`;
    const ref = { $ref: `#/components/schemas/${name}` };
    schemas[name] = {
      type: "object",
      required: ["id", "name", "kind"],
      properties: {
        id: { type: "string", format: "uuid", readOnly: true },
        name: { type: "string", minLength: 1, maxLength: 80 },
        kind: { type: "string", enum: ["a", "b", "c"] },
        count: { type: "integer", format: "int32", minimum: 0 },
        price: { type: "number", format: "double", minimum: 0 },
        note: { type: "string", nullable: true },
        active: { type: "boolean" },
        audit: { $ref: "#/components/schemas/Audit" },
        children: { type: "array", items: { $ref: `#/components/schemas/${name}` } },
        website: { type: "string", format: "uri" },
      },
    };
    const json = (schema: unknown) => ({ "application/json": { schema } });
    paths[`/things${i}`] = {
      get: {
        operationId: `list${name}`,
        parameters: [
          { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 100 } },
          { name: "offset", in: "query", schema: { type: "integer", minimum: 0 } },
          { name: "kind", in: "query", schema: { type: "array", items: { type: "string" } } },
        ],
        responses: {
          "200": { description: "ok", content: json({ type: "array", items: ref }) },
          default: error,
        },
      },
      post: {
        operationId: `create${name}`,
        requestBody: { required: true, content: json(ref) },
        responses: { "201": { description: "created", content: json(ref) }, "4XX": error },
      },
    };
    const id = {
      name: "id",
      in: "path",
      required: true,
      schema: { type: "string", format: "uuid" },
    };
    paths[`/things${i}/{id}`] = {
      parameters: [id],
      get: {
        operationId: `get${name}`,
        responses: { "200": { description: "ok", content: json(ref) }, "404": error },
      },
      put: {
        operationId: `replace${name}`,
        requestBody: { required: true, content: json(ref) },
        responses: { "200": { description: "ok", content: json(ref) }, "4XX": error },
      },
      delete: {
        operationId: `delete${name}`,
        responses: { "204": { description: "deleted" }, "404": error },
      },
    };
  }
  return {
    openapi: "3.0.3",
    info: { title: "many operations", version: "1" },
    paths,
    components: { schemas },
  };
}
