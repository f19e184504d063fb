// Quoted-printable (RFC 2045 §6.7) for text bodies.

const HEX = "0123456789ABCDEF";
/** RFC 2045 §6.7 (5): encoded lines are at most 76 characters. */
const MAX_QP_LINE = 76;
const encoder = new TextEncoder();

/**
 * Encodes text as quoted-printable. Line breaks (CRLF, CR or LF) become
 * CRLF hard breaks; soft breaks (`=` CRLF) keep every line within 76
 * characters; whitespace before a line end, `=` and every byte outside
 * printable ASCII are escaped. The result has no line break at its end
 * unless the text had one.
 */
export function encodeQuotedPrintable(text: string): string {
  const lines = text.split(/\r\n|\r|\n/);
  const out: string[] = [];
  for (const line of lines) {
    const bytes = encoder.encode(line);
    let current = "";
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i]!;
      const last = i === bytes.length - 1;
      const literal = (byte >= 33 && byte <= 126 && byte !== 61) ||
        ((byte === 32 || byte === 9) && !last);
      const piece = literal
        ? String.fromCharCode(byte)
        : "=" + HEX[byte >> 4] + HEX[byte & 15];
      // Keep room for the soft break "=" unless this piece ends the line.
      const limit = last ? MAX_QP_LINE : MAX_QP_LINE - 1;
      if (current.length + piece.length > limit) {
        out.push(current + "=\r\n");
        current = "";
      }
      current += piece;
    }
    out.push(current, "\r\n");
  }
  out.pop(); // no line break after the last line
  return out.join("");
}
