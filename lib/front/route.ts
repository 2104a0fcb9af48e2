/**
 * The front's first step: the request's operation, from the method and the
 * path, or the answer when there is none (404 with a hint about the base
 * path, 405 with `Allow`, 400, 501 for a document operation without
 * config).
 *
 * @module
 */

import type { Generation, Operation } from "../generation/mod.ts";
import { HttpProblem } from "../http/mod.ts";
import { annotateDenoSpan } from "./trace.ts";

/** Where a request goes. */
export type Routed =
  | { kind: "operation"; operation: Operation; params: Record<string, string> }
  /** No operation takes it: `problem` is its answer, `label` its metrics label. */
  | { kind: "refused"; problem: HttpProblem; label: string };

/** Routes `request` (whose path is `path`) with `generation`'s router. */
export function route(
  generation: Generation,
  request: Request,
  { path, requestId }: { path: string; requestId: string },
): Routed {
  const match = generation.router.match(request.method, path);
  if (match.kind === "not_found") {
    return refused(new HttpProblem("not_found", notFoundDetail(generation.router, path)));
  }
  if (match.kind === "bad_path") return refused(new HttpProblem("bad_request", match.detail));
  if (match.kind === "method_not_allowed") {
    return refused(
      new HttpProblem(
        "method_not_allowed",
        `${request.method} is not an operation of ${match.template}: use ${match.allow.join(", ")}`,
        { headers: { allow: match.allow.join(", ") } },
      ),
    );
  }
  annotateDenoSpan({ method: request.method, template: match.template }, requestId);
  if (match.value !== null) {
    return { kind: "operation", operation: match.value, params: match.params };
  }
  // A document operation without config: bounded by the document, so it may be a label.
  const method = request.method.toLowerCase();
  const label =
    generation.document.operations.find((op) => op.path === match.template && op.method === method)
      ?.operationId ?? `${method.toUpperCase()} ${match.template}`;
  return refused(
    new HttpProblem(
      "not_implemented",
      `${request.method} ${match.template} is in the OpenAPI document but has no handler configured`,
    ),
    label,
  );
}

/** A request no operation takes; the metrics label a request that matched none has is `""`. */
function refused(problem: HttpProblem, label = ""): Routed {
  return { kind: "refused", problem, label };
}

/**
 * The detail of a 404: when the path would match an operation under the
 * base path (it lacks the prefix, or has another), it says so — every route
 * of a document whose `servers[0].url` is `https://host/api/v3` lives under
 * `/api/v3`, which a client reading only `paths` does not expect.
 */
function notFoundDetail(router: Generation["router"], path: string): string {
  const detail = `No operation at ${JSON.stringify(path)}`;
  const suggested = router.suggest(path);
  if (suggested === undefined) return detail;
  return `${detail} (the base path is ${JSON.stringify(router.prefix || "/")}): ` +
    `did you mean ${JSON.stringify(suggested)}?`;
}
