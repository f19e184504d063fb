import type { Mail } from "../mime/mail.ts";
import type { RawMessage } from "./raw_message.ts";
import type { SendOptions } from "./send_options.ts";
import type { SendResult } from "./send_result.ts";

/**
 * Something that sends messages: an `SmtpClient` (one connection), an
 * `SmtpPool` (many), or a user's own (a test double, an HTTP mail API).
 * What the outbox and the command send through.
 *
 * @example A transport that records what it is given
 * ```ts
 * import type { MailTransport, SendResult } from "@x/sendmail";
 *
 * const sent: unknown[] = [];
 * const recorder: MailTransport = {
 *   send(message): Promise<SendResult> {
 *     sent.push(message);
 *     return Promise.resolve({
 *       accepted: ["a@example.com"],
 *       rejected: [],
 *       reply: { code: 250, lines: ["OK"], text: "OK" },
 *       envelope: { from: "b@example.com", to: ["a@example.com"] },
 *       secure: true,
 *     });
 *   },
 *   close: () => Promise.resolve(),
 * };
 * await recorder.send({ envelope: { from: "b@example.com", to: ["a@example.com"] }, raw: "Subject: x\r\n\r\nhi\r\n" });
 * ```
 */
export interface MailTransport {
  /**
   * Sends one message.
   *
   * @param message A `Mail` to compose, or a `RawMessage` sent as given.
   * @param options DSN, REQUIRETLS and an abort signal.
   * @returns Who was accepted and refused, and the server's final reply.
   */
  send(message: Mail | RawMessage, options?: SendOptions): Promise<SendResult>;
  /** Releases the transport's connections; sends in flight finish first. */
  close(): Promise<void>;
}
