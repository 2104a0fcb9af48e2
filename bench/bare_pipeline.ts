/**
 * The ceiling of urocket's stack: the same three hops with nothing of
 * urocket around them. A bare `Deno.serve` front spawns the bench handler
 * through urocket's spawn server (the same helper, the same frame, the
 * payload in a pipe, the group kill kept) and a bare `Deno.serve` on a unix
 * socket takes the handler's reply and answers the waiting client. No Hono,
 * no zod, no routing, logs, metrics, timers, limits, validation or
 * supervision: what is left is Deno's HTTP, the spawn and the kernel.
 * `deno task bench` drives it with wrk beside urocket, so that the gap
 * between the two is urocket's own layer, measured in the same run.
 *
 *   deno run -A --v8-flags=--max-semi-space-size=16 bench/bare_pipeline.ts HELPER HANDLER PORT DIR
 *
 * Prints `ready` once both servers listen; stops on SIGTERM.
 *
 * @module
 */

import { SpawnServer } from "../lib/process/spawn_server.ts";

const [helper, handler, port, dir] = Deno.args;
if (!dir) throw new Error("usage: bare_pipeline.ts HELPER HANDLER PORT DIR");

const socket = `${dir}/bare.sock`;
const server = SpawnServer.start({ helper, dir });
const waiting = new Map<string, (response: Response) => void>();

const replies = Deno.serve({ path: socket, onListen() {} }, async (request) => {
  const id = new URL(request.url).pathname.split("/").pop()!;
  const body = await request.arrayBuffer();
  const answer = waiting.get(id);
  if (!answer) return new Response(null, { status: 404 });
  waiting.delete(id);
  answer(new Response(body, { headers: { "content-type": "application/json" } }));
  return new Response(null, { status: 200 });
});

const front = Deno.serve(
  { hostname: "127.0.0.1", port: Number(port), onListen() {} },
  async (request) => {
    const payload = new Uint8Array(await request.arrayBuffer());
    const id = crypto.randomUUID();
    const { promise, resolve } = Promise.withResolvers<Response>();
    waiting.set(id, resolve);
    const spawned = await server.spawn({
      program: handler,
      args: [],
      cwd: dir,
      env: {
        REQUEST_ID: id,
        URIPATH: "/bench",
        UROCKET_SOCKET: socket,
        UROCKET_REPLY_URL: `http://localhost/reply/${id}`,
      },
      stdin: true,
      stdout: false,
      payload,
    });
    // The handler's stderr is relayed by the server; read and dropped.
    if (spawned.output.kind === "relay") spawned.output.attach({ data() {}, end() {} });
    return await promise;
  },
);

Deno.addSignalListener("SIGTERM", async () => {
  await front.shutdown();
  await replies.shutdown();
  await server.close();
  Deno.exit(0);
});
console.log("ready");
