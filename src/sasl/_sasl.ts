/**
 * The client side of SMTP AUTH (RFC 4954): the SASL mechanisms PLAIN
 * (RFC 4616), LOGIN (draft-murchison-sasl-login), CRAM-MD5 (RFC 2195),
 * XOAUTH2 (Google, Microsoft) and OAUTHBEARER (RFC 7628), as small state
 * machines that know nothing of I/O. The session sends
 * `AUTH <mechanism> [<initialResponse>]`, feeds each `334` challenge to
 * {@linkcode SaslSession.respond} and writes back what it returns, until the
 * server answers `235` (success) or an error.
 *
 * @module
 */

import { hmacMd5 } from "./_md5.ts";
import { REDACTED } from "../protocol/_redacted.ts";
import { SmtpError } from "../protocol/smtp_error.ts";
import type { AuthMechanism, PasswordAuth, TokenAuth } from "./credentials.ts";

/** An authentication exchange in progress, driven by the session. */
export interface SaslSession {
  /** The mechanism, as written after `AUTH`. */
  readonly mechanism: AuthMechanism;
  /**
   * The argument after the mechanism name on the `AUTH` line (base64), or
   * `undefined` to send `AUTH <mechanism>` alone. PLAIN, XOAUTH2 and
   * OAUTHBEARER have one unless it would make the command longer than the
   * 512 octets of RFC 5321 §4.5.3.1.4; it is then sent in answer to the
   * server's first, empty challenge (RFC 4954 §4).
   */
  readonly initialResponse: string | undefined;
  /**
   * The error report an OAuth server sent as a challenge (XOAUTH2,
   * OAUTHBEARER), decoded: JSON such as `{"status":"401","schemes":"Bearer"}`.
   * Set once {@linkcode respond} has seen it; worth quoting in the error that
   * follows the final `535`/`454`. It holds no credential.
   */
  readonly serverError: string | undefined;
  /**
   * Answers a `334` challenge.
   *
   * @param challenge The base64 text after `334 ` (may be empty).
   * @returns The base64 line to send (without CRLF; possibly empty).
   * @throws {SmtpError} kind `"protocol"` when the challenge is not base64 or
   * the mechanism expects no (further) challenge.
   */
  respond(challenge: string): Promise<string>;
}

const PASSWORD_MECHANISMS: readonly AuthMechanism[] = [
  "PLAIN",
  "LOGIN",
  "CRAM-MD5",
];
const TOKEN_MECHANISMS: readonly AuthMechanism[] = ["OAUTHBEARER", "XOAUTH2"];

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

/** Longest command line, CRLF excluded (RFC 5321 §4.5.3.1.4). */
const MAX_COMMAND_LENGTH = 510;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function isTokenAuth(auth: PasswordAuth | TokenAuth): auth is TokenAuth {
  return "accessToken" in auth;
}

const LINE_BREAK_OR_NUL = /[\0\r\n]/;
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;

/**
 * Checks credentials before anything is sent: the shape, the mechanism
 * against the kind of credential, and the characters no mechanism can carry.
 * The session may call it before connecting; {@linkcode startSasl} calls it
 * again.
 *
 * @param auth The credentials of `SmtpClientOptions.auth`.
 * @throws {TypeError} when the credentials are malformed: a user name or
 * password holding NUL, CR or LF, a user name or token holding a control
 * character for the OAuth mechanisms, a password mechanism named with a
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
    if (CONTROL.test(auth.username)) {
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
  }
}

function checkToken(token: unknown): asserts token is string {
  if (typeof token !== "string") {
    throw new TypeError("Cannot use the access token: expected a string");
  }
  if (token === "") {
    throw new TypeError("Cannot use the access token: it is empty");
  }
  if (CONTROL.test(token)) {
    throw new TypeError(
      "Cannot use the access token: it contains a control character",
    );
  }
}

/**
 * Picks the mechanism to authenticate with.
 *
 * The one named in `auth.mechanism` if the server offers it. Otherwise, with
 * a token, OAUTHBEARER (the standard) before XOAUTH2; with a password over
 * TLS, PLAIN, then LOGIN, then CRAM-MD5 (PLAIN is universal and TLS protects
 * it; CRAM-MD5 is obsolete and needs the server to keep plaintext passwords);
 * with a password without TLS (only ever to a loopback address), CRAM-MD5
 * first, as it does not reveal the password.
 *
 * @param offered The mechanisms of the EHLO `AUTH` keyword, any case.
 * @param auth The credentials.
 * @param secure Whether the connection is protected by TLS.
 * @returns The mechanism, in upper case.
 * @throws {TypeError} when the credentials are malformed (see {@linkcode checkAuth}).
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

/**
 * Starts an exchange: checks the credentials, fetches the access token (the
 * `accessToken` function is called once per call) and computes the initial
 * response.
 *
 * @param auth The credentials.
 * @param mechanism The mechanism, usually from {@linkcode chooseMechanism}.
 * @param hostname The server's host name (OAUTHBEARER sends it).
 * @param port The server's port (OAUTHBEARER sends it).
 * @returns The exchange, ready for the `AUTH` command.
 * @throws {TypeError} when the credentials are malformed or do not suit the
 * mechanism, or the access token function returns something unusable.
 * @throws {SmtpError} kind `"auth"` when the access token function throws
 * (the error is its `cause`).
 */
export async function startSasl(
  auth: PasswordAuth | TokenAuth,
  mechanism: AuthMechanism,
  hostname: string,
  port: number,
): Promise<SaslSession> {
  checkAuth(auth);
  if (isTokenAuth(auth)) {
    if (!TOKEN_MECHANISMS.includes(mechanism)) {
      throw new TypeError(
        `Cannot use ${mechanism} with an access token: use OAUTHBEARER or XOAUTH2`,
      );
    }
    let token: unknown = auth.accessToken;
    if (typeof token === "function") {
      try {
        token = await (auth.accessToken as () => string | Promise<string>)();
      } catch (cause) {
        throw new SmtpError(
          "Cannot authenticate: the accessToken function failed",
          { kind: "auth", command: "AUTH", cause },
        );
      }
    }
    checkToken(token);
    if (mechanism === "XOAUTH2") {
      if (auth.username === "") {
        throw new TypeError("Cannot use XOAUTH2: auth.username is empty");
      }
      return new Session(
        mechanism,
        `user=${auth.username}\x01auth=Bearer ${token}\x01\x01`,
        "",
      );
    }
    if (CONTROL.test(hostname)) {
      throw new TypeError(
        "Cannot use hostname: it contains a control character",
      );
    }
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new TypeError(`Cannot use port ${port}: expected 0 to 65535`);
    }
    // RFC 7628 §3.1: a GS2 header (RFC 5801) naming the user, whose "," and
    // "=" are escaped, then key=value pairs separated by 0x01.
    const user = auth.username.replaceAll("=", "=3D").replaceAll(",", "=2C");
    const authzid = user === "" ? "" : `a=${user}`;
    return new Session(
      mechanism,
      `n,${authzid},\x01host=${hostname}\x01port=${port}\x01auth=Bearer ${token}\x01\x01`,
      // RFC 7628 §3.2.3: a lone 0x01 acknowledges the error challenge.
      "\x01",
    );
  }
  const { username, password } = auth;
  switch (mechanism) {
    case "PLAIN":
      // RFC 4616: authzid (empty) NUL authcid NUL passwd.
      return new Session(mechanism, `\0${username}\0${password}`, undefined);
    case "LOGIN":
      return new Session(mechanism, undefined, undefined, loginAnswer(auth));
    case "CRAM-MD5":
      return new Session(
        mechanism,
        undefined,
        undefined,
        (challenge, round) => {
          if (round > 0 || challenge.length === 0) return undefined;
          const digest = hmacMd5(encoder.encode(password), challenge);
          return `${username} ${digest.toHex()}`;
        },
      );
    default:
      throw new TypeError(
        `Cannot use ${mechanism} with a password: give an accessToken instead`,
      );
  }
}

/**
 * LOGIN has no specification beyond an expired draft: the server prompts
 * (usually "Username:" then "Password:", base64) and the client answers.
 * Prompts vary ("User Name", localised texts), so like most clients this one
 * answers the first challenge with the user name and the second with the
 * password, with two safety rules: it never sends the password to a prompt
 * that asks for a user name (a server that asks twice would otherwise log
 * the password as a user name), and it does not answer a first prompt that
 * asks only for the password.
 */
function loginAnswer(
  auth: PasswordAuth,
): (challenge: Uint8Array, round: number) => string | undefined {
  return (challenge, round) => {
    const prompt = decoder.decode(challenge).toLowerCase();
    const asksUser = /user|name|login/.test(prompt);
    const asksPassword = /pass/.test(prompt);
    if (round === 0 && !(asksPassword && !asksUser)) return auth.username;
    if (round === 1 && !asksUser) return auth.password;
    return undefined;
  };
}

/**
 * One exchange. `initial` is the initial response (plain text, before
 * base64); `acknowledge` answers an OAuth error challenge; `answer` computes
 * the reply to the challenge of a given round, `undefined` meaning that
 * challenge was not expected.
 */
class Session implements SaslSession {
  readonly mechanism: AuthMechanism;
  #initialResponse: string | undefined;
  /** An initial response too long for the AUTH line, for the first challenge. */
  #pending: string | undefined;
  #acknowledge: string | undefined;
  #answer:
    | ((challenge: Uint8Array, round: number) => string | undefined)
    | undefined;
  #round = 0;
  #serverError: string | undefined;

  constructor(
    mechanism: AuthMechanism,
    initial: string | undefined,
    acknowledge: string | undefined,
    answer?: (challenge: Uint8Array, round: number) => string | undefined,
  ) {
    this.mechanism = mechanism;
    if (initial !== undefined) {
      const encoded = encoder.encode(initial).toBase64();
      if (`AUTH ${mechanism} ${encoded}`.length <= MAX_COMMAND_LENGTH) {
        this.#initialResponse = encoded;
      } else {
        this.#pending = encoded;
      }
    }
    this.#acknowledge = acknowledge === undefined
      ? undefined
      : encoder.encode(acknowledge).toBase64();
    this.#answer = answer;
  }

  get initialResponse(): string | undefined {
    return this.#initialResponse;
  }

  get serverError(): string | undefined {
    return this.#serverError;
  }

  respond(challenge: string): Promise<string> {
    try {
      return Promise.resolve(this.#respond(challenge));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #respond(challenge: string): string {
    const bytes = this.#decode(challenge);
    const round = this.#round++;
    if (this.#pending !== undefined) {
      // RFC 4954 §4 / RFC 4422 §5: without an initial response on the AUTH
      // line the server sends an empty challenge, answered by it.
      if (bytes.length !== 0) throw this.#unexpected(bytes);
      const pending = this.#pending;
      this.#pending = undefined;
      this.#round = 0;
      return pending;
    }
    if (this.#acknowledge !== undefined) {
      // XOAUTH2 / OAUTHBEARER: the only challenge after the initial response
      // is the error report; acknowledging it makes the server send its
      // final error reply.
      if (round > 0 || bytes.length === 0) throw this.#unexpected(bytes);
      this.#serverError = decoder.decode(bytes);
      return this.#acknowledge;
    }
    const answer = this.#answer?.(bytes, round);
    if (answer === undefined) throw this.#unexpected(bytes);
    return encoder.encode(answer).toBase64();
  }

  #decode(challenge: string): Uint8Array {
    try {
      return Uint8Array.fromBase64(challenge.trim());
    } catch (cause) {
      throw new SmtpError(
        `Cannot authenticate with ${this.mechanism}: server sent a challenge that is not base64 ${
          JSON.stringify(challenge.slice(0, 80))
        }`,
        { kind: "protocol", command: "AUTH", cause },
      );
    }
  }

  #unexpected(bytes: Uint8Array): SmtpError {
    const text = decoder.decode(bytes.subarray(0, 80));
    return new SmtpError(
      `Unexpected ${this.mechanism} challenge: ${JSON.stringify(text)}`,
      { kind: "protocol", command: "AUTH" },
    );
  }

  toJSON(): Record<string, unknown> {
    return { mechanism: this.mechanism, initialResponse: REDACTED };
  }

  [Symbol.for("Deno.customInspect")](): string {
    return `SaslSession { mechanism: ${JSON.stringify(this.mechanism)} }`;
  }
}
