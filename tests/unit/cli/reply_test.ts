import { deepStrictEqual, match, strictEqual } from "node:assert/strict";
import { REPLY_EXIT, sendReply } from "../../../lib/cli/reply.ts";
import { Logger } from "../../../lib/log/logger.ts";
import { Metrics } from "../../../lib/metrics/metrics.ts";
import { PendingRequests, type ReplyEvent } from "../../../lib/pending/registry.ts";
import { createReplyApp } from "../../../lib/reply/reply_app.ts";

const ID = "0b7f6a34-3c1e-4c8e-9a57-2f1d2a9b8c01";

function emptyStdin(): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (c) => c.close() });
}

async function run(
  options: Partial<Parameters<typeof sendReply>[0]>,
  env: Record<string, string> = {},
) {
  const err: string[] = [];
  const code = await sendReply({
    env: (name) => env[name],
    stdin: emptyStdin(),
    output: { out: () => {}, err: (line) => err.push(line) },
    ...options,
  });
  return { code, err };
}

Deno.test("sendReply() refuses to run outside a handler, naming the missing variable", async () => {
  const none = await run({});
  strictEqual(none.code, REPLY_EXIT.usage);
  deepStrictEqual(none.err, [
    "urocket reply: UROCKET_REPLY_URL is not set: urocket reply runs inside a handler that urocket started",
  ]);
  const noSocket = await run({}, { UROCKET_REPLY_URL: `http://localhost/uri/${ID}` });
  match(noSocket.err[0], /UROCKET_SOCKET is not set/);
});

Deno.test("sendReply() refuses a bad --status and a --header that is not 'Name: value'", async () => {
  const env = { UROCKET_REPLY_URL: `http://localhost/uri/${ID}`, UROCKET_SOCKET: "/nowhere" };
  for (const status of ["99", "600", "2OO", "200 ", ""]) {
    const result = await run({ status }, env);
    strictEqual(result.code, REPLY_EXIT.usage, status);
    match(result.err[0], /--status must be one status code from 200 to 599/);
  }
  for (const header of ["NoColon", "Bad Name: x", ": empty"]) {
    const result = await run({ headers: [header] }, env);
    strictEqual(result.code, REPLY_EXIT.usage, header);
    match(result.err[0], /--header must be "Name: value"/);
  }
});

Deno.test("sendReply() refuses --status 205, which would leave HTTP/1.1 clients waiting, and says to use 204", async () => {
  const env = { UROCKET_REPLY_URL: `http://localhost/uri/${ID}`, UROCKET_SOCKET: "/nowhere" };
  const result = await run({ status: "205" }, env);
  strictEqual(result.code, REPLY_EXIT.usage);
  match(result.err[0], /--status 205 is not supported: .*reply 204 instead/);
});

Deno.test("sendReply() says the socket is missing when its file does not exist", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const result = await run({ body: "{}" }, {
      UROCKET_REPLY_URL: `http://localhost/uri/${ID}`,
      UROCKET_SOCKET: `${dir}/gone.sock`,
    });
    strictEqual(result.code, REPLY_EXIT.socket);
    deepStrictEqual(result.err, [
      `urocket reply: socket missing: ${dir}/gone.sock does not exist (has urocket stopped?)`,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sendReply() says the socket is not answering when nobody listens on it", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/dead.sock`;
  // A socket file left behind by a process that died without removing it.
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `Deno.listen({ transport: "unix", path: ${JSON.stringify(path)} });
      console.log("up"); setInterval(() => {}, 1000);`,
    ],
    stdout: "piped",
  }).spawn();
  const reader = child.stdout.getReader();
  await reader.read();
  child.kill("SIGKILL");
  await child.status;
  reader.releaseLock();
  await child.stdout.cancel();
  try {
    const result = await run({ body: "{}" }, {
      UROCKET_REPLY_URL: `http://localhost/uri/${ID}`,
      UROCKET_SOCKET: path,
    });
    strictEqual(result.code, REPLY_EXIT.socket);
    match(result.err[0], /^urocket reply: socket not answering: /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * Runs `fn` against a real reply app on a unix socket, with a request pending for ID whose
 * reply the front settles with `settle`; `fn` gets the env a handler would have.
 */
async function withReplyServer(
  settle: (event: Extract<ReplyEvent, { kind: "reply" }>) => void,
  fn: (env: Record<string, string>, metrics: Metrics) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/u.sock`;
  const registry = new PendingRequests();
  const metrics = new Metrics("test", {
    processGroups: () => 0,
    pending: () => 0,
    logLinesDropped: () => 0,
    logDropped: () => 0,
  });
  const logger = new Logger({ write: () => Promise.resolve() });
  const app = createReplyApp({ registry, logger, templates: ["/uri/{req_id}"], metrics });
  const server = Deno.serve({ path, onListen() {} }, app.fetch);
  const pending = registry.open(ID, {
    route: "/uri/{req_id}",
    rememberMs: 60_000,
    maxReply: 1024,
    collect: true,
    defaultContentType: "application/json",
  });
  pending.event.then((event) => {
    if (event.kind === "reply") settle(event);
  });
  try {
    await fn(
      { UROCKET_REPLY_URL: `http://localhost/uri/${ID}`, UROCKET_SOCKET: path, REQUEST_ID: ID },
      metrics,
    );
  } finally {
    await server.shutdown();
    await logger.flush();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("sendReply() reports an invalid reply (422) with the errors, and counts it as rejected", async () => {
  // The front's side: finds the reply invalid, as validate-out would.
  await withReplyServer(
    (event) => event.settle({ kind: "invalid", errors: ["/id: required"] }),
    async (env, metrics) => {
      const result = await run({ body: "{}", contentType: "application/json" }, env);
      strictEqual(result.code, REPLY_EXIT.invalid);
      deepStrictEqual(result.err, [
        `urocket reply: invalid reply (422) for request ${ID}: ` +
        'The reply does not match the OpenAPI document ["/id: required"]',
      ]);
      match(
        metrics.render(),
        /^urocket_replies_rejected_total\{status="422",reason="invalid_reply"\} 1$/m,
      );
    },
  );
});

Deno.test("sendReply() refuses a --header or --content-type with a control character (exit 2, no crash)", async () => {
  const env = { UROCKET_REPLY_URL: `http://localhost/uri/${ID}`, UROCKET_SOCKET: "/nowhere" };
  // (CR and LF already fail the "Name: value" form.)
  for (const header of ["X-Name: a\u0001b", "X-Name: a\u0000b", "X-Name: a\u007fb"]) {
    const result = await run({ headers: [header] }, env);
    strictEqual(result.code, REPLY_EXIT.usage, JSON.stringify(header));
    match(result.err[0], /^urocket reply: --header value has a control character/);
  }
  const result = await run({ contentType: "text/plain\r\nX: 1" }, env);
  strictEqual(result.code, REPLY_EXIT.usage);
  match(result.err[0], /^urocket reply: --content-type has a control character/);
});

Deno.test("sendReply() sends a header value beyond ASCII as UTF-8, as curl does", async () => {
  let value: string | null = null;
  await withReplyServer(
    (event) => {
      value = event.reply.headers.get("x-name");
      event.settle({ kind: "delivered" });
    },
    async (env) => {
      const result = await run({ body: "{}", headers: ["X-Name: café €"] }, env);
      strictEqual(result.code, 0, result.err.join("\n"));
    },
  );
  // The header's bytes, one character each: the UTF-8 encoding of the text.
  deepStrictEqual(
    Uint8Array.from(value ?? "", (c) => c.charCodeAt(0)),
    new TextEncoder().encode("café €"),
  );
});

Deno.test("sendReply() refuses --stream with a BODY, and a Content-Type given with --header (exit 2)", async () => {
  const env = { UROCKET_REPLY_URL: `http://localhost/uri/${ID}`, UROCKET_SOCKET: "/nowhere" };
  const both = await run({ stream: true, body: "{}" }, env);
  strictEqual(both.code, REPLY_EXIT.usage);
  match(both.err[0], /^urocket reply: --stream sends stdin: give either BODY or --stream/);
  const header = await run({ headers: ["Content-Type: text/plain"] }, env);
  strictEqual(header.code, REPLY_EXIT.usage);
  match(header.err[0], /with --content-type, not --header/);
});
