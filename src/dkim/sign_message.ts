import { resolveSigners } from "./_signer.ts";
import { prefixed, signSource, sourceOf } from "./_two_pass.ts";
import type { DkimOptions } from "./dkim_options.ts";

/**
 * Signs a message with DKIM (RFC 6376; Ed25519 per RFC 8463): returns the
 * `DKIM-Signature` field(s) followed by the message, unchanged. Several
 * options sign several times (RSA beside Ed25519, say); each field is
 * written in the order given.
 *
 * The signature holds a hash of the body, so the body is read before
 * anything is produced: a string, `Uint8Array` or `Blob` is read twice
 * (hashed, then streamed) in bounded memory; a `ReadableStream`, which
 * can be read once, is held in memory up to `maxBufferSize` (16 MiB by
 * default). The signature covers the message as an SMTP client sends it:
 * bare CR and LF count as CRLF, as the client writes them. The body hash
 * does not depend on how the input is chunked; `l=` is never used.
 *
 * `SmtpClientOptions.dkim` signs every message a client sends with the
 * same options, re-reading composed messages rather than holding them.
 *
 * @param message The whole message (header, blank line, body).
 * @param options The signature's options, or a list for several.
 * @returns The signed message, produced as it is read. The stream fails
 * with a `RangeError` when a stream message is over `maxBufferSize`, with
 * a `TypeError` when the message has no From field or WebCrypto refuses
 * the key, and with the source's error when reading it fails; in every
 * case before any byte is produced.
 * @throws {TypeError} On a bad option (a domain or selector with ";", "="
 * or white space, an unknown algorithm or canonicalization, a key that is
 * not PEM PKCS#8/PKCS#1 or a signing CryptoKey, an RSA key under 1024
 * bits, a field list without From) or a message that is not a string,
 * Uint8Array, Blob or unlocked ReadableStream.
 *
 * @example Signing a message with a new Ed25519 key
 * ```ts
 * import { signMessage } from "@x/sendmail/dkim";
 * import assert from "node:assert/strict";
 *
 * const { privateKey } = await crypto.subtle.generateKey(
 *   { name: "Ed25519" },
 *   false,
 *   ["sign", "verify"],
 * ) as CryptoKeyPair;
 * const message = "From: ada@example.com\r\nTo: bob@example.org\r\n" +
 *   "Subject: Hello\r\n\r\nHi Bob.\r\n";
 * const signed = await new Response(
 *   signMessage(message, {
 *     domainName: "example.com",
 *     keySelector: "mail",
 *     privateKey,
 *   }),
 * ).text();
 * assert.match(signed, /^DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed\/relaxed;/);
 * assert.ok(signed.endsWith(message));
 * ```
 */
export function signMessage(
  message: string | Uint8Array | Blob | ReadableStream<Uint8Array>,
  options: DkimOptions | DkimOptions[],
): ReadableStream<Uint8Array> {
  const signers = resolveSigners(options, "options");
  const source = sourceOf(message);
  let output: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let cancelled = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!output) {
        const signed = await signSource(source, signers);
        output = prefixed(signed.fields, signed.message).getReader();
        if (cancelled) return void await output.cancel();
      }
      const { done, value } = await output.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel(reason) {
      cancelled = true;
      if (output) await output.cancel(reason);
      else await source.readable.cancel(reason).catch(() => {});
    },
  }, { highWaterMark: 0 });
}
