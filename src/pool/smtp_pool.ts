import { SmtpError } from "../protocol/smtp_error.ts";
import type { Mail } from "../mime/mail.ts";
import { checkSendOptions } from "../session/_envelope.ts";
import { internals, type SendPhase } from "../session/_internals.ts";
import { resolveOptions } from "../session/_resolve_options.ts";
import type { MailTransport } from "../session/mail_transport.ts";
import { parseSmtpUrl } from "../session/parse_smtp_url.ts";
import type { RawMessage } from "../session/raw_message.ts";
import type { SendOptions } from "../session/send_options.ts";
import type { SendResult } from "../session/send_result.ts";
import { SmtpClient } from "../session/smtp_client.ts";
import type { SmtpClientOptions } from "../session/smtp_client_options.ts";
import {
  clientOptionsOf,
  isThrottling,
  POOL_KEYS,
  type PoolSettings,
  replayable,
  resolvePoolSettings,
  retryable,
  throttlePause,
} from "./_pool_settings.ts";
import { RateWindow } from "./_rate_window.ts";

/** Options of {@linkcode SmtpPool}: a client's, and the pool's own. */
export interface SmtpPoolOptions extends SmtpClientOptions {
  /**
   * The most connections open at once, counting those still opening (and
   * those saying QUIT): a hard cap, never exceeded.
   * @default {5}
   */
  maxConnections?: number;
  /**
   * Messages one connection sends; then it says QUIT at once and a fresh
   * connection takes over.
   * @default {100}
   */
  maxMessagesPerConnection?: number;
  /**
   * How long an idle connection is kept, in ms; then it says QUIT. `0`
   * closes a connection as soon as nothing is queued for it.
   * @default {30000}
   */
  idleTimeout?: number;
  /**
   * At most `messages` messages begin (their MAIL is sent) in any window of
   * `per` ms, across the whole pool: a sliding window, checked before a
   * message is assigned to a connection, so no burst exceeds it.
   */
  rateLimit?: { messages: number; per: number };
}

/** What a pool holds at a moment. */
export interface SmtpPoolStats {
  /** Connections open or opening (or saying QUIT). */
  connections: number;
  /** Open connections with nothing to send. */
  idle: number;
  /** Sends waiting for a connection. */
  queued: number;
}

/**
 * How many sends one connection holds at once when it pipelines with DATA:
 * the next message's MAIL, RCPT and DATA go out right behind the previous
 * message's data, so each message waits one round trip, not two. With BDAT
 * a message is one round trip anyway, and a connection holds one send at a
 * time (the client would handle two: a send behind an envelope not answered
 * yet starts with RSET; the pool's tests count on one).
 */
const PIPELINE_DEPTH = 2;
/** A connection idle this long gets a NOOP before it is used again, in ms. */
const PROBE_AFTER = 10_000;
/** How long that NOOP may take before the connection is replaced, in ms. */
const PROBE_TIMEOUT = 10_000;
/** After a cut in connections, one more is allowed again after this, ms. */
const RECOVER_AFTER = 30_000;

/** A send given to the pool. */
interface Entry {
  message: Mail | RawMessage;
  options: SendOptions;
  resolve(result: SendResult): void;
  reject(reason: unknown): void;
  /** Attempts made so far (a retry is the second). */
  attempts: number;
  state: "queued" | "sending" | "done";
  /** A retry goes to a connection numbered this or higher, when it can. */
  after: number;
  onAbort: (() => void) | undefined;
}

/** One connection of the pool. */
class Slot {
  readonly id: number;
  readonly controller: AbortController = new AbortController();
  client: SmtpClient | undefined;
  state: "opening" | "ready" | "probing" | "retiring" = "opening";
  /** Sends assigned and not settled. */
  active = 0;
  /** Sends ever assigned. */
  assigned = 0;
  /** How many sends it may hold at once. */
  depth = 1;
  idleSince = 0;
  idleTimer: ReturnType<typeof setTimeout> | undefined;
  opening: Promise<void> = Promise.resolve();
  gone: Promise<void> | undefined;

  constructor(id: number) {
    this.id = id;
  }
}

/** A first-in first-out list of entries with O(1) ends. */
class EntryQueue {
  #items: (Entry | undefined)[] = [];
  #head = 0;

  push(entry: Entry): void {
    this.#items.push(entry);
  }

  /** The oldest entry still queued, dropping settled ones on the way. */
  peek(): Entry | undefined {
    while (this.#head < this.#items.length) {
      const entry = this.#items[this.#head]!;
      if (entry.state === "queued") return entry;
      this.#items[this.#head++] = undefined;
    }
    this.#compact();
    return undefined;
  }

  shift(): Entry | undefined {
    const entry = this.peek();
    if (entry) {
      this.#items[this.#head++] = undefined;
      this.#compact();
    }
    return entry;
  }

  /** Takes every entry out, oldest first. */
  drain(): Entry[] {
    const entries = this.#items.slice(this.#head) as Entry[];
    this.#items = [];
    this.#head = 0;
    return entries;
  }

  #compact(): void {
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }
}

/**
 * A pool of SMTP connections to one server: sends are queued and spread
 * over at most `maxConnections` connections, which stay open between
 * messages (an edge function's next notification costs one round trip, not
 * a new session), and a rate limit holds across all of them.
 *
 * - A connection takes a second send while the first is under way when the
 *   server offers PIPELINING: its commands go out right behind the first
 *   message's data (RFC 2920 §3.1).
 * - After `maxMessagesPerConnection` messages a connection says QUIT at
 *   once; after `idleTimeout` ms with nothing to send, too. An idle
 *   connection is watched: a server that closes it, or sends 421, retires
 *   it. One idle for 10 s gets a NOOP before it is used again.
 * - A recipient or a message the server refuses fails only that send (the
 *   session is reset and kept); a 421 retires the connection.
 * - A send that failed before any of its data was written, because its
 *   connection turned out dead, or whose MAIL got 421, is retried once on
 *   another connection (not a message given as a stream, which the first
 *   attempt consumed). A send whose connection failed after the end of its
 *   data went out is never retried: it rejects with `maybeDelivered`.
 * - Throttling replies (421, 451, 454 with a 4.7.x code, "too many …")
 *   pause the pool (1 s, doubling up to 60 s while they go on) and halve
 *   the connections it uses; a server that refuses more connections keeps
 *   it at those it has. It grows back one connection every 30 s.
 * - `close()` waits for the sends under way, rejects the queued ones with
 *   an `SmtpError` of kind `"closed"`, says QUIT on every connection and
 *   resolves once every socket is closed.
 *
 * Messages go in order of `send()` calls; a retried one goes first.
 *
 * @example Sending a batch through a pool
 * ```ts
 * import { SmtpPool } from "@x/sendmail";
 * import { startTestServer } from "@x/sendmail/testing";
 * import assert from "node:assert/strict";
 *
 * await using server = await startTestServer();
 * await using pool = new SmtpPool({ ...server.clientOptions, maxConnections: 2 });
 * await Promise.all(
 *   ["a@example.com", "b@example.com", "c@example.com"].map((to) =>
 *     pool.send({ from: "me@example.com", to, subject: "Hi", text: "Hello" })
 *   ),
 * );
 * assert.equal(server.messages.length, 3);
 * ```
 *
 * @example A rate limit
 * ```ts ignore
 * import { SmtpPool } from "@x/sendmail";
 *
 * // At most 10 messages begin in any second, whatever the connections do.
 * const pool = new SmtpPool({
 *   hostname: "smtp.example.com",
 *   auth: { username: "news@example.com", password: Deno.env.get("SMTP_PASSWORD")! },
 *   rateLimit: { messages: 10, per: 1000 },
 * });
 * ```
 */
export class SmtpPool implements MailTransport, AsyncDisposable {
  #clientOptions: SmtpClientOptions;
  #settings: PoolSettings;
  #signal: AbortSignal | undefined;
  #probeTimeout: number;
  /** Whether the client uses BDAT where the server offers it. */
  #chunking: boolean;
  #window: RateWindow | undefined;
  #queue: EntryQueue = new EntryQueue();
  /** Sends to retry, before the queue. */
  #retries: EntryQueue = new EntryQueue();
  /** Entries queued (in both queues), not yet assigned. */
  #queued = 0;
  #slots: Set<Slot> = new Set();
  #nextId = 1;
  #inFlight: Set<Promise<void>> = new Set();
  /** The connections the pool may use now (≤ maxConnections). */
  #cap: number;
  #cutAt = 0;
  #strikes = 0;
  #pausedUntil = 0;
  #wake: ReturnType<typeof setTimeout> | undefined;
  #wakeTime = Infinity;
  #pumping = false;
  #again = false;
  #closing: Promise<void> | undefined;
  /** The pool's signal aborted: every send rejects with its reason. */
  #aborted: { reason: unknown } | undefined;
  #onAbort: () => void = () => this.#abort();

  /**
   * Creates a pool; connections open when messages are sent.
   *
   * @param options Where and how to connect (the options of
   * `SmtpClient.connect`) and the pool's own, or an `smtp://` / `smtps://`
   * URL (the pool's options at their defaults).
   * @throws {TypeError} An unknown option, or one of the wrong type.
   * @throws {RangeError} `maxConnections` or `maxMessagesPerConnection` not
   * an integer ≥ 1, `idleTimeout` < 0, `rateLimit.messages` < 1,
   * `rateLimit.per` ≤ 0, or a client option out of range (a port, a
   * timeout).
   */
  constructor(options: SmtpPoolOptions | string | URL) {
    const given: SmtpPoolOptions =
      typeof options === "string" || options instanceof URL
        ? parseSmtpUrl(options)
        : options;
    if (typeof given !== "object" || given === null) {
      throw new TypeError(
        "Cannot create pool: expected options with a hostname, or an smtp:// URL",
      );
    }
    this.#settings = resolvePoolSettings(given);
    // The client options are checked once, here: a misuse is found before
    // any message is queued.
    const session = resolveOptions(given, POOL_KEYS);
    this.#clientOptions = clientOptionsOf(given);
    this.#signal = session.signal;
    this.#probeTimeout = Math.min(session.timeouts.command, PROBE_TIMEOUT);
    this.#chunking = session.chunking;
    this.#cap = this.#settings.maxConnections;
    const rate = this.#settings.rateLimit;
    if (rate) this.#window = new RateWindow(rate.messages, rate.per);
    if (this.#signal?.aborted) {
      this.#aborted = { reason: this.#signal.reason };
    } else {
      this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
    }
  }

  /** Connections open or opening, those idle, and sends waiting. */
  get stats(): SmtpPoolStats {
    let idle = 0;
    for (const slot of this.#slots) {
      if (slot.state === "ready" && slot.active === 0) idle++;
    }
    return { connections: this.#slots.size, idle, queued: this.#queued };
  }

  /**
   * Queues one message; it goes on the first connection free for it.
   *
   * @param message A `Mail` to compose, or a `RawMessage` sent as given.
   * @param options DSN, REQUIRETLS and an abort signal (a send aborted
   * while queued leaves without touching any connection).
   * @returns Who was accepted and refused, and the server's final reply.
   * @throws {TypeError | RangeError} Misused options or a bad message;
   * nothing is sent.
   * @throws {SmtpError} The server refused the message, or its session
   * failed (`maybeDelivered` tells whether it failed after the end of the
   * data was sent); of kind `"closed"` when the pool is closed.
   */
  send(
    message: Mail | RawMessage,
    options: SendOptions = {},
  ): Promise<SendResult> {
    try {
      checkSendOptions(options);
      if (typeof message !== "object" || message === null) {
        throw new TypeError(
          "Cannot send message: expected a Mail or a RawMessage",
        );
      }
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#aborted) return Promise.reject(this.#aborted.reason);
    if (this.#closing) return Promise.reject(closedError());
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const { promise, resolve, reject } = Promise.withResolvers<SendResult>();
    const entry: Entry = {
      message,
      options,
      resolve,
      reject,
      attempts: 0,
      state: "queued",
      after: 0,
      onAbort: undefined,
    };
    if (signal) {
      entry.onAbort = () => {
        if (entry.state !== "queued") return;
        this.#queued--;
        this.#settleEntry(entry, undefined, signal.reason);
      };
      signal.addEventListener("abort", entry.onAbort, { once: true });
    }
    this.#queue.push(entry);
    this.#queued++;
    this.#pump();
    return promise;
  }

  /**
   * Waits for the sends under way, rejects the queued ones (an `SmtpError`
   * of kind `"closed"`), says QUIT on every connection and resolves once
   * every socket is closed. Never fails; may be called more than once.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  /** Same as {@linkcode SmtpPool.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ——— assigning sends to connections ———

  #pump(): void {
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = true;
    try {
      do {
        this.#again = false;
        this.#dispatch();
      } while (this.#again);
    } finally {
      this.#pumping = false;
    }
  }

  #dispatch(): void {
    if (this.#closing || this.#aborted) return;
    const now = performance.now();
    if (this.#queued > 0 && now < this.#pausedUntil) {
      this.#wakeAt(this.#pausedUntil, now);
      this.#retireSurplus();
      return;
    }
    while (this.#queued > 0) {
      // A retry goes first, on a connection opened after its failure; the
      // others need not wait for that one.
      const retry = this.#retries.peek();
      let from = this.#retries;
      let slot = retry ? this.#pick(retry.after) : undefined;
      if (!slot && this.#queue.peek()) {
        from = this.#queue;
        slot = this.#pick(0);
      }
      if (!slot) break;
      if (slot.active === 0 && now - slot.idleSince >= PROBE_AFTER) {
        this.#probe(slot);
        continue;
      }
      const window = this.#window;
      if (window) {
        const wait = window.delay(now);
        if (wait > 0) {
          if (wait !== Infinity) this.#wakeAt(now + wait, now);
          break;
        }
      }
      const entry = from.shift()!;
      this.#queued--;
      this.#assign(slot, entry);
    }
    this.#retireSurplus();
    this.#openForDemand(now);
  }

  /**
   * The connection for the next send: a ready one with room, the least
   * busy first, the most recently used among equals (so that surplus ones
   * go idle and time out). At most `#cap` connections carry sends at once.
   * A retry takes a connection numbered `after` or higher (opened after
   * its failure) unless none can be opened.
   */
  #pick(after: number): Slot | undefined {
    let busy = 0;
    let fresh = false;
    for (const slot of this.#slots) {
      if (slot.active > 0) busy++;
      if (slot.id >= after && slot.state !== "retiring") fresh = true;
    }
    if (after > 0 && !fresh && this.#slots.size >= this.#cap) after = 0;
    let best: Slot | undefined;
    for (const slot of this.#slots) {
      if (slot.state !== "ready" || slot.id < after) continue;
      if (slot.client!.closed) continue;
      if (slot.active >= slot.depth) continue;
      if (slot.assigned >= this.#settings.maxMessagesPerConnection) continue;
      if (slot.active > 0 ? busy > this.#cap : busy >= this.#cap) continue;
      if (
        !best || slot.active < best.active ||
        (slot.active === best.active && slot.idleSince > best.idleSince)
      ) {
        best = slot;
      }
    }
    return best;
  }

  #assign(slot: Slot, entry: Entry): void {
    const client = slot.client!;
    const { signal } = entry.options;
    if (signal?.aborted) {
      this.#settleEntry(entry, undefined, signal.reason);
      return;
    }
    entry.state = "sending";
    entry.attempts++;
    slot.active++;
    slot.assigned++;
    clearTimeout(slot.idleTimer);
    slot.idleTimer = undefined;
    const window = this.#window;
    window?.reserve();
    let phase: SendPhase = "queued";
    let begun = false;
    const onPhase = (next: SendPhase): void => {
      phase = next;
      if (!begun && next !== "queued") {
        begun = true;
        window?.begin(performance.now());
      }
    };
    // The pool's state is settled before the caller hears of the result:
    // the connection is idle again (or retired) when its send resolves.
    const settled: Promise<void> = internals.sendTracked(
      client,
      entry.message,
      entry.options,
      onPhase,
    ).then(
      (result) => {
        this.#inFlight.delete(settled);
        this.#delivered(result);
        this.#release(slot);
        this.#settleEntry(entry, result);
      },
      (error) => {
        this.#inFlight.delete(settled);
        if (!begun) window?.release();
        const retry = this.#failed(slot, entry, error, phase);
        this.#release(slot);
        if (!retry) this.#settleEntry(entry, undefined, error);
      },
    );
    this.#inFlight.add(settled);
  }

  #delivered(result: SendResult): void {
    if (result.rejected.some((r) => isThrottling(r.reply))) {
      this.#throttle();
      return;
    }
    this.#strikes = 0;
    const now = performance.now();
    if (
      this.#cap < this.#settings.maxConnections &&
      now - this.#cutAt >= RECOVER_AFTER
    ) {
      this.#cap++;
      this.#cutAt = now;
    }
  }

  /** A send failed: queues its retry and says so, or says it is over. */
  #failed(
    slot: Slot,
    entry: Entry,
    error: unknown,
    phase: SendPhase,
  ): boolean {
    const lost = slot.client!.closed;
    if (error instanceof SmtpError && isThrottling(error.reply)) {
      this.#throttle();
    }
    const { signal } = entry.options;
    if (
      entry.attempts < 2 && !this.#closing && !this.#aborted &&
      !signal?.aborted && retryable(error, phase, lost) &&
      replayable(entry.message)
    ) {
      entry.state = "queued";
      entry.after = this.#nextId;
      this.#retries.push(entry);
      this.#queued++;
      return true;
    }
    return false;
  }

  #settleEntry(entry: Entry, result?: SendResult, error?: unknown): void {
    entry.state = "done";
    if (entry.onAbort) {
      entry.options.signal?.removeEventListener("abort", entry.onAbort);
    }
    if (result) entry.resolve(result);
    else entry.reject(error);
  }

  /** A send on `slot` settled. */
  #release(slot: Slot): void {
    slot.active--;
    if (slot.state === "retiring") {
      this.#pump();
      return;
    }
    if (this.#closing) {
      if (slot.active === 0) this.#retire(slot);
      return;
    }
    if (slot.client!.closed) {
      // Sends still queued on it fail at once and are retried elsewhere.
      this.#retire(slot);
    } else if (
      slot.assigned >= this.#settings.maxMessagesPerConnection
    ) {
      if (slot.active === 0) this.#retire(slot);
    } else if (slot.active === 0) {
      slot.idleSince = performance.now();
    }
    this.#pump();
    if (slot.state === "ready" && slot.active === 0) this.#armIdle(slot);
  }

  // ——— opening, probing and closing connections ———

  #openForDemand(now: number): void {
    if (this.#closing || this.#aborted || now < this.#pausedUntil) return;
    let demand = this.#queued;
    if (demand === 0) return;
    if (this.#window) demand = Math.min(demand, this.#window.available(now));
    let coming = 0;
    let fresh = false;
    const after = this.#retries.peek()?.after ?? 0;
    for (const slot of this.#slots) {
      if (slot.state === "opening" || slot.state === "probing") coming++;
      if (slot.id >= after && slot.state !== "retiring") fresh = true;
    }
    if (after > 0 && !fresh && this.#slots.size < this.#cap) {
      this.#open();
      coming++;
    }
    while (this.#slots.size < this.#cap && demand > coming) {
      this.#open();
      coming++;
    }
  }

  #open(): void {
    const slot = new Slot(this.#nextId++);
    this.#slots.add(slot);
    slot.opening = SmtpClient.connect({
      ...this.#clientOptions,
      signal: slot.controller.signal,
    }).then(
      (client) => {
        slot.client = client;
        slot.state = "ready";
        slot.idleSince = performance.now();
        const caps = client.capabilities;
        const bdat = this.#chunking && caps.chunking && caps.pipelining;
        slot.depth = caps.pipelining && !bdat ? PIPELINE_DEPTH : 1;
        // Watched while idle, too: a close or a 421 retires it at once.
        internals.onClosed(client, () => {
          this.#retire(slot);
          this.#pump();
        });
        if (this.#closing || this.#aborted || client.closed) {
          this.#retire(slot);
          return;
        }
        this.#pump();
        if (slot.state === "ready" && slot.active === 0) this.#armIdle(slot);
      },
      (error) => {
        this.#slots.delete(slot);
        this.#openFailed(error);
      },
    );
  }

  #openFailed(error: unknown): void {
    if (this.#closing || this.#aborted) return;
    let live = 0;
    for (const slot of this.#slots) if (slot.state !== "retiring") live++;
    if (
      live === 0 || error instanceof TypeError || error instanceof RangeError
    ) {
      // Nothing else would send them: they fail with this connection.
      this.#rejectQueued(error);
      this.#cap = this.#settings.maxConnections;
    } else {
      // The server takes no more connections for now.
      this.#cap = Math.max(1, Math.min(this.#cap, live));
      this.#cutAt = performance.now();
    }
    this.#pump();
  }

  /** NOOP on a connection idle for a while, before it is used again. */
  #probe(slot: Slot): void {
    slot.state = "probing";
    clearTimeout(slot.idleTimer);
    slot.idleTimer = undefined;
    const timer = setTimeout(() => {
      slot.controller.abort(
        new SmtpError(
          `Cannot reuse the connection: no reply to NOOP within ${this.#probeTimeout} ms`,
          { kind: "timeout", command: "NOOP" },
        ),
      );
    }, this.#probeTimeout);
    slot.client!.noop().then(
      () => {
        clearTimeout(timer);
        if (slot.state !== "probing") return;
        slot.state = "ready";
        slot.idleSince = performance.now();
        this.#pump();
        if (slot.state === "ready" && slot.active === 0) this.#armIdle(slot);
      },
      () => {
        clearTimeout(timer);
        this.#retire(slot);
        this.#pump();
      },
    );
  }

  #armIdle(slot: Slot): void {
    if (this.#closing || slot.idleTimer !== undefined) return;
    slot.idleTimer = setTimeout(() => {
      slot.idleTimer = undefined;
      if (slot.state === "ready" && slot.active === 0) this.#retire(slot);
    }, this.#settings.idleTimeout);
  }

  /** Retires idle connections over the cap (after a throttling reply). */
  #retireSurplus(): void {
    let surplus = this.#slots.size - this.#cap;
    if (surplus <= 0) return;
    for (const slot of this.#slots) {
      if (surplus <= 0) break;
      if (slot.state === "ready" && slot.active === 0) {
        this.#retire(slot);
        surplus--;
      }
    }
  }

  /** QUIT (when the connection still works) and forget the connection. */
  #retire(slot: Slot): void {
    if (slot.state === "retiring" || slot.state === "opening") return;
    slot.state = "retiring";
    clearTimeout(slot.idleTimer);
    slot.idleTimer = undefined;
    const client = slot.client!;
    slot.gone = client.close().finally(() => {
      this.#slots.delete(slot);
      this.#pump();
    });
  }

  #throttle(): void {
    const now = performance.now();
    // Replies of one episode (several connections at once) count once.
    if (now < this.#pausedUntil) return;
    this.#strikes++;
    this.#pausedUntil = now + throttlePause(this.#strikes);
    this.#cap = Math.max(1, Math.floor(this.#cap / 2));
    this.#cutAt = now;
    this.#wakeAt(this.#pausedUntil, now);
  }

  #wakeAt(time: number, now: number): void {
    if (this.#closing || this.#aborted) return;
    if (this.#wake !== undefined && this.#wakeTime <= time) return;
    clearTimeout(this.#wake);
    this.#wakeTime = time;
    this.#wake = setTimeout(() => {
      this.#wake = undefined;
      this.#wakeTime = Infinity;
      this.#pump();
    }, Math.max(0, Math.ceil(time - now)));
  }

  #rejectQueued(reason: unknown): void {
    for (const queue of [this.#retries, this.#queue]) {
      for (const entry of queue.drain()) {
        if (entry.state !== "queued") continue;
        this.#settleEntry(entry, undefined, reason);
      }
    }
    this.#queued = 0;
  }

  #abort(): void {
    const reason = this.#signal!.reason;
    this.#aborted = { reason };
    clearTimeout(this.#wake);
    this.#wake = undefined;
    this.#rejectQueued(reason);
    for (const slot of this.#slots) slot.controller.abort(reason);
  }

  async #shutdown(): Promise<void> {
    this.#signal?.removeEventListener("abort", this.#onAbort);
    clearTimeout(this.#wake);
    this.#wake = undefined;
    const error = closedError();
    this.#rejectQueued(error);
    // Connections still opening have nothing to send any more.
    for (const slot of this.#slots) {
      if (slot.state === "opening") slot.controller.abort(error);
    }
    while (this.#inFlight.size > 0) {
      await Promise.allSettled([...this.#inFlight]);
    }
    while (this.#slots.size > 0) {
      const waits: Promise<void>[] = [];
      for (const slot of this.#slots) {
        if (slot.state === "opening") waits.push(slot.opening);
        else {
          this.#retire(slot);
          waits.push(slot.gone!);
        }
      }
      await Promise.allSettled(waits);
    }
  }
}

function closedError(): SmtpError {
  return new SmtpError("Cannot send: the pool is closed", { kind: "closed" });
}
