/**
 * Which mechanism to authenticate with, from what the server offers and the
 * kind of credential.
 *
 * @module
 */

import { SmtpError } from "../protocol/smtp_error.ts";
import {
  checkAuth,
  isTokenAuth,
  SCRAM_MECHANISMS,
  TOKEN_MECHANISMS,
} from "./_check_auth.ts";
import { prepareScramCredentials } from "./_scram_credentials.ts";
import type { AuthMechanism, PasswordAuth, TokenAuth } from "./credentials.ts";

/**
 * Preference among password mechanisms over TLS. SCRAM first: the password
 * never leaves the client and the server proves it knows it too (SHA-256
 * before SHA-1). Then PLAIN, what every submission server supports and,
 * inside TLS, exposes nothing more than LOGIN, which is the same thing in
 * two round trips (older Exchange, some appliances); CRAM-MD5 comes last:
 * obsolete, and it forces the server to store the password in plaintext.
 */
const SECURE_PREFERENCE: readonly AuthMechanism[] = [
  "SCRAM-SHA-256",
  "SCRAM-SHA-1",
  "PLAIN",
  "LOGIN",
  "CRAM-MD5",
];
/**
 * Without TLS (allowed to a loopback address only) the mechanisms that do
 * not put the password on the wire come first: SCRAM, then CRAM-MD5.
 */
const PLAINTEXT_PREFERENCE: readonly AuthMechanism[] = [
  "SCRAM-SHA-256",
  "SCRAM-SHA-1",
  "CRAM-MD5",
  "PLAIN",
  "LOGIN",
];

/** Mechanisms any password store can check: see `fallbackMechanism`. */
const PASSWORD_FALLBACK: readonly AuthMechanism[] = ["PLAIN", "LOGIN"];

/**
 * Picks the mechanism to authenticate with.
 *
 * The one named in `auth.mechanism` if the server offers it (never another
 * one). Otherwise, with a token, OAUTHBEARER (the standard) before XOAUTH2;
 * with a password over TLS, SCRAM-SHA-256, SCRAM-SHA-1, PLAIN, LOGIN, then
 * CRAM-MD5; with a password without TLS (only ever to a loopback address),
 * SCRAM, then CRAM-MD5, as they do not reveal the password, then PLAIN and
 * LOGIN. SCRAM is passed over when SASLprep refuses the user name or the
 * password (a tab, a private-use character, mixed-direction text …), as it
 * could not carry them. When the server refuses SCRAM chosen this way, the
 * session tries PLAIN or LOGIN once (see {@linkcode fallbackMechanism}).
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
  let preference = token
    ? TOKEN_MECHANISMS
    : secure
    ? SECURE_PREFERENCE
    : PLAINTEXT_PREFERENCE;
  if (!token && !prepareScramCredentials(auth).ok) {
    preference = preference.filter((name) => !SCRAM_MECHANISMS.includes(name));
  }
  const found = preference.find((mechanism) => available.has(mechanism));
  if (found !== undefined) return found;
  throw new SmtpError(
    `Cannot authenticate with ${
      token ? "an access token" : "a password"
    }: server offers only ${list}`,
    { kind: "auth", command: "AUTH" },
  );
}

/**
 * What to try after SCRAM, chosen by the client itself, was refused with
 * 535. A server may offer SCRAM to every account and accept it only from
 * those it keeps SCRAM credentials for: Dovecot with passwords stored as
 * crypt hashes refuses SCRAM and accepts PLAIN for the same password, and
 * most mail clients try the next mechanism. PLAIN, then LOGIN, can be
 * checked against any password store. Nothing when the caller named the
 * mechanism, when the credential is a token, or after anything but SCRAM
 * (CRAM-MD5 needs the same stored plaintext SCRAM-less servers lack, and a
 * refused PLAIN means the password is wrong).
 *
 * Only a refusal leads here, never a SCRAM server that failed to prove it
 * knows the password: that may be an impostor, and gets no password.
 *
 * @param offered The mechanisms of the EHLO `AUTH` keyword, any case.
 * @param auth The credentials.
 * @param refused The mechanism the server refused.
 * @returns The mechanism to try, or `undefined`.
 */
export function fallbackMechanism(
  offered: readonly string[],
  auth: PasswordAuth | TokenAuth,
  refused: AuthMechanism,
): AuthMechanism | undefined {
  if (
    auth.mechanism !== undefined || isTokenAuth(auth) ||
    !SCRAM_MECHANISMS.includes(refused)
  ) {
    return undefined;
  }
  const available = new Set(offered.map((name) => name.toUpperCase()));
  return PASSWORD_FALLBACK.find((mechanism) => available.has(mechanism));
}
