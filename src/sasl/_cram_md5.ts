/**
 * CRAM-MD5 (RFC 2195): the user name and an HMAC-MD5 of the server's
 * challenge keyed with the password.
 *
 * @module
 */

import { toHex } from "../protocol/_base64.ts";
import { hmacMd5 } from "./_md5.ts";
import { Exchange, type SaslSession } from "./_sasl_session.ts";
import type { PasswordAuth } from "./credentials.ts";

const encoder = new TextEncoder();

class CramMd5 extends Exchange {
  readonly #auth: PasswordAuth;

  constructor(auth: PasswordAuth) {
    super("CRAM-MD5");
    this.#auth = auth;
  }

  protected step(challenge: Uint8Array, round: number): string | undefined {
    if (round > 0 || challenge.length === 0) return undefined;
    const digest = hmacMd5(encoder.encode(this.#auth.password), challenge);
    // The digest is no password, but a dictionary attack can start from
    // it: what follows is not quoted either.
    this.sentSecret("the digest");
    return `${this.#auth.username} ${toHex(digest)}`;
  }
}

/**
 * Starts a CRAM-MD5 exchange.
 *
 * @param auth Credentials already checked by `checkAuth`.
 * @returns The exchange (no initial response: the server speaks first).
 */
export function startCramMd5(auth: PasswordAuth): SaslSession {
  return new CramMd5(auth);
}
