/**
 * The credential checks made before anything is sent, and the kinds of
 * mechanism each kind of credential can use.
 *
 * @module
 */

import { hasControl } from "../protocol/_control.ts";
import { prepareScramCredentials } from "./_scram_credentials.ts";
import type { AuthMechanism, PasswordAuth, TokenAuth } from "./credentials.ts";

/** The mechanisms that carry a password. */
export const PASSWORD_MECHANISMS: readonly AuthMechanism[] = [
  "SCRAM-SHA-256",
  "SCRAM-SHA-1",
  "PLAIN",
  "LOGIN",
  "CRAM-MD5",
];

/** The mechanisms that carry an OAuth 2.0 access token. */
export const TOKEN_MECHANISMS: readonly AuthMechanism[] = [
  "OAUTHBEARER",
  "XOAUTH2",
];

/** The SCRAM mechanisms. */
export const SCRAM_MECHANISMS: readonly AuthMechanism[] = [
  "SCRAM-SHA-256",
  "SCRAM-SHA-1",
];

/**
 * Whether the credentials are an access token.
 *
 * @param auth The credentials.
 * @returns Whether they are {@linkcode TokenAuth}.
 */
export function isTokenAuth(auth: PasswordAuth | TokenAuth): auth is TokenAuth {
  return "accessToken" in auth;
}

const LINE_BREAK_OR_NUL = /[\0\r\n]/;

/**
 * Checks credentials before anything is sent: the shape, the mechanism
 * against the kind of credential, and the characters no mechanism can carry.
 * The session may call it before connecting; `startSasl` calls it again.
 *
 * @param auth The credentials of `SmtpClientOptions.auth`.
 * @throws {TypeError} when the credentials are malformed: a user name or
 * password holding NUL, CR or LF, a user name or token holding a control
 * character for the OAuth mechanisms, a SCRAM mechanism named with a user
 * name or password SASLprep refuses, a password mechanism named with a
 * token (or the reverse), an unknown mechanism.
 */
export function checkAuth(auth: PasswordAuth | TokenAuth): void {
  if (typeof auth !== "object" || auth === null) {
    throw new TypeError("Cannot use auth: expected an object");
  }
  if (typeof auth.username !== "string") {
    throw new TypeError("Cannot use auth.username: expected a string");
  }
  const { mechanism } = auth;
  if (
    mechanism !== undefined &&
    !PASSWORD_MECHANISMS.includes(mechanism) &&
    !TOKEN_MECHANISMS.includes(mechanism)
  ) {
    throw new TypeError(
      `Cannot use auth.mechanism: unknown mechanism ${
        JSON.stringify(String(mechanism))
      }`,
    );
  }
  if (isTokenAuth(auth)) {
    if ("password" in auth) {
      throw new TypeError(
        "Cannot use auth: give either a password or an access token, not both",
      );
    }
    const { accessToken } = auth;
    if (typeof accessToken !== "string" && typeof accessToken !== "function") {
      throw new TypeError(
        "Cannot use auth.accessToken: expected a string or a function",
      );
    }
    if (mechanism !== undefined && !TOKEN_MECHANISMS.includes(mechanism)) {
      throw new TypeError(
        `Cannot use ${mechanism} with an access token: use OAUTHBEARER or XOAUTH2`,
      );
    }
    if (hasControl(auth.username)) {
      throw new TypeError(
        "Cannot use auth.username: it contains a control character",
      );
    }
    if (typeof accessToken === "string") checkToken(accessToken);
  } else {
    if (typeof (auth as PasswordAuth).password !== "string") {
      throw new TypeError("Cannot use auth.password: expected a string");
    }
    if (mechanism !== undefined && !PASSWORD_MECHANISMS.includes(mechanism)) {
      throw new TypeError(
        `Cannot use ${mechanism} with a password: give an accessToken instead`,
      );
    }
    if (auth.username === "") {
      throw new TypeError("Cannot use auth.username: it is empty");
    }
    if (LINE_BREAK_OR_NUL.test(auth.username)) {
      throw new TypeError(
        "Cannot use auth.username: it contains a NUL, CR or LF character",
      );
    }
    if (LINE_BREAK_OR_NUL.test(auth.password)) {
      throw new TypeError(
        "Cannot use auth.password: it contains a NUL, CR or LF character",
      );
    }
    if (mechanism !== undefined && SCRAM_MECHANISMS.includes(mechanism)) {
      const prepared = prepareScramCredentials(auth);
      if (!prepared.ok) throw new TypeError(prepared.problem);
    }
  }
}

/**
 * Checks an access token (a string, or what the `accessToken` function
 * returned).
 *
 * @param token The token.
 * @throws {TypeError} when it is not a string, is empty or holds a control
 * character.
 */
export function checkToken(token: unknown): asserts token is string {
  if (typeof token !== "string") {
    throw new TypeError("Cannot use the access token: expected a string");
  }
  if (token === "") {
    throw new TypeError("Cannot use the access token: it is empty");
  }
  if (hasControl(token)) {
    throw new TypeError(
      "Cannot use the access token: it contains a control character",
    );
  }
}
