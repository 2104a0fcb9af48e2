import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import fc from "fast-check";
import { type Route, Router } from "../../../lib/openapi/router.ts";
import { check } from "../_fuzz.ts";

/** Literal segments drawn from a small pool, so that requests often hit declared paths. */
const LITERALS = ["pets", "mine", "a", "b", "x.json", "é", "..", ".", "%2F", "v1"];
const PARAMS = ["id", "petId", "name"];

/** A path template of literal and whole-segment parameter segments. */
const template = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...LITERALS) },
    { weight: 1, arbitrary: fc.constantFrom(...PARAMS).map((name) => `{${name}}`) },
  ),
  { maxLength: 4 },
).map((segments) => {
  // A template names each parameter once.
  const seen = new Set<string>();
  return "/" + segments.map((s) => {
    if (!s.startsWith("{")) return s;
    let name = s.slice(1, -1);
    while (seen.has(name)) name += "x";
    seen.add(name);
    return `{${name}}`;
  }).join("/");
});

/** How a request writes one segment: as is, percent-encoded, or something else entirely. */
const requestSegment = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...LITERALS) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(...LITERALS).map((s) =>
      [...new TextEncoder().encode(s)].map((b) => `%${b.toString(16).padStart(2, "0")}`).join("")
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom("%", "%zz", "%ff", "%00", "", "%2e%2e", "a%2Fb") },
  { weight: 2, arbitrary: fc.string({ maxLength: 5 }).map((s) => encodeURIComponent(s)) },
);

const requestPath = fc.array(requestSegment, { maxLength: 5 }).map((s) => "/" + s.join("/"));

const decode = (segment: string) => {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
};

const segmentsOf = (path: string) => (path === "/" ? [] : path.slice(1).split("/"));

/**
 * The reference: whether `path` matches `template` segment by segment — a
 * literal equal to the decoded segment, a parameter any non-empty decodable
 * one — and the parameters it binds.
 */
function reference(template: string, path: string): Record<string, string> | undefined {
  const want = segmentsOf(template);
  const got = segmentsOf(path);
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const decoded = decode(got[i]);
    if (decoded === undefined) return undefined;
    if (want[i].startsWith("{")) {
      if (decoded === "") return undefined;
      params[want[i].slice(1, -1)] = decoded;
    } else if (want[i] !== decoded) {
      return undefined;
    }
  }
  return params;
}

/**
 * Orders matching templates the way the router must choose: at the first
 * segment where they differ, a literal beats a parameter.
 */
function moreSpecific(a: string, b: string): number {
  const x = segmentsOf(a);
  const y = segmentsOf(b);
  for (let i = 0; i < x.length; i++) {
    const xParam = x[i].startsWith("{");
    const yParam = y[i].startsWith("{");
    if (xParam !== yParam) return xParam ? 1 : -1;
  }
  return 0;
}

Deno.test("Router.match() finds only declared templates, with the most literal one winning, in any document order", async () => {
  await check(
    fc.property(
      // Templates that differ only in parameter names are the same path (OpenAPI forbids both).
      fc.uniqueArray(template, {
        minLength: 1,
        maxLength: 8,
        selector: (t) => t.replace(/\{[^}]*\}/g, "{}"),
      }),
      fc.array(requestPath, { minLength: 1, maxLength: 8 }),
      fc.constantFrom("", "/api", "/api/v1"),
      (templates, paths, prefix) => {
        const routes: Route<string>[] = templates.map((path) => ({
          path,
          method: "get",
          value: path,
        }));
        const forward = new Router(prefix, routes);
        const backward = new Router(prefix, [...routes].reverse());
        for (const raw of [...paths, ...templates.map((t) => t.replace(/\{[^}]*\}/g, "v"))]) {
          const path = prefix + (raw === "/" && prefix ? "" : raw);
          const matching = templates.filter((t) => reference(t, raw) !== undefined);
          const result = forward.match("GET", path);
          deepStrictEqual(backward.match("GET", path), result, `order matters for ${path}`);
          if (result.kind !== "found") {
            strictEqual(matching.length, 0, `${path} should match one of ${matching}`);
            continue;
          }
          ok(templates.includes(result.template), `${result.template} is declared`);
          ok(matching.includes(result.template), `${path} really matches ${result.template}`);
          deepStrictEqual(result.params, reference(result.template, raw));
          for (const other of matching) {
            ok(
              moreSpecific(result.template, other) <= 0,
              `${path}: ${result.template} was chosen over the more literal ${other}`,
            );
          }
        }
      },
    ),
    300,
  );
});

Deno.test("Router.match() never throws, and answers a path outside the prefix not found", async () => {
  const router = new Router("/api", [
    { path: "/pets/{id}", method: "get", value: "one" },
    { path: "/pets/mine", method: "get", value: "mine" },
    { path: "/{a}/{b}", method: "post", value: "two" },
  ]);
  await check(
    fc.property(fc.string({ unit: "binary", maxLength: 60 }), fc.string(), (path, method) => {
      const result = router.match(method, path);
      ok(["found", "not_found", "method_not_allowed", "bad_path"].includes(result.kind));
      if (!path.startsWith("/api/") && path !== "/api") strictEqual(result.kind, "not_found");
    }),
    300,
  );
});
