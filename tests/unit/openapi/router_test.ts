import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { type Route, Router } from "../../../lib/openapi/router.ts";

const PETS: Route<string>[] = [
  { path: "/pets", method: "get", value: "listPets" },
  { path: "/pets", method: "post", value: "createPet" },
  { path: "/pets/{petId}", method: "get", value: "showPet" },
  { path: "/pets/{petId}", method: "delete", value: "deletePet" },
  { path: "/pets/mine", method: "get", value: "myPets" },
  { path: "/pets/{petId}/toys", method: "get", value: "petToys" },
];

Deno.test("Router.match() finds a literal path and its method", () => {
  const router = new Router("", PETS);
  deepStrictEqual(router.match("get", "/pets"), {
    kind: "found",
    value: "listPets",
    template: "/pets",
    params: {},
  });
  strictEqual(matchValue(router.match("post", "/pets")), "createPet");
});

Deno.test("Router.match() reads the method case-insensitively", () => {
  const router = new Router("", PETS);
  strictEqual(matchValue(router.match("GET", "/pets")), "listPets");
  strictEqual(matchValue(router.match("Delete", "/pets/1")), "deletePet");
});

Deno.test("Router.match() fills path parameters from a template", () => {
  const router = new Router("", PETS);
  deepStrictEqual(router.match("get", "/pets/42"), {
    kind: "found",
    value: "showPet",
    template: "/pets/{petId}",
    params: { petId: "42" },
  });
  deepStrictEqual(router.match("get", "/pets/42/toys"), {
    kind: "found",
    value: "petToys",
    template: "/pets/{petId}/toys",
    params: { petId: "42" },
  });
});

Deno.test("Router.match() prefers a literal path over a template whatever the order", () => {
  const literalLast = new Router("", PETS);
  const literalFirst = new Router("", [...PETS].reverse());
  for (const router of [literalLast, literalFirst]) {
    deepStrictEqual(router.match("get", "/pets/mine"), {
      kind: "found",
      value: "myPets",
      template: "/pets/mine",
      params: {},
    });
    strictEqual(matchValue(router.match("get", "/pets/7")), "showPet");
  }
});

Deno.test("Router.match() falls back to a template when the literal branch leads nowhere", () => {
  const router = new Router("", PETS);
  deepStrictEqual(router.match("get", "/pets/mine/toys"), {
    kind: "found",
    value: "petToys",
    template: "/pets/{petId}/toys",
    params: { petId: "mine" },
  });
});

Deno.test("Router.match() answers not_found for a path no template matches", () => {
  const router = new Router("", PETS);
  for (const path of ["/", "/owners", "/pets/1/toys/2", "/pets/", "/petsx", "/pets//toys"]) {
    deepStrictEqual(router.match("get", path), { kind: "not_found" }, path);
  }
});

Deno.test("Router.match() answers method_not_allowed with the declared methods in Allow", () => {
  const router = new Router("", PETS);
  const put = router.match("put", "/pets");
  strictEqual(put.kind, "method_not_allowed");
  if (put.kind !== "method_not_allowed") return;
  strictEqual(put.template, "/pets");
  deepStrictEqual([...put.allow].sort(), ["GET", "POST"]);
  const post = router.match("post", "/pets/3");
  strictEqual(post.kind, "method_not_allowed");
  if (post.kind !== "method_not_allowed") return;
  strictEqual(post.template, "/pets/{petId}");
  deepStrictEqual([...post.allow].sort(), ["DELETE", "GET"]);
});

Deno.test("Router.match() answers HEAD with 405 unless HEAD is declared", () => {
  const router = new Router("", PETS);
  const head = router.match("head", "/pets");
  strictEqual(head.kind, "method_not_allowed");
  if (head.kind === "method_not_allowed") deepStrictEqual([...head.allow].sort(), ["GET", "POST"]);
  const declared = new Router("", [...PETS, { path: "/pets", method: "head", value: "headPets" }]);
  strictEqual(matchValue(declared.match("HEAD", "/pets")), "headPets");
});

Deno.test("Router.match() serves routes under the prefix only", () => {
  const router = new Router("/v1", PETS);
  strictEqual(matchValue(router.match("get", "/v1/pets")), "listPets");
  deepStrictEqual(router.match("get", "/v1/pets/5"), {
    kind: "found",
    value: "showPet",
    template: "/pets/{petId}",
    params: { petId: "5" },
  });
  deepStrictEqual(router.match("get", "/pets"), { kind: "not_found" });
  deepStrictEqual(router.match("get", "/v1pets"), { kind: "not_found" });
  deepStrictEqual(router.match("get", "/v2/pets"), { kind: "not_found" });
});

Deno.test("Router.match() treats the bare prefix as the root path", () => {
  const router = new Router("/api/v1/", [{ path: "/", method: "get", value: "root" }]);
  strictEqual(matchValue(router.match("get", "/api/v1")), "root");
  strictEqual(matchValue(router.match("get", "/api/v1/")), "root");
  deepStrictEqual(router.match("get", "/api"), { kind: "not_found" });
});

Deno.test("Router.match() percent-decodes path parameters", () => {
  const router = new Router("", PETS);
  deepStrictEqual(paramsOf(router.match("get", "/pets/R%C3%A9x%20the%20dog")), {
    petId: "Réx the dog",
  });
  deepStrictEqual(paramsOf(router.match("get", "/pets/100%25")), { petId: "100%" });
});

Deno.test("Router.match() keeps %2F inside one parameter", () => {
  const router = new Router("", PETS);
  deepStrictEqual(router.match("get", "/pets/a%2Fb"), {
    kind: "found",
    value: "showPet",
    template: "/pets/{petId}",
    params: { petId: "a/b" },
  });
  deepStrictEqual(paramsOf(router.match("get", "/pets/a%2fb/toys")), { petId: "a/b" });
});

Deno.test("Router.match() matches a literal segment written percent-encoded", () => {
  const router = new Router("", PETS);
  strictEqual(matchValue(router.match("get", "/p%65ts/mine")), "myPets");
});

Deno.test("Router.match() answers bad_path for invalid percent-encoding", () => {
  const router = new Router("", PETS);
  for (const segment of ["%ZZ", "%", "%E0%A4%A", "%C3"]) {
    deepStrictEqual(router.match("get", `/pets/${segment}`), {
      kind: "bad_path",
      detail: `Path segment ${JSON.stringify(segment)} is not valid percent-encoding`,
    });
  }
});

Deno.test("Router.match() reads several parameters from one segment", () => {
  const router = new Router("", [
    { path: "/files/{name}.{ext}", method: "get", value: "file" },
    { path: "/files/{name}", method: "get", value: "bare" },
  ]);
  deepStrictEqual(router.match("get", "/files/report.pdf"), {
    kind: "found",
    value: "file",
    template: "/files/{name}.{ext}",
    params: { name: "report", ext: "pdf" },
  });
  deepStrictEqual(router.match("get", "/files/README"), {
    kind: "found",
    value: "bare",
    template: "/files/{name}",
    params: { name: "README" },
  });
});

Deno.test("Router.match() never matches a parameter with an empty value", () => {
  const router = new Router("", [{ path: "/files/{name}.{ext}", method: "get", value: "file" }]);
  deepStrictEqual(router.match("get", "/files/.pdf"), { kind: "not_found" });
  deepStrictEqual(router.match("get", "/files/report."), { kind: "not_found" });
});

Deno.test("Router.match() prefers the template with more literal text in a segment", () => {
  const router = new Router("", [
    { path: "/v/{id}", method: "get", value: "plain" },
    { path: "/v/item-{id}", method: "get", value: "prefixed" },
  ]);
  deepStrictEqual(router.match("get", "/v/item-9"), {
    kind: "found",
    value: "prefixed",
    template: "/v/item-{id}",
    params: { id: "9" },
  });
  strictEqual(matchValue(router.match("get", "/v/other")), "plain");
});

Deno.test("Router.match() matches template literals that requests send unencoded", () => {
  // ":" and "@" are plain path characters (RFC 3986 pchar); clients do not encode them.
  const router = new Router("", [
    { path: "/jobs/{id}:cancel", method: "post", value: "cancel" },
    { path: "/users/@{name}", method: "get", value: "user" },
  ]);
  deepStrictEqual(paramsOf(router.match("post", "/jobs/42:cancel")), { id: "42" });
  deepStrictEqual(paramsOf(router.match("get", "/users/@bob")), { name: "bob" });
});

function matchValue<T>(result: ReturnType<Router<T>["match"]>): T | string {
  return result.kind === "found" ? result.value : result.kind;
}

function paramsOf<T>(result: ReturnType<Router<T>["match"]>): Record<string, string> | string {
  return result.kind === "found" ? result.params : result.kind;
}

Deno.test("Router.match() names parameters after the template that matched, whatever shares its shape", () => {
  for (const order of [[0, 1], [1, 0]]) {
    const routes: Route<string>[] = [
      { path: "/pets/{petId}", method: "get", value: "showPet" },
      { path: "/pets/{id}/toys", method: "get", value: "petToys" },
    ];
    const router = new Router("", order.map((i) => routes[i]));
    deepStrictEqual(router.match("get", "/pets/7"), {
      kind: "found",
      value: "showPet",
      template: "/pets/{petId}",
      params: { petId: "7" },
    });
    deepStrictEqual(router.match("get", "/pets/7/toys"), {
      kind: "found",
      value: "petToys",
      template: "/pets/{id}/toys",
      params: { id: "7" },
    });
  }
});

Deno.test("Router.suggest() puts a path that lacks the prefix, or has another, under the prefix", () => {
  const router = new Router("/api/v3", PETS);
  strictEqual(router.suggest("/pets/mine"), "/api/v3/pets/mine");
  strictEqual(router.suggest("/pets/42/toys"), "/api/v3/pets/42/toys");
  strictEqual(router.suggest("/v2/pets"), "/api/v3/pets");
  strictEqual(router.suggest("/api/v2/pets/42"), "/api/v3/pets/42");
  // The prefix twice.
  strictEqual(router.suggest("/api/v3/api/v3/pets"), "/api/v3/pets");
  const root = new Router("", PETS);
  strictEqual(root.suggest("/v1/pets"), "/pets");
  strictEqual(root.suggest("/api/v1/pets/7"), "/pets/7");
});

Deno.test("Router.suggest() suggests nothing for a path no route fits, nor a route of parameters only", () => {
  const router = new Router("/api/v3", PETS);
  strictEqual(router.suggest("/owners"), undefined);
  strictEqual(router.suggest("/"), undefined);
  strictEqual(router.suggest("/api/v3"), undefined);
  // Four segments of another prefix are more than it drops.
  strictEqual(router.suggest("/a/b/c/d/pets"), undefined);
  const catchAll = new Router("/v1", [{ path: "/{anything}", method: "get", value: "x" }]);
  strictEqual(catchAll.suggest("/elsewhere/entirely"), undefined);
  strictEqual(router.suggest("/%zz/pets"), "/api/v3/pets");
});
