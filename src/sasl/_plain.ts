/**
 * PLAIN (RFC 4616): the user name and password in the initial response.
 *
 * @module
 */

import { Exchange, type SaslSession } from "./_sasl_session.ts";
import type { PasswordAuth } from "./credentials.ts";

class Plain extends Exchange {
  constructor(auth: PasswordAuth) {
    // RFC 4616 §2: authzid (empty) NUL authcid NUL passwd.
    super("PLAIN", `\0${auth.username}\0${auth.password}`, "the password");
  }

  protected step(): undefined {
    // Nothing follows the initial response but the server's verdict.
    return undefined;
  }
}

/**
 * Starts a PLAIN exchange.
 *
 * @param auth Credentials already checked by `checkAuth`.
 * @returns The exchange; its initial response carries the password.
 */
export function startPlain(auth: PasswordAuth): SaslSession {
  return new Plain(auth);
}
