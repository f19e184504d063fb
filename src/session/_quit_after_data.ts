/**
 * Clients whose session ends with the message being sent: `sendmail()` adds
 * its client here, and `SmtpClient` then writes QUIT right behind the end of
 * the message data (RFC 2920 §3.1: the message content may open a pipelined
 * group and QUIT may close it), so QUIT's reply arrives in the same round
 * trip as the message's instead of one round trip later.
 *
 * @module
 */

/** The clients that send QUIT right after their message data. */
export const quitAfterData: WeakSet<object> = new WeakSet();
