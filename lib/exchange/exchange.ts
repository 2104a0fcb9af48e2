/**
 * The core use case, one request's exchange with its process, read top to
 * bottom: the caller checked (security), the request admitted (room, body,
 * validation, payload, environment), its process spawned, its reply waited
 * for, the answer decided. It returns an {@link Outcome}; the front turns it
 * into the HTTP answer and the access line.
 *
 * @module
 */

import { type AuthFacts, type Outcome, outcomeOf } from "./outcome.ts";
import { admit, rawQuery } from "./admit.ts";
import type { ExchangeDeps, ExchangeRequest } from "./deps.ts";
import { type Admitted, authFacts, checkCaller } from "./guard.ts";
import { bodyLimitsOf } from "./request_body.ts";
import { respond } from "./respond.ts";
import { spawnRequest, type Started } from "./spawn.ts";
import { waitForReply } from "./wait.ts";

/**
 * Runs the exchange of one routed request and says what came of it. Never
 * throws: whatever ends the exchange early is its outcome's problem.
 */
export async function exchange(deps: ExchangeDeps, request: ExchangeRequest): Promise<Outcome> {
  const { requestId, operation } = request;
  const op = operation.config;
  let auth: AuthFacts | undefined;
  let started: Started | undefined;
  try {
    deps.observer?.admitted({
      reqId: requestId,
      operation: operation.name,
      method: request.request.method,
      path: request.url.pathname,
    });
    // Security first: before the body is read, validation and the spawn (./guard.ts).
    const admitted = operation.guard &&
      await checkCaller(operation.guard, {
        request: request.request,
        requestId,
        query: rawQuery(request.request.url),
        bodyLimits: bodyLimitsOf(op, deps.bodies),
        logger: deps.logger,
      });
    auth = authFacts(admitted?.identity);
    started = await start(deps, request, admitted);
    const waited = await waitForReply(started.pending, started.group, {
      signal: request.request.signal,
      stopping: deps.stopping,
      timeoutMs: op.timeoutMs,
      afterExit: op.afterExit,
    });
    return { ...respond(deps, request, started.group, waited), process: started.group, auth };
  } catch (error) {
    return outcomeOf(error, { auth, process: started?.group });
  }
}

/**
 * Admission, then the spawn. Its own function so that what only the spawn
 * needs (the body, the payload, the environment) is garbage once the process
 * runs, rather than held by the waiting exchange's frame for as long as it
 * waits.
 */
async function start(
  deps: ExchangeDeps,
  request: ExchangeRequest,
  admitted: Admitted | undefined,
): Promise<Started> {
  return await spawnRequest(deps, request, await admit(deps, request, admitted));
}
