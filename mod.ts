/**
 * An SMTP client for Deno and edge runtimes: Web Streams end to end, TLS and
 * STARTTLS verified by default, AUTH, pipelining and the ESMTP extensions.
 *
 * @example Send a notification
 * ```ts ignore
 * import { sendmail } from "@x/sendmail";
 *
 * await sendmail(
 *   {
 *     hostname: "smtp.example.com",
 *     auth: { username: "alerts@example.com", password: Deno.env.get("SMTP_PASSWORD")! },
 *   },
 *   {
 *     from: "Alerts <alerts@example.com>",
 *     to: "ops@example.com",
 *     subject: "Disk almost full",
 *     text: "Volume /data is at 91%.",
 *   },
 * );
 * ```
 *
 * @module
 */
export type { Reply } from "./src/reply.ts";
export {
  SmtpError,
  type SmtpErrorKind,
  type SmtpErrorOptions,
} from "./src/smtp_error.ts";
export type { Address, Attachment, Mail, MailHeaders } from "./src/mail.ts";
export type { RawMessage } from "./src/raw_message.ts";
export type {
  Connect,
  Connection,
  ConnectOptions,
  StartTlsOptions,
} from "./src/connection.ts";
export type {
  AuthMechanism,
  PasswordAuth,
  SmtpClientOptions,
  SmtpLogEvent,
  SmtpLogger,
  SmtpTimeouts,
  TlsMode,
  TokenAuth,
} from "./src/smtp_client_options.ts";
export type { DsnOptions, SendOptions } from "./src/send_options.ts";
export type { SendResult } from "./src/send_result.ts";
export { ReplyStream, type ReplyStreamOptions } from "./src/reply_stream.ts";
export { DotStuffStream } from "./src/dot_stuff_stream.ts";
export { Capabilities } from "./src/capabilities.ts";
export { denoConnect } from "./src/deno_connect.ts";
export { SmtpClient } from "./src/smtp_client.ts";
export { sendmail, type SendmailOptions } from "./src/sendmail.ts";
