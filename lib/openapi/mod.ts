/**
 * The OpenAPI document, used unchanged: loaded with the files it refers to,
 * turned into operations (method, path template, parameters, schemas), and
 * routed. The validators live in `./validation/mod.ts`, loaded only when an
 * operation validates (they bring Ajv).
 *
 * @module
 */

export {
  DocumentError,
  type DocumentOperation,
  type DocumentProblem,
  loadDocument,
  type OpenApiDocument,
  type Parameter,
  parseDocumentText,
  responseMediaTypes,
  serverBasePath,
} from "./document.ts";
export { escapePointer, isObject, type Json, type JsonObject, resolvePointer } from "./json.ts";
export {
  type DocumentFiles,
  filePath,
  followMember,
  followPointer,
  isRemote,
  refTarget,
  type Resolved,
  walkObjects,
} from "./refs.ts";
export { type Route, type RouteMatch, Router } from "./router.ts";
// Form bodies are read alike for validation and for the payload; this one needs no Ajv.
export { parseForm } from "./validation/content.ts";
