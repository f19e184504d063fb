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
