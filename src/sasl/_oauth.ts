/**
 * What XOAUTH2 and OAUTHBEARER (RFC 7628) share: the access token goes in
 * the initial response, and a failure comes as one challenge holding a JSON
 * error report, which the client acknowledges so that the server sends its
 * final `535`/`454`.
 *
 * @module
 */

import { toBase64 } from "../protocol/_base64.ts";
import { printable } from "../protocol/_control.ts";
import { REDACTED } from "../protocol/_redacted.ts";
import { Exchange } from "./_sasl_session.ts";
import type { AuthMechanism } from "./credentials.ts";

/**
 * The fields of the error report kept for an error message: RFC 7628
 * §3.2.2's, and Google's `schemes`. Anything else a server adds is dropped:
 * the report comes after the token was sent, and may echo it.
 */
const REPORT_FIELDS = new Set([
  "status",
  "schemes",
  "scope",
  "openid-configuration",
]);

/** How much of each field is kept. */
const FIELD_LENGTH = 200;

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * The error report, fit for an error message: the known fields of a JSON
 * object, string values only, cut, control characters replaced, and the
 * token (plain or base64) redacted wherever it appears.
 *
 * @param report The decoded challenge.
 * @param token The access token that was sent.
 * @returns The report as JSON, or `undefined` when it is not a JSON object
 * with any known field.
 */
export function oauthErrorReport(
  report: Uint8Array,
  token: string,
): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(report));
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return undefined;
  }
  const secrets = [token, toBase64(encoder.encode(token))];
  const kept: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (!REPORT_FIELDS.has(key) || typeof value !== "string") continue;
    let text = value;
    for (const secret of secrets) text = text.replaceAll(secret, REDACTED);
    kept[key] = printable(text.slice(0, FIELD_LENGTH));
  }
  return Object.keys(kept).length === 0 ? undefined : JSON.stringify(kept);
}

/**
 * An OAuth exchange: the initial response, then at most one challenge, the
 * error report, acknowledged with `acknowledge`.
 */
export class OAuthExchange extends Exchange {
  readonly #token: string;
  readonly #acknowledge: string;
  #serverError: string | undefined;

  /**
   * @param mechanism XOAUTH2 or OAUTHBEARER.
   * @param initial The initial response, before base64.
   * @param token The access token it carries.
   * @param acknowledge The answer to the error challenge, before base64.
   */
  constructor(
    mechanism: AuthMechanism,
    initial: string,
    token: string,
    acknowledge: string,
  ) {
    super(mechanism, initial, "the access token");
    this.#token = token;
    this.#acknowledge = acknowledge;
  }

  override get serverError(): string | undefined {
    return this.#serverError;
  }

  protected step(challenge: Uint8Array, round: number): string | undefined {
    if (round > 0 || challenge.length === 0) return undefined;
    this.#serverError = oauthErrorReport(challenge, this.#token);
    return this.#acknowledge;
  }
}
