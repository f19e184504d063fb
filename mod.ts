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
export type { Reply } from "./src/protocol/reply.ts";
export {
  SmtpError,
  type SmtpErrorKind,
  type SmtpErrorOptions,
} from "./src/protocol/smtp_error.ts";
export type {
  Address,
  Attachment,
  Mail,
  MailHeaders,
} from "./src/mime/mail.ts";
export type { RawMessage } from "./src/session/raw_message.ts";
export type {
  Connect,
  Connection,
  ConnectionFailure,
  ConnectionFailureReason,
  ConnectOptions,
  ConnectTls,
  StartTlsOptions,
} from "./src/transport/connection.ts";
export type {
  AuthMechanism,
  PasswordAuth,
  TokenAuth,
} from "./src/sasl/credentials.ts";
export type {
  SmtpClientOptions,
  SmtpLogEvent,
  SmtpLogger,
  SmtpTimeouts,
  TlsMode,
} from "./src/session/smtp_client_options.ts";
export type { DsnOptions, SendOptions } from "./src/session/send_options.ts";
export type { SendResult } from "./src/session/send_result.ts";
export {
  ReplyStream,
  type ReplyStreamOptions,
} from "./src/protocol/reply_stream.ts";
export { DotStuffStream } from "./src/protocol/dot_stuff_stream.ts";
export { Capabilities } from "./src/protocol/capabilities.ts";
export { denoConnect } from "./src/transport/deno_connect.ts";
export type { MailTransport } from "./src/session/mail_transport.ts";
export { SmtpClient } from "./src/session/smtp_client.ts";
export {
  SmtpPool,
  type SmtpPoolOptions,
  type SmtpPoolStats,
} from "./src/pool/smtp_pool.ts";
export { sendmail, type SendmailOptions } from "./src/session/sendmail.ts";
export { parseSmtpUrl } from "./src/session/parse_smtp_url.ts";
