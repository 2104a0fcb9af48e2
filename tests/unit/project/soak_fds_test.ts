import assert from "node:assert/strict";
import { describeFds, extra, openFds } from "../../../bench/soak_fds.ts";

Deno.test("describeFds() names a socket's kind, state and addresses, and the listener it belongs to", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const before = openFds(Deno.pid);
  const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const server = await listener.accept();
  try {
    const added = extra(before, openFds(Deno.pid));
    assert.equal(added.length, 2, added.join(", "));
    const described = describeFds(Deno.pid, added, {
      [`127.0.0.1:${listener.addr.port}`]: "front",
    });
    const port = (client.localAddr as Deno.NetAddr).port;
    assert.ok(
      described.some((d) =>
        d.endsWith(`(tcp ESTABLISHED front 127.0.0.1:${listener.addr.port} ← 127.0.0.1:${port})`)
      ),
      described.join(", "),
    );
    assert.ok(
      described.some((d) =>
        d.endsWith(`(tcp ESTABLISHED 127.0.0.1:${port} ← 127.0.0.1:${listener.addr.port})`)
      ),
      described.join(", "),
    );
    assert.deepEqual(describeFds(Deno.pid, ["/dev/null"]), ["/dev/null"]);
  } finally {
    client.close();
    server.close();
    listener.close();
  }
});
