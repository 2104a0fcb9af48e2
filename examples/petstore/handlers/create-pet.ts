// POST /pets — a TypeScript handler run by Deno. The payload arrives on
// stdin (channel: stdin, encoding: json: form bodies arrive as JSON too).
// Run with the unscoped permissions it needs to reach the socket:
//   deno run --allow-net --allow-read --allow-write --allow-env create-pet.ts

const input = JSON.parse(await new Response(Deno.stdin.readable).text());
const pet = { id: Math.floor(Math.random() * 1e6) + 4, name: input.name, tag: input.tag ?? null };

const client = Deno.createHttpClient({
  proxy: { transport: "unix", path: Deno.env.get("UROCKET_SOCKET")! },
});
const response = await fetch(Deno.env.get("UROCKET_REPLY_URL")!, {
  client,
  method: "POST",
  headers: { "Content-Type": "application/json", "Urocket-Status": "201" },
  body: JSON.stringify(pet),
});
await response.body?.cancel();
client.close();
if (!response.ok) {
  console.error(`reply refused: ${response.status}`);
  Deno.exit(1);
}
