/**
 * The transport an outbox builds for itself from server options or a URL,
 * and closes in its `close()`: an `SmtpPool` (connections reused across
 * delivery passes, closed when idle, a rate limit if asked for).
 *
 * @module
 */
import { SmtpPool, type SmtpPoolOptions } from "../pool/smtp_pool.ts";
import type { MailTransport } from "../session/mail_transport.ts";

/** A transport the outbox owns (and closes). */
export type OwnTransport = MailTransport;

/**
 * Builds the outbox's own transport.
 *
 * @param options Pool options or an `smtp://` / `smtps://` URL.
 * @returns The transport.
 * @throws {TypeError | RangeError} Misused options.
 */
export function ownTransport(
  options: SmtpPoolOptions | string | URL,
): OwnTransport {
  return new SmtpPool(options);
}
