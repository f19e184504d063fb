import { hasControlOrC1 } from "../protocol/_control.ts";
import { SmtpError } from "../protocol/smtp_error.ts";
import type { Mail } from "../mime/mail.ts";
import { checkSendOptions } from "../session/_envelope.ts";
import type { MailTransport } from "../session/mail_transport.ts";
import type { RawMessage } from "../session/raw_message.ts";
import type { SendResult } from "../session/send_result.ts";
import {
  applyAttempt,
  needsSplit,
  resolveRetry,
  type RetryPolicy,
  type SendOutcome,
  type Verdict,
} from "./_decide.ts";
import { KvStore } from "./_kv_store.ts";
import { openMessage, tapMessageId } from "./_message_source.ts";
import { type OwnTransport, ownTransport } from "./_own_transport.ts";
import type { EntryRecord, OutboxStore, Stored } from "./_store.ts";
import type { OutboxEntry, OutboxState } from "./outbox_entry.ts";
import type {
  DeliverOptions,
  DeliverResult,
  EnqueueOptions,
  ListenOptions,
  OutboxListOptions,
  OutboxOptions,
  OutboxSendOptions,
} from "./outbox_options.ts";

const STATES: ReadonlySet<string> = new Set<OutboxState>([
  "queued",
  "sending",
  "sent",
  "failed",
  "cancelled",
]);
const OPTIONS: ReadonlySet<string> = new Set([
  "kv",
  "transport",
  "retry",
  "leaseDuration",
  "maxMessageSize",
  "pollInterval",
  "concurrency",
  "retention",
]);
const MAX_ID = 200;
/** The fewest entries a pass takes at once (ahead of its sends). */
const TAKE_AHEAD = 8;
/** How often a process sweeps settled entries and abandoned uploads. */
const SWEEP_EVERY = 60_000;
/** An upload not touched for this long is abandoned (at least). */
const UPLOAD_TIMEOUT = 600_000;

/** Checks a number option: finite (or not), at least `min`, integer or not. */
function numberOption(
  name: string,
  value: unknown,
  fallback: number,
  { min, integer = true, finite = true }: {
    min: number;
    integer?: boolean;
    finite?: boolean;
  },
): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || Number.isNaN(value)) {
    throw new TypeError(`Cannot use ${name}: expected a number`);
  }
  if (
    value < min || (finite && !Number.isFinite(value)) ||
    (integer && Number.isFinite(value) && !Number.isInteger(value))
  ) {
    throw new RangeError(
      `Cannot use ${name}: ${value} is not ${
        integer ? "an integer" : "a number"
      } ≥ ${min}`,
    );
  }
  return value;
}

function isTransport(value: unknown): value is MailTransport {
  return typeof value === "object" && value !== null &&
    typeof (value as MailTransport).send === "function" &&
    typeof (value as MailTransport).close === "function";
}

function checkId(id: unknown, what: string): string {
  if (typeof id !== "string" || id === "") {
    throw new TypeError(`Cannot ${what}: expected an id string`);
  }
  if (hasControlOrC1(id)) {
    throw new TypeError(
      `Cannot ${what}: the id ${
        JSON.stringify(id)
      } contains a control character`,
    );
  }
  if (id.length > MAX_ID) {
    throw new RangeError(
      `Cannot ${what}: the id is longer than ${MAX_ID} characters`,
    );
  }
  return id;
}

function storedSendOptions(
  options: OutboxSendOptions | undefined,
): OutboxSendOptions | undefined {
  if (options === undefined) return undefined;
  checkSendOptions(options);
  for (const key of Object.keys(options)) {
    if (key === "signal") {
      throw new TypeError(
        "Cannot enqueue with sendOptions.signal: a signal cannot be stored",
      );
    }
    if (key !== "dsn" && key !== "requireTls") {
      throw new TypeError(
        `Cannot enqueue with sendOptions: unknown option ${
          JSON.stringify(key)
        }`,
      );
    }
  }
  const kept: OutboxSendOptions = {};
  if (options.dsn !== undefined) kept.dsn = structuredClone(options.dsn);
  if (options.requireTls !== undefined) kept.requireTls = options.requireTls;
  return kept;
}

/** The public view of a record. */
function toEntry(record: EntryRecord): OutboxEntry {
  const entry: OutboxEntry = {
    id: record.id,
    state: record.state,
    attempts: record.attempts,
    createdAt: new Date(record.createdAt),
    updatedAt: new Date(record.updatedAt),
    messageId: record.messageId,
    envelope: { from: record.from, to: [...record.to] },
    recipients: record.to.map((address, i) => {
      const r = record.recipients[i]!;
      return {
        address,
        state: r.state,
        ...(r.reply ? { reply: structuredClone(r.reply) } : {}),
      };
    }),
  };
  if (record.dueAt !== undefined) entry.nextAttemptAt = new Date(record.dueAt);
  if (record.lastError) entry.lastError = { ...record.lastError };
  if (record.maybeDuplicate) entry.maybeDuplicate = true;
  return entry;
}

/**
 * Whether a failure means the server cannot be reached or used at all for
 * now: the pass then takes no further entry (they would fail the same way,
 * each spending an attempt).
 */
function serverDown(error: unknown): boolean {
  if (!(error instanceof SmtpError) || error.maybeDelivered) return false;
  if (error.kind !== "reply") return error.kind !== "unsupported";
  const command = error.command?.toUpperCase();
  return error.code === 421 || command === "CONNECT" || command === "EHLO" ||
    command === "HELO" || command === "LHLO";
}

async function openDefaultKv(): Promise<Deno.Kv> {
  if (typeof Deno?.openKv !== "function") {
    throw new TypeError(
      "Cannot open the outbox: Deno KV is not available (run deno with --unstable-kv, or pass a kv)",
    );
  }
  return await Deno.openKv();
}

/**
 * A durable outbox on Deno KV: `enqueue()` stores a message and resolves
 * once it is on disk (or in Deno Deploy's database), so a request handler
 * answers at once and nothing is lost when the relay is down, the isolate
 * is evicted or the process is killed. Deliveries (`deliver()` from a
 * `Deno.cron`, or `listen()` in a long-lived process) send due entries
 * through a transport and record what the server said, recipient by
 * recipient:
 *
 * - every recipient accepted → "sent", with the server's reply;
 * - a permanent refusal (5xx to MAIL, RCPT or the data) → that recipient is
 *   "rejected"; when no recipient is left pending, the entry is "sent" if
 *   any was accepted, else "failed";
 * - a temporary failure (4xx, timeout, dropped or refused connection, and
 *   failures of the session itself: greeting, EHLO, TLS, authentication)
 *   → back to "queued" for the recipients still pending, only those, at the
 *   next time of the retry schedule; "failed" once it is spent;
 * - a connection lost after the end of the data (`maybeDelivered`) →
 *   retried (at least once delivery, the same Message-ID) and marked
 *   `maybeDuplicate`.
 *
 * Any number of processes (or Deploy isolates) may deliver from one KV: an
 * entry is taken with a lease by an atomic compare-and-set, so each due
 * entry goes to one of them; when a delivery dies, its lease ends
 * (`leaseDuration`) and the entry is due again. SQLite-backed KV calls that
 * meet "database is locked" are made again.
 *
 * @example Enqueue in a handler, deliver later
 * ```ts
 * import { Outbox } from "@x/sendmail/outbox";
 * import { startTestServer } from "@x/sendmail/testing";
 * import assert from "node:assert/strict";
 *
 * await using server = await startTestServer();
 * const kv = await Deno.openKv(":memory:");
 * try {
 *   await using outbox = await Outbox.open({ kv, transport: server.clientOptions });
 *   const entry = await outbox.enqueue(
 *     { from: "app@example.com", to: "ada@example.com", subject: "Welcome", text: "Hi" },
 *     { id: "welcome-ada" },
 *   );
 *   assert.equal(entry.state, "queued");
 *   assert.deepEqual(await outbox.deliver(), { attempted: 1, sent: 1, retried: 0, failed: 0 });
 *   assert.equal((await outbox.get("welcome-ada"))?.state, "sent");
 *   assert.equal(server.messages.length, 1);
 * } finally {
 *   kv.close();
 * }
 * ```
 */
export class Outbox implements AsyncDisposable {
  readonly #store: OutboxStore;
  readonly #kv: Deno.Kv;
  readonly #ownsKv: boolean;
  readonly #transport: OwnTransport;
  readonly #ownsTransport: boolean;
  readonly #policy: RetryPolicy;
  readonly #leaseDuration: number;
  readonly #maxMessageSize: number;
  readonly #pollInterval: number;
  readonly #concurrency: number;
  readonly #retention: number;
  #closing: Promise<void> | undefined;
  /** Enqueues and passes in flight: close() waits for them. */
  readonly #tasks = new Set<Promise<unknown>>();
  /** Listeners asleep, and whether a wake-up came while none was. */
  readonly #sleepers = new Set<() => void>();
  #woken = false;
  #listeners = 0;
  #queueTried = false;
  #lastSweep = 0;

  private constructor(
    kv: Deno.Kv,
    ownsKv: boolean,
    transport: OwnTransport,
    ownsTransport: boolean,
    settings: {
      policy: RetryPolicy;
      leaseDuration: number;
      maxMessageSize: number;
      pollInterval: number;
      concurrency: number;
      retention: number;
    },
  ) {
    this.#kv = kv;
    this.#ownsKv = ownsKv;
    this.#store = new KvStore(kv);
    this.#transport = transport;
    this.#ownsTransport = ownsTransport;
    this.#policy = settings.policy;
    this.#leaseDuration = settings.leaseDuration;
    this.#maxMessageSize = settings.maxMessageSize;
    this.#pollInterval = settings.pollInterval;
    this.#concurrency = settings.concurrency;
    this.#retention = settings.retention;
  }

  /**
   * Opens an outbox.
   *
   * @param options The store, the transport, the retry schedule and limits.
   * @returns The outbox.
   * @throws {TypeError | RangeError} Misused options (checked before the KV
   * is opened or a connection made), or Deno KV missing (`--unstable-kv`).
   *
   * @example From a URL, with a short retry schedule
   * ```ts ignore
   * import { Outbox } from "@x/sendmail/outbox";
   *
   * const outbox = await Outbox.open({
   *   transport: "smtps://app:secret@smtp.example.com",
   *   retry: { delays: [30_000, 300_000, 3_600_000], maxAge: 86_400_000 },
   * });
   * ```
   */
  static async open(options: OutboxOptions): Promise<Outbox> {
    if (typeof options !== "object" || options === null) {
      throw new TypeError("Cannot open the outbox: expected options");
    }
    for (const key of Object.keys(options)) {
      if (!OPTIONS.has(key)) {
        throw new TypeError(
          `Cannot open the outbox: unknown option ${JSON.stringify(key)}`,
        );
      }
    }
    const policy = resolveRetry(options.retry);
    const settings = {
      policy,
      leaseDuration: numberOption(
        "leaseDuration",
        options.leaseDuration,
        600_000,
        { min: 1 },
      ),
      maxMessageSize: numberOption(
        "maxMessageSize",
        options.maxMessageSize,
        10 * 1024 * 1024,
        { min: 1 },
      ),
      pollInterval: numberOption("pollInterval", options.pollInterval, 5_000, {
        min: 1,
      }),
      concurrency: numberOption("concurrency", options.concurrency, 10, {
        min: 1,
      }),
      retention: numberOption("retention", options.retention, 604_800_000, {
        min: 0,
        finite: false,
      }),
    };
    const { kv } = options;
    if (
      kv !== undefined &&
      (typeof kv !== "object" || kv === null ||
        typeof (kv as Deno.Kv).atomic !== "function")
    ) {
      throw new TypeError("Cannot open the outbox: kv is not a Deno.Kv");
    }
    const given = options.transport;
    if (given === undefined) {
      throw new TypeError("Cannot open the outbox: transport is required");
    }
    const owned = !isTransport(given);
    const transport: OwnTransport = owned ? ownTransport(given) : given;
    let store: Deno.Kv;
    try {
      store = kv ?? await openDefaultKv();
    } catch (error) {
      if (owned) await transport.close();
      throw error;
    }
    return new Outbox(store, kv === undefined, transport, owned, settings);
  }

  /**
   * Stores a message for delivery. A `Mail` is composed now, so its
   * Message-ID is fixed and the same bytes go out on every attempt; a
   * `RawMessage` is stored as given (a stream is read as it is stored).
   * Resolves once the entry and its bytes are durable.
   *
   * @param message The message.
   * @param options An id (idempotency key), a delay, DSN and REQUIRETLS.
   * @returns The new entry, "queued"; or, when an entry with this `id`
   * exists, that entry unchanged (the message is not read).
   * @throws {TypeError} No recipient, a bad address, a malformed message or
   * option: nothing is stored.
   * @throws {RangeError} The message is larger than `maxMessageSize`, or has
   * more than 100 recipients: nothing is stored.
   *
   * @example Idempotent on the id
   * ```ts
   * import { Outbox } from "@x/sendmail/outbox";
   * import assert from "node:assert/strict";
   *
   * const kv = await Deno.openKv(":memory:");
   * const outbox = await Outbox.open({ kv, transport: "smtp://127.0.0.1:2525?tls=none" });
   * const mail = { from: "shop@example.com", to: "bob@example.com", subject: "Order 42", text: "Shipped" };
   * const first = await outbox.enqueue(mail, { id: "order-42-shipped" });
   * const again = await outbox.enqueue(mail, { id: "order-42-shipped" });
   * assert.equal(again.messageId, first.messageId);
   * assert.equal((await outbox.list()).length, 1);
   * await outbox.close();
   * kv.close();
   * ```
   */
  enqueue(
    message: Mail | RawMessage,
    options: EnqueueOptions = {},
  ): Promise<OutboxEntry> {
    let prepared: ReturnType<typeof openMessage>;
    let id: string | undefined;
    let delay: number;
    let sendOptions: OutboxSendOptions | undefined;
    try {
      this.#assertOpen();
      if (typeof options !== "object" || options === null) {
        throw new TypeError("Cannot enqueue message: expected options");
      }
      for (const key of Object.keys(options)) {
        if (key !== "id" && key !== "delay" && key !== "sendOptions") {
          throw new TypeError(
            `Cannot enqueue message: unknown option ${JSON.stringify(key)}`,
          );
        }
      }
      if (options.id !== undefined) id = checkId(options.id, "enqueue message");
      delay = numberOption("delay", options.delay, 0, {
        min: 0,
        integer: false,
      });
      sendOptions = storedSendOptions(options.sendOptions);
      prepared = openMessage(message);
      if (
        prepared.size !== undefined && prepared.size > this.#maxMessageSize
      ) {
        prepared.readable.cancel().catch(() => {});
        throw new RangeError(
          `Cannot enqueue message: larger than maxMessageSize (${this.#maxMessageSize} octets)`,
        );
      }
    } catch (error) {
      return Promise.reject(error);
    }
    const source = prepared;
    return this.#track(async () => {
      if (id !== undefined) {
        const existing = await this.#store.get(id);
        if (existing) {
          await source.readable.cancel().catch(() => {});
          return toEntry(existing.record);
        }
      }
      const entryId = id ?? crypto.randomUUID();
      const now = Date.now();
      let messageId = source.messageId;
      const readable = messageId === undefined
        ? tapMessageId(source.readable, (found) => messageId = found)
        : source.readable;
      const wakeIn = this.#listeners > 0 && this.#store.wakeUps
        ? delay
        : undefined;
      const { stored, created } = await this.#store.create(
        () => ({
          version: 1,
          id: entryId,
          state: "queued",
          attempts: 0,
          createdAt: now,
          updatedAt: now,
          since: now,
          dueAt: Math.ceil(now + delay),
          messageId: messageId ?? "",
          from: source.from,
          to: source.to,
          recipients: source.to.map(() => ({ state: "pending" })),
          ...(sendOptions ? { sendOptions } : {}),
        }),
        readable,
        this.#maxMessageSize,
        wakeIn,
      );
      if (created && delay === 0) this.#wake();
      return toEntry(stored.record);
    });
  }

  /**
   * Reads an entry.
   *
   * @param id The entry's id.
   * @returns The entry, or `undefined` when there is none (or it was
   * deleted after its retention).
   * @throws {TypeError} The id is not a string.
   *
   * @example
   * ```ts ignore
   * const entry = await outbox.get("order-42-shipped");
   * if (entry?.state === "failed") console.log(entry.lastError?.message);
   * ```
   */
  async get(id: string): Promise<OutboxEntry | undefined> {
    this.#assertOpen();
    checkId(id, "get the outbox entry");
    const stored = await this.#store.get(id);
    return stored ? toEntry(stored.record) : undefined;
  }

  /**
   * Lists entries, oldest first: queued and sending ones by the time they
   * were enqueued, settled ones by the time they were settled (after the
   * open ones of the same age).
   *
   * @param options A state to keep, and how many at most.
   * @returns The entries.
   * @throws {TypeError | RangeError} An unknown state, a bad limit.
   *
   * @example What is stuck
   * ```ts ignore
   * for (const entry of await outbox.list({ state: "failed" })) {
   *   console.log(entry.id, entry.lastError?.message);
   * }
   * ```
   */
  async list(options: OutboxListOptions = {}): Promise<OutboxEntry[]> {
    this.#assertOpen();
    const { state } = options;
    if (state !== undefined && !STATES.has(state)) {
      throw new TypeError(
        `Cannot list the outbox: unknown state ${JSON.stringify(state)}`,
      );
    }
    const limit = numberOption("limit", options.limit, 100, { min: 1 });
    const records = await this.#store.list(state, limit);
    return records.map(toEntry);
  }

  /**
   * One delivery pass: takes the entries due now (a lease on each), sends
   * them through the transport (`concurrency` at once) and records each
   * outcome. Entries that become due during the pass wait for the next. A
   * pass stops taking entries when the server cannot be reached or used.
   * For `Deno.cron`, or a queue runner (`sendmail -q`).
   *
   * @param options How many entries at most; a signal that stops the pass.
   * @returns What the pass did.
   * @throws {Error} The store failed (the entries being sent are recorded
   * first; what could not be is due again when its lease ends).
   *
   * @example Every minute on Deno Deploy
   * ```ts ignore
   * Deno.cron("outbox", "* * * * *", () => outbox.deliver());
   * ```
   */
  deliver(options: DeliverOptions = {}): Promise<DeliverResult> {
    try {
      this.#assertOpen();
      if (typeof options !== "object" || options === null) {
        throw new TypeError("Cannot deliver: expected options");
      }
      const limit = numberOption("limit", options.limit, Infinity, {
        min: 1,
        finite: false,
      });
      if (
        options.signal !== undefined && !(options.signal instanceof AbortSignal)
      ) {
        throw new TypeError("Cannot deliver: signal is not an AbortSignal");
      }
      return this.#track(() => this.#pass(limit, options.signal));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Delivers continuously: a pass, then a wait until an entry is due (its
   * time known from the store), an `enqueue()` of this outbox, a KV queue
   * message (where the runtime has KV queues: other processes' and
   * isolates' enqueues wake it too), or `pollInterval` at most.
   *
   * On a runtime with KV queues this registers `kv.listenQueue` (once per
   * outbox, for as long as the `Deno.Kv` is open), which a `Deno.Kv` allows
   * once: give the outbox a KV of its own if your code listens to that
   * queue too. Wake-up messages are posted only while an outbox of this
   * process listens, so a KV that only `deliver()` reads gathers none.
   *
   * @param options A signal that stops it.
   * @returns Once the signal aborts or the outbox is closed.
   * @throws {Error} The store failed.
   *
   * @example In the process that serves requests
   * ```ts ignore
   * const outbox = await Outbox.open({ transport: Deno.env.get("SMTP_URL")! });
   * outbox.listen();
   * Deno.serve(async (request) => {
   *   await outbox.enqueue({ from: "app@example.com", to: "ops@example.com", subject: "Hit", text: request.url });
   *   return new Response(null, { status: 202 });
   * });
   * ```
   */
  async listen(options: ListenOptions = {}): Promise<void> {
    this.#assertOpen();
    const { signal } = options;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new TypeError("Cannot listen: signal is not an AbortSignal");
    }
    if (!this.#queueTried) {
      this.#queueTried = true;
      this.#store.listenForWakeUps(() => this.#wake());
    }
    this.#listeners++;
    try {
      while (!signal?.aborted && this.#closing === undefined) {
        const { attempted } = await this.#track(() =>
          this.#pass(Infinity, signal)
        );
        if (signal?.aborted || this.#closing !== undefined) break;
        const next = await this.#store.nextDue();
        // An entry due that nobody could take (another process just did):
        // look again shortly rather than at once.
        const least = attempted === 0 ? Math.min(this.#pollInterval, 100) : 0;
        const wait = next === undefined
          ? this.#pollInterval
          : Math.max(least, Math.min(this.#pollInterval, next - Date.now()));
        await this.#sleep(wait, signal);
      }
    } catch (error) {
      if (this.#closing !== undefined) return;
      throw error;
    } finally {
      this.#listeners--;
    }
  }

  /**
   * Takes a queued entry out of the queue ("cancelled"); its bytes are
   * deleted.
   *
   * @param id The entry's id.
   * @returns The entry as cancelled.
   * @throws {Error} There is no such entry, or it is not "queued" (a
   * delivery holds it, or it is settled).
   *
   * @example
   * ```ts ignore
   * await outbox.cancel("order-42-shipped");
   * ```
   */
  async cancel(id: string): Promise<OutboxEntry> {
    this.#assertOpen();
    checkId(id, "cancel the outbox entry");
    return await this.#track(async () => {
      for (;;) {
        const stored = await this.#existing(id, "cancel");
        const { record } = stored;
        if (record.state !== "queued") {
          throw new Error(
            `Cannot cancel outbox entry ${
              JSON.stringify(id)
            }: it is ${record.state}`,
          );
        }
        const now = Date.now();
        const next: EntryRecord = {
          ...record,
          state: "cancelled",
          updatedAt: now,
          settledAt: now,
        };
        delete next.dueAt;
        delete next.body;
        const saved = await this.#store.replace(stored, next, {
          dropBody: true,
        });
        if (saved) return toEntry(saved.record);
      }
    });
  }

  /**
   * Queues an entry again, due now: a "failed" one (its recipients that
   * were not accepted are pending again, its attempts start from 0 and its
   * `maxAge` from now), or a "queued" one whose next attempt is later.
   *
   * @param id The entry's id.
   * @returns The entry as queued.
   * @throws {Error} There is no such entry, or it is not "failed" or
   * "queued".
   *
   * @example
   * ```ts ignore
   * for (const entry of await outbox.list({ state: "failed" })) await outbox.retry(entry.id);
   * ```
   */
  async retry(id: string): Promise<OutboxEntry> {
    this.#assertOpen();
    checkId(id, "retry the outbox entry");
    const entry = await this.#track(async () => {
      for (;;) {
        const stored = await this.#existing(id, "retry");
        const { record } = stored;
        if (record.state !== "failed" && record.state !== "queued") {
          throw new Error(
            `Cannot retry outbox entry ${
              JSON.stringify(id)
            }: it is ${record.state}`,
          );
        }
        if (record.body === undefined) {
          throw new Error(
            `Cannot retry outbox entry ${
              JSON.stringify(id)
            }: its message is gone`,
          );
        }
        const now = Date.now();
        const next: EntryRecord = { ...record, updatedAt: now, dueAt: now };
        if (record.state === "failed") {
          next.state = "queued";
          next.attempts = 0;
          next.since = now;
          next.recipients = record.recipients.map((r) =>
            r.state === "accepted" ? r : { ...r, state: "pending" }
          );
          delete next.settledAt;
        }
        const saved = await this.#store.replace(stored, next);
        if (saved) return toEntry(saved.record);
      }
    });
    this.#wake();
    return entry;
  }

  /**
   * Closes the outbox: listeners stop, passes take no further entry and
   * their sends in flight finish and are recorded, enqueues in flight
   * finish; then the transport the outbox built (not one it was given) and
   * the KV it opened (not one it was given) are closed. Safe to call more
   * than once.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const wake of this.#sleepers) wake();
      while (this.#tasks.size > 0) {
        await Promise.allSettled([...this.#tasks]);
      }
      if (this.#ownsTransport) await this.#transport.close();
      if (this.#ownsKv) this.#kv.close();
    })();
    return this.#closing;
  }

  /** Same as {@linkcode Outbox.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ——— delivery ———

  /**
   * One pass. Entries are taken ahead of the sends, in batches (one read
   * and, mostly, one atomic write per batch), so that `concurrency` sends
   * stay in flight; entries taken but not started when the pass stops are
   * handed back as they were.
   */
  async #pass(
    limit: number,
    signal: AbortSignal | undefined,
  ): Promise<DeliverResult> {
    const result: DeliverResult = {
      attempted: 0,
      sent: 0,
      retried: 0,
      failed: 0,
    };
    const started = Date.now();
    /** How many entries are taken ahead of the sends, in one batch. */
    const ahead = Math.max(this.#concurrency, TAKE_AHEAD);
    /** Sends in flight, and outcomes being written. */
    const inFlight = new Set<Promise<void>>();
    const recording = new Set<Promise<void>>();
    /**
     * Taken and not started yet, with the record as it was before and its
     * bytes, whose first chunk is read at once: a send on a pipelining
     * connection waits for its first bytes before it writes a command, so
     * they had better be there.
     */
    const ready: {
      taken: Stored;
      before: EntryRecord;
      bytes: Uint8Array | ReadableStream<Uint8Array>;
    }[] = [];
    let takenCount = 0;
    let taking: Promise<void> | undefined;
    let stop = false;
    let failure: { error: unknown } | undefined;
    let cursor: string | undefined;
    let exhausted = false;
    /** Due ids listed and not tried yet. */
    let candidates: string[] = [];
    const stopped = () =>
      stop || failure !== undefined || signal?.aborted === true ||
      this.#closing !== undefined;

    const takeBatch = async (): Promise<void> => {
      if (candidates.length === 0) {
        const due = await this.#store.due(
          started,
          Math.min(2 * this.#concurrency, 100),
          cursor,
        );
        cursor = due.cursor;
        exhausted = cursor === undefined;
        // Processes that deliver together start from the same keys:
        // shuffled, they collide less.
        candidates = shuffle(due.ids);
      }
      const room = Math.min(ahead, limit - takenCount);
      const found = await this.#store.getMany(candidates.splice(0, room));
      const taken = await Promise.all(
        found.map(async (stored) => {
          const taken = stored && await this.#take(stored);
          return taken && {
            taken,
            before: stored.record,
            bytes: this.#bytes(taken.record),
          };
        }),
      );
      for (const entry of taken) {
        if (entry) {
          ready.push(entry);
          takenCount++;
        }
      }
    };
    const start = (
      taken: Stored,
      bytes: Uint8Array | ReadableStream<Uint8Array>,
    ): void => {
      result.attempted++;
      // The slot is free once the server has answered; the outcome is
      // written meanwhile (grouped with others).
      const task = this.#attempt(taken, bytes).then(
        ({ recorded, down }) => {
          if (down) stop = true;
          const tracked = recorded.then(
            (verdict) => {
              if (verdict !== "lost") result[verdict]++;
            },
            (error) => {
              failure ??= { error };
            },
          ).finally(() => recording.delete(tracked));
          recording.add(tracked);
        },
        (error) => {
          failure ??= { error };
        },
      );
      const tracked = task.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
    };

    try {
      while (!stopped()) {
        // Outcomes written more slowly than sends end: wait for them.
        while (recording.size > Math.max(4 * this.#concurrency, 64)) {
          await Promise.race(recording);
        }
        while (
          ready.length > 0 && inFlight.size < this.#concurrency && !stopped()
        ) {
          const { taken, bytes } = ready.shift()!;
          start(taken, bytes);
        }
        if (stopped()) break;
        const more = takenCount < limit &&
          (candidates.length > 0 || !exhausted);
        if (!taking && more && ready.length < ahead) {
          taking = takeBatch().catch((error) => {
            failure ??= { error };
          }).finally(() => taking = undefined);
        }
        if (!taking && ready.length === 0 && !more) break;
        await Promise.race([...inFlight, ...(taking ? [taking] : [])]);
      }
    } finally {
      await taking;
      await Promise.all(inFlight);
      await Promise.all(recording);
      // Taken, never sent: back as they were, due when they were due.
      for (const { taken, before, bytes } of ready.splice(0)) {
        await release(bytes);
        try {
          await this.#store.replace(taken, {
            ...before,
            updatedAt: Date.now(),
          });
        } catch (error) {
          failure ??= { error };
        }
      }
    }
    if (failure === undefined && this.#closing === undefined) {
      try {
        await this.#sweep();
      } catch (error) {
        failure = { error };
      }
    }
    if (failure) throw failure.error;
    return result;
  }

  /** Takes an entry for this delivery, if it is due and no one took it first. */
  async #take(stored: Stored): Promise<Stored | undefined> {
    const { record } = stored;
    const now = Date.now();
    const due = record.dueAt !== undefined && record.dueAt <= now;
    if (!due || (record.state !== "queued" && record.state !== "sending")) {
      return undefined;
    }
    const next: EntryRecord = {
      ...record,
      state: "sending",
      attempts: record.attempts + 1,
      updatedAt: now,
      dueAt: now + this.#leaseDuration,
      lease: crypto.randomUUID(),
    };
    // A lease that ran out: the delivery that held it may have sent it.
    if (record.state === "sending") next.maybeDuplicate = true;
    return await this.#store.replace(stored, next, { urgent: true });
  }

  /**
   * Sends an entry and resolves once the server answered, with the write of
   * the outcome under way.
   */
  async #attempt(
    stored: Stored,
    bytes: Uint8Array | ReadableStream<Uint8Array>,
  ): Promise<{ recorded: Promise<Verdict | "lost">; down: boolean }> {
    const { record } = stored;
    const pending = record.to.filter((_, i) =>
      record.recipients[i]!.state === "pending"
    );
    const outcomes: SendOutcome[] = [];
    let down = false;
    if (pending.length > 0) {
      try {
        outcomes.push({
          to: pending,
          result: await this.#send(record, pending, bytes),
        });
      } catch (error) {
        down = serverDown(error);
        if (needsSplit(error, pending.length)) {
          // Every recipient refused, not all for now: find out which.
          for (const address of pending) {
            try {
              outcomes.push({
                to: [address],
                result: await this.#send(record, [address]),
              });
            } catch (error) {
              outcomes.push({ to: [address], error });
            }
          }
        } else {
          outcomes.push({ to: pending, error });
        }
      }
    } else {
      await release(bytes);
    }
    const now = Date.now();
    const { record: next, verdict } = applyAttempt(
      record,
      outcomes,
      now,
      this.#policy,
      Math.random(),
    );
    if (verdict === "sent") delete next.body;
    const recorded = this.#store.replace(stored, next, {
      dropBody: verdict === "sent",
      ...(verdict === "retried" ? { wakeIn: next.dueAt! - now } : {}),
    }).then((saved) => saved ? verdict : "lost" as const);
    return { recorded, down };
  }

  #send(
    record: EntryRecord,
    to: string[],
    bytes: Uint8Array | ReadableStream<Uint8Array> = this.#bytes(record),
  ): Promise<SendResult> {
    return this.#transport.send(
      { envelope: { from: record.from, to }, raw: bytes },
      record.sendOptions ? structuredClone(record.sendOptions) : {},
    );
  }

  /**
   * An entry's message: the bytes themselves when its record holds them,
   * else a stream whose first chunk is read at once.
   */
  #bytes(record: EntryRecord): Uint8Array | ReadableStream<Uint8Array> {
    return record.body?.bytes ?? this.#store.body(record);
  }

  async #sweep(): Promise<void> {
    const now = Date.now();
    if (now - this.#lastSweep < SWEEP_EVERY) return;
    this.#lastSweep = now;
    await this.#store.sweep(
      now - this.#retention,
      now - Math.max(this.#leaseDuration, UPLOAD_TIMEOUT),
    );
  }

  // ——— plumbing ———

  async #existing(id: string, what: string): Promise<Stored> {
    const stored = await this.#store.get(id);
    if (!stored) {
      throw new Error(
        `Cannot ${what} outbox entry ${JSON.stringify(id)}: there is none`,
      );
    }
    return stored;
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) {
      throw new Error("Cannot use the outbox: it is closed");
    }
  }

  /** Runs a task close() waits for. */
  #track<T>(run: () => Promise<T>): Promise<T> {
    const task = run();
    const settled = task.then(() => {}, () => {});
    this.#tasks.add(settled);
    settled.then(() => this.#tasks.delete(settled));
    return task;
  }

  #wake(): void {
    if (this.#sleepers.size === 0) {
      this.#woken = true;
      return;
    }
    for (const wake of this.#sleepers) wake();
  }

  /** Waits `ms`, or less when woken, aborted or closed. */
  #sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.#woken) {
      this.#woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#sleepers.delete(done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#sleepers.add(done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }
}

/** Lets go of a message stream that will not be sent. */
async function release(
  bytes: Uint8Array | ReadableStream<Uint8Array>,
): Promise<void> {
  if (bytes instanceof ReadableStream) await bytes.cancel().catch(() => {});
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
