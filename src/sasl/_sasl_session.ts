/**
 * The interface between the session and a SASL mechanism, and the machinery
 * every mechanism shares: base64 in and out, holding back an initial
 * response too long for the `AUTH` line, and error messages that never
 * quote what may echo a secret.
 *
 * A mechanism is a state machine without I/O. The session sends
 * `AUTH <mechanism> [<initialResponse>]`, feeds each `334` challenge to
 * {@linkcode SaslSession.respond} and writes back what it returns, until the
 * server answers `235` (then it calls {@linkcode SaslSession.finish}) or an
 * error.
 *
 * @module
 */

import { fromBase64, toBase64 } from "../protocol/_base64.ts";
import { printable } from "../protocol/_control.ts";
import { REDACTED } from "../protocol/_redacted.ts";
import { SmtpError, type SmtpErrorKind } from "../protocol/smtp_error.ts";
import type { AuthMechanism } from "./credentials.ts";

/** An authentication exchange in progress, driven by the session. */
export interface SaslSession {
  /** The mechanism, as written after `AUTH`. */
  readonly mechanism: AuthMechanism;
  /**
   * The argument after the mechanism name on the `AUTH` line (base64), or
   * `undefined` to send `AUTH <mechanism>` alone. PLAIN, XOAUTH2,
   * OAUTHBEARER and SCRAM have one unless it would make the command longer
   * than the 512 octets of RFC 5321 §4.5.3.1.4; it is then sent in answer to
   * the server's first, empty challenge (RFC 4954 §4).
   */
  readonly initialResponse: string | undefined;
  /**
   * The error report an OAuth server sent as a challenge (XOAUTH2,
   * OAUTHBEARER), reduced to the fields RFC 7628 §3.2.2 defines, as JSON
   * such as `{"status":"401","schemes":"Bearer"}`, control characters
   * replaced (it is fit for an error message). Set once
   * {@linkcode respond} has seen it; worth quoting in the error that follows
   * the final `535`/`454`. It never holds the access token.
   */
  readonly serverError: string | undefined;
  /**
   * Answers a `334` challenge.
   *
   * @param challenge The base64 text after `334 ` (may be empty).
   * @returns The base64 line to send (without CRLF; possibly empty).
   * @throws {SmtpError} kind `"protocol"` when the challenge is not base64 or
   * the mechanism expects no (further) challenge; kind `"auth"` when the
   * server fails the exchange (SCRAM `e=`) or fails to prove itself (a wrong
   * SCRAM server signature).
   */
  respond(challenge: string): Promise<string>;
  /**
   * Ends the exchange once the server answered `235`.
   *
   * @throws {SmtpError} kind `"auth"` when the mechanism authenticates the
   * server too and the server has not proven itself yet (SCRAM: `235`
   * without a verified server signature).
   */
  finish(): void;
}

/** Longest command line, CRLF excluded (RFC 5321 §4.5.3.1.4). */
const MAX_COMMAND_LENGTH = 510;

/** How much of a challenge an error message quotes. */
const QUOTE_LENGTH = 80;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Text quoted in an error message: cut, control characters replaced, in
 * double quotes.
 *
 * @param text Untrusted text.
 * @returns The quoted text.
 */
export function quote(text: string): string {
  return JSON.stringify(printable(text.slice(0, QUOTE_LENGTH)));
}

/**
 * The base of every mechanism. A subclass answers each challenge in
 * {@linkcode Exchange.step}, and calls {@linkcode Exchange.sentSecret}
 * once what it sends carries a secret: from then on no challenge is quoted
 * in an error message, since a hostile server may echo what it received.
 */
export abstract class Exchange implements SaslSession {
  readonly mechanism: AuthMechanism;
  #initialResponse: string | undefined;
  /** An initial response too long for the AUTH line, for the first challenge. */
  #pending: string | undefined;
  #pendingSecret: string | undefined;
  #round = 0;
  /** What secret was sent ("the password"), once one was. */
  #secretSent: string | undefined;

  /**
   * @param mechanism The mechanism name.
   * @param initial The initial response (text or bytes, before base64), if
   * the mechanism has one.
   * @param initialSecret What secret the initial response carries, if any
   * ("the password").
   */
  constructor(
    mechanism: AuthMechanism,
    initial?: string | Uint8Array,
    initialSecret?: string,
  ) {
    this.mechanism = mechanism;
    if (initial !== undefined) {
      const encoded = toBase64(
        typeof initial === "string" ? encoder.encode(initial) : initial,
      );
      if (`AUTH ${mechanism} ${encoded}`.length <= MAX_COMMAND_LENGTH) {
        this.#initialResponse = encoded;
        this.#secretSent = initialSecret;
      } else {
        this.#pending = encoded;
        this.#pendingSecret = initialSecret;
      }
    }
  }

  get initialResponse(): string | undefined {
    return this.#initialResponse;
  }

  get serverError(): string | undefined {
    return undefined;
  }

  async respond(challenge: string): Promise<string> {
    const bytes = this.#decode(challenge);
    if (this.#pending !== undefined) {
      // RFC 4954 §4 / RFC 4422 §5: without an initial response on the AUTH
      // line the server sends an empty challenge, answered by it.
      if (bytes.length !== 0) throw this.unexpected(bytes);
      const pending = this.#pending;
      this.#pending = undefined;
      this.#secretSent = this.#pendingSecret;
      return pending;
    }
    const answer = await this.step(bytes, this.#round++);
    if (answer === undefined) throw this.unexpected(bytes);
    return toBase64(
      typeof answer === "string" ? encoder.encode(answer) : answer,
    );
  }

  finish(): void {}

  /**
   * Computes the answer to a challenge.
   *
   * @param challenge The decoded challenge.
   * @param round 0 for the first challenge after the initial response (or
   * after the `AUTH` line), then 1, 2 …
   * @returns The answer (before base64), or `undefined` when the challenge
   * was not expected.
   */
  protected abstract step(
    challenge: Uint8Array,
    round: number,
  ): string | Uint8Array | undefined | Promise<string | Uint8Array | undefined>;

  /**
   * Records that what is about to be sent carries a secret.
   *
   * @param what The secret, as error messages name it ("the password").
   */
  protected sentSecret(what: string): void {
    this.#secretSent ??= what;
  }

  /** Whether a secret was sent: challenges are no longer quoted. */
  protected get secretWasSent(): boolean {
    return this.#secretSent !== undefined;
  }

  /**
   * The error for a challenge the mechanism did not expect: it quotes the
   * challenge, unless a secret was sent (it may be an echo of it).
   *
   * @param challenge The decoded challenge.
   * @returns The error to throw.
   */
  protected unexpected(challenge: Uint8Array): SmtpError {
    if (this.#secretSent !== undefined) {
      return this.error(
        `Unexpected ${this.mechanism} challenge after ${this.#secretSent} was sent (not quoted, as it may echo a secret)`,
      );
    }
    const text = decoder.decode(challenge.subarray(0, QUOTE_LENGTH));
    return this.error(`Unexpected ${this.mechanism} challenge: ${quote(text)}`);
  }

  /**
   * An error of this exchange.
   *
   * @param message The message.
   * @param kind The kind. @default {"protocol"}
   * @param cause The cause, if any.
   * @returns The error.
   */
  protected error(
    message: string,
    kind: SmtpErrorKind = "protocol",
    cause?: unknown,
  ): SmtpError {
    return new SmtpError(message, {
      kind,
      command: "AUTH",
      ...(cause !== undefined ? { cause } : {}),
    });
  }

  #decode(challenge: string): Uint8Array {
    try {
      return fromBase64(challenge.trim());
    } catch (cause) {
      const shown = this.#secretSent === undefined
        ? ` ${quote(challenge)}`
        : ` after ${this.#secretSent} was sent (not quoted, as it may echo a secret)`;
      throw this.error(
        `Cannot authenticate with ${this.mechanism}: server sent a challenge that is not base64${shown}`,
        "protocol",
        cause,
      );
    }
  }

  toJSON(): Record<string, unknown> {
    return { mechanism: this.mechanism, initialResponse: REDACTED };
  }

  [Symbol.for("Deno.customInspect")](): string {
    return `SaslSession { mechanism: ${JSON.stringify(this.mechanism)} }`;
  }
}
