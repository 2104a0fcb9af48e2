import assert from "node:assert/strict";
import { E2E, withUrocket } from "./_harness.ts";

const OPENAPI = `openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /items:
    post:
      operationId: addItems
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: array
              items:
                type: object
                required: [id, name]
                properties:
                  id: { type: integer, format: int32 }
                  name: { type: string, maxLength: 3 }
      responses:
        "204": { description: stored }
`;

Deno.test({
  name: "validate-in answers a huge invalid body with a bounded error list",
  ...E2E,
  async fn() {
    await withUrocket({
      openapi: OPENAPI,
      config: `max-body: 8MiB
paths:
  /items:
    post: { validate-in: true, inject: { cmd: "{{fixtures}}/reply.sh" } }
`,
    }, async (uro) => {
      const bad = { id: "x", name: "too long" };
      // ~40 KB: every error is collected, at most 20 are listed.
      const small = JSON.stringify(Array.from({ length: 1500 }, () => bad));
      const answer = await uro.call("/items", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: small,
      });
      assert.equal(answer.status, 400);
      const problem = answer.json();
      assert.equal(problem.errors.length, 20);
      assert.equal(
        problem.detail,
        "The request does not match the API contract: 3000 errors, the first 20 listed",
      );
      // ~5 MB: validation stops at the first error instead of collecting 300,000.
      const huge = JSON.stringify(Array.from({ length: 150_000 }, () => bad));
      assert.ok(huge.length > 4_000_000);
      const big = await uro.call("/items", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: huge,
      });
      assert.equal(big.status, 400);
      const bigProblem = big.json();
      assert.deepEqual(bigProblem.errors, [{
        in: "body",
        pointer: "/0/id",
        message: "must be integer",
      }]);
      const access = await uro.waitForLog((l) =>
        l.msg === "access" && l.req_id === big.headers.get("x-request-id")
      );
      assert.equal((access.errors as unknown[]).length, 1);
    });
  },
});
