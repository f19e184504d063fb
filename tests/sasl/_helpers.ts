/**
 * Helpers shared by the SASL tests: base64 of text, the typed error check,
 * and sample credentials.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fromBase64, toBase64 } from "../../src/protocol/_base64.ts";
import { SmtpError } from "../../src/protocol/smtp_error.ts";
import type { PasswordAuth, TokenAuth } from "../../src/sasl/credentials.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Base64 of the UTF-8 of `text`. */
export const b64 = (text: string): string => toBase64(encoder.encode(text));

/** The text (UTF-8) that `text` encodes in base64. */
export const unb64 = (text: string): string => decoder.decode(fromBase64(text));

/**
 * Asserts an AUTH `SmtpError` of the given kind, whose message matches.
 *
 * @returns true, for `assert.rejects`/`assert.throws`.
 */
export function assertSmtpError(
  error: unknown,
  kind: SmtpError["kind"],
  message?: RegExp,
): true {
  assert.ok(error instanceof SmtpError, `expected SmtpError, got ${error}`);
  assert.equal(error.kind, kind);
  assert.equal(error.command, "AUTH");
  if (message) assert.match(error.message, message);
  return true;
}

/** RFC 2195's example user (and a PLAIN password). */
export const password: PasswordAuth = {
  username: "tim",
  password: "tanstaaftanstaaf",
};

/** An access token. */
export const token: TokenAuth = {
  username: "user@example.com",
  accessToken: "tok",
};
