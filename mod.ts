/**
 * An SMTP client for Deno, Node, Bun and Cloudflare Workers: Web Streams end
 * to end, TLS and STARTTLS verified by default, AUTH (SCRAM, PLAIN, LOGIN,
 * OAuth 2.0 …), pipelining, BDAT and the ESMTP extensions, LMTP, DKIM.
 *
 * @example Send a notification
 * ```ts
 * import { sendmail } from "@x/sendmail";
 * import { startTestServer } from "@x/sendmail/testing";
 * import assert from "node:assert/strict";
 *
 * // A local capture server stands in for smtp.example.com; in production
 * // pass { hostname: "smtp.example.com", auth: { username, password } } or
 * // an smtp:// URL.
 * await using server = await startTestServer();
 * const result = await sendmail(server.clientOptions, {
 *   from: "Alerts <alerts@example.com>",
 *   to: "ops@example.com",
 *   subject: "Disk almost full",
 *   text: "Volume /data is at 91%.",
 * }, { signal: AbortSignal.timeout(10_000) });
 * assert.deepEqual(result.accepted, ["ops@example.com"]);
 * assert.match(server.messages[0]!.text, /^Subject: Disk almost full\r$/m);
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
  DkimAlgorithm,
  DkimCanonicalization,
  DkimOptions,
} from "./src/dkim/dkim_options.ts";
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
