import type { Mail } from "../mime/mail.ts";
import type { RawMessage } from "./raw_message.ts";
import type { SendOptions } from "./send_options.ts";
import type { SendResult } from "./send_result.ts";
import { internals } from "./_internals.ts";
import { SmtpClient } from "./smtp_client.ts";
import type { SmtpClientOptions } from "./smtp_client_options.ts";

/** Options of {@linkcode sendmail}: the same as `SmtpClient.connect`'s. */
export type SendmailOptions = SmtpClientOptions;

/**
 * Sends one message on a connection of its own: connect, send, QUIT. For
 * several messages, keep an {@linkcode SmtpClient} open instead.
 *
 * @param options Where and how to connect (TLS is verified; STARTTLS is
 * required on port 587 unless `tls` says otherwise), or an `smtp://` /
 * `smtps://` URL.
 * @param message A `Mail` to compose, or a `RawMessage` sent as given.
 * @param sendOptions DSN, REQUIRETLS and an abort signal for the send.
 * @returns Who was accepted and refused, and the server's final reply.
 * @throws {TypeError | RangeError} Misused options or a bad address; nothing is sent.
 * @throws {SmtpError} The session failed or the server refused the message.
 *
 * @example Sending a notification
 * ```ts
 * import { sendmail } from "@x/sendmail";
 * import { startTestServer } from "@x/sendmail/testing";
 * import assert from "node:assert/strict";
 *
 * // A local capture server stands in for smtp.example.com here.
 * await using server = await startTestServer();
 * const result = await sendmail(server.clientOptions, {
 *   from: "me@example.com",
 *   to: "you@example.com",
 *   subject: "Hi",
 *   text: "Hello",
 * });
 * assert.deepEqual(result.accepted, ["you@example.com"]);
 * assert.equal(server.messages[0]?.envelope.from, "me@example.com");
 * ```
 *
 * @example With an SMTP URL and a deadline
 * ```ts ignore
 * import { sendmail } from "@x/sendmail";
 *
 * await sendmail(
 *   Deno.env.get("SMTP_URL")!, // smtp://user:pass@smtp.example.com:587
 *   { from: "me@example.com", to: "you@example.com", subject: "Hi", text: "Hello" },
 *   { signal: AbortSignal.timeout(10_000) },
 * );
 * ```
 */
export async function sendmail(
  options: SendmailOptions | string | URL,
  message: Mail | RawMessage,
  sendOptions?: SendOptions,
): Promise<SendResult> {
  const client = await SmtpClient.connect(options);
  try {
    // Nothing follows the message: QUIT goes out with it (one round trip
    // less) when the server offers PIPELINING.
    return await internals.sendAndQuit(client, message, sendOptions);
  } finally {
    // No `await using` in library code: Node 22 cannot parse it.
    await client.quit();
  }
}
