/**
 * What the server's replies mean for a transaction: which recipients were
 * accepted, whether the envelope stands, and the errors a refused
 * transaction rejects with. Pure: replies in, decisions out. The pipelined
 * and the lock-step paths, DATA and BDAT, SMTP and LMTP all decide here.
 *
 * @module
 */
import { describeReply } from "../protocol/_describe_reply.ts";
import type { Reply } from "../protocol/reply.ts";
import { SmtpError } from "../protocol/smtp_error.ts";
import type { SendResult } from "./send_result.ts";

/** A refused recipient. */
export type Rejected = SendResult["rejected"][number];

/** The recipients sorted by the server's replies. */
export interface RecipientOutcome {
  /** Accepted, in order. */
  accepted: string[];
  /** Refused, in order, each with its reply. */
  rejected: Rejected[];
}

/**
 * How much reply text the refused recipients of one `SendResult` keep in
 * all: past it, a reply keeps its first line only (at most
 * {@linkcode MAX_SHORT_TEXT} characters) and is marked `truncated`.
 */
export const MAX_REJECTED_TEXT = 256 * 1024;
/** What a shortened reply keeps of its first line. */
export const MAX_SHORT_TEXT = 512;

/** Whether a reply is a positive completion (2xx). */
export function isPositive(reply: Reply): boolean {
  return reply.code >= 200 && reply.code < 300;
}

/**
 * Sorts recipients by the replies to their RCPT commands (in order), keeping
 * the reply text of the refused ones bounded in total.
 *
 * @param to The recipients, in the order their RCPTs were sent.
 * @param replies One reply per recipient, in the same order.
 * @returns The accepted and the refused recipients.
 */
export function sortRecipients(
  to: readonly string[],
  replies: readonly Reply[],
): RecipientOutcome {
  const accepted: string[] = [];
  const rejected: Rejected[] = [];
  let kept = 0;
  to.forEach((recipient, i) => {
    const reply = replies[i]!;
    if (isPositive(reply)) {
      accepted.push(recipient);
      return;
    }
    kept += reply.text.length;
    rejected.push({
      recipient,
      reply: kept > MAX_REJECTED_TEXT ? shorten(reply) : reply,
    });
  });
  return { accepted, rejected };
}

/** A reply reduced to its first line, marked truncated. */
export function shorten(reply: Reply): Reply {
  const first = (reply.lines[0] ?? "").slice(0, MAX_SHORT_TEXT);
  if (reply.lines.length <= 1 && first.length === reply.text.length) {
    return reply;
  }
  return Object.freeze({
    code: reply.code,
    ...(reply.enhancedCode ? { enhancedCode: reply.enhancedCode } : {}),
    lines: Object.freeze([first]),
    text: first,
    truncated: true as const,
  });
}

/**
 * The error a transaction ends with when its envelope does not stand: MAIL
 * refused, or every recipient refused.
 *
 * @param mailReply The reply to MAIL.
 * @param outcome The recipients sorted.
 * @returns The error, or `undefined` when the transaction can go on.
 */
export function envelopeFailure(
  mailReply: Reply,
  outcome: RecipientOutcome,
): SmtpError | undefined {
  if (!isPositive(mailReply)) return refused("MAIL FROM", mailReply, "MAIL");
  if (outcome.accepted.length === 0) return allRefused(outcome.rejected);
  return undefined;
}

/**
 * LMTP (RFC 2033 §4.2): after the data, one reply per accepted recipient,
 * in order. A recipient refused at that point moves to `rejected`.
 *
 * @param outcome The recipients as RCPT left them.
 * @param replies One reply per accepted recipient.
 * @returns The final outcome.
 */
export function lmtpOutcome(
  outcome: RecipientOutcome,
  replies: readonly Reply[],
): RecipientOutcome {
  const after = sortRecipients(outcome.accepted, replies);
  return {
    accepted: after.accepted,
    rejected: [...outcome.rejected, ...after.rejected],
  };
}

/**
 * The error for a command the server refused.
 *
 * @param what What could not be sent ("MAIL FROM", "message data").
 * @param reply The refusal.
 * @param verb The command verb.
 * @returns The error.
 */
export function refused(what: string, reply: Reply, verb: string): SmtpError {
  return new SmtpError(
    `Cannot send ${what}: server replied ${describeReply(reply)}`,
    { reply, command: verb },
  );
}

/**
 * The error when every recipient was refused: temporary only when every
 * refusal was.
 *
 * @param rejected The refused recipients (at least one).
 * @param when "RCPT" (at RCPT time) or "DATA"/"BDAT" (LMTP, after the data).
 * @returns The error.
 */
export function allRefused(
  rejected: readonly Rejected[],
  when = "RCPT",
): SmtpError {
  const first = rejected[0]!;
  const all = rejected.every((r) => r.reply.code >= 400 && r.reply.code < 500);
  const what = when === "RCPT" ? "RCPT TO" : "message data";
  return new SmtpError(
    `Cannot send ${what}: server refused every recipient, ${
      JSON.stringify(first.recipient)
    } with ${describeReply(first.reply)}`,
    { reply: first.reply, command: when, temporary: all },
  );
}

/**
 * How many BDAT chunk replies to read before the next chunk is sent, so that
 * at most `window` chunks await their reply; after the last chunk, all.
 *
 * @param outstanding Chunks sent whose reply has not been read.
 * @param last Whether the chunk just sent was the last.
 * @param window The most chunks in flight.
 * @returns How many replies to read now.
 */
export function chunkRepliesDue(
  outstanding: number,
  last: boolean,
  window: number,
): number {
  return last ? outstanding : Math.max(0, outstanding - (window - 1));
}
