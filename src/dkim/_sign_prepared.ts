/**
 * The one place the SMTP session calls into DKIM: options checked when a
 * client connects, and each prepared message signed before its
 * transaction begins (so a failure sends nothing, and SIZE counts the
 * DKIM-Signature fields). The signing code itself is loaded with the first
 * message signed.
 *
 * @module
 */

import type { ComposedMessage } from "../mime/compose_message.ts";
import { resolveSigners, type Signers } from "./_signer.ts";
import type { MessageInput, Source } from "./_two_pass.ts";

type TwoPass = typeof import("./_two_pass.ts");
let twoPass: Promise<TwoPass> | undefined;

/** Loads the signing code (hashing, canonicalization) once, on first use. */
function loadTwoPass(): Promise<TwoPass> {
  return twoPass ??= import("./_two_pass.ts");
}

/** DKIM options checked for a session: see {@linkcode prepareDkim}. */
export interface DkimSigning {
  /** The checked signers. */
  readonly signers: Signers;
  /**
   * Imports every key with WebCrypto (once), so a key WebCrypto refuses
   * fails the connect rather than the first send, and loads the signing
   * code.
   *
   * @throws {TypeError} When WebCrypto refuses a key.
   */
  ready(): Promise<void>;
}

/**
 * Checks `SmtpClientOptions.dkim`.
 *
 * @param options The `dkim` option.
 * @returns The signing settings of the session.
 * @throws {TypeError} On a bad option or key.
 */
export function prepareDkim(options: unknown): DkimSigning {
  const signers = resolveSigners(options, "dkim");
  return {
    signers,
    async ready() {
      for (const signer of signers.signers) await signer.cryptoKey();
      await loadTwoPass();
    },
  };
}

/** A composed message: re-read when it can be, else held (up to the limit). */
function composedSource(message: ComposedMessage): Source {
  return message.rereadable
    ? { readable: message.readable, again: () => message.stream() }
    : { readable: message.readable };
}

/**
 * Signs a prepared message: reads it once to hash the body (the composer's
 * output again, or the raw source again, when it can be read twice), and
 * returns the stream to send, DKIM-Signature fields first, and its size.
 *
 * @param message The composed message, or a raw message's `raw`.
 * @param dkim The session's signing settings.
 * @returns The signed message and its exact size in octets (before line
 * endings are normalised, as for an unsigned raw message).
 * @throws {RangeError} When a one-shot stream is over `maxBufferSize`.
 * @throws {TypeError} When the message has no From field or a key is
 * refused.
 */
export async function signPrepared(
  message: ComposedMessage | MessageInput,
  dkim: DkimSigning,
): Promise<{ readable: ReadableStream<Uint8Array>; size: number }> {
  const { prefixed, signSource, sourceOf } = await loadTwoPass();
  const isComposed = typeof message === "object" && message !== null &&
    "envelope" in message && "readable" in message;
  const source = isComposed
    ? composedSource(message as ComposedMessage)
    : sourceOf(message);
  const signed = await signSource(source, dkim.signers);
  return {
    readable: prefixed(signed.fields, signed.message),
    size: signed.size,
  };
}
