/**
 * The credentials a session authenticates with, and the SASL mechanisms that
 * can carry them.
 *
 * @module
 */

/** A SASL mechanism the client can use. */
export type AuthMechanism =
  | "PLAIN"
  | "LOGIN"
  | "CRAM-MD5"
  | "SCRAM-SHA-256"
  | "SCRAM-SHA-1"
  | "XOAUTH2"
  | "OAUTHBEARER";

/** Password credentials. */
export interface PasswordAuth {
  /** The user name. */
  username: string;
  /**
   * The password. SCRAM prepares it (and the user name) with SASLprep
   * (RFC 4013) before use; PLAIN, LOGIN and CRAM-MD5 send it as given
   * (UTF-8).
   */
  password: string;
  /**
   * The mechanism to use, and no other. Left out, the strongest one
   * offered; when that is SCRAM and the server refuses it (an account
   * stored as a password hash), PLAIN or LOGIN is tried once.
   * @default {the strongest one offered}
   */
  mechanism?: AuthMechanism;
}

/** OAuth 2.0 bearer-token credentials (XOAUTH2, OAUTHBEARER). */
export interface TokenAuth {
  /** The user name (the mailbox). */
  username: string;
  /** The access token, or a function that fetches a fresh one. */
  accessToken: string | (() => string | Promise<string>);
  /** The mechanism to use. @default {"OAUTHBEARER" when offered, else "XOAUTH2"} */
  mechanism?: AuthMechanism;
}
