// Header fields: name validation, folding at 78 columns, unstructured text,
// MIME parameters (RFC 2045, RFC 2231).

import { hasControlOrC1 } from "../protocol/_control.ts";
import {
  encodeWords,
  MAX_ENCODED_WORD,
  MIN_ENCODED_WORD,
  needsEncoding,
} from "./_encoded_words.ts";

/** RFC 5322 §2.1.1: lines SHOULD be at most 78 characters. */
export const FOLD_AT = 78;
/** RFC 2047 §2: a line holding an encoded word is at most 76 characters. */
export const ENCODED_FOLD_AT = 76;
/** RFC 5322 §2.1.1: lines MUST be at most 998 characters. */
export const MAX_LINE = 998;
/** Header names longer than this cannot share a line with their value. */
export const MAX_HEADER_NAME = FOLD_AT - 2;

/** Throws unless `name` is an RFC 5322 field name (`ftext`, no colon). */
export function assertHeaderName(name: string): void {
  if (typeof name !== "string" || !/^[\x21-\x39\x3b-\x7e]+$/.test(name)) {
    throw new TypeError(
      `Cannot compose message: header name ${
        JSON.stringify(name)
      } is not valid (printable ASCII without ":" or space)`,
    );
  }
  if (name.length > MAX_HEADER_NAME) {
    throw new TypeError(
      `Cannot compose message: header name ${
        JSON.stringify(name)
      } is longer than ${MAX_HEADER_NAME} characters`,
    );
  }
}

/**
 * Writes a header field, folding between tokens so lines stay within 78
 * columns (76 for a line holding an encoded word) where possible.
 * `tokens[0]` has no leading whitespace; every later token starts with the
 * whitespace it may be folded before.
 */
export function foldTokens(name: string, tokens: readonly string[]): string {
  let out = "";
  let line = name + ":";
  let lineHasValue = false;
  for (const [index, token] of tokens.entries()) {
    const piece = index === 0 ? " " + token : token;
    const limit = line.includes("=?") || piece.includes("=?")
      ? ENCODED_FOLD_AT
      : FOLD_AT;
    if (lineHasValue && line.length + piece.length > limit) {
      out += line + "\r\n";
      // The token's own whitespace starts the continuation line.
      line = /^[ \t]/.test(piece) ? piece : " " + piece;
    } else line += piece;
    lineHasValue = true;
  }
  out += line + "\r\n";
  for (const part of out.split("\r\n")) {
    if (part.length > MAX_LINE) {
      throw new TypeError(
        `Cannot compose message: header ${
          JSON.stringify(name)
        } has an element too long to fit in ${MAX_LINE} characters`,
      );
    }
  }
  return out;
}

/** Splits text at whitespace into fold tokens (see {@linkcode foldTokens}). */
export function wordTokens(value: string): string[] {
  return value.match(/[ \t]*[^ \t]+/g) ?? [""];
}

/** Room for the first encoded word on the line `Name: `. */
export function firstRoom(name: string, used: number = 0): number {
  const room = ENCODED_FOLD_AT - name.length - 2 - used;
  return Math.min(MAX_ENCODED_WORD, Math.max(room, MIN_ENCODED_WORD));
}

/**
 * Writes an unstructured header field (Subject, custom fields). A run of
 * line breaks with the whitespace around it becomes one space (they are folded away,
 * never a new header line), or nothing at either end; non-ASCII text, other control characters and
 * words too long for a line become RFC 2047 encoded words. With `text` (for
 * Subject), text that looks like an encoded word is encoded too, and so is
 * a word that cannot fold within 78 columns; without it (custom fields, which
 * may be structured) only a word over 998 octets is.
 *
 * With `text`, spaces and tabs at the start or the end are kept: readers
 * drop them from a plain value (the space after the colon is not part of
 * it, and trailing white space is trimmed), so such a value is written as
 * encoded words, which hold them. Custom values are trimmed.
 */
export function unstructured(
  name: string,
  value: string,
  text: boolean,
): string {
  const unfolded = value
    .replace(/^[ \t]*[\r\n][\r\n \t]*|[ \t\r\n]*[\r\n][ \t]*$/g, "")
    .replace(/[ \t]*[\r\n][\r\n \t]*/g, " ");
  const clean = text ? unfolded : unfolded.trim();
  const tokens = wordTokens(clean);
  const limit = text ? FOLD_AT : MAX_LINE;
  const tooLong = tokens.some((t, i) =>
    t.length + (i === 0 ? name.length + 2 : 0) > limit
  );
  const hasControl = hasControlOrC1(clean, { allowTab: true });
  const hasNonAscii = /[\u0080-\u{10ffff}]/u.test(clean);
  const spaceAtEnds = /^[ \t]|[ \t]$/.test(clean);
  if (
    hasControl || hasNonAscii || tooLong ||
    (text && (needsEncoding(clean) || spaceAtEnds))
  ) {
    const words = encodeWords(clean, firstRoom(name));
    return foldTokens(name, words.map((w, i) => (i === 0 ? w : " " + w)));
  }
  return foldTokens(name, tokens);
}

/** RFC 2231 `attribute-char`: stands for itself in an extended value. */
const ATTRIBUTE_CHAR = /^[!#$&+\-.^_`|~0-9A-Za-z]$/;
const encoder = new TextEncoder();
/** Longest plain (quoted) parameter value kept on one line. */
const MAX_PLAIN_PARAMETER = 60;
/** Text a reader decoding RFC 2047 inside quoted values would decode. */
const ENCODED_WORD_LIKE = /=\?[^?\s]*\?[^?\s]*\?[^?\s]*\?=/;

function quote(value: string): string {
  return `"${value.replace(/(["\\])/g, "\\$1")}"`;
}

/**
 * Formats one MIME parameter as fold tokens (see {@linkcode foldTokens}):
 * each `"; name=value"`, or `" word"` for a further encoded word of a
 * quoted value.
 *
 * A short printable ASCII value is written plain: `name="value"`. Any other
 * value (non-ASCII, longer than 60 characters, or text that looks like an
 * RFC 2047 encoded word) is written twice, in this order:
 *
 * 1. RFC 2231 (`name*=UTF-8''…`, or `name*0*=`, `name*1*=` … sections when
 *    long): the standard form, which Thunderbird, mutt, Apple Mail, Gmail
 *    and Python read.
 * 2. `name="=?UTF-8?…?="`: RFC 2047 encoded words inside the quoted value.
 *    RFC 2047 §5 does not allow them there, but Outlook and Gmail decode
 *    them, and a reader that knows only plain parameters (older Outlook)
 *    reads this one.
 *
 * The order matters: Python's `email` package (policy.default) and mutt
 * take the first `filename` they meet, so RFC 2231 comes first; were an
 * ASCII stand-in first (as before), they would show "donnees ete.bin" for
 * "données été.bin". The second value is the full name too, never an ASCII
 * approximation, so whichever one a reader takes, it shows the real name.
 */
export function parameterTokens(name: string, value: string): string[] {
  if (
    /^[\x20-\x7e]*$/.test(value) && value.length <= MAX_PLAIN_PARAMETER &&
    !ENCODED_WORD_LIKE.test(value)
  ) {
    return [`; ${name}=${quote(value)}`];
  }
  const tokens: string[] = [];
  // Each section is written as " name*N*=value;" on a line of its own at
  // worst, so it gets the room the line has left after its prefix.
  const room = (i: number) =>
    Math.max(
      FOLD_AT - 2 - `${name}*${i}*=${i === 0 ? "UTF-8''" : ""}`.length,
      12,
    );
  const sections: string[] = [];
  let section = "";
  for (const char of value) {
    let piece = "";
    if (ATTRIBUTE_CHAR.test(char)) piece = char;
    else {
      for (const byte of encoder.encode(char)) {
        piece += "%" + byte.toString(16).toUpperCase().padStart(2, "0");
      }
    }
    if (
      section.length > 0 &&
      section.length + piece.length > room(sections.length)
    ) {
      sections.push(section);
      section = "";
    }
    section += piece;
  }
  sections.push(section);
  if (sections.length === 1 && sections[0]!.length <= room(0) - 1) {
    tokens.push(`; ${name}*=UTF-8''${sections[0]}`);
  } else {
    sections.forEach((s, i) =>
      tokens.push(`; ${name}*${i}*=${i === 0 ? "UTF-8''" : ""}${s}`)
    );
  }
  // The encoded words: the first shares its line with ` name="`, the last
  // with `";`, and each may start a line of its own (76 columns, RFC 2047).
  const words = encodeWords(
    value,
    ENCODED_FOLD_AT - ` ${name}="`.length - 2,
    ENCODED_FOLD_AT - 3,
  );
  const last = words.length - 1;
  words.forEach((word, i) => {
    const text = (i === 0 ? `${name}="` : "") + word + (i === last ? '"' : "");
    tokens.push(i === 0 ? `; ${text}` : ` ${text}`);
  });
  return tokens;
}

/**
 * Writes a header field with a value and parameters, e.g.
 * `Content-Type: text/plain; charset=utf-8`, folding between parameters.
 */
export function withParameters(
  name: string,
  value: string,
  parameters: readonly (readonly [string, string])[],
): string {
  const tokens = [value];
  for (const [key, parameter] of parameters) {
    for (const token of parameterTokens(key, parameter)) {
      if (token.startsWith("; ")) {
        // Attach the ";" to the previous token, fold before the parameter.
        tokens[tokens.length - 1] += ";";
        tokens.push(" " + token.slice(2));
      } else tokens.push(token); // the next encoded word of a quoted value
    }
  }
  return foldTokens(name, tokens);
}
