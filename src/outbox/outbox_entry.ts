import type { Reply } from "../protocol/reply.ts";

/**
 * Where an entry of the outbox stands:
 * - `"queued"`: waiting for its next attempt (`nextAttemptAt`);
 * - `"sending"`: taken by a delivery, which holds a lease on it until
 *   `nextAttemptAt` (if that delivery dies, the entry is due again then);
 * - `"sent"`: every recipient is settled and at least one accepted it;
 * - `"failed"`: every recipient is settled and none accepted it (refused
 *   permanently, or the retries ran out);
 * - `"cancelled"`: `cancel()` took it out of the queue.
 */
export type OutboxState =
  | "queued"
  | "sending"
  | "sent"
  | "failed"
  | "cancelled";

/** One recipient of an entry and what the server said of it. */
export interface OutboxRecipient {
  /** The envelope address (RCPT TO). */
  address: string;
  /**
   * `"pending"` until the server accepts it (`"accepted"`) or refuses it
   * permanently or the retries run out (`"rejected"`). A recipient refused
   * temporarily stays pending, with that reply.
   */
  state: "pending" | "accepted" | "rejected";
  /**
   * The server's last word on it: the reply to the end of the data when it
   * was accepted, the refusal otherwise.
   */
  reply?: Reply;
}

/** Why the last attempt did not settle every recipient. */
export interface OutboxError {
  /** What went wrong (sentence case; server text quoted, controls removed). */
  message: string;
  /** The reply code, when the server replied. */
  code?: number;
  /** The enhanced status code, when the reply had one. */
  enhancedCode?: string;
  /** Whether a later attempt may succeed. */
  temporary: boolean;
}

/**
 * A message in the outbox, as `enqueue()`, `get()` and `list()` return it: a
 * snapshot, not a live view.
 *
 * @example Reading an entry
 * ```ts
 * import type { OutboxEntry } from "@x/sendmail/outbox";
 *
 * function describe(entry: OutboxEntry): string {
 *   const pending = entry.recipients.filter((r) => r.state === "pending");
 *   return `${entry.id}: ${entry.state}, ${pending.length} pending, ${entry.attempts} attempts`;
 * }
 * ```
 */
export interface OutboxEntry {
  /** The entry's identifier: the `id` given to `enqueue()`, or a generated one. */
  id: string;
  /** Where it stands. */
  state: OutboxState;
  /** How many deliveries have taken it (a delivery that died counts). */
  attempts: number;
  /** When it was enqueued. */
  createdAt: Date;
  /** When it last changed. */
  updatedAt: Date;
  /**
   * When it is due: the next attempt of a `"queued"` entry, or the end of
   * the lease of a `"sending"` one. Absent once it is settled.
   */
  nextAttemptAt?: Date;
  /**
   * The Message-ID, with angle brackets: fixed at enqueue and sent on every
   * attempt. For a `RawMessage`, its Message-ID field; `""` when it has none.
   */
  messageId: string;
  /** The SMTP envelope: the sender and every recipient. */
  envelope: { from: string; to: string[] };
  /** Every recipient of the envelope, in order, with its state. */
  recipients: OutboxRecipient[];
  /** Why the last attempt did not settle every recipient, if it did not. */
  lastError?: OutboxError;
  /**
   * True when an attempt may have delivered the message although its
   * outcome was not seen (the connection failed after the end of the data,
   * or a delivery died holding the lease): a recipient may get it twice.
   */
  maybeDuplicate?: boolean;
}
