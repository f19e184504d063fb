/**
 * OAUTHBEARER (RFC 7628): a GS2 header naming the user, then the host, the
 * port and the bearer token.
 *
 * @module
 */

import { OAuthExchange } from "./_oauth.ts";
import { escapeSaslName } from "./_sasl_name.ts";
import type { SaslSession } from "./_sasl_session.ts";

/**
 * Starts an OAUTHBEARER exchange.
 *
 * @param username The user name (may be empty: no authzid is sent).
 * @param token The access token (checked by the caller).
 * @param hostname The server's host name (checked by the caller).
 * @param port The server's port (checked by the caller).
 * @returns The exchange; its initial response carries the token.
 */
export function startOauthbearer(
  username: string,
  token: string,
  hostname: string,
  port: number,
): SaslSession {
  // RFC 7628 §3.1: a GS2 header (RFC 5801) naming the user, then key=value
  // pairs separated by 0x01.
  const user = escapeSaslName(username);
  const authzid = user === "" ? "" : `a=${user}`;
  return new OAuthExchange(
    "OAUTHBEARER",
    `n,${authzid},\x01host=${hostname}\x01port=${port}\x01auth=Bearer ${token}\x01\x01`,
    token,
    // RFC 7628 §3.2.3: a lone 0x01 acknowledges the error challenge.
    "\x01",
  );
}
