import type { SmtpPoolOptions } from "../pool/smtp_pool.ts";
import type { MailTransport } from "../session/mail_transport.ts";
import type { DsnOptions } from "../session/send_options.ts";
import type { OutboxState } from "./outbox_entry.ts";

/**
 * When a temporary failure is tried again, and when the outbox gives up.
 *
 * @example Three quick retries, then failed
 * ```ts
 * import type { OutboxRetryOptions } from "@x/sendmail/outbox";
 * const retry: OutboxRetryOptions = { delays: [1_000, 10_000, 60_000] }; // 4 attempts in all
 * ```
 */
export interface OutboxRetryOptions {
  /**
   * `delays[i]` is the wait in ms after the (i+1)-th temporary failure; the
   * last one repeats. Up to 10 % of jitter is added to each, so that entries
   * that failed together do not come back together.
   * @default {[60_000, 300_000, 900_000, 3_600_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000, 86_400_000, 86_400_000]}
   */
  delays?: number[];
  /**
   * How many attempts an entry gets; after the last one fails temporarily
   * it is "failed".
   * @default {delays.length + 1}
   */
  maxAttempts?: number;
  /**
   * The most time, in ms from `enqueue()` (or from `retry()`), an entry is
   * retried for: the last attempt is scheduled no later than that, and a
   * temporary failure past it is final.
   * @default {432_000_000 (5 days)}
   */
  maxAge?: number;
}

/** Options of {@linkcode Outbox.open}. */
export interface OutboxOptions {
  /**
   * The store. A `Deno.Kv` given here is not closed by `close()`.
   * @default {await Deno.openKv(), closed by close()}
   */
  kv?: Deno.Kv;
  /**
   * What messages are sent through: any `MailTransport` (an `SmtpPool`, an
   * `SmtpClient`, your own), which the outbox does not close; or the options
   * or the `smtp://` / `smtps://` URL of a server, from which the outbox
   * builds its own `SmtpPool` and closes it in `close()`.
   */
  transport: MailTransport | SmtpPoolOptions | string | URL;
  /** The retry schedule. */
  retry?: OutboxRetryOptions;
  /**
   * How long, in ms, an entry taken by a delivery stays "sending" before
   * another delivery may take it: longer than any send may last.
   * @default {600_000}
   */
  leaseDuration?: number;
  /**
   * The largest message `enqueue()` accepts, in octets.
   * @default {10_485_760 (10 MiB)}
   */
  maxMessageSize?: number;
  /**
   * How often, in ms, `listen()` looks for due entries when nothing wakes it
   * sooner (an `enqueue()` in this process, a KV queue message, the next
   * due time it knows of).
   * @default {5_000}
   */
  pollInterval?: number;
  /**
   * How many sends one `deliver()` has in flight at once.
   * @default {10}
   */
  concurrency?: number;
  /**
   * How long, in ms, a settled entry ("sent", "failed", "cancelled") is
   * kept for `get()` and `list()` before deliveries delete it.
   * @default {604_800_000 (7 days)}
   */
  retention?: number;
}

/** The send options an entry keeps for its attempts. */
export interface OutboxSendOptions {
  /** Delivery status notifications; used only when the server offers DSN. */
  dsn?: DsnOptions;
  /** Require TLS on every hop (RFC 8689). */
  requireTls?: boolean;
}

/** Options of {@linkcode Outbox.enqueue}. */
export interface EnqueueOptions {
  /**
   * The entry's identifier (at most 200 characters, no control
   * characters): enqueueing the same `id` again returns the existing entry
   * unchanged, so a request that is retried stores its mail once.
   * @default {a random UUID}
   */
  id?: string;
  /** Wait this many ms before the first attempt. @default {0} */
  delay?: number;
  /** DSN and REQUIRETLS for every attempt (a signal cannot be stored). */
  sendOptions?: OutboxSendOptions;
}

/** Options of {@linkcode Outbox.list}. */
export interface OutboxListOptions {
  /** Only entries in this state. @default {every state} */
  state?: OutboxState;
  /** At most this many entries. @default {100} */
  limit?: number;
}

/** Options of {@linkcode Outbox.deliver}. */
export interface DeliverOptions {
  /** Attempt at most this many entries. @default {every entry due} */
  limit?: number;
  /**
   * Stops the pass: no further entry is taken; the sends in flight finish
   * and their outcome is recorded (an interrupted send could not be).
   */
  signal?: AbortSignal;
}

/** What one {@linkcode Outbox.deliver} pass did. */
export interface DeliverResult {
  /** Entries taken and sent. */
  attempted: number;
  /** Entries that became "sent". */
  sent: number;
  /** Entries back to "queued" for a later attempt. */
  retried: number;
  /** Entries that became "failed". */
  failed: number;
}

/** Options of {@linkcode Outbox.listen}. */
export interface ListenOptions {
  /** Stops listening; `listen()` resolves once the current pass is over. */
  signal?: AbortSignal;
}
