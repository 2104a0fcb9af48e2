import assert from "node:assert/strict";
import { E2E, startUrocket, withUrocket } from "./_harness.ts";
import { runReplyTable, runRequestTable, validationFixture } from "./_validation.ts";

// A Petstore-like OpenAPI 3.0 document (tests/e2e/fixtures/validation/petstore):
// parameters in every location, $refs into a file next to the document,
// nullable (also beside allOf), a discriminator with mapping, readOnly/writeOnly,
// formats, form bodies, a multipart operation.

const json = { "content-type": "application/json" };
const form = { "content-type": "application/x-www-form-urlencoded" };
const session = { cookie: "session=abcdefgh1" };
const dog = { name: "Rex", petType: "dog", barks: true };

Deno.test({
  name: "validate-in lets valid Petstore requests through and refuses invalid ones before spawning",
  ...E2E,
  async fn() {
    const fixture = await validationFixture("petstore");
    const handler = `{ validate-in: true, inject: { cmd: "{{fixtures}}/reply.sh" } }`;
    await withUrocket({
      ...fixture,
      config: `paths:
  /pets: { get: ${handler}, post: ${handler} }
  /pets/{petId}: { get: ${handler}, delete: ${handler} }
  /pets/{petId}/photo: { put: ${handler} }
`,
    }, async (uro) => {
      const warning = await uro.waitForLog((l) =>
        l.msg === "config_warning" && /uploadPhoto/.test(String(l.message))
      );
      assert.match(String(warning.message), /multipart\/form-data, image\/png cannot be validated/);
      await runRequestTable(uro, [
        {
          name: "query parameters of every kind, coerced",
          path: "/v1/pets?limit=10&tags=a&tags=b&status=sold&fields=id,name",
          headers: { "x-trace-id": "0b7f6a34-3c1e-4c8e-9a57-2f1d2a9b8c01" },
          status: 200,
        },
        {
          name: "a limit below minimum",
          path: "/v1/pets?limit=0",
          status: 400,
          errors: [["query", "/limit"]],
        },
        {
          name: "a limit that is no integer",
          path: "/v1/pets?limit=ten",
          status: 400,
          errors: [["query", "/limit"]],
        },
        {
          name: "a status outside the enum ($ref)",
          path: "/v1/pets?status=lost",
          status: 400,
          errors: [["query", "/status"]],
        },
        {
          name: "too many tags",
          path: "/v1/pets?tags=a&tags=b&tags=c&tags=d",
          status: 400,
          errors: [["query", "/tags"]],
        },
        {
          name: "an unexploded list with a bad item",
          path: "/v1/pets?fields=id,age",
          status: 400,
          errors: [["query", "/fields/1"]],
        },
        {
          name: "a header that is no uuid",
          path: "/v1/pets",
          headers: { "x-trace-id": "not-a-uuid" },
          status: 400,
          errors: [["header", "/X-Trace-Id"]],
        },
        { name: "path and cookie parameters", path: "/v1/pets/42", headers: session, status: 200 },
        {
          name: "a path parameter below minimum",
          path: "/v1/pets/0",
          headers: session,
          status: 400,
          errors: [["path", "/petId"]],
        },
        {
          name: "a path parameter that is no integer, and a missing required cookie",
          path: "/v1/pets/rex",
          status: 400,
          errors: [["path", "/petId"], ["cookie", "/session"]],
        },
        {
          name: "a JSON dog without its readOnly id",
          method: "POST",
          path: "/v1/pets",
          headers: json,
          body: JSON.stringify(dog),
          status: 200,
        },
        {
          name: "nullable fields set to null (owner is nullable beside allOf)",
          method: "POST",
          path: "/v1/pets",
          headers: { "content-type": "application/json; charset=utf-8" },
          body: JSON.stringify({ ...dog, tag: null, owner: null, birthday: "2020-02-29" }),
          status: 200,
        },
        {
          name: "a bad email in an owner from the file next to the document",
          method: "POST",
          path: "/v1/pets",
          headers: json,
          body: JSON.stringify({ ...dog, owner: { email: "not-an-email" } }),
          status: 400,
          errors: [["body", "/owner/email"]],
        },
        {
          name: "a cat (mapped by name) with too many lives",
          method: "POST",
          path: "/v1/pets",
          headers: json,
          body: JSON.stringify({ name: "Tom", petType: "cat", lives: 10 }),
          status: 400,
          errors: [["body", "/lives"]],
        },
        {
          name: "a dog (mapped by $ref) that does not bark",
          method: "POST",
          path: "/v1/pets",
          headers: json,
          body: JSON.stringify({ name: "Rex", petType: "dog" }),
          status: 400,
          errors: [["body", "/barks"]],
        },
        {
          name: "a petType that names no schema",
          method: "POST",
          path: "/v1/pets",
          headers: json,
          body: JSON.stringify({ name: "Daisy", petType: "cow" }),
          status: 400,
          errors: [["body", "/petType"]],
        },
        {
          name: "a tag that is neither string nor null, an empty name, a bad date",
          method: "POST",
          path: "/v1/pets",
          headers: json,
          body: JSON.stringify({ ...dog, tag: 5, name: "", birthday: "2021-02-30" }),
          status: 400,
          errors: [["body", "/tag"], ["body", "/name"], ["body", "/birthday"]],
        },
        {
          name: "a form body, coerced",
          method: "POST",
          path: "/v1/pets",
          headers: form,
          body: "name=Rex&petType=dog&age=3&vaccinated=true&tags=a&tags=b",
          status: 200,
        },
        {
          name: "a form body with a bad age, an unknown field, no petType",
          method: "POST",
          path: "/v1/pets",
          headers: form,
          body: "name=Rex&age=0&colour=red",
          status: 400,
          errors: [["body", "/age"], ["body", "/colour"], ["body", "/petType"]],
        },
        {
          name: "JSON that does not parse",
          method: "POST",
          path: "/v1/pets",
          headers: json,
          body: '{"name": "Rex",',
          status: 400,
          errors: [["body", ""]],
        },
        {
          name: "no body where one is required",
          method: "POST",
          path: "/v1/pets",
          status: 400,
          errors: [["body", ""]],
        },
        {
          name: "a content type the operation does not declare",
          method: "POST",
          path: "/v1/pets",
          headers: { "content-type": "text/plain" },
          body: "Rex",
          status: 415,
          errors: [["header", "/content-type"]],
        },
        {
          name: "a body to an operation that takes none",
          method: "DELETE",
          path: "/v1/pets/1",
          headers: json,
          body: "{}",
          status: 415,
          errors: [["body", ""]],
        },
        {
          name: "a multipart body passes unvalidated",
          method: "PUT",
          path: "/v1/pets/1/photo",
          headers: { "content-type": "multipart/form-data; boundary=x" },
          body: "--x\r\nContent-Disposition: form-data; name=file\r\n\r\nnot checked\r\n--x--\r\n",
          status: 200,
        },
      ]);
    });
  },
});

Deno.test({
  name: "without validate-in the same invalid requests reach the handler unchanged",
  ...E2E,
  async fn() {
    const fixture = await validationFixture("petstore");
    await withUrocket({
      ...fixture,
      config: `paths:
  /pets:
    post: { inject: { cmd: "{{fixtures}}/reply.sh" } }
`,
    }, async (uro) => {
      await runRequestTable(uro, [
        {
          name: "415 only with validate-in",
          method: "POST",
          path: "/v1/pets",
          headers: { "content-type": "text/plain" },
          body: "Rex",
          status: 200,
        },
        {
          name: "a bad body passes",
          method: "POST",
          path: "/v1/pets",
          headers: json,
          body: "{",
          status: 200,
        },
      ]);
      assert.equal(
        uro.find((l) => l.msg === "config_warning" && /cannot be validated/.test(String(l.message)))
          .length,
        0,
      );
    });
  },
});

Deno.test({
  name: "validate-out passes Petstore replies that keep the contract and stops those that break it",
  ...E2E,
  async fn() {
    const fixture = await validationFixture("petstore");
    const hold = `inject: { cmd: "{{fixtures}}/hold.sh" }`;
    const uro = await startUrocket({
      ...fixture,
      config: `paths:
  /pets:
    get: { validate-out: true, ${hold} }
    post: { validate-in: true, validate-out: true, ${hold} }
  /pets/{petId}:
    get: { validate-in: true, validate-out: true, ${hold} }
    delete: { validate-out: true, ${hold} }
`,
    });
    const pet = { id: 7, ...dog };
    const type = "application/json";
    try {
      await runReplyTable(uro, [
        {
          name: "a pet with its readOnly id, without its writeOnly secret",
          path: "/v1/pets/7",
          headers: session,
          reply: { status: 200, type, body: JSON.stringify(pet) },
          valid: true,
        },
        {
          name: "a pet without the id a reply must have",
          path: "/v1/pets/7",
          headers: session,
          reply: { status: 200, type, body: JSON.stringify(dog) },
          valid: false,
          errors: [["body", "/id"]],
        },
        {
          name: "a dog that does not bark",
          path: "/v1/pets/7",
          headers: session,
          reply: {
            status: 200,
            type,
            body: JSON.stringify({ id: 7, name: "Rex", petType: "dog" }),
          },
          valid: false,
          errors: [["body", "/barks"]],
        },
        {
          name: "a declared 404 with the Error schema of the file next to the document",
          path: "/v1/pets/8",
          headers: session,
          reply: { status: 404, type, body: '{"code":404,"message":"no such pet"}' },
          valid: true,
        },
        {
          name: "a 404 that breaks the Error schema",
          path: "/v1/pets/8",
          headers: session,
          reply: { status: 404, type, body: '{"code":"404"}' },
          valid: false,
          errors: [["body", "/code"], ["body", "/message"]],
        },
        {
          name: "a status the operation does not declare",
          path: "/v1/pets/8",
          headers: session,
          reply: { status: 500, type, body: "{}" },
          valid: false,
          errors: [["status", ""]],
        },
        {
          name: "a content type the response does not declare",
          path: "/v1/pets/8",
          headers: session,
          reply: { status: 200, type: "text/plain", body: "Rex" },
          valid: false,
          errors: [["header", "/content-type"]],
        },
        {
          name: "a reply that is not JSON",
          path: "/v1/pets/8",
          headers: session,
          reply: { status: 200, type, body: "<pet/>" },
          valid: false,
          errors: [["body", ""]],
        },
        {
          name: "a list under 200, nullable tag",
          path: "/v1/pets",
          reply: { status: 200, type, body: JSON.stringify([{ ...pet, tag: null }]) },
          valid: true,
        },
        {
          name: "any other status falls to default",
          path: "/v1/pets",
          reply: { status: 503, type, body: '{"code":503,"message":"later"}' },
          valid: true,
        },
        {
          name: "a created pet",
          method: "POST",
          path: "/v1/pets",
          headers: json,
          body: JSON.stringify(dog),
          reply: { status: 201, type, body: JSON.stringify(pet) },
          valid: true,
        },
        {
          name: "a 4XX range response",
          method: "POST",
          path: "/v1/pets",
          headers: json,
          body: JSON.stringify(dog),
          reply: { status: 409, type, body: '{"code":409,"message":"exists"}' },
          valid: true,
        },
        {
          name: "a 204 without body",
          method: "DELETE",
          path: "/v1/pets/7",
          reply: { status: 204 },
          valid: true,
        },
        {
          name: "a 200 where only 204 is declared",
          method: "DELETE",
          path: "/v1/pets/7",
          reply: { status: 200, type, body: "{}" },
          valid: false,
          errors: [["status", ""]],
        },
      ]);
    } finally {
      await uro.stop();
    }
  },
});
