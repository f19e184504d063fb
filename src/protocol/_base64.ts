/**
 * Base64 and hex through the Web's `Uint8Array.prototype.toBase64` /
 * `Uint8Array.fromBase64` / `toHex` where the runtime has them (Deno, Bun,
 * Node 25+, browsers), with a fallback that behaves the same elsewhere
 * (Node 22 and 24): `fromBase64` throws a `SyntaxError` on what is not
 * base64, ignores ASCII white space and takes missing padding, as the
 * native default does.
 *
 * @module
 */

interface NativeBytes {
  toBase64?(): string;
  toHex?(): string;
}
interface NativeConstructor {
  fromBase64?(text: string): Uint8Array;
}

const ALPHABET =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const nativeTo = (Uint8Array.prototype as NativeBytes).toBase64;
const nativeHex = (Uint8Array.prototype as NativeBytes).toHex;
const nativeFrom = (Uint8Array as NativeConstructor).fromBase64;

/**
 * Encodes bytes as base64 (with padding, no line breaks).
 *
 * @param bytes The bytes.
 * @returns The base64 text.
 */
export function toBase64(bytes: Uint8Array): string {
  return nativeTo ? nativeTo.call(bytes) : fallbackToBase64(bytes);
}

function fallbackToBase64(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! +
      ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + "==";
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! +
      ALPHABET[(n >> 6) & 63]! + "=";
  }
  return out;
}

const LOOKUP = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;

/**
 * Decodes base64 (padding optional; ASCII white space ignored, as the Web's
 * `Uint8Array.fromBase64` does).
 *
 * @param text The base64 text.
 * @returns The bytes.
 * @throws {SyntaxError} When the text is not base64.
 */
export function fromBase64(text: string): Uint8Array {
  return nativeFrom ? nativeFrom(text) : fallbackFromBase64(text);
}

function fallbackFromBase64(text: string): Uint8Array {
  const clean = text.replace(/[\t\n\f\r ]/g, "");
  let body = clean;
  if (body.length % 4 === 0 && body.endsWith("==")) body = body.slice(0, -2);
  else if (body.length % 4 === 0 && body.endsWith("=")) {
    body = body.slice(0, -1);
  }
  if (body.length % 4 === 1) throw new SyntaxError("Invalid base64 string");
  const out = new Uint8Array(Math.floor((body.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let o = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    const v = c < 128 ? LOOKUP[c]! : -1;
    if (v < 0) throw new SyntaxError("Invalid base64 string");
    value = (value << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (value >> bits) & 0xff;
    }
  }
  // Like the native decoder's default ("loose"), non-zero leftover bits of
  // the last group are ignored.
  return out;
}

/**
 * Encodes bytes as lowercase hex.
 *
 * @param bytes The bytes.
 * @returns The hex text.
 */
export function toHex(bytes: Uint8Array): string {
  return nativeHex ? nativeHex.call(bytes) : fallbackToHex(bytes);
}

function fallbackToHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += (b < 16 ? "0" : "") + b.toString(16);
  return out;
}

/** The fallbacks themselves, for tests that compare them with the native methods. */
export const fallbacks = {
  toBase64: fallbackToBase64,
  fromBase64: fallbackFromBase64,
  toHex: fallbackToHex,
} as const;
