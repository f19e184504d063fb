// Base64 (RFC 2045 §6.8) in 76-column lines, encoded incrementally.

const ALPHABET = new TextEncoder().encode(
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
);
const PAD = 0x3d;
/** Input bytes per 76-character output line. */
export const BYTES_PER_LINE = 57;

/**
 * Encodes a byte stream as base64 lines of 76 characters separated by CRLF,
 * one chunk at a time. Bytes that do not fill a line (0 to 56) are carried
 * to the next chunk; the output has no line break after its last line.
 */
export class Base64LineEncoder {
  #carry: Uint8Array = new Uint8Array(BYTES_PER_LINE);
  #carried = 0;
  #first = true;

  /** Encodes `input`, returning the complete lines it finishes. */
  push(input: Uint8Array): Uint8Array {
    const total = this.#carried + input.length;
    const lines = Math.floor(total / BYTES_PER_LINE);
    const out = new Uint8Array(lines * 78);
    let o = 0;
    let i = 0;
    if (lines > 0 && this.#carried > 0) {
      i = BYTES_PER_LINE - this.#carried;
      this.#carry.set(input.subarray(0, i), this.#carried);
      o = this.#line(this.#carry, 0, BYTES_PER_LINE, out, o);
      this.#carried = 0;
    }
    while (input.length - i >= BYTES_PER_LINE) {
      o = this.#line(input, i, BYTES_PER_LINE, out, o);
      i += BYTES_PER_LINE;
    }
    this.#carry.set(input.subarray(i), this.#carried);
    this.#carried += input.length - i;
    return out.subarray(0, o);
  }

  /** Encodes the carried bytes (with padding) and ends the encoding. */
  flush(): Uint8Array {
    const out = new Uint8Array(80);
    const o = this.#carried > 0
      ? this.#line(this.#carry, 0, this.#carried, out, 0)
      : 0;
    this.#carried = 0;
    return out.subarray(0, o);
  }

  /** Writes one line (CRLF first unless it is the very first line). */
  #line(
    input: Uint8Array,
    start: number,
    length: number,
    out: Uint8Array,
    o: number,
  ): number {
    if (!this.#first) {
      out[o++] = 13;
      out[o++] = 10;
    }
    this.#first = false;
    const end = start + length;
    let i = start;
    for (; i + 3 <= end; i += 3) {
      const n = (input[i]! << 16) | (input[i + 1]! << 8) | input[i + 2]!;
      out[o++] = ALPHABET[n >> 18]!;
      out[o++] = ALPHABET[(n >> 12) & 63]!;
      out[o++] = ALPHABET[(n >> 6) & 63]!;
      out[o++] = ALPHABET[n & 63]!;
    }
    const rest = end - i;
    if (rest > 0) {
      const n = (input[i]! << 16) | (rest === 2 ? input[i + 1]! << 8 : 0);
      out[o++] = ALPHABET[n >> 18]!;
      out[o++] = ALPHABET[(n >> 12) & 63]!;
      out[o++] = rest === 2 ? ALPHABET[(n >> 6) & 63]! : PAD;
      out[o++] = PAD;
    }
    return o;
  }
}
