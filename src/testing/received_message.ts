/**
 * One line of a capture-server transcript: a command line the client sent, a
 * reply line the server sent (both without CRLF), or a note about the session
 * (`"info"`: TLS established, message bytes received, connection closed …).
 * Message content is not in the transcript, only its size.
 */
export interface TranscriptLine {
  /** Who sent the line, or `"info"` for a note from the server. */
  readonly type: "client" | "server" | "info";
  /** The line without its CRLF; SASL credentials show as `[redacted]`. */
  readonly text: string;
  /**
   * On the info line that stands for lines dropped from a long transcript
   * (the first 1000 and the latest 1000 or more are kept): how many.
   */
  readonly dropped?: number;
}

/** The SMTP envelope of a {@linkcode ReceivedMessage}. */
export interface ReceivedEnvelope {
  /** The reverse path of `MAIL FROM:<…>`; `""` for the null sender `<>`. */
  readonly from: string;
  /** The forward paths of the accepted `RCPT TO:<…>` commands, in order. */
  readonly to: readonly string[];
  /**
   * The `MAIL FROM` parameters, keywords upper-cased: `SIZE=123` →
   * `{ SIZE: "123" }`, a bare keyword such as `SMTPUTF8` → `{ SMTPUTF8: true }`.
   * Values are as sent (xtext is not decoded).
   */
  readonly mailParams: Readonly<Record<string, string | true>>;
  /** The `RCPT TO` parameters of each recipient in `to`, same indexes. */
  readonly rcptParams: readonly Readonly<Record<string, string | true>>[];
}

/**
 * A message the capture server accepted (it replied 250 to the end of DATA or
 * to the last BDAT chunk).
 */
export interface ReceivedMessage {
  /** The envelope: sender, recipients and their ESMTP parameters. */
  readonly envelope: ReceivedEnvelope;
  /**
   * The message bytes: after dot-unstuffing for DATA (ending with the CRLF of
   * the last line, without the final `.` CRLF), or the BDAT chunks joined;
   * after the server's own `Received:` field when its `received` option is
   * on.
   */
  readonly raw: Uint8Array;
  /** {@linkcode ReceivedMessage.raw} decoded as UTF-8. */
  readonly text: string;
  /** How the content came: `DATA` or `BDAT` (CHUNKING). */
  readonly transfer: "DATA" | "BDAT";
  /** The session transcript from the connection up to the reply to this message. */
  readonly transcript: readonly TranscriptLine[];
  /** Whether the connection was encrypted (STARTTLS or implicit TLS). */
  readonly secure: boolean;
  /** The user name the client authenticated as, when it did. */
  readonly authUser?: string;
  /** The SASL mechanism it authenticated with, when it did. */
  readonly authMechanism?: string;
  /** The argument of the client's last EHLO or HELO. */
  readonly helo: string;
  /** Whether the client greeted with EHLO (true) or HELO (false). */
  readonly esmtp: boolean;
  /** The 1-based number of the connection, in the order the server accepted them. */
  readonly connection: number;
}
