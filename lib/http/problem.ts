/**
 * The one place where errors become HTTP answers: RFC 9457
 * `application/problem+json` with the request id, on both servers.
 *
 * @module
 */

/** Machine-readable kinds of problem; each becomes `type: urn:urocket:problem:<kind>`. */
export type ProblemKind =
  | "bad_request"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "method_not_allowed"
  | "request_timeout"
  | "payload_too_large"
  | "uri_too_long"
  | "headers_too_large"
  | "unsupported_media_type"
  | "conflict"
  | "gone"
  | "invalid_reply"
  | "internal"
  | "not_implemented"
  | "bad_gateway"
  | "overloaded"
  | "too_many_requests"
  | "unavailable"
  | "shutting_down"
  | "timeout";

const STATUS: Record<ProblemKind, number> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  payload_too_large: 413,
  uri_too_long: 414,
  unsupported_media_type: 415,
  conflict: 409,
  gone: 410,
  invalid_reply: 422,
  too_many_requests: 429,
  headers_too_large: 431,
  internal: 500,
  not_implemented: 501,
  bad_gateway: 502,
  overloaded: 503,
  unavailable: 503,
  shutting_down: 503,
  timeout: 504,
};

const TITLE: Record<ProblemKind, string> = {
  bad_request: "Bad Request",
  unauthorized: "Unauthorized",
  forbidden: "Forbidden",
  not_found: "Not Found",
  method_not_allowed: "Method Not Allowed",
  request_timeout: "Request Timeout",
  payload_too_large: "Content Too Large",
  uri_too_long: "URI Too Long",
  unsupported_media_type: "Unsupported Media Type",
  conflict: "Conflict",
  gone: "Gone",
  invalid_reply: "Unprocessable Content",
  too_many_requests: "Too Many Requests",
  headers_too_large: "Request Header Fields Too Large",
  internal: "Internal Server Error",
  not_implemented: "Not Implemented",
  bad_gateway: "Bad Gateway",
  overloaded: "Service Unavailable",
  unavailable: "Service Unavailable",
  shutting_down: "Service Unavailable",
  timeout: "Gateway Timeout",
};

/** Options of {@link HttpProblem}. */
export interface HttpProblemOptions {
  /** Extra response headers, e.g. `Allow` or `Retry-After`. */
  headers?: Record<string, string>;
  /** Extra members of the problem object, e.g. `errors`. */
  extra?: Record<string, unknown>;
  cause?: unknown;
}

/**
 * An answer urocket gives instead of a process's reply. Throw it anywhere in
 * a request's handling; the servers' error handlers turn it into the
 * response.
 *
 * @example
 * ```ts
 * throw new HttpProblem("payload_too_large", "The body is larger than max-body (1048576 bytes)");
 * ```
 */
export class HttpProblem extends Error {
  readonly kind: ProblemKind;
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly extra: Record<string, unknown>;

  constructor(kind: ProblemKind, detail: string, options: HttpProblemOptions = {}) {
    super(detail, { cause: options.cause });
    this.name = "HttpProblem";
    this.kind = kind;
    this.status = STATUS[kind];
    this.headers = options.headers ?? {};
    this.extra = options.extra ?? {};
  }
}

/**
 * Maps any error to the problem the client is told: unexpected errors are
 * 500 without internals. (A process that cannot be started is a 502 the
 * exchange decides, with the detail only it knows.)
 */
export function toProblem(error: unknown): HttpProblem {
  if (error instanceof HttpProblem) return error;
  return new HttpProblem("internal", "urocket failed to handle the request", { cause: error });
}

/**
 * The `application/problem+json` response for `problem`, carrying the
 * request id when there is one.
 */
export function problemResponse(problem: HttpProblem, requestId?: string): Response {
  const body = JSON.stringify({
    type: `urn:urocket:problem:${problem.kind}`,
    title: TITLE[problem.kind],
    status: problem.status,
    detail: problem.message,
    ...(requestId ? { request_id: requestId } : {}),
    ...problem.extra,
  });
  return new Response(body, {
    status: problem.status,
    headers: {
      "content-type": "application/problem+json",
      ...(requestId ? { "x-request-id": requestId } : {}),
      ...problem.headers,
    },
  });
}
