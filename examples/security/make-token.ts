#!/usr/bin/env -S deno run --allow-write=jwks.json
// Stands in for an identity provider: makes an ES256 key pair, writes its public half to
// jwks.json, and prints a token for orders-api valid for an hour. Run it from this folder.
import { exportJWK, generateKeyPair, SignJWT } from "jose";

const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
const jwk = { ...await exportJWK(publicKey), kid: "demo-1", alg: "ES256", use: "sig" };
await Deno.writeTextFile("jwks.json", JSON.stringify({ keys: [jwk] }, null, 2) + "\n");
const token = await new SignJWT({ scope: "orders:read" })
  .setProtectedHeader({ alg: "ES256", kid: "demo-1" })
  .setSubject(Deno.args[0] ?? "alice")
  .setIssuer("https://login.example.com/")
  .setAudience("orders-api")
  .setIssuedAt()
  .setExpirationTime("1h")
  .sign(privateKey);
console.log(token);
