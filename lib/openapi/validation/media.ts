/**
 * Media types: which declared `content` entry a `Content-Type` selects, and
 * which bodies urocket can validate (JSON and form bodies).
 *
 * @module
 */

/** The media type of a `Content-Type` value, lower-cased and without parameters. */
export function mediaTypeOf(contentType: string): string {
  return contentType.split(";", 1)[0].trim().toLowerCase();
}

/** Whether bodies of `mediaType` are JSON: `application/json` and any `…/…+json`. */
export function isJsonType(mediaType: string): boolean {
  return mediaType === "application/json" || /^[a-z0-9!#$&^_.-]+\/[^;\s]*\+json$/.test(mediaType);
}

/** Whether bodies of `mediaType` are HTML form fields. */
export function isFormType(mediaType: string): boolean {
  return mediaType === "application/x-www-form-urlencoded";
}

/** Whether a declared media type is a range such as `*\/*` or `application/*`. */
export function isRange(mediaType: string): boolean {
  return mediaType.endsWith("/*");
}

/** Whether urocket can check bodies declared as `mediaType` against a schema. */
export function canValidate(mediaType: string): boolean {
  return isJsonType(mediaType) || isFormType(mediaType) || isRange(mediaType);
}

/**
 * Picks the declared entry for a request's or reply's media type the way
 * OpenAPI orders them: the exact type, then `type/*`, then `*\/*`.
 */
export function selectMedia<T extends { mediaType: string }>(
  declared: readonly T[],
  mediaType: string,
): T | undefined {
  const range = `${mediaType.split("/", 1)[0]}/*`;
  return declared.find((d) => d.mediaType === mediaType) ??
    declared.find((d) => d.mediaType === range) ??
    declared.find((d) => d.mediaType === "*/*");
}
