/**
 * Which mechanism to authenticate with, from what the server offers and the
 * kind of credential.
 *
 * @module
 */

import { SmtpError } from "../protocol/smtp_error.ts";
import { checkAuth, isTokenAuth, TOKEN_MECHANISMS } from "./_check_auth.ts";
import type { AuthMechanism, PasswordAuth, TokenAuth } from "./credentials.ts";

/**
 * Preference among password mechanisms over TLS. PLAIN is what every
 * submission server supports and, inside TLS, exposes nothing more than the
 * alternatives; LOGIN is the same thing in two round trips (older Exchange,
 * some appliances); CRAM-MD5 comes last: obsolete (RFC 2195 is historic in
 * practice), and it forces the server to store the password in plaintext.
 */
const SECURE_PREFERENCE: readonly AuthMechanism[] = [
  "PLAIN",
  "LOGIN",
  "CRAM-MD5",
];
/**
 * Without TLS (allowed to a loopback address only) CRAM-MD5 comes first: it
 * is the one password mechanism that does not put the password on the wire.
 */
const PLAINTEXT_PREFERENCE: readonly AuthMechanism[] = [
  "CRAM-MD5",
  "PLAIN",
  "LOGIN",
];

/**
 * Picks the mechanism to authenticate with.
 *
 * The one named in `auth.mechanism` if the server offers it (never another
 * one). Otherwise, with a token, OAUTHBEARER (the standard) before XOAUTH2;
 * with a password over TLS, PLAIN, then LOGIN, then CRAM-MD5 (PLAIN is
 * universal and TLS protects it; CRAM-MD5 is obsolete and needs the server
 * to keep plaintext passwords); with a password without TLS (only ever to a
 * loopback address), CRAM-MD5 first, as it does not reveal the password.
 *
 * @param offered The mechanisms of the EHLO `AUTH` keyword, any case.
 * @param auth The credentials.
 * @param secure Whether the connection is protected by TLS.
 * @returns The mechanism, in upper case.
 * @throws {TypeError} when the credentials are malformed (see `checkAuth`).
 * @throws {SmtpError} kind `"auth"` when the server offers no mechanism that
 * fits, naming what it offered.
 */
export function chooseMechanism(
  offered: readonly string[],
  auth: PasswordAuth | TokenAuth,
  secure: boolean,
): AuthMechanism {
  checkAuth(auth);
  const available = new Set(offered.map((name) => name.toUpperCase()));
  const list = JSON.stringify([...available].join(" "));
  if (available.size === 0) {
    throw new SmtpError("Cannot authenticate: server does not offer AUTH", {
      kind: "auth",
      command: "AUTH",
    });
  }
  if (auth.mechanism !== undefined) {
    if (available.has(auth.mechanism)) return auth.mechanism;
    throw new SmtpError(
      `Cannot authenticate with ${auth.mechanism}: server offers only ${list}`,
      { kind: "auth", command: "AUTH" },
    );
  }
  const token = isTokenAuth(auth);
  const preference = token
    ? TOKEN_MECHANISMS
    : secure
    ? SECURE_PREFERENCE
    : PLAINTEXT_PREFERENCE;
  const found = preference.find((mechanism) => available.has(mechanism));
  if (found !== undefined) return found;
  throw new SmtpError(
    `Cannot authenticate with ${
      token ? "an access token" : "a password"
    }: server offers only ${list}`,
    { kind: "auth", command: "AUTH" },
  );
}
