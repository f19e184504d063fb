// Quoted-printable (RFC 2045 §6.7) for text bodies.

const HEX = new TextEncoder().encode("0123456789ABCDEF");
/** RFC 2045 §6.7 (5): encoded lines are at most 76 characters. */
const MAX_QP_LINE = 76;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Encodes text as quoted-printable. Line breaks (CRLF, CR or LF) become
 * CRLF hard breaks; soft breaks (`=` CRLF) keep every line within 76
 * characters; whitespace before a line end, `=` and every byte outside
 * printable ASCII are escaped. The result has no line break at its end
 * unless the text had one.
 */
export function encodeQuotedPrintable(text: string): string {
  const bytes = encoder.encode(text.replace(/\r\n|\r/g, "\n"));
  // Worst case: every byte escaped (3 characters), plus a soft break per
  // 25 escapes.
  const out = new Uint8Array(
    bytes.length * 3 + Math.ceil(bytes.length / 25) * 3,
  );
  let o = 0;
  let column = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (byte === 10) {
      out[o++] = 13;
      out[o++] = 10;
      column = 0;
      continue;
    }
    const next = bytes[i + 1];
    const lineEnd = next === undefined || next === 10;
    const literal = (byte >= 33 && byte <= 126 && byte !== 61) ||
      ((byte === 32 || byte === 9) && !lineEnd);
    const length = literal ? 1 : 3;
    // Keep room for the soft break "=" unless this piece ends the line.
    if (column + length > (lineEnd ? MAX_QP_LINE : MAX_QP_LINE - 1)) {
      out[o++] = 61;
      out[o++] = 13;
      out[o++] = 10;
      column = 0;
    }
    if (literal) out[o++] = byte;
    else {
      out[o++] = 61;
      out[o++] = HEX[byte >> 4]!;
      out[o++] = HEX[byte & 15]!;
    }
    column += length;
  }
  return decoder.decode(out.subarray(0, o));
}
