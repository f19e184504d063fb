/**
 * Formatting of the header fields the command adds: dates, display names,
 * Message-IDs.
 *
 * @module
 */

import { formatDate as formatRfc5322Date } from "../mime/_date.ts";
import { toBase64, toHex } from "../protocol/_base64.ts";

/**
 * Formats a date as RFC 5322 §3.3 date-time in local time with its zone
 * offset: `Thu, 29 Nov 2025 08:45:00 +0100`.
 */
export function formatDate(date: Date): string {
  return formatRfc5322Date(date, true);
}

/** RFC 5322 specials that force a display name into a quoted string. */
const SPECIALS = /[()<>[\]:;@\\,."]/;

/**
 * Formats a display name for a header field: as atoms when it can be, as a
 * quoted string when it has specials, as RFC 2047 encoded words (UTF-8,
 * base64) when it is not printable ASCII.
 */
export function formatDisplayName(name: string): string {
  if (/^[\x20-\x7e]*$/.test(name)) {
    return SPECIALS.test(name) || name !== name.trim() || / {2}/.test(name)
      ? `"${name.replace(/[\\"]/g, "\\$&")}"`
      : name;
  }
  // Encoded words of at most 75 characters: 45 bytes of UTF-8 give 60
  // characters of base64, plus the 12 of "=?UTF-8?B?" and "?=". Words are
  // split between characters, never inside one.
  const encoder = new TextEncoder();
  const words: string[] = [];
  let bytes: number[] = [];
  for (const char of name) {
    const encoded = encoder.encode(char);
    if (bytes.length + encoded.length > 45) {
      words.push(encodedWord(bytes));
      bytes = [];
    }
    bytes.push(...encoded);
  }
  if (bytes.length > 0) words.push(encodedWord(bytes));
  return words.join(" ");
}

function encodedWord(bytes: number[]): string {
  return `=?UTF-8?B?${toBase64(new Uint8Array(bytes))}?=`;
}

/** Makes a Message-ID `<time.random@domain>` (angle brackets included). */
export function makeMessageId(domain: string, now: Date): string {
  const random = toHex(crypto.getRandomValues(new Uint8Array(12)));
  return `<${now.getTime().toString(36)}.${random}@${domain}>`;
}
