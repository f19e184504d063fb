/**
 * LOGIN (draft-murchison-sasl-login): the server prompts for the user name
 * and the password, the client answers each.
 *
 * @module
 */

import { Exchange, type SaslSession } from "./_sasl_session.ts";
import type { PasswordAuth } from "./credentials.ts";

const decoder = new TextDecoder();

/**
 * LOGIN has no specification beyond an expired draft: the server prompts
 * (usually "Username:" then "Password:", base64) and the client answers.
 * Prompts vary ("User Name", localised texts), so like most clients this one
 * answers the first challenge with the user name and the second with the
 * password, with two safety rules: it never sends the password to a prompt
 * that asks for a user name (a server that asks twice would otherwise log
 * the password as a user name), and it does not answer a first prompt that
 * asks only for the password. A third prompt is an error that does not
 * quote it: it may echo the password.
 */
class Login extends Exchange {
  readonly #auth: PasswordAuth;

  constructor(auth: PasswordAuth) {
    super("LOGIN");
    this.#auth = auth;
  }

  protected step(challenge: Uint8Array, round: number): string | undefined {
    const prompt = decoder.decode(challenge).toLowerCase();
    const asksUser = /user|name|login/.test(prompt);
    const asksPassword = /pass/.test(prompt);
    if (round === 0 && !(asksPassword && !asksUser)) return this.#auth.username;
    if (round === 1 && !asksUser) {
      this.sentSecret("the password");
      return this.#auth.password;
    }
    return undefined;
  }
}

/**
 * Starts a LOGIN exchange.
 *
 * @param auth Credentials already checked by `checkAuth`.
 * @returns The exchange (no initial response).
 */
export function startLogin(auth: PasswordAuth): SaslSession {
  return new Login(auth);
}
