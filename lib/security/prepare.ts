/**
 * Binds the OpenAPI document's security to the config's `security` mapping:
 * every wired operation's requirement (the operation's own, else the
 * document's) becomes a {@link Guard}, or a problem that refuses the start
 * when a scheme it names is not configured or cannot be verified.
 *
 * @module
 */

import { type Problem, type ServiceConfig } from "../config/mod.ts";
import {
  followMember,
  followPointer,
  isObject,
  type JsonObject,
  type OpenApiDocument,
  type Resolved,
} from "../openapi/mod.ts";
import { REAL_FILES, type SecretFileSystem } from "./_secret_file.ts";
import { buildVerifier, describe } from "./_schemes.ts";
import { PasswordChecks } from "./basic.ts";
import type { Guard } from "./guard.ts";
import { SecurityRuntime } from "./runtime.ts";
import type { Verifier } from "./verifier.ts";

/** The part of an operation that its security depends on. */
export interface GuardedOperation {
  /** `METHOD /path`. */
  key: string;
  config: { path: string; method: string; securityOpen: boolean; line?: number };
  document: { location: { url: string; pointer: string } };
}

/** What {@link prepareSecurity} returns. */
export interface PreparedSecurity {
  /** The guard of each operation that has one, by `METHOD /path`. */
  guards: Map<string, Guard>;
  /** The schemes guarding each operation, as `urocket check` shows them, by `METHOD /path`. */
  summaries: Map<string, string>;
  runtime: SecurityRuntime;
  problems: Problem[];
  warnings: Problem[];
}

/** What {@link prepareSecurity} may be given; injected for tests. */
export interface PrepareOptions {
  files?: SecretFileSystem;
  fetch?: typeof fetch;
}

/** A requirement as the document writes it: alternatives of scheme → scopes. */
type Requirement = Record<string, string[]>[];

/**
 * Resolves the config's `security` against `document` and builds the guard
 * of each operation. Reads the secrets files; fetches nothing (a JWKS URL is
 * fetched once the runtime starts).
 */
export async function prepareSecurity(
  document: OpenApiDocument,
  operations: readonly GuardedOperation[],
  config: Pick<ServiceConfig, "file" | "security" | "securityLines">,
  options: PrepareOptions = {},
): Promise<PreparedSecurity> {
  const problems: Problem[] = [];
  const warnings: Problem[] = [];
  const docProblem = (pointer: string, message: string) =>
    problems.push({ file: document.file, key: pointer, message });
  const root: Resolved = { url: document.url, pointer: "", value: document.raw };
  const components = followMember(document.files, root, "components");
  const schemes = components && followMember(document.files, components, "securitySchemes");
  const definitionOf = (name: string) => {
    const found = schemes && followMember(document.files, schemes, name);
    return found && isObject(found.value) ? found.value : undefined;
  };
  const info = document.raw.info;
  const realm = isObject(info) && typeof info.title === "string" ? info.title : "urocket";
  const runtime = new SecurityRuntime({ fetch: options.fetch });
  const verifiers = await buildVerifiers(config, {
    definitionOf,
    realm,
    runtime,
    files: options.files ?? REAL_FILES,
    problems,
    documentFile: document.file,
  });
  const guards = new Map<string, Guard>();
  const summaries = new Map<string, string>();
  const documentRequirement = requirementAt(document.raw.security, "/security", docProblem);
  for (const op of operations) {
    const own = followPointer(document.files, op.document.location);
    const ownSecurity = own && isObject(own.value) && Object.hasOwn(own.value, "security");
    const requirement = ownSecurity
      ? requirementAt((own.value as JsonObject).security, `${own.pointer}/security`, docProblem)
      : documentRequirement;
    const named = [...new Set((requirement ?? []).flatMap((item) => Object.keys(item)))];
    const where = `paths.${op.config.path}.${op.config.method}`;
    if (op.config.securityOpen) {
      summaries.set(op.key, "open");
      warnings.push(openWarning(op, named, config.file));
      continue;
    }
    const guard = guardOf(requirement ?? [], (name, scopes) => {
      const definition = definitionOf(name);
      const say = (message: string) =>
        problems.push({ file: config.file, line: op.config.line, key: where, message });
      if (!definition) {
        return void docProblem(
          ownSecurity ? `${own!.pointer}/security` : "/security",
          `${op.key} requires ${
            JSON.stringify(name)
          }, which components.securitySchemes does not define`,
        );
      }
      const verifier = verifiers.get(name);
      if (!verifier) {
        if (config.security[name] === undefined) say(unconfigured(op.key, name, definition));
        return undefined;
      }
      if (scopes.length > 0 && !verifier.scoped) {
        return void say(
          `${op.key} requires the roles ${scopes.join(", ")} of ${JSON.stringify(name)}: urocket ` +
            `checks scopes of JWTs only, not of ${describe(definition)} schemes`,
        );
      }
      return verifier;
    });
    summaries.set(op.key, guard ? guard.summary : "none");
    if (guard) guards.set(op.key, guard.guard);
  }
  return { guards, summaries, runtime, problems, warnings };
}

/** The warning, said at every start, that `security: open` serves `op` to anyone. */
function openWarning(op: GuardedOperation, named: string[], file: string): Problem {
  return {
    file,
    line: op.config.line,
    key: `paths.${op.config.path}.${op.config.method}.security`,
    message: named.length > 0
      ? `${op.key} is served to anyone: "security: open" skips what the document requires ` +
        `(${named.join(", ")})`
      : `${op.key} has "security: open", but the document requires nothing of it`,
  };
}

/** What {@link buildVerifiers} needs beside the config. */
interface VerifierContext {
  definitionOf: (name: string) => JsonObject | undefined;
  realm: string;
  runtime: SecurityRuntime;
  files: SecretFileSystem;
  problems: Problem[];
  documentFile: string;
}

/** The verifier of each configured scheme that can be built; every other is a problem. */
async function buildVerifiers(
  config: Pick<ServiceConfig, "file" | "security" | "securityLines">,
  { definitionOf, realm, runtime, files, problems, documentFile }: VerifierContext,
): Promise<Map<string, Verifier>> {
  const checks = new PasswordChecks();
  const verifiers = new Map<string, Verifier>();
  for (const [name, entry] of Object.entries(config.security)) {
    const report = (key: string, message: string) =>
      problems.push({
        file: config.file,
        line: config.securityLines[name],
        key: `security.${name}${key ? `.${key}` : ""}`,
        message,
      });
    const definition = definitionOf(name);
    if (!definition) {
      report(
        "",
        `${JSON.stringify(name)} is not a scheme of components.securitySchemes in ${documentFile}`,
      );
      continue;
    }
    const verifier = await buildVerifier(name, definition, entry, {
      dir: config.file.replace(/\/[^/]*$/, "") || "/",
      realm,
      files,
      checks,
      remote: (url) => runtime.declare(url),
      report,
    });
    if (verifier) verifiers.set(name, verifier);
  }
  return verifiers;
}

/** The requirement at `pointer`, checked for shape; undefined when absent or malformed. */
function requirementAt(
  value: unknown,
  pointer: string,
  problem: (pointer: string, message: string) => void,
): Requirement | undefined {
  if (value === undefined) return undefined;
  const wellFormed = Array.isArray(value) && value.every((item) =>
    isObject(item) &&
    Object.values(item).every((scopes) =>
      Array.isArray(scopes) && scopes.every((s) => typeof s === "string")
    )
  );
  if (!wellFormed) {
    problem(pointer, "Expected a list of security requirements: { <scheme>: [<scope>, …] }");
    return undefined;
  }
  return value as Requirement;
}

/**
 * The guard of a requirement, or undefined when it lets anyone in (`[]`,
 * `[{}]`) or names a scheme `verifierOf` cannot give (reported there).
 */
function guardOf(
  requirement: Requirement,
  verifierOf: (name: string, scopes: string[]) => Verifier | undefined,
): { guard: Guard; summary: string } | undefined {
  const optional = requirement.some((item) => Object.keys(item).length === 0);
  const items = requirement.filter((item) => Object.keys(item).length > 0);
  if (items.length === 0) return undefined;
  let complete = true;
  const alternatives = items.map((item) =>
    Object.entries(item).map(([name, scopes]) => {
      const verifier = verifierOf(name, scopes);
      if (!verifier) complete = false;
      return { verifier: verifier!, scopes };
    })
  );
  if (!complete) return undefined;
  const summary = [
    ...items.map((item) =>
      Object.entries(item).map(([name, scopes]) =>
        scopes.length > 0 ? `${name}[${scopes.join(",")}]` : name
      ).join("+")
    ),
    ...(optional ? ["anonymous"] : []),
  ].join(" | ");
  return { guard: { alternatives, optional }, summary };
}

/** Says what to add for a scheme an operation needs and the config lacks. */
function unconfigured(key: string, name: string, definition: JsonObject): string {
  const kind = describe(definition);
  const verifiable = definition.type === "apiKey" || definition.type === "oauth2" ||
    definition.type === "openIdConnect" || kind === "http basic" || kind === "http bearer";
  if (!verifiable) {
    return `${key} requires ${JSON.stringify(name)} (${kind}), which urocket cannot verify: ` +
      'set "security: open" on the operation if the proxy in front enforces it';
  }
  const example = definition.type === "apiKey"
    ? "{ keys-file: /etc/urocket/api-keys }"
    : kind === "http basic"
    ? "{ htpasswd: /etc/urocket/htpasswd }"
    : "{ jwks: https://login.example.com/jwks.json, issuer: …, audience: … }";
  return `${key} requires ${JSON.stringify(name)} (${kind}), which the top-level security does ` +
    `not configure: add "security: { ${name}: ${example} }", or set ` +
    '"security: open" on the operation to serve it without';
}
