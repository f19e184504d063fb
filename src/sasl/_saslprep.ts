/**
 * SASLprep (RFC 4013), the stringprep profile (RFC 3454) SCRAM applies to
 * user names and passwords (RFC 5802 §2.2, §5.1).
 *
 * Choices this implementation makes, where the RFCs leave room:
 * - **Unassigned code points are allowed** (the "query" rule of RFC 3454
 *   §7), for the user name as RFC 5802 §5.1 says, and for the password too,
 *   although RFC 5802 §2.2 asks for the "stored string" rule there. Table
 *   A.1 is frozen at Unicode 3.2: the stored rule would refuse every emoji
 *   and every character added since 2002 before anything is sent, although
 *   a server that took such a password at all computed its keys from it.
 *   A server that applies the stored rule to what it stores never has an
 *   account with such a password, so allowing it on our side cannot make a
 *   login succeed that should fail.
 * - **U+200B ZERO WIDTH SPACE**, in both Table B.1 and Table C.1.2, is
 *   mapped to nothing (B.1 first), as its name says and as Perl's
 *   Authen::SASL::SASLprep does.
 * - **NFKC** is the runtime's `String.prototype.normalize("NFKC")`, of a
 *   newer Unicode version than RFC 3454's 3.2. The two agree on every
 *   character Unicode 3.2 assigned but for the handful Unicode's
 *   NormalizationCorrections.txt lists.
 *
 * @module
 */

import {
  inTable,
  type RangeTable,
  TABLE_B_1,
  TABLE_C_1_2,
  TABLE_C_2_1,
  TABLE_C_2_2,
  TABLE_C_3,
  TABLE_C_4,
  TABLE_C_5,
  TABLE_C_6,
  TABLE_C_7,
  TABLE_C_8,
  TABLE_C_9,
  TABLE_D_1,
  TABLE_D_2,
} from "./_stringprep.ts";

/**
 * The outcome of {@linkcode saslprep}. A failure says why without quoting
 * the text (it may be a password); `codePoint` is the offending character,
 * for callers that may show it (a user name, never a password).
 */
export type SaslprepResult =
  | { ok: true; value: string }
  | { ok: false; reason: string; codePoint?: number };

/** RFC 4013 §2.3: the prohibited output, with the RFC 3454 table names. */
const PROHIBITED: readonly [RangeTable, string][] = [
  [TABLE_C_1_2, "C.1.2, non-ASCII space"],
  [TABLE_C_2_1, "C.2.1, ASCII control character"],
  [TABLE_C_2_2, "C.2.2, non-ASCII control character"],
  [TABLE_C_3, "C.3, private use"],
  [TABLE_C_4, "C.4, non-character code point"],
  [TABLE_C_5, "C.5, surrogate code"],
  [TABLE_C_6, "C.6, inappropriate for plain text"],
  [TABLE_C_7, "C.7, inappropriate for canonical representation"],
  [TABLE_C_8, "C.8, changes display properties or is deprecated"],
  [TABLE_C_9, "C.9, tagging character"],
];

/**
 * Prepares a string with SASLprep: maps (B.1 to nothing, C.1.2 to U+0020),
 * normalises (NFKC), refuses the prohibited output and checks the
 * bidirectional rule (RFC 3454 §6); unassigned code points are allowed.
 *
 * @param text The user name or password.
 * @returns The prepared string, or why it cannot be prepared.
 * @example RFC 4013 §3, examples 1 and 5
 * ```ts ignore
 * saslprep("I\u00ADX"); // { ok: true, value: "IX" }
 * saslprep("\u2168"); // { ok: true, value: "IX" }
 * ```
 */
export function saslprep(text: string): SaslprepResult {
  // 1. Mapping (RFC 4013 §2.1).
  let mapped = "";
  for (const char of text) {
    const codePoint = char.codePointAt(0)!;
    if (inTable(TABLE_B_1, codePoint)) continue;
    mapped += inTable(TABLE_C_1_2, codePoint) ? " " : char;
  }
  // 2. Normalisation (RFC 4013 §2.2): Unicode form KC.
  const value = mapped.normalize("NFKC");
  // 3. Prohibited output (RFC 4013 §2.3), 4. bidirectional characters
  // (RFC 4013 §2.4, RFC 3454 §6).
  let randAL = false;
  let l = false;
  for (const char of value) {
    const codePoint = char.codePointAt(0)!;
    for (const [table, name] of PROHIBITED) {
      if (inTable(table, codePoint)) {
        return {
          ok: false,
          reason: `a character SASLprep prohibits (RFC 3454 ${name})`,
          codePoint,
        };
      }
    }
    if (inTable(TABLE_D_1, codePoint)) randAL = true;
    else if (inTable(TABLE_D_2, codePoint)) l = true;
  }
  if (randAL) {
    const first = value.codePointAt(0)!;
    const last = [...value].at(-1)!.codePointAt(0)!;
    if (l) {
      return {
        ok: false,
        reason:
          "right-to-left and left-to-right characters mixed (RFC 3454 §6)",
      };
    }
    if (!inTable(TABLE_D_1, first) || !inTable(TABLE_D_1, last)) {
      return {
        ok: false,
        reason:
          "right-to-left text that does not start and end with a right-to-left character (RFC 3454 §6)",
      };
    }
  }
  return { ok: true, value };
}
