// deno run --allow-net --allow-read --allow-write --allow-env handler.ts
const client = Deno.createHttpClient({
  proxy: { transport: "unix", path: Deno.env.get("UROCKET_SOCKET")! },
});
const response = await fetch(Deno.env.get("UROCKET_REPLY_URL")!, {
  client,
  method: "POST",
  headers: { "Content-Type": "application/json", "Urocket-Status": "200" },
  body: JSON.stringify({ hello: "from deno" }),
});
await response.body?.cancel();
client.close();
if (!response.ok) Deno.exit(1);
