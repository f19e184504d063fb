import { printable } from "./_control.ts";
import type { Reply } from "./reply.ts";

/**
 * What went wrong, in broad classes a caller can act on.
 *
 * - `"reply"`: the server refused a command with a 4xx or 5xx reply.
 * - `"timeout"`: a phase took longer than its timeout; the connection is closed.
 * - `"connection"`: the connection could not be made, or it dropped.
 * - `"protocol"`: the server broke the protocol (malformed reply, injected bytes).
 * - `"tls"`: TLS could not be set up or verified, or STARTTLS was required but missing.
 * - `"auth"`: authentication was refused or is impossible under the policy.
 * - `"unsupported"`: the message needs an extension the server does not offer
 *   (SMTPUTF8, REQUIRETLS, a size over SIZE).
 * - `"closed"`: the client was already closed or quit.
 */
export type SmtpErrorKind =
  | "reply"
  | "timeout"
  | "connection"
  | "protocol"
  | "tls"
  | "auth"
  | "unsupported"
  | "closed";

/** Options of {@linkcode SmtpError}. */
export interface SmtpErrorOptions extends ErrorOptions {
  /** The class of failure. @default {"reply"} when a reply is given, else "protocol" */
  kind?: SmtpErrorKind;
  /** The reply that caused the error, if any. */
  reply?: Reply;
  /** The command verb ("MAIL", "RCPT", "AUTH" …); never its arguments. */
  command?: string;
  /**
   * Whether retrying later may help.
   * @default {true} for 4xx replies, timeouts and dropped connections, else false
   */
  temporary?: boolean;
  /**
   * Whether the server may have taken the message although the call failed:
   * the connection failed after the end of the message data was sent and
   * before its reply. A retry may deliver it twice.
   * @default {false}
   */
  maybeDelivered?: boolean;
}

/**
 * Every failure of an SMTP session is an `SmtpError` (misuse of the API is a
 * `TypeError` or `RangeError` thrown before anything is sent, and an aborted
 * signal rejects with its reason).
 *
 * @example Telling a temporary failure from a permanent one
 * ```ts
 * import { SmtpError } from "@x/sendmail";
 * const error = new SmtpError("Cannot send RCPT TO: server replied 450", {
 *   reply: { code: 450, lines: ["mailbox busy"], text: "mailbox busy" },
 *   command: "RCPT",
 * });
 * console.log(error.temporary); // true: retry later
 * ```
 */
export class SmtpError extends Error {
  /** The class of failure. */
  readonly kind: SmtpErrorKind;
  /** The reply code, when the server replied. */
  declare readonly code?: number;
  /** The enhanced status code, when the reply had one. */
  declare readonly enhancedCode?: string;
  /** The reply, when the server replied. */
  declare readonly reply?: Reply;
  /** The command verb that failed, never its arguments. */
  declare readonly command?: string;
  /** Whether retrying later may help (4xx, timeout, dropped connection). */
  readonly temporary: boolean;
  /**
   * True only when the connection failed after the end of the message data
   * was sent and before its reply: the server may have taken the message,
   * so a retry may deliver it twice.
   */
  readonly maybeDelivered: boolean;

  /**
   * Creates an error.
   *
   * @param message Sentence case, no trailing period.
   * @param options The reply, command, kind and cause.
   */
  constructor(message: string, options: SmtpErrorOptions = {}) {
    // Server text reaches messages quoted; control characters never do (a
    // reply, a certificate name or a runtime's message could carry ESC).
    super(
      printable(message),
      options.cause === undefined ? {} : { cause: options.cause },
    );
    this.name = "SmtpError";
    const { reply } = options;
    this.kind = options.kind ?? (reply ? "reply" : "protocol");
    if (reply) {
      this.reply = reply;
      this.code = reply.code;
      if (reply.enhancedCode !== undefined) {
        this.enhancedCode = reply.enhancedCode;
      }
    }
    if (options.command !== undefined) this.command = options.command;
    this.temporary = options.temporary ??
      (reply
        ? reply.code >= 400 && reply.code < 500
        : this.kind === "timeout" || this.kind === "connection");
    this.maybeDelivered = options.maybeDelivered ?? false;
  }
}
