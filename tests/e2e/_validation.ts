/**
 * Shared pieces of the validation end-to-end tests: the fixture documents
 * (with the files their `$ref`s name), and table runners that send each case
 * through the real server and check what the client, the replier and the
 * access log see.
 *
 * @module
 */

import assert from "node:assert/strict";
import { FIXTURES, type Urocket } from "./_harness.ts";

/** Reads a fixture document folder under fixtures/validation/ as `startUrocket` files. */
export async function validationFixture(
  name: string,
): Promise<{ openapi: string; files: Record<string, string> }> {
  const root = `${FIXTURES}/validation/${name}`;
  const files: Record<string, string> = {};
  const walk = async (dir: string, prefix: string) => {
    for await (const entry of Deno.readDir(dir)) {
      const path = `${prefix}${entry.name}`;
      if (entry.isDirectory) await walk(`${dir}/${entry.name}`, `${path}/`);
      else if (path !== "openapi.yaml") {
        files[path] = await Deno.readTextFile(`${dir}/${path.slice(prefix.length)}`);
      }
    }
  };
  await walk(root, "");
  return { openapi: await Deno.readTextFile(`${root}/openapi.yaml`), files };
}

/** One request of a table. */
export interface RequestCase {
  /** What the case shows. */
  name: string;
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** Expected status: 200 when the request reaches the handler. */
  status: number;
  /** `in` + `pointer` of errors the answer must list (400). */
  errors?: [string, string][];
}

/**
 * Sends each case; a valid one must reach the handler (200 from reply.sh),
 * an invalid one must be refused with problem+json before any process
 * starts.
 */
export async function runRequestTable(uro: Urocket, cases: RequestCase[]): Promise<void> {
  for (const c of cases) {
    const answer = await uro.call(c.path, {
      method: c.method ?? "GET",
      headers: c.headers,
      body: c.body,
    });
    const id = answer.headers.get("x-request-id")!;
    assert.equal(answer.status, c.status, `${c.name}: ${answer.text}`);
    const access = await uro.waitForLog((l) => l.msg === "access" && l.req_id === id);
    if (c.status === 200) {
      assert.equal(access.outcome, "replied", c.name);
      continue;
    }
    assert.equal(answer.headers.get("content-type"), "application/problem+json", c.name);
    const problem = answer.json();
    assert.equal(problem.request_id, id, c.name);
    assert.equal(problem.status, c.status, c.name);
    assert.ok(Array.isArray(problem.errors) && problem.errors.length > 0, c.name);
    for (const error of problem.errors) {
      assert.deepEqual(Object.keys(error).sort(), ["in", "message", "pointer"], c.name);
    }
    const found = problem.errors.map((e: { in: string; pointer: string }) =>
      `${e.in} ${e.pointer}`
    );
    for (const [where, pointer] of c.errors ?? []) {
      assert.ok(
        found.includes(`${where} ${pointer}`),
        `${c.name}: no ${where} ${pointer} in ${found}`,
      );
    }
    assert.equal(access.outcome, "rejected", c.name);
    assert.equal(access.pid, undefined, `${c.name}: a process was spawned`);
    assert.deepEqual(access.errors, problem.errors, `${c.name}: the access line lists the errors`);
  }
}

/** One reply of a table: a request is held, the test replies in the handler's place. */
export interface ReplyCase {
  name: string;
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  reply: { status: number; type?: string; body?: string };
  /** Whether the reply keeps the contract. */
  valid: boolean;
  /** `in` + `pointer` of errors the replier must be told (invalid replies). */
  errors?: [string, string][];
}

/**
 * Runs each case with the hold.sh handler: a valid reply reaches the client
 * unchanged; an invalid one gets the client a 502 without internals and the
 * replier a 422 with the errors, consumes the id, and logs
 * `outcome: invalid_reply` with the errors.
 */
export async function runReplyTable(uro: Urocket, cases: ReplyCase[]): Promise<void> {
  let held = 0;
  for (const c of cases) {
    const pending = uro.call(c.path, {
      method: c.method ?? "GET",
      headers: c.headers,
      body: c.body,
    });
    held++;
    const { reqId, pid } = (await uro.held(held))[held - 1];
    const path = `/uri/${reqId}`;
    const replied = await uro.reply(path, {
      headers: {
        "urocket-status": String(c.reply.status),
        ...(c.reply.type ? { "content-type": c.reply.type } : {}),
      },
      body: c.reply.body,
    });
    const answer = await pending;
    const access = await uro.waitForLog((l) => l.msg === "access" && l.req_id === reqId);
    if (c.valid) {
      assert.equal(replied.status, 200, `${c.name}: ${replied.text}`);
      assert.equal(answer.status, c.reply.status, c.name);
      assert.equal(answer.text, c.reply.body ?? "", c.name);
      assert.equal(access.outcome, "replied", c.name);
    } else {
      assert.equal(replied.status, 422, `${c.name}: ${replied.text}`);
      const told = replied.json();
      assert.equal(told.req_id ?? told.request_id, reqId, c.name);
      const found = told.errors.map((e: { in: string; pointer: string }) => `${e.in} ${e.pointer}`);
      for (const [where, pointer] of c.errors ?? []) {
        assert.ok(
          found.includes(`${where} ${pointer}`),
          `${c.name}: no ${where} ${pointer} in ${found}`,
        );
      }
      assert.equal(answer.status, 502, c.name);
      const problem = answer.json();
      assert.equal(problem.detail, "The handler's reply did not match the API contract", c.name);
      assert.equal(problem.errors, undefined, `${c.name}: the client is told no internals`);
      assert.equal(access.outcome, "invalid_reply", c.name);
      assert.equal(access.status, 502, c.name);
      assert.deepEqual(access.errors, told.errors, c.name);
      const again = await uro.reply(path, { body: "{}" });
      assert.equal(again.status, 409, `${c.name}: the id is consumed`);
    }
    await uro.release(pid);
  }
}
