/**
 * The console and the API reference in a real browser (headless Chromium):
 * what a person sees, live.
 */

import assert from "node:assert/strict";
import { browserTest, screenshot } from "./_browser.ts";
import { startUrocket } from "./_harness.ts";

const CONSOLE_CONFIG = `admin: 127.0.0.1:0
paths:
  /run:
    post:
      inject: { cmd: "{{fixtures}}/hold.sh" }
  /other:
    post:
      inject: { cmd: ["{{fixtures}}/exit.sh", "3"] }
`;

browserTest(
  "the console shows a slow request in flight with its pid, then in recent with its outcome and a failing handler's stderr",
  async (page) => {
    const uro = await startUrocket({ config: CONSOLE_CONFIG });
    try {
      const start = await uro.waitForLog((l) => l.msg === "start");
      await page.goto(`http://${start.admin}/`);
      await page.waitForSelector('#connection[data-state="live"]');

      const slow = uro.call("/run", { method: "POST", body: "{}" });
      const [{ reqId, pid }] = await uro.held(1);
      const row = page.locator(`#inflight tr[data-req-id="${reqId}"]`);
      await row.locator('td[data-col="pid"]', { hasText: String(pid) }).waitFor();
      assert.equal(await row.locator('td[data-col="operation"]').textContent(), "run");
      assert.equal(await row.locator('td[data-col="request"]').textContent(), "POST /run");
      assert.equal(await row.getAttribute("data-state"), "spawned");
      // Its live resident memory, read from /proc while it runs.
      await row.locator('td[data-col="rss"]', { hasText: /\d+(\.\d)? (KiB|MiB)/ }).waitFor();
      await screenshot(page, "console-inflight");

      // The client gets its answer while the process still runs: "draining" until it is gone.
      const replied = await uro.reply(`/uri/${reqId}`, { body: '{"done":true}' });
      assert.equal(replied.status, 200);
      assert.equal((await slow).status, 200);
      await page.locator(`#inflight tr[data-req-id="${reqId}"][data-state="draining"]`).waitFor();
      await uro.release(pid);
      const done = page.locator(`#recent tr[data-req-id="${reqId}"]`);
      await done.waitFor();
      await page.locator(`#inflight tr[data-req-id="${reqId}"]`).waitFor({ state: "detached" });
      assert.equal(await done.getAttribute("data-outcome"), "replied");
      assert.equal(await done.locator('td[data-col="status"]').textContent(), "200");
      assert.equal(await done.locator('td[data-col="pid"]').textContent(), String(pid));
      assert.equal(await done.locator('td[data-col="exit"]').textContent(), "SIGKILL");

      const failed = await uro.call("/other", { method: "POST", body: "{}" });
      assert.equal(failed.status, 502);
      const failedRow = page.locator(
        `#recent tr[data-req-id="${failed.headers.get("x-request-id")}"]`,
      );
      await failedRow.waitFor();
      assert.equal(await failedRow.getAttribute("data-outcome"), "no_reply");
      assert.equal(await failedRow.locator('td[data-col="exit"]').textContent(), "exit 3");
      assert.match(
        (await failedRow.locator('td[data-col="stderr"]').textContent())!,
        /exiting with 3 without a reply/,
      );
      await page.locator('.operation[data-operation="other"] [data-figure="errors"]', {
        hasText: "100.0 %",
      }).waitFor();
      await screenshot(page, "console-recent");
    } finally {
      await uro.stop();
    }
  },
);

const DOCS_OPENAPI = `openapi: 3.0.3
info: { title: Greeter, version: "1" }
servers:
  - url: https://api.example.com/v1
paths:
  /greet/{name}:
    post:
      operationId: greet
      summary: Greets someone
      parameters:
        - { name: name, in: path, required: true, schema: { type: string } }
      responses:
        "200":
          description: the greeting
          content:
            application/json:
              schema: { type: object, properties: { ok: { type: boolean } } }
`;

browserTest(
  "the API reference at /docs lists the operations and its try-it request is answered by urocket",
  async (page) => {
    const uro = await startUrocket({
      config: `docs: /docs
paths:
  /greet/{name}:
    post:
      inject: { cmd: "{{fixtures}}/reply.sh" }
`,
      openapi: DOCS_OPENAPI,
    });
    const blocked: string[] = [];
    page.on("console", (message) => {
      if (/Content.Security.Policy|Refused to/i.test(message.text())) blocked.push(message.text());
    });
    const elsewhere: string[] = [];
    page.on("request", (request) => {
      if (!request.url().startsWith(uro.url) && !request.url().startsWith("data:")) {
        elsewhere.push(request.url());
      }
    });
    try {
      await page.goto(`${uro.url}/docs`);
      const operation = page.locator("#operations-default-greet");
      await operation.locator(".opblock-summary").click();
      await operation.locator(".try-out__btn").click();
      await operation.locator('input[placeholder="name"]').fill("ada");
      await operation.locator("button.execute").click();
      const status = operation.locator(".live-responses-table tbody .response-col_status").first();
      await status.waitFor();
      assert.equal((await status.textContent())?.trim(), "200");
      assert.match(
        (await operation.locator(".live-responses-table .microlight").first().textContent())!,
        /"ok": true/,
      );
      const access = await uro.waitForLog((l) => l.msg === "access" && l.path === "/v1/greet/ada");
      assert.equal(access.status, 200);
      await screenshot(page, "docs-try-it");
      assert.deepEqual(blocked, [], "the page broke its Content-Security-Policy");
      assert.deepEqual(elsewhere, [], "the page loaded something from another origin");
    } finally {
      await uro.stop();
    }
  },
);
