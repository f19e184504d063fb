/**
 * The credentials as SCRAM uses them: the user name and the password after
 * SASLprep (RFC 5802 §2.2, §5.1).
 *
 * @module
 */

import { saslprep } from "./_saslprep.ts";
import type { PasswordAuth } from "./credentials.ts";

/** Prepared credentials, or why SCRAM cannot carry them. */
export type ScramCredentials =
  | { ok: true; username: string; password: string }
  | { ok: false; problem: string };

/**
 * Prepares the user name and the password with SASLprep.
 *
 * @param auth Password credentials (their shape already checked).
 * @returns The prepared strings, or the problem, as the message of a
 * `TypeError`: it names the offending code point of a user name, never
 * anything of a password.
 */
export function prepareScramCredentials(auth: PasswordAuth): ScramCredentials {
  const username = saslprep(auth.username);
  if (!username.ok) {
    const at = username.codePoint === undefined
      ? ""
      : `: U+${username.codePoint.toString(16).toUpperCase().padStart(4, "0")}`;
    return {
      ok: false,
      problem:
        `Cannot use auth.username with SCRAM: it holds ${username.reason}${at}`,
    };
  }
  if (username.value === "") {
    return {
      ok: false,
      problem:
        "Cannot use auth.username with SCRAM: it is empty after SASLprep",
    };
  }
  const password = saslprep(auth.password);
  if (!password.ok) {
    return {
      ok: false,
      problem:
        `Cannot use auth.password with SCRAM: it holds ${password.reason}`,
    };
  }
  return { ok: true, username: username.value, password: password.value };
}
