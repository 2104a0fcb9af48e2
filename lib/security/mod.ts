/**
 * Who may call: the OpenAPI document's `security` enforced with the schemes
 * configured under the top-level `security` (API keys, htpasswd, JWTs,
 * webhook HMACs). The exchange calls {@link checkGuard} once per request,
 * before the body is read (HMAC schemes read it, within `max-body`,
 * `body-timeout` and `max-body-memory`), and turns its {@link Decision} into
 * the answer.
 *
 * @module
 */

export {
  checkGuard,
  type Decision,
  type Demand,
  type Guard,
  type Identity,
  schemesOf,
  withoutCredentials,
} from "./guard.ts";
export {
  type GuardedOperation,
  type PreparedSecurity,
  type PrepareOptions,
  prepareSecurity,
} from "./prepare.ts";
export { SecurityRuntime } from "./runtime.ts";
export type { CredentialSource, Verdict, Verifier } from "./verifier.ts";
