/**
 * The client side of SMTP AUTH (RFC 4954), as the session uses it: check
 * the credentials, choose a mechanism, start the exchange. The mechanisms
 * are state machines without I/O, one file each: PLAIN (RFC 4616), LOGIN
 * (draft-murchison-sasl-login), CRAM-MD5 (RFC 2195), SCRAM-SHA-256 and
 * SCRAM-SHA-1 (RFC 7677, RFC 5802), XOAUTH2 (Google, Microsoft) and
 * OAUTHBEARER (RFC 7628). The mechanisms are loaded on first use.
 *
 * @module
 */

import { hasControl } from "../protocol/_control.ts";
import { SmtpError } from "../protocol/smtp_error.ts";
import {
  checkAuth,
  checkToken,
  isTokenAuth,
  TOKEN_MECHANISMS,
} from "./_check_auth.ts";
import type { SaslSession } from "./_sasl_session.ts";
import type { AuthMechanism, PasswordAuth, TokenAuth } from "./credentials.ts";

export { checkAuth } from "./_check_auth.ts";
export { chooseMechanism, fallbackMechanism } from "./_choose_mechanism.ts";
export type { SaslSession } from "./_sasl_session.ts";

type Mechanisms = typeof import("./_mechanisms.ts");
let mechanisms: Promise<Mechanisms> | undefined;

/**
 * Loads the mechanisms (once). `startSasl` does it; a session that will
 * authenticate starts it early, while it connects.
 *
 * @returns The mechanisms' start functions.
 */
export function loadSasl(): Promise<Mechanisms> {
  return mechanisms ??= import("./_mechanisms.ts");
}

/**
 * Starts an exchange: checks the credentials, fetches the access token (the
 * `accessToken` function is called once per call) and computes the initial
 * response.
 *
 * @param auth The credentials.
 * @param mechanism The mechanism, usually from `chooseMechanism`.
 * @param hostname The server's host name (OAUTHBEARER sends it).
 * @param port The server's port (OAUTHBEARER sends it).
 * @returns The exchange, ready for the `AUTH` command.
 * @throws {TypeError} when the credentials are malformed or do not suit the
 * mechanism, or the access token function returns something unusable.
 * @throws {SmtpError} kind `"auth"` when the access token function throws
 * (the error is its `cause`).
 */
export async function startSasl(
  auth: PasswordAuth | TokenAuth,
  mechanism: AuthMechanism,
  hostname: string,
  port: number,
): Promise<SaslSession> {
  checkAuth(auth);
  const {
    startCramMd5,
    startLogin,
    startOauthbearer,
    startPlain,
    startScram,
    startXoauth2,
  } = await loadSasl();
  if (isTokenAuth(auth)) {
    if (!TOKEN_MECHANISMS.includes(mechanism)) {
      throw new TypeError(
        `Cannot use ${mechanism} with an access token: use OAUTHBEARER or XOAUTH2`,
      );
    }
    let token: unknown = auth.accessToken;
    if (typeof token === "function") {
      try {
        token = await (auth.accessToken as () => string | Promise<string>)();
      } catch (cause) {
        throw new SmtpError(
          "Cannot authenticate: the accessToken function failed",
          { kind: "auth", command: "AUTH", cause },
        );
      }
    }
    checkToken(token);
    if (mechanism === "XOAUTH2") {
      if (auth.username === "") {
        throw new TypeError("Cannot use XOAUTH2: auth.username is empty");
      }
      return startXoauth2(auth.username, token);
    }
    if (hasControl(hostname)) {
      throw new TypeError(
        "Cannot use hostname: it contains a control character",
      );
    }
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new TypeError(`Cannot use port ${port}: expected 0 to 65535`);
    }
    return startOauthbearer(auth.username, token, hostname, port);
  }
  switch (mechanism) {
    case "PLAIN":
      return startPlain(auth);
    case "LOGIN":
      return startLogin(auth);
    case "CRAM-MD5":
      return startCramMd5(auth);
    case "SCRAM-SHA-256":
    case "SCRAM-SHA-1":
      return startScram(auth, mechanism);
    default:
      throw new TypeError(
        `Cannot use ${mechanism} with a password: give an accessToken instead`,
      );
  }
}
