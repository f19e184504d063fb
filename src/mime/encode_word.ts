import { encodeWords } from "./_encoded_words.ts";

/**
 * Encodes text as RFC 2047 encoded words (`=?UTF-8?B?…?=` or
 * `=?UTF-8?Q?…?=`, whichever is shorter), for a header field that takes
 * text. Every word is at most 75 characters and a character is never split
 * across two words; long text gives several words separated by a space,
 * which decoders drop, and where a header field can be folded.
 *
 * The "Q" form uses only the characters RFC 2047 allows in a phrase, so the
 * result is valid in display names as well as in Subject.
 *
 * @param text Any Unicode text.
 * @returns One or more encoded words separated by single spaces.
 *
 * @example Encoding a subject
 * ```ts
 * import { encodeWord } from "@x/sendmail/mime";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(encodeWord("Café au lait"), "=?UTF-8?Q?Caf=C3=A9_au_lait?=");
 * assert.deepEqual(encodeWord("日本語"), "=?UTF-8?B?5pel5pys6Kqe?=");
 * ```
 */
export function encodeWord(text: string): string {
  if (typeof text !== "string") {
    throw new TypeError(
      `Cannot encode word: expected a string, got ${typeof text}`,
    );
  }
  return encodeWords(text).join(" ");
}
