import { E2E, startUrocket, withUrocket } from "./_harness.ts";
import { runReplyTable, runRequestTable, validationFixture } from "./_validation.ts";

// An OpenAPI 3.1 document of our own (tests/e2e/fixtures/validation/orders):
// 2020-12 keywords (type lists, const, if/then, unevaluatedProperties, numeric
// exclusiveMinimum), deepObject, pipeDelimited and label parameters, a
// discriminator with mapping over oneOf, readOnly/writeOnly, a whole JSON file
// next to the document as $ref.

const json = { "content-type": "application/json" };
const tenant = { "x-tenant": "acme" };
const ORDER_ID = "0b7f6a34-3c1e-4c8e-9a57-2f1d2a9b8c01";
const order = {
  lines: [{ sku: "A-1", qty: 2 }],
  total: { amount: 19.5, currency: "EUR" },
  note: null,
  payment: { method: "card", last4: "4242" },
  token: "t0k",
};
const post = (name: string, body: unknown, status: number, errors?: [string, string][]) => ({
  name,
  method: "POST",
  path: "/orders",
  headers: json,
  body: JSON.stringify(body),
  status,
  errors,
});

Deno.test({
  name: "validate-in checks requests against an OpenAPI 3.1 document",
  ...E2E,
  async fn() {
    const fixture = await validationFixture("orders");
    const handler = `{ validate-in: true, inject: { cmd: "{{fixtures}}/reply.sh" } }`;
    await withUrocket({
      ...fixture,
      config: `paths:
  /orders: { get: ${handler}, post: ${handler} }
  /orders/{orderId}: { get: ${handler} }
  /reports/{years}: { get: ${handler} }
`,
    }, async (uro) => {
      await runRequestTable(uro, [
        {
          name: "deepObject and pipeDelimited query parameters, coerced",
          path: "/orders?filter[status]=paid&filter[minTotal]=10&ids=1|2|3",
          headers: tenant,
          status: 200,
        },
        {
          name: "a deepObject member the schema does not allow",
          path: "/orders?filter[colour]=red",
          headers: tenant,
          status: 400,
          errors: [["query", "/filter/colour"]],
        },
        {
          name: "a repeated id in a uniqueItems list",
          path: "/orders?ids=1|1",
          headers: tenant,
          status: 400,
          errors: [["query", "/ids"]],
        },
        {
          name: "a missing required header",
          path: "/orders",
          status: 400,
          errors: [["header", "/X-Tenant"]],
        },
        {
          name: "a header that breaks its pattern",
          path: "/orders",
          headers: { "x-tenant": "ACME" },
          status: 400,
          errors: [["header", "/X-Tenant"]],
        },
        post("an order without its readOnly id and status", order, 200),
        post("an order that carries its readOnly id", { ...order, id: ORDER_ID }, 200),
        {
          ...post("a +json media type", order, 200),
          headers: { "content-type": "application/vnd.orders+json" },
        },
        post("an order without its writeOnly token", { ...order, token: undefined }, 400, [
          ["body", "/token"],
        ]),
        post(
          "a transfer (mapped by $ref) with a short iban",
          { ...order, payment: { method: "transfer", iban: "DE12" } },
          400,
          [["body", "/payment/iban"]],
        ),
        post(
          "a payment method that names no schema",
          {
            ...order,
            payment: { method: "cash" },
          },
          400,
          [["body", "/payment/method"]],
        ),
        post("express without address (if/then)", { ...order, express: true }, 400, [
          ["body", "/address"],
        ]),
        post("express with address", { ...order, express: true, address: "1 Main St" }, 200),
        post("a property no keyword evaluates", { ...order, coupon: "X" }, 400, [
          ["body", "/coupon"],
        ]),
        post(
          "a zero amount (numeric exclusiveMinimum)",
          {
            ...order,
            total: { amount: 0, currency: "EUR" },
          },
          400,
          [["body", "/total/amount"]],
        ),
        post(
          "no lines, a note of the wrong type, a bad email and date-time",
          {
            ...order,
            lines: [],
            note: 5,
            contact: "nobody",
            deliverBy: "tomorrow",
          },
          400,
          [["body", "/lines"], ["body", "/note"], ["body", "/contact"], [
            "body",
            "/deliverBy",
          ]],
        ),
        post(
          "a line with an unknown member and a zero quantity",
          {
            ...order,
            lines: [{ sku: "A", qty: 0, colour: "red" }],
          },
          400,
          [["body", "/lines/0/qty"], ["body", "/lines/0/colour"]],
        ),
        {
          ...post("an XML body", order, 415, [["header", "/content-type"]]),
          headers: { "content-type": "application/xml" },
          body: "<order/>",
        },
        { name: "a path parameter in uuid format", path: `/orders/${ORDER_ID}`, status: 200 },
        {
          name: "a path parameter that is no uuid",
          path: "/orders/42",
          status: 400,
          errors: [["path", "/orderId"]],
        },
        { name: "a label-style list", path: "/reports/.2024,2025", status: 200 },
        {
          name: "a label-style list with a year too early",
          path: "/reports/.2024,1999",
          status: 400,
          errors: [["path", "/years/1"]],
        },
        {
          name: "a value not in label style",
          path: "/reports/2024",
          status: 400,
          errors: [["path", "/years"]],
        },
      ]);
    });
  },
});

Deno.test({
  name: "validate-out checks replies against an OpenAPI 3.1 document",
  ...E2E,
  async fn() {
    const fixture = await validationFixture("orders");
    const hold = `inject: { cmd: "{{fixtures}}/hold.sh" }`;
    const uro = await startUrocket({
      ...fixture,
      config: `paths:
  /orders: { post: { validate-out: true, ${hold} } }
  /orders/{orderId}: { get: { validate-out: true, ${hold} } }
`,
    });
    const stored = { ...order, id: ORDER_ID, status: "open", token: undefined };
    const type = "application/json";
    try {
      await runReplyTable(uro, [
        {
          name: "an order with its readOnly members, without its writeOnly token",
          path: `/orders/${ORDER_ID}`,
          reply: { status: 200, type, body: JSON.stringify(stored) },
          valid: true,
        },
        {
          name: "an order without status",
          path: `/orders/${ORDER_ID}`,
          reply: { status: 200, type, body: JSON.stringify({ ...stored, status: undefined }) },
          valid: false,
          errors: [["body", "/status"]],
        },
        {
          name: "a status outside the enum, through allOf",
          path: `/orders/${ORDER_ID}`,
          reply: { status: 200, type, body: JSON.stringify({ ...stored, status: "lost" }) },
          valid: false,
          errors: [["body", "/status"]],
        },
        {
          name: "a problem from the JSON file next to the document",
          path: `/orders/${ORDER_ID}`,
          reply: {
            status: 404,
            type: "application/problem+json",
            body: '{"title":"Not Found","status":404}',
          },
          valid: true,
        },
        {
          name: "a problem sent as application/json",
          path: `/orders/${ORDER_ID}`,
          reply: { status: 404, type, body: '{"title":"Not Found","status":404}' },
          valid: false,
          errors: [["header", "/content-type"]],
        },
        {
          name: "a 4XX problem with a status out of range",
          method: "POST",
          path: "/orders",
          headers: json,
          body: JSON.stringify(order),
          reply: {
            status: 422,
            type: "application/problem+json",
            body: '{"title":"x","status":200}',
          },
          valid: false,
          errors: [["body", "/status"]],
        },
        {
          name: "a created order",
          method: "POST",
          path: "/orders",
          headers: json,
          body: JSON.stringify(order),
          reply: { status: 201, type, body: JSON.stringify(stored) },
          valid: true,
        },
      ]);
    } finally {
      await uro.stop();
    }
  },
});
