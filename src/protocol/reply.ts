/**
 * A reply from an SMTP server (RFC 5321 §4.2): a three-digit code, the
 * enhanced status code of RFC 3463 when the server sent one, and the text of
 * each line with both codes removed.
 *
 * @example Reading a reply
 * ```ts
 * import type { Reply } from "@x/sendmail";
 * const reply: Reply = { code: 250, enhancedCode: "2.0.0", lines: ["OK"], text: "OK" };
 * console.log(reply.code, reply.text);
 * ```
 */
export interface Reply {
  /** The three-digit reply code, 200 to 599. */
  readonly code: number;
  /** The enhanced status code ("2.1.5") when every line carried one. */
  readonly enhancedCode?: string;
  /** The text of each line, codes removed; an empty string for a bare code. */
  readonly lines: readonly string[];
  /** The lines joined with "\n". */
  readonly text: string;
  /**
   * Set when the server's reply was longer than what is kept (16 KiB of
   * text): `lines` and `text` hold its beginning only.
   */
  readonly truncated?: true;
}
