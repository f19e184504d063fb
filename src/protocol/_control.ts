/**
 * The project's one definition of a control character, and the one way
 * server- or user-supplied text is made safe to print.
 *
 * - {@linkcode hasControl}: C0 (U+0000–U+001F) and DEL (U+007F). What may
 *   never reach an SMTP command line.
 * - {@linkcode hasControlOrC1}: the same plus C1 (U+0080–U+009F), which a
 *   UTF-8 address or header may otherwise carry: addresses and header text.
 * - {@linkcode printable}: replaces both kinds (keeping tab) by U+FFFD, for
 *   text that reaches a log, an error message or a terminal.
 *
 * @module
 */

// deno-lint-ignore no-control-regex
const C0_DEL = /[\x00-\x1f\x7f]/;
// deno-lint-ignore no-control-regex
const C0_DEL_NO_TAB = /[\x00-\x08\x0a-\x1f\x7f]/;
// deno-lint-ignore no-control-regex
const C0_DEL_C1 = /[\x00-\x1f\x7f-\x9f]/;
// deno-lint-ignore no-control-regex
const C0_DEL_C1_NO_TAB = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/;
// deno-lint-ignore no-control-regex
const UNPRINTABLE = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g;

/** Options of the control-character tests. */
export interface ControlOptions {
  /** Whether a horizontal tab is allowed (folding white space). @default {false} */
  allowTab?: boolean;
}

/**
 * Whether text holds a C0 control character or DEL.
 *
 * @param text The text to test.
 * @param options Whether a tab is allowed.
 * @returns Whether it holds one.
 */
export function hasControl(text: string, options?: ControlOptions): boolean {
  return (options?.allowTab ? C0_DEL_NO_TAB : C0_DEL).test(text);
}

/**
 * Whether text holds a C0 control character, DEL or a C1 control character.
 *
 * @param text The text to test.
 * @param options Whether a tab is allowed.
 * @returns Whether it holds one.
 */
export function hasControlOrC1(
  text: string,
  options?: ControlOptions,
): boolean {
  return (options?.allowTab ? C0_DEL_C1_NO_TAB : C0_DEL_C1).test(text);
}

/**
 * Text fit for a log line, an error message or a terminal: every C0, DEL
 * and C1 control character but tab becomes U+FFFD, so a server cannot
 * forge log lines or drive a terminal (ESC, BEL, CR, LF).
 *
 * @param text Untrusted text.
 * @returns The same text with control characters replaced.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, "\uFFFD");
}
