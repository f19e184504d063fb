/**
 * Byte-array helpers shared by every layer.
 *
 * @module
 */

/**
 * Joins byte arrays into one. A single part is returned as is (no copy).
 *
 * @param parts The arrays, in order.
 * @param size Their total length, when the caller already knows it.
 * @returns The joined bytes.
 */
export function concatBytes(
  parts: readonly Uint8Array[],
  size?: number,
): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let total = size ?? 0;
  if (size === undefined) { for (const part of parts) total += part.length; }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Checks that a chunk a caller's stream yielded is bytes: a stream of
 * strings (say, a file read as text) would otherwise reach the wire as
 * garbage.
 *
 * @param chunk What the stream yielded.
 * @param what What could not be done, for the message ("send message").
 * @throws {TypeError} When the chunk is not a `Uint8Array`.
 */
export function assertBytes(
  chunk: unknown,
  what: string,
): asserts chunk is Uint8Array {
  if (chunk instanceof Uint8Array) return;
  const kind = typeof chunk === "string"
    ? "a string"
    : chunk === null
    ? "null"
    : typeof chunk === "object"
    ? `a ${(chunk as object).constructor?.name ?? "object"}`
    : typeof chunk;
  throw new TypeError(
    `Cannot ${what}: the message stream yielded ${kind}, not a Uint8Array (encode text with TextEncoderStream)`,
  );
}

/**
 * Compares two byte strings in time that depends on their length only.
 *
 * @param a The first.
 * @param b The second.
 * @returns Whether they are equal.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}

/**
 * Octets as a string of one character per octet (ISO 8859-1: U+0000 to
 * U+00FF). Not `TextDecoder("latin1")`, which is windows-1252 and maps
 * 0x80–0x9F elsewhere.
 *
 * @param bytes The octets.
 * @returns The string.
 */
export function latin1(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    out += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return out;
}

/**
 * The octets of a string of characters below U+0100: the inverse of
 * {@linkcode latin1}.
 *
 * @param text The string.
 * @returns One octet per character.
 */
export function latin1Bytes(text: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}
