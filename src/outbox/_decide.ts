/**
 * The outbox's delivery rules as pure functions: what an attempt's result or
 * error means for each recipient and for the entry, and when the next
 * attempt is. Plain data in, the next record out; no storage, no clock, no
 * randomness of their own.
 *
 * @module
 */
import { describeReply } from "../protocol/_describe_reply.ts";
import { printable } from "../protocol/_control.ts";
import type { Reply } from "../protocol/reply.ts";
import { SmtpError } from "../protocol/smtp_error.ts";
import type { SendResult } from "../session/send_result.ts";
import type { EntryRecord, RecipientRecord } from "./_store.ts";
import type { OutboxError } from "./outbox_entry.ts";
import type { OutboxRetryOptions } from "./outbox_options.ts";

/** The retry schedule, resolved. */
export interface RetryPolicy {
  delays: readonly number[];
  maxAttempts: number;
  maxAge: number;
}

/** The default waits after each temporary failure, in ms. */
export const DEFAULT_DELAYS: readonly number[] = Object.freeze([
  60_000,
  300_000,
  900_000,
  3_600_000,
  10_800_000,
  21_600_000,
  43_200_000,
  86_400_000,
  86_400_000,
  86_400_000,
]);
/** The default `maxAge`: 5 days, Postfix's `maximal_queue_lifetime`. */
export const DEFAULT_MAX_AGE = 5 * 24 * 3600 * 1000;
/** The most jitter added to a delay, as a fraction of it. */
export const JITTER = 0.1;

/** Reply text kept per reply: lines and characters. */
const MAX_REPLY_LINES = 8;
const MAX_REPLY_LINE = 200;
/** The commands whose permanent refusal is about this message. */
const MESSAGE_COMMANDS = new Set(["MAIL", "RCPT", "DATA", "BDAT"]);

/**
 * Checks and completes the retry options.
 *
 * @throws {TypeError | RangeError} A value of the wrong type or out of range.
 */
export function resolveRetry(options: OutboxRetryOptions = {}): RetryPolicy {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("Cannot use retry: expected an object");
  }
  for (const key of Object.keys(options)) {
    if (!["delays", "maxAttempts", "maxAge"].includes(key)) {
      throw new TypeError(
        `Cannot use retry: unknown option ${JSON.stringify(key)}`,
      );
    }
  }
  const delays = options.delays ?? DEFAULT_DELAYS;
  if (!Array.isArray(delays) || delays.length === 0) {
    throw new TypeError("Cannot use retry.delays: expected a non-empty array");
  }
  for (const delay of delays) {
    if (typeof delay !== "number" || !Number.isFinite(delay) || delay < 0) {
      throw new RangeError(
        `Cannot use retry.delays: ${delay} is not a finite number of ms ≥ 0`,
      );
    }
  }
  const maxAttempts = options.maxAttempts ?? delays.length + 1;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new RangeError(
      `Cannot use retry.maxAttempts: ${maxAttempts} is not an integer ≥ 1`,
    );
  }
  const maxAge = options.maxAge ?? DEFAULT_MAX_AGE;
  if (typeof maxAge !== "number" || Number.isNaN(maxAge) || maxAge <= 0) {
    throw new RangeError(
      `Cannot use retry.maxAge: ${maxAge} is not a number of ms > 0`,
    );
  }
  return { delays: Object.freeze([...delays]), maxAttempts, maxAge };
}

/**
 * The wait after the `failures`-th temporary failure, jitter added.
 *
 * @param policy The schedule.
 * @param failures How many temporary failures so far (≥ 1).
 * @param random A number in [0, 1).
 */
export function retryDelay(
  policy: RetryPolicy,
  failures: number,
  random: number,
): number {
  const delays = policy.delays;
  const base = delays[Math.min(failures, delays.length) - 1] ?? 0;
  return Math.round(base * (1 + JITTER * random));
}

/** A reply reduced to what an entry keeps of it. */
export function keptReply(reply: Reply): Reply {
  const lines = reply.lines.slice(0, MAX_REPLY_LINES).map((line) =>
    line.length > MAX_REPLY_LINE ? line.slice(0, MAX_REPLY_LINE) : line
  );
  const truncated = reply.truncated === true ||
    lines.length < reply.lines.length ||
    lines.some((line, i) => line !== reply.lines[i]);
  return {
    code: reply.code,
    ...(reply.enhancedCode !== undefined
      ? { enhancedCode: reply.enhancedCode }
      : {}),
    lines,
    text: lines.join("\n"),
    ...(truncated ? { truncated: true as const } : {}),
  };
}

/** The record of an error, as `lastError` keeps it. */
export function errorRecord(error: unknown, temporary: boolean): OutboxError {
  const message = error instanceof Error ? error.message : String(error);
  const record: OutboxError = {
    message: printable(message).slice(0, 1000),
    temporary,
  };
  if (error instanceof SmtpError) {
    if (error.code !== undefined) record.code = error.code;
    if (error.enhancedCode !== undefined) {
      record.enhancedCode = error.enhancedCode;
    }
  }
  return record;
}

/**
 * Whether an error of a send is final for the recipients it was sent to.
 * Only a refusal of this message is: a 5xx reply to MAIL, RCPT or the data,
 * an extension the message needs and the server lacks, or a message the
 * client cannot send at all (`TypeError`, `RangeError`). Everything else
 * says nothing of the message and is retried: 4xx replies, timeouts,
 * dropped or refused connections, and failures of the session itself
 * (a 5xx greeting or EHLO, authentication, TLS, a protocol error).
 */
export function isPermanent(error: unknown): boolean {
  if (error instanceof SmtpError) {
    if (error.kind === "unsupported") return true;
    return error.kind === "reply" && !error.temporary &&
      MESSAGE_COMMANDS.has(error.command?.toUpperCase() ?? "");
  }
  return error instanceof TypeError || error instanceof RangeError;
}

/**
 * Whether a send's error is "every recipient refused" with at least one
 * permanent refusal: the error names only the first recipient, so when
 * several were sent to, each is tried alone to learn which.
 */
export function needsSplit(error: unknown, recipients: number): boolean {
  return recipients > 1 && error instanceof SmtpError &&
    error.kind === "reply" && !error.temporary &&
    error.command?.toUpperCase() === "RCPT";
}

/** What one send of an attempt did, for the recipients it was sent to. */
export type SendOutcome =
  | { to: readonly string[]; result: SendResult }
  | { to: readonly string[]; error: unknown };

/** How an entry stands after an attempt. */
export type Verdict = "sent" | "failed" | "retried";

/**
 * Applies the outcome of an attempt to an entry that a delivery holds
 * ("sending"), and decides what comes next: "sent" or "failed" once every
 * recipient is settled, else back to "queued" for the recipients still
 * pending, or "failed" when the schedule is spent.
 *
 * @param record The entry as taken (its `attempts` counts this attempt).
 * @param outcomes One per send of the attempt.
 * @param now The time.
 * @param policy The retry schedule.
 * @param random A number in [0, 1), for the jitter.
 * @returns The next record, and what became of the entry.
 */
export function applyAttempt(
  record: EntryRecord,
  outcomes: readonly SendOutcome[],
  now: number,
  policy: RetryPolicy,
  random: number,
): { record: EntryRecord; verdict: Verdict } {
  const recipients: RecipientRecord[] = record.recipients.map((r) => ({
    ...r,
  }));
  const index = new Map(record.to.map((address, i) => [address, i]));
  const set = (address: string, next: RecipientRecord) => {
    const i = index.get(address);
    if (i !== undefined && recipients[i]!.state === "pending") {
      recipients[i] = next;
    }
  };
  let lastError: OutboxError | undefined;
  let maybeDuplicate = record.maybeDuplicate === true;
  for (const outcome of outcomes) {
    if ("result" in outcome) {
      const { result } = outcome;
      const reply = keptReply(result.reply);
      for (const address of result.accepted) {
        set(address, { state: "accepted", reply });
      }
      for (const { recipient, reply: refusal } of result.rejected) {
        const temporary = refusal.code >= 400 && refusal.code < 500;
        set(recipient, {
          state: temporary ? "pending" : "rejected",
          reply: keptReply(refusal),
        });
        if (temporary) {
          lastError ??= {
            message: `Recipient ${
              JSON.stringify(printable(recipient))
            } refused for now: server replied ${describeReply(refusal)}`,
            code: refusal.code,
            ...(refusal.enhancedCode !== undefined
              ? { enhancedCode: refusal.enhancedCode }
              : {}),
            temporary: true,
          };
        }
      }
      continue;
    }
    const { error } = outcome;
    const permanent = isPermanent(error);
    const reply = error instanceof SmtpError && error.reply
      ? keptReply(error.reply)
      : undefined;
    for (const address of outcome.to) {
      set(address, {
        state: permanent ? "rejected" : "pending",
        ...(reply ? { reply } : {}),
      });
    }
    if (error instanceof SmtpError && error.maybeDelivered) {
      maybeDuplicate = true;
    }
    if (!permanent || lastError === undefined) {
      lastError = errorRecord(error, !permanent);
    }
  }
  const pending = recipients.some((r) => r.state === "pending");
  const next: EntryRecord = {
    ...record,
    recipients,
    updatedAt: now,
  };
  delete next.lease;
  delete next.dueAt;
  if (lastError) next.lastError = lastError;
  else delete next.lastError;
  if (maybeDuplicate) next.maybeDuplicate = true;

  if (pending) {
    const deadline = record.since + policy.maxAge;
    if (record.attempts < policy.maxAttempts && now < deadline) {
      const wait = retryDelay(policy, record.attempts, random);
      next.state = "queued";
      next.dueAt = Math.max(now, Math.min(now + wait, deadline));
      return { record: next, verdict: "retried" };
    }
    // The schedule is spent: what is still pending is given up.
    next.recipients = recipients.map((r) =>
      r.state === "pending" ? { ...r, state: "rejected" } : r
    );
    if (next.lastError) {
      next.lastError = {
        ...next.lastError,
        message: `${next.lastError.message} (gave up after ${
          plural(record.attempts, "attempt")
        })`,
        temporary: false,
      };
    }
  }
  const accepted = next.recipients.some((r) => r.state === "accepted");
  next.state = accepted ? "sent" : "failed";
  next.settledAt = now;
  return { record: next, verdict: accepted ? "sent" : "failed" };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
