// RFC 2047 encoded words: encoding (B or Q, whichever is shorter) and decoding.

import { fromBase64, toBase64 } from "../protocol/_base64.ts";

const PREFIX_B = "=?UTF-8?B?";
const PREFIX_Q = "=?UTF-8?Q?";
/** Length of `=?UTF-8?X?` plus `?=`. */
const OVERHEAD = 12;
/** The longest encoded word RFC 2047 §2 allows. */
export const MAX_ENCODED_WORD = 75;
/** The shortest room in which any single code point fits as an encoded word. */
export const MIN_ENCODED_WORD = OVERHEAD + 12;

const encoder = new TextEncoder();
const HEX = "0123456789ABCDEF";

/**
 * Characters that stand for themselves in a "Q"-encoded word. This is the
 * set RFC 2047 §5 (3) allows inside a phrase, the strictest context, so the
 * words are valid in any header.
 */
function isQSafe(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || // 0-9
    (byte >= 0x41 && byte <= 0x5a) || // A-Z
    (byte >= 0x61 && byte <= 0x7a) || // a-z
    byte === 0x21 || byte === 0x2a || byte === 0x2b || byte === 0x2d ||
    byte === 0x2f; // ! * + - /
}

function qEncode(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) {
    if (byte === 0x20) out += "_";
    else if (isQSafe(byte)) out += String.fromCharCode(byte);
    else out += "=" + HEX[byte >> 4] + HEX[byte & 15];
  }
  return out;
}

function qLength(bytes: Uint8Array): number {
  let length = 0;
  for (const byte of bytes) length += byte === 0x20 || isQSafe(byte) ? 1 : 3;
  return length;
}

/**
 * Encodes text as RFC 2047 encoded words: "B" or "Q", whichever is shorter
 * for the whole text; every word at most `maxLength` characters (the first
 * at most `firstMaxLength`), and a code point never split across two words.
 */
export function encodeWords(
  text: string,
  firstMaxLength: number = MAX_ENCODED_WORD,
  maxLength: number = MAX_ENCODED_WORD,
): string[] {
  if (firstMaxLength < MIN_ENCODED_WORD || maxLength < MIN_ENCODED_WORD) {
    throw new RangeError(
      `Cannot encode word: room ${
        Math.min(firstMaxLength, maxLength)
      } is under ${MIN_ENCODED_WORD} characters`,
    );
  }
  const all = encoder.encode(text);
  const useB = Math.ceil(all.length / 3) * 4 < qLength(all);
  const words: string[] = [];
  let limit = firstMaxLength;
  // Accumulate whole code points into the current word.
  let pending: number[] = [];
  let pendingLength = 0;
  const flush = () => {
    const bytes = new Uint8Array(pending);
    words.push(
      useB
        ? PREFIX_B + toBase64(bytes) + "?="
        : PREFIX_Q + qEncode(bytes) + "?=",
    );
    pending = [];
    pendingLength = 0;
    limit = maxLength;
  };
  for (const char of text) {
    const bytes = encoder.encode(char);
    const nextLength = useB
      ? Math.ceil((pending.length + bytes.length) / 3) * 4
      : pendingLength + qLength(bytes);
    if (pending.length > 0 && OVERHEAD + nextLength > limit) flush();
    for (const byte of bytes) pending.push(byte);
    pendingLength = useB
      ? Math.ceil(pending.length / 3) * 4
      : pendingLength + qLength(bytes);
  }
  if (pending.length > 0 || words.length === 0) flush();
  return words;
}

const ENCODED_WORD = /=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g;

function decodeOne(charset: string, encoding: string, text: string): string {
  let bytes: Uint8Array;
  if (encoding === "B" || encoding === "b") {
    const padded = text.replace(/=+$/, "");
    bytes = fromBase64(
      padded + "=".repeat((4 - (padded.length % 4)) % 4),
    );
  } else {
    const out: number[] = [];
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      const hex = text.slice(i + 1, i + 3);
      if (c === "_") out.push(0x20);
      else if (c === "=" && /^[0-9a-fA-F]{2}$/.test(hex)) {
        out.push(parseInt(hex, 16));
        i += 2;
      } else out.push(...encoder.encode(c));
    }
    bytes = new Uint8Array(out);
  }
  // RFC 2231 §5: a language may follow the charset after "*".
  const label = charset.split("*")[0]!;
  return new TextDecoder(label).decode(bytes);
}

/**
 * Decodes the RFC 2047 encoded words in `text`; whitespace between two
 * adjacent encoded words is dropped (RFC 2047 §6.2). A word that cannot be
 * decoded (unknown charset, bad base64) is kept as it is.
 */
export function decodeWords(text: string): string {
  let out = "";
  let last = 0;
  let previousEnd = -1;
  for (const match of text.matchAll(ENCODED_WORD)) {
    let decoded: string;
    try {
      decoded = decodeOne(match[1]!, match[2]!, match[3]!);
    } catch {
      continue;
    }
    const between = text.slice(last, match.index);
    // Whitespace between two encoded words is not part of the text.
    if (previousEnd < 0 || !/^\s*$/.test(between)) out += between;
    out += decoded;
    last = match.index + match[0].length;
    previousEnd = last;
  }
  return out + text.slice(last);
}

/**
 * Whether text must be sent as encoded words: non-ASCII, control
 * characters other than tab, or a run of characters a decoder would take
 * for an encoded word.
 */
export function needsEncoding(text: string): boolean {
  return /[^\t\x20-\x7e]/.test(text) ||
    /=\?[^?\s]*\?[^?\s]*\?[^?\s]*\?=/.test(text);
}
