/**
 * The few DER pieces DKIM keys need: wrapping a PKCS#1 RSA key (private or
 * public) into what WebCrypto imports.
 *
 * @module
 */

/** The smallest RSA key DKIM accepts (RFC 8301 §3.2). */
export const MIN_RSA_BITS = 1024;

/** The rsaEncryption AlgorithmIdentifier (1.2.840.113549.1.1.1), NULL parameters. */
export const RSA_ALGORITHM: readonly number[] = Object.freeze([
  0x30,
  0x0d,
  0x06,
  0x09,
  0x2a,
  0x86,
  0x48,
  0x86,
  0xf7,
  0x0d,
  0x01,
  0x01,
  0x01,
  0x05,
  0x00,
]);

/**
 * DER length octets.
 *
 * @param length The length of the contents.
 * @returns Its short or long form.
 */
export function derLength(length: number): number[] {
  if (length < 0x80) return [length];
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

/**
 * A DER SEQUENCE of the given parts.
 *
 * @param parts The encoded contents, in order.
 * @returns The sequence.
 */
export function derSequence(
  parts: readonly (readonly number[] | Uint8Array)[],
): Uint8Array<ArrayBuffer> {
  const length = parts.reduce((n, part) => n + part.length, 0);
  const head = [0x30, ...derLength(length)];
  const out = new Uint8Array(head.length + length);
  out.set(head, 0);
  let offset = head.length;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
