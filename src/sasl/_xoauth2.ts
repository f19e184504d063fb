/**
 * XOAUTH2 (Google's and Microsoft's): the user name and a bearer token.
 *
 * @module
 */

import { OAuthExchange } from "./_oauth.ts";
import type { SaslSession } from "./_sasl_session.ts";

/**
 * Starts an XOAUTH2 exchange.
 *
 * @param username The mailbox (not empty; checked by `checkAuth`).
 * @param token The access token (checked).
 * @returns The exchange; its initial response carries the token.
 */
export function startXoauth2(username: string, token: string): SaslSession {
  return new OAuthExchange(
    "XOAUTH2",
    `user=${username}\x01auth=Bearer ${token}\x01\x01`,
    token,
    // Google: an empty line acknowledges the error challenge.
    "",
  );
}
