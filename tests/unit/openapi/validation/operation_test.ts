import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { loadDocument, parseDocumentText } from "../../../../lib/openapi/document.ts";
import {
  DocumentValidation,
  MAX_ERRORS,
  type OperationValidator,
  type Verdict,
} from "../../../../lib/openapi/validation/mod.ts";
import { selectResponse } from "../../../../lib/openapi/validation/operation.ts";
import { DETAIL_LIMIT } from "../../../../lib/openapi/validation/schemas.ts";

const encoder = new TextEncoder();

const DOC = `openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /things:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: { $ref: "#/components/schemas/Thing" }
          application/merge-patch+json:
            schema: { type: object }
          application/x-www-form-urlencoded:
            schema:
              type: object
              required: [n]
              properties:
                n: { type: integer }
                tags: { type: array, items: { type: string } }
          text/plain: {}
      responses:
        "201":
          description: created
          content:
            application/json:
              schema: { $ref: "#/components/schemas/Thing" }
        2XX:
          description: other success
          content:
            application/json: { schema: { type: object, required: [ok] } }
        "204": { description: nothing }
        default:
          description: error
          content:
            application/problem+json: { schema: { type: object, required: [title] } }
    get:
      responses:
        "200": { description: ok, content: { "*/*": {} } }
  /items:
    post:
      requestBody:
        content:
          application/json:
            schema: { type: array, items: { type: object, required: [id], properties: { id: { type: integer } } } }
      responses:
        "204": { description: ok }
  /empty:
    post:
      responses:
        "204": { description: ok }
components:
  schemas:
    Thing:
      type: object
      required: [name]
      properties:
        name: { type: string }
        i32: { type: integer, format: int32 }
        i64: { type: integer, format: int64 }
        f: { type: number, format: float }
        d: { type: number, format: double }
        b64: { type: string, format: byte }
        when: { type: string, format: date-time }
        day: { type: string, format: date }
        mail: { type: string, format: email }
        id: { type: string, format: uuid }
        site: { type: string, format: uri }
        pw: { type: string, format: password }
        bin: { type: string, format: binary }
`;

function validator(pointer: string, doc = DOC): OperationValidator {
  const document = parseDocumentText(doc, "/srv/api/openapi.yaml");
  const prepared = new DocumentValidation(document).prepare({ pointer, name: "op" }, {
    in: true,
    out: true,
  });
  deepStrictEqual(prepared.problems, []);
  return prepared.validator;
}

const things = () => validator("/paths/~1things/post");

function request(
  v: OperationValidator,
  body: string | Uint8Array,
  contentType?: string,
): Verdict {
  return v.checkRequest({
    params: {},
    url: new URL("http://localhost/things"),
    headers: new Headers(contentType ? { "content-type": contentType } : {}),
    body: typeof body === "string" ? encoder.encode(body) : body,
  });
}

function reply(v: OperationValidator, status: number, body: string, contentType?: string): Verdict {
  return v.checkReply({
    status,
    headers: new Headers(contentType ? { "content-type": contentType } : {}),
    body: encoder.encode(body),
  });
}

const errors = (verdict: Verdict) => verdict.ok ? [] : verdict.errors;

Deno.test("checkRequest() accepts a valid JSON body, with charset and +json types", () => {
  const v = things();
  strictEqual(request(v, '{"name":"a"}', "application/json").ok, true);
  strictEqual(request(v, '{"name":"a"}', "Application/JSON; charset=utf-8").ok, true);
  strictEqual(request(v, "{}", "application/merge-patch+json").ok, true);
  deepStrictEqual(errors(request(v, "[]", "application/merge-patch+json")), [
    { in: "body", pointer: "", message: "must be object" },
  ]);
});

Deno.test("checkRequest() answers 415 for a content type the operation does not declare", () => {
  const verdict = request(things(), "<a/>", "application/xml");
  strictEqual(verdict.ok, false);
  if (verdict.ok) return;
  strictEqual(verdict.kind, "unsupported_media_type");
  deepStrictEqual(verdict.errors, [{
    in: "header",
    pointer: "/content-type",
    message: '"application/xml" is not accepted: expected application/json, ' +
      "application/merge-patch+json, application/x-www-form-urlencoded, text/plain",
  }]);
});

Deno.test("checkRequest() answers 415 for a body without Content-Type or to an operation without body", () => {
  const missing = request(things(), '{"name":"a"}');
  strictEqual(!missing.ok && missing.kind, "unsupported_media_type");
  deepStrictEqual(errors(missing)[0].message.startsWith("is missing: expected"), true);
  const none = request(validator("/paths/~1empty/post"), "x", "text/plain");
  strictEqual(!none.ok && none.kind, "unsupported_media_type");
  strictEqual(!none.ok && none.detail, "This operation takes no request body");
});

Deno.test("checkRequest() answers 400 for a missing required body, and accepts an optional one absent", () => {
  const verdict = request(things(), "", "application/json");
  strictEqual(!verdict.ok && verdict.kind, "bad_request");
  deepStrictEqual(errors(verdict), [{ in: "body", pointer: "", message: "is required" }]);
  strictEqual(request(validator("/paths/~1items/post"), "").ok, true);
  strictEqual(request(validator("/paths/~1empty/post"), "").ok, true);
});

Deno.test("checkRequest() refuses JSON that does not parse without quoting the body", () => {
  for (const body of ['{"name": secret-value', "\xff", "   "]) {
    const found = errors(request(things(), body, "application/json"));
    strictEqual(found.length, 1);
    ok(!found[0].message.includes("secret"), found[0].message);
    strictEqual(found[0].pointer, "");
  }
  deepStrictEqual(
    errors(request(things(), new Uint8Array([0x7b, 0xff, 0x7d]), "application/json")),
    [{ in: "body", pointer: "", message: "is not valid UTF-8" }],
  );
});

Deno.test("checkRequest() parses, coerces and validates form bodies", () => {
  const v = things();
  const form = "application/x-www-form-urlencoded";
  strictEqual(request(v, "n=5&tags=a", form).ok, true);
  strictEqual(request(v, "n=5&tags=a&tags=b", form).ok, true);
  deepStrictEqual(errors(request(v, "n=five", form)), [
    { in: "body", pointer: "/n", message: "must be integer" },
  ]);
  deepStrictEqual(errors(request(v, "tags=a", form)), [
    { in: "body", pointer: "/n", message: "is required" },
  ]);
});

Deno.test("checkRequest() lets a declared type it cannot validate pass as sent", () => {
  strictEqual(request(things(), "anything at all", "text/plain").ok, true);
});

Deno.test("checkRequest() checks the JSON Schema and OpenAPI formats", () => {
  const v = things();
  const good = {
    name: "a",
    i32: 2147483647,
    i64: 9007199254740991,
    f: 1.5,
    d: -2.25,
    b64: "aGVsbG8=",
    when: "2024-02-29T12:30:00Z",
    day: "2024-02-29",
    mail: "a@example.com",
    id: "0b7f6a34-3c1e-4c8e-9a57-2f1d2a9b8c01",
    site: "https://example.com/x",
    pw: "anything",
    bin: "anything",
  };
  deepStrictEqual(errors(request(v, JSON.stringify(good), "application/json")), []);
  const bad = {
    name: "a",
    i32: 2147483648,
    i64: 1.5,
    b64: "not base64!",
    when: "2024-02-30T25:00:00Z",
    day: "29/02/2024",
    mail: "nope",
    id: "1234",
    site: "not a uri",
  };
  deepStrictEqual(
    errors(request(v, JSON.stringify(bad), "application/json")).map((e) => e.pointer),
    [
      "/i32",
      "/i64",
      "/b64",
      "/when",
      "/day",
      "/mail",
      "/id",
      "/site",
    ],
  );
});

Deno.test("checkRequest() lists at most MAX_ERRORS errors with the total in the detail", () => {
  const body = JSON.stringify(Array.from({ length: 50 }, () => ({ id: "x" })));
  const verdict = request(validator("/paths/~1items/post"), body, "application/json");
  ok(!verdict.ok);
  strictEqual(verdict.errors.length, MAX_ERRORS);
  strictEqual(verdict.total, 50);
  strictEqual(
    verdict.detail,
    `The request does not match the API contract: 50 errors, the first ${MAX_ERRORS} listed`,
  );
});

Deno.test("checkRequest() stops at the first error of a body larger than DETAIL_LIMIT", () => {
  const items = Math.ceil(DETAIL_LIMIT / 10) + 10;
  const body = JSON.stringify(Array.from({ length: items }, () => ({ id: "x" })));
  ok(body.length > DETAIL_LIMIT);
  const verdict = request(validator("/paths/~1items/post"), body, "application/json");
  ok(!verdict.ok);
  deepStrictEqual(verdict.errors, [{ in: "body", pointer: "/0/id", message: "must be integer" }]);
  strictEqual(verdict.total, 1);
});

Deno.test("selectResponse() takes the exact status, then its range, then default", () => {
  const responses = [
    { key: "201", location: { url: "", pointer: "" } },
    { key: "2XX", location: { url: "", pointer: "" } },
    { key: "4xx", location: { url: "", pointer: "" } },
    { key: "default", location: { url: "", pointer: "" } },
  ];
  strictEqual(selectResponse(responses, 201)?.key, "201");
  strictEqual(selectResponse(responses, 200)?.key, "2XX");
  strictEqual(selectResponse(responses, 404)?.key, "4xx");
  strictEqual(selectResponse(responses, 503)?.key, "default");
  strictEqual(selectResponse(responses.slice(0, 2), 503), undefined);
});

Deno.test("checkReply() validates the body of the response its status selects", () => {
  const v = things();
  strictEqual(reply(v, 201, '{"name":"a"}', "application/json").ok, true);
  deepStrictEqual(errors(reply(v, 201, '{"i32":"x"}', "application/json")), [
    { in: "body", pointer: "/name", message: "is required" },
    { in: "body", pointer: "/i32", message: "must be integer" },
  ]);
  strictEqual(reply(v, 200, '{"ok":1}', "application/json").ok, true, "2XX");
  deepStrictEqual(errors(reply(v, 202, "{}", "application/json")), [
    { in: "body", pointer: "/ok", message: "is required" },
  ]);
  strictEqual(reply(v, 500, '{"title":"x"}', "application/problem+json").ok, true, "default");
});

Deno.test("checkReply() refuses an undeclared status, content type, or body where none is declared", () => {
  deepStrictEqual(errors(reply(validator("/paths/~1empty/post"), 200, "")), [
    { in: "status", pointer: "", message: "200 is not a declared response (declared: 204)" },
  ]);
  deepStrictEqual(errors(reply(things(), 201, "x", "text/plain")), [{
    in: "header",
    pointer: "/content-type",
    message: '"text/plain" is not declared for the 201 response (declared: application/json)',
  }]);
  deepStrictEqual(errors(reply(things(), 204, "x", "text/plain")), [
    { in: "body", pointer: "", message: "must be empty: the 204 response declares no content" },
  ]);
  strictEqual(reply(things(), 204, "").ok, true);
  deepStrictEqual(errors(reply(things(), 201, "", "application/json")), [
    { in: "body", pointer: "", message: "is empty: the 201 response declares application/json" },
  ]);
});

Deno.test("checkReply() accepts any type under */* and checks JSON bodies there", () => {
  const v = validator("/paths/~1things/get");
  strictEqual(reply(v, 200, "a,b", "text/csv").ok, true);
  strictEqual(reply(v, 200, "{}", "application/json").ok, true);
  strictEqual(reply(v, 200, "{", "application/json").ok, false);
});

const DOC31 = `openapi: 3.1.0
info: { title: t, version: "1" }
paths:
  /orders:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: { $ref: "#/components/schemas/Order" }
      responses:
        "201": { description: ok }
components:
  schemas:
    Order:
      type: object
      required: [kind, total]
      properties:
        kind: { const: order }
        total: { type: number, exclusiveMinimum: 0 }
        note: { type: [string, "null"] }
        express: { type: boolean }
        address: { type: string }
      if: { properties: { express: { const: true } }, required: [express] }
      then: { required: [address] }
      unevaluatedProperties: false
`;

Deno.test("checkRequest() validates a 3.1 document with 2020-12 keywords", () => {
  const v = validator("/paths/~1orders/post", DOC31);
  const json = (data: unknown) => errors(request(v, JSON.stringify(data), "application/json"));
  deepStrictEqual(json({ kind: "order", total: 1, note: null }), []);
  deepStrictEqual(json({ kind: "order", total: 1, express: true, address: "x" }), []);
  deepStrictEqual(json({ kind: "order", total: 0, extra: 1 }), [
    { in: "body", pointer: "/total", message: "must be > 0" },
    { in: "body", pointer: "/extra", message: "is not an allowed property" },
  ]);
  deepStrictEqual(json({ kind: "other", total: 1, express: true }), [
    { in: "body", pointer: "/address", message: "is required" },
    { in: "body", pointer: "/kind", message: 'must be "order"' },
  ]);
});

/** Checks a request with path parameter `id` and a JSON body. */
function requestWith(v: OperationValidator, id: string, body: string): Verdict {
  return v.checkRequest({
    params: { id },
    url: new URL(`http://localhost/things/${id}`),
    headers: new Headers({ "content-type": "application/json" }),
    body: encoder.encode(body),
  });
}

Deno.test("DocumentValidation.prepare() finds the parameters and body of a path item written as a local $ref", () => {
  const v = validator(
    "/paths/~1things~1{id}/put",
    `openapi: 3.1.0
info: { title: t, version: "1" }
paths:
  /things/{id}: { $ref: "#/components/pathItems/Thing" }
components:
  pathItems:
    Thing:
      parameters: [{ name: id, in: path, required: true, schema: { type: integer } }]
      put:
        requestBody:
          content: { application/json: { schema: { type: object, required: [name] } } }
        responses: { "204": { description: done } }
`,
  );
  deepStrictEqual(errors(requestWith(v, "1", '{"name":"a"}')), []);
  deepStrictEqual(errors(requestWith(v, "x", "{}")).map((e) => `${e.in} ${e.pointer}`), [
    "path /id",
    "body /name",
  ]);
});

Deno.test("DocumentValidation.prepare() finds the parameters and body of a path item in another file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "urocket-validation-" });
  try {
    await Deno.mkdir(`${dir}/paths`);
    await Deno.writeTextFile(
      `${dir}/openapi.yaml`,
      `openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /things/{id}: { $ref: "paths/things.yaml#/Thing" }
`,
    );
    await Deno.writeTextFile(
      `${dir}/paths/things.yaml`,
      `Thing:
  parameters: [{ $ref: "../params.yaml#/Id" }]
  put:
    operationId: putThing
    requestBody: { $ref: "#/Body" }
    responses: { "204": { description: done } }
Body:
  required: true
  content: { application/json: { schema: { $ref: "../schemas.yaml#/Thing" } } }
`,
    );
    await Deno.writeTextFile(
      `${dir}/params.yaml`,
      "Id: { name: id, in: path, required: true, schema: { type: integer } }\n",
    );
    await Deno.writeTextFile(
      `${dir}/schemas.yaml`,
      "Thing: { type: object, required: [name], properties: { name: { type: string } } }\n",
    );
    const document = await loadDocument(`${dir}/openapi.yaml`);
    const [op] = document.operations;
    const prepared = new DocumentValidation(document).prepare({
      pointer: op.pointer,
      name: op.operationId!,
    }, { in: true, out: true });
    deepStrictEqual(prepared.problems, []);
    const v = prepared.validator;
    deepStrictEqual(v.contract.location, op.location);
    deepStrictEqual(errors(requestWith(v, "1", '{"name":"a"}')), []);
    deepStrictEqual(errors(requestWith(v, "x", '{"name":1}')).map((e) => `${e.in} ${e.pointer}`), [
      "path /id",
      "body /name",
    ]);
    deepStrictEqual(errors(requestWith(v, "1", "")), [
      { in: "body", pointer: "", message: "is required" },
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
