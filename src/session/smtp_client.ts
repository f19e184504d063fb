import * as cmd from "../protocol/_command.ts";
import { describeReply } from "../protocol/_describe_reply.ts";
import { concatBytes } from "../protocol/_bytes.ts";
import { Capabilities } from "../protocol/capabilities.ts";
import type { Reply } from "../protocol/reply.ts";
import { SmtpError } from "../protocol/smtp_error.ts";
import type { ComposedMessage } from "../mime/compose_message.ts";
import type { Mail } from "../mime/mail.ts";
import { signPrepared } from "../dkim/_sign_prepared.ts";
import {
  chooseMechanism,
  fallbackMechanism,
  loadSasl,
  startSasl,
} from "../sasl/_sasl.ts";
import type {
  AuthMechanism,
  PasswordAuth,
  TokenAuth,
} from "../sasl/credentials.ts";
import { failureReason } from "../transport/connection_failure.ts";
import { defaultConnect } from "../transport/default_connect.ts";
import { readPlatformSnapshot } from "../transport/_platform_snapshot.ts";
import {
  checkSendOptions,
  type EnvelopePlan,
  planEnvelope,
} from "./_envelope.ts";
import { internals, type SendPhase } from "./_internals.ts";
import { loadedMime, loadMime } from "./_lazy_parts.ts";
import { isLoopback } from "./_loopback.ts";
import { blockedPortError, portBlock } from "./_platform_ports.ts";
import { type Chunk, MessageReader } from "./_message_reader.ts";
import {
  allRefused,
  chunkRepliesDue,
  envelopeFailure,
  isPositive,
  lmtpOutcome,
  type RecipientOutcome,
  refused,
  sortRecipients,
} from "./_outcome.ts";
import {
  isRawMessage,
  type OutgoingMessage,
  prepareRaw,
} from "./_outgoing_message.ts";
import { resolveOptions, type SessionSettings } from "./_resolve_options.ts";
import { errorMessage, Wire } from "./_wire.ts";
import type { MailTransport } from "./mail_transport.ts";
import type { RawMessage } from "./raw_message.ts";
import type { SendOptions } from "./send_options.ts";
import type { SendResult } from "./send_result.ts";
import type { SmtpClientOptions } from "./smtp_client_options.ts";

/** The size BDAT chunks are gathered to (the first one goes with MAIL). */
const CHUNK_SIZE = 64 * 1024;
/** How many BDAT chunks may await their reply at once. */
const CHUNK_WINDOW = 8;

/** Replies to EHLO that mean "try HELO" (RFC 5321 §4.1.4). */
const EHLO_UNKNOWN = new Set([500, 502, 504, 550]);

const SETTLED: Promise<void> = Promise.resolve();
const END_EMPTY = new TextEncoder().encode(".\r\n");

/** A queued call: the next send may start writing once `written` resolves. */
interface Turn {
  /** Its commands and data are written and its replies awaited in order. */
  written: Promise<void>;
  /** It is over. */
  done: Promise<void>;
  /** Whether it is a send (a send may pipeline behind a send's data). */
  send: boolean;
  /**
   * The next send wrote its commands behind this one's before this one's
   * envelope was answered, starting them with RSET: if this envelope is
   * refused, that RSET ends its transaction (an RSET of its own would come
   * after the next send's MAIL and reset that one instead).
   */
  resetByNext?: boolean;
}

/** What a send hands its turn, beyond the public options. */
interface SendHooks {
  /** Send QUIT right behind the message data (`sendmail()`). */
  quitAfter?: boolean;
  /** Told each phase the send reaches (the pool decides retries by it). */
  onPhase?(phase: SendPhase): void;
}

/** A send in progress. */
class Job {
  /** `Wire.promised` when the send wrote its first command. */
  position: number | undefined;
  phase: SendPhase = "queued";
  readonly previous: Turn;
  /** This send's own turn (the next send's `previous`). */
  readonly own: Turn;
  #cleanups: ((reason: unknown) => void)[] = [];
  #aborted: { reason: unknown } | undefined;
  #written: () => void;
  #onPhase: ((phase: SendPhase) => void) | undefined;

  constructor(
    previous: Turn,
    own: Turn,
    written: () => void,
    onPhase: ((phase: SendPhase) => void) | undefined,
  ) {
    this.previous = previous;
    this.own = own;
    this.#written = written;
    this.#onPhase = onPhase;
  }

  /** The send writes its first command now (unless it was aborted). */
  begin(position: number): void {
    if (this.#aborted) throw this.#aborted.reason;
    this.position ??= position;
    this.enter("envelope");
  }

  enter(phase: SendPhase): void {
    this.phase = phase;
    this.#onPhase?.(phase);
  }

  /** The end of the data is written: the next send may pipeline behind. */
  written(): void {
    this.enter("sent");
    this.#written();
  }

  /**
   * Runs `cleanup` at once when the send is aborted while it runs (or now,
   * when it already was).
   */
  onAbort(cleanup: (reason: unknown) => void): void {
    if (this.#aborted) cleanup(this.#aborted.reason);
    else this.#cleanups.push(cleanup);
  }

  abort(reason: unknown): void {
    this.#aborted = { reason };
    for (const cleanup of this.#cleanups) cleanup(reason);
  }
}

/**
 * An SMTP session: connect, EHLO, STARTTLS, AUTH, then any number of
 * `send()`s, then QUIT. Calls on one client are queued, so concurrent sends
 * are safe; when the server offers PIPELINING, a send's commands go out
 * right behind the previous message's data (RFC 2920 §3.1), so a bulk
 * sender waits one round trip per message, not two or three.
 *
 * @example Sending two messages on one connection
 * ```ts
 * import { SmtpClient } from "@x/sendmail";
 * import { startTestServer } from "@x/sendmail/testing";
 * import assert from "node:assert/strict";
 *
 * await using server = await startTestServer();
 * const client = await SmtpClient.connect(server.clientOptions);
 * try {
 *   for (const to of ["a@example.com", "b@example.com"]) {
 *     await client.send({ from: "me@example.com", to, subject: "Hi", text: "Hello" });
 *   }
 * } finally {
 *   await client.quit();
 * }
 * assert.equal(server.messages.length, 2);
 * ```
 */
export class SmtpClient implements MailTransport, AsyncDisposable {
  static {
    internals.sendAndQuit = (client, message, options) =>
      client.#sendMessage(message, options ?? {}, { quitAfter: true });
    internals.sendTracked = (client, message, options, onPhase) =>
      client.#sendMessage(message, options ?? {}, { onPhase });
    internals.onClosed = (client, listener) => client.#onClosed(listener);
  }

  #wire: Wire;
  #settings: SessionSettings;
  #capabilities: Capabilities = new Capabilities();
  #tail: Turn = { written: SETTLED, done: SETTLED, send: false };
  #quitting: Promise<void> | undefined;
  /** QUIT went out behind the message data (sendmail()). */
  #quitSent = false;
  /** Whether a send may pipeline behind the previous message's data. */
  #overlap = true;
  #detach: () => void = () => {};
  #closedListeners: (() => void)[] | undefined = [];
  /** Aborts once the wire failed (one listener for the client's life). */
  #failed: AbortController = new AbortController();

  private constructor(wire: Wire, settings: SessionSettings) {
    this.#wire = wire;
    this.#settings = settings;
    wire.whenFailed.catch((failure) => {
      this.#failed.abort(failure);
      this.#notifyClosed();
    });
  }

  /**
   * Opens a session: connects, reads the greeting, says EHLO (HELO when EHLO
   * is unknown; LHLO under LMTP), upgrades with STARTTLS as `tls` asks, and
   * authenticates.
   *
   * @param options Where and how to connect, or an `smtp://` / `smtps://`
   * URL (see `parseSmtpUrl`).
   * @returns The ready client.
   * @throws {TypeError | RangeError} Misused options; nothing is sent.
   * @throws {SmtpError} The session could not be set up.
   */
  static async connect(
    options: SmtpClientOptions | string | URL,
  ): Promise<SmtpClient> {
    const settings = resolveOptions(options);
    const { signal, timeouts } = settings;
    signal?.throwIfAborted();
    // Loaded while the connection opens; awaited with the set-up below.
    const parts = loadParts(settings);
    parts.catch(() => {});
    // A DKIM key WebCrypto refuses fails here, before anything is sent.
    await settings.dkim?.ready();
    const wire = await open(settings);
    const client = new SmtpClient(wire, settings);
    const onAbort = () => wire.fail(signal!.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      await Promise.all([client.#setUp(), parts]);
    } catch (error) {
      await client.#abandon(timeouts.quit);
      signal?.removeEventListener("abort", onAbort);
      if (signal?.aborted) throw signal.reason;
      throw error;
    }
    // The session signal stays armed until the client is closed.
    if (signal) {
      client.#detach = () => signal.removeEventListener("abort", onAbort);
    }
    return client;
  }

  /** The extensions the server offered (parsed again after STARTTLS). */
  get capabilities(): Capabilities {
    return this.#capabilities;
  }

  /** Whether the connection is encrypted. */
  get secure(): boolean {
    return this.#wire.secure;
  }

  /**
   * Whether the client can no longer send: it quit, or its connection
   * failed or was closed by the server (also while idle).
   */
  get closed(): boolean {
    return this.#quitting !== undefined || this.#wire.failed;
  }

  /**
   * Sends one message. Recipients the server refuses are listed in
   * `rejected`; when it refuses every one, the call rejects and no message is
   * sent. After a failed transaction the session is reset, so the next
   * `send()` works.
   *
   * @param message A `Mail` to compose, or a `RawMessage` sent as given.
   * @param options DSN, REQUIRETLS and an abort signal.
   * @returns Who was accepted and refused, and the server's final reply.
   * @throws {TypeError | RangeError} A bad address or parameter; nothing is sent.
   * @throws {SmtpError} The server refused the message, or the session
   * failed (`maybeDelivered` tells whether it failed after the end of the
   * data was sent, when a retry may deliver it twice).
   */
  send(
    message: Mail | RawMessage,
    options: SendOptions = {},
  ): Promise<SendResult> {
    return this.#sendMessage(message, options, {});
  }

  /**
   * Sends NOOP, which also checks the connection is alive.
   *
   * @returns The server's reply.
   * @throws {SmtpError} The server refused it, or the session failed.
   */
  noop(): Promise<Reply> {
    return this.#schedule(false, () => this.#simple(cmd.simple("NOOP")));
  }

  /**
   * Sends RSET, abandoning any transaction in progress.
   *
   * @throws {SmtpError} The server refused it, or the session failed.
   */
  reset(): Promise<void> {
    return this.#schedule(false, async () => {
      await this.#simple(cmd.simple("RSET"));
    });
  }

  /**
   * Sends QUIT and closes the connection. It waits for the calls in flight,
   * then for the server's reply at most `timeouts.quit` ms, never fails, and
   * may be called more than once.
   */
  quit(): Promise<void> {
    this.#quitting ??= this.#tail.done.then(() =>
      this.#abandon(this.#settings.timeouts.quit)
    );
    return this.#quitting;
  }

  /** Same as {@linkcode SmtpClient.quit}: a `MailTransport`'s `close()`. */
  close(): Promise<void> {
    return this.quit();
  }

  /** Same as {@linkcode SmtpClient.quit}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.quit();
  }

  // ——— session set-up ———

  async #setUp(): Promise<void> {
    const wire = this.#wire;
    const { tls, hostname, caCerts, timeouts } = this.#settings;
    wire.expect("CONNECT");
    // A 421 greeting fails the wire where it is read: no QUIT follows.
    const greeting = await wire.read(timeouts.greeting, "CONNECT");
    if (greeting.code !== 220) {
      throw new SmtpError(
        `Cannot start session: server greeted with ${describeReply(greeting)}`,
        { reply: greeting, command: "CONNECT", temporary: greeting.code < 500 },
      );
    }
    await this.#hello();
    if (tls === "starttls" || tls === "opportunistic") {
      if (!this.#capabilities.startTls) {
        if (tls === "starttls") {
          throw new SmtpError(
            `Cannot start TLS: ${hostname} does not offer STARTTLS (use tls: "opportunistic" or "none" to allow plaintext)`,
            { kind: "tls", command: "STARTTLS" },
          );
        }
        wire.info("STARTTLS not offered: continuing without TLS");
      } else {
        const reply = await this.#command(cmd.simple("STARTTLS"));
        if (reply.code === 220) {
          await wire.startTls(
            { hostname, ...(caCerts ? { caCerts } : {}) },
            timeouts.command,
          );
          wire.info("TLS established");
          this.#capabilities = new Capabilities();
          await this.#hello();
        } else if (tls === "starttls") {
          throw new SmtpError(
            `Cannot start TLS: server replied ${describeReply(reply)}`,
            { kind: "tls", reply, command: "STARTTLS" },
          );
        } else {
          wire.info(
            `STARTTLS refused (${reply.code}): continuing without TLS`,
          );
        }
      }
    }
    // Without TLS now, no STARTTLS can follow: catch unsolicited replies.
    wire.settle();
    if (this.#settings.auth) await this.#authenticate(this.#settings.auth);
  }

  async #hello(): Promise<void> {
    const { clientName: name, lmtp } = this.#settings;
    const greeting = lmtp ? cmd.lhlo(name) : cmd.ehlo(name);
    const reply = await this.#command(greeting);
    if (reply.code === 250) {
      this.#capabilities = Capabilities.parse(reply);
      return;
    }
    if (lmtp || !EHLO_UNKNOWN.has(reply.code)) {
      throw new SmtpError(
        `Cannot send ${greeting.verb}: server replied ${describeReply(reply)}`,
        { reply, command: greeting.verb },
      );
    }
    const fallback = await this.#command(cmd.helo(name));
    if (fallback.code !== 250) {
      throw new SmtpError(
        `Cannot send HELO: server replied ${describeReply(fallback)}`,
        { reply: fallback, command: "HELO" },
      );
    }
    this.#capabilities = new Capabilities(fallback.lines[0]?.split(" ")[0]);
  }

  async #authenticate(auth: PasswordAuth | TokenAuth): Promise<void> {
    const { hostname } = this.#settings;
    const caps = this.#capabilities;
    if (!caps.has("AUTH")) {
      throw new SmtpError(
        `Cannot authenticate: ${hostname} does not offer AUTH${
          this.secure ? "" : " (it may offer it only over TLS)"
        }`,
        { kind: "auth", command: "AUTH" },
      );
    }
    // A unix socket is local too.
    const local = isLoopback(hostname) || this.#settings.path !== undefined;
    if (!this.secure && !local) {
      throw new SmtpError(
        `Cannot authenticate: refusing to send credentials without TLS to ${hostname}`,
        { kind: "auth", command: "AUTH" },
      );
    }
    const mechanism = chooseMechanism(caps.auth, auth, this.secure);
    try {
      await this.#saslExchange(auth, mechanism);
    } catch (error) {
      // SCRAM the client chose, refused: the account may have no SCRAM
      // credentials. One more try with a mechanism any store can check.
      const next = error instanceof SmtpError && error.code === 535
        ? fallbackMechanism(caps.auth, auth, mechanism)
        : undefined;
      if (next === undefined) throw error;
      this.#wire.info(`AUTH ${mechanism} refused; trying ${next}`);
      await this.#saslExchange(auth, next);
    }
  }

  /** One SASL exchange; resolves on 235 (and, for SCRAM, a proven server). */
  async #saslExchange(
    auth: PasswordAuth | TokenAuth,
    mechanism: AuthMechanism,
  ): Promise<void> {
    const { hostname, port } = this.#settings;
    const sasl = await startSasl(auth, mechanism, hostname, port);
    let reply = await this.#command(
      cmd.auth(mechanism, sasl.initialResponse),
    );
    for (let round = 0; reply.code === 334; round++) {
      if (round === 10) {
        throw new SmtpError("Cannot authenticate: too many challenges", {
          kind: "protocol",
          command: "AUTH",
        });
      }
      let response: string;
      try {
        response = await sasl.respond(reply.lines[0] ?? "");
      } catch (error) {
        // Cancel the exchange (RFC 4954 §4), then report the cause.
        await this.#command(cmd.saslResponse("*")).catch(() => {});
        throw error;
      }
      this.#wire.info(`AUTH ${mechanism}: answering challenge`);
      reply = await this.#command(cmd.saslResponse(response));
    }
    if (reply.code !== 235) {
      const detail = sasl.serverError ? ` (${sasl.serverError})` : "";
      throw new SmtpError(
        `Cannot authenticate with ${mechanism}: server replied ${
          describeReply(reply)
        }${detail}`,
        { kind: "auth", reply, command: "AUTH", temporary: reply.code < 500 },
      );
    }
    // SCRAM: a 235 counts only once the server has proven itself.
    sasl.finish();
  }

  // ——— the call queue ———

  /**
   * Runs calls one at a time, in order. A send may start writing once the
   * send before it has written the end of its data (its replies are read in
   * order behind the earlier ones); any other call waits for the one before
   * it to end. A call whose signal aborts while it waits is dropped without
   * touching the connection; one that aborts while it runs rejects at once,
   * and the connection is closed as soon as every reply due before its first
   * command has been read, so no earlier send loses its reply.
   */
  #schedule<T>(
    send: boolean,
    run: (job: Job) => Promise<T>,
    signal?: AbortSignal,
    hooks?: SendHooks,
    drop?: (reason: unknown) => void,
  ): Promise<T> {
    const previous = this.#tail;
    const written = Promise.withResolvers<void>();
    const done = Promise.withResolvers<void>();
    const own: Turn = { written: written.promise, done: done.promise, send };
    this.#tail = own;
    const result = Promise.withResolvers<T>();
    const job = new Job(previous, own, written.resolve, hooks?.onPhase);
    let started = false;
    const onAbort = () => {
      const reason = signal!.reason;
      result.reject(reason);
      if (!started) return;
      job.abort(reason);
      if (job.position !== undefined) {
        this.#wire.failAfter(job.position, reason);
      }
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    const begin = async () => {
      await previous.written;
      if (!(send && previous.send && this.#mayOverlap())) await previous.done;
    };
    begin().then(async () => {
      try {
        if (signal?.aborted) {
          // Aborted while it waited (or before it was called): the abort
          // listener may never have run, so the call settles here.
          result.reject(signal.reason);
          drop?.(signal.reason);
          return;
        }
        started = true;
        if (this.#quitting) {
          throw new SmtpError("Cannot use the client: it has quit", {
            kind: "closed",
          });
        }
        this.#settings.signal?.throwIfAborted();
        if (this.#wire.failed) throw this.#wire.failure;
        result.resolve(await run(job));
      } catch (error) {
        result.reject(this.#explain(error, signal));
      } finally {
        signal?.removeEventListener("abort", onAbort);
        written.resolve();
        done.resolve();
      }
    });
    return result.promise;
  }

  /** An aborted signal rejects with its reason, as the Web platform does. */
  #explain(error: unknown, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted) return signal.reason;
    const session = this.#settings.signal;
    if (session?.aborted) return session.reason;
    return error;
  }

  /** Whether a send may write its commands behind the previous one's data. */
  #mayOverlap(): boolean {
    return this.#capabilities.pipelining && this.#overlap && !this.#quitSent &&
      !this.#wire.failed;
  }

  #onClosed(listener: () => void): void {
    if (this.#closedListeners === undefined) queueMicrotask(listener);
    else this.#closedListeners.push(listener);
  }

  #notifyClosed(): void {
    const listeners = this.#closedListeners;
    this.#closedListeners = undefined;
    for (const listener of listeners ?? []) listener();
  }

  // ——— transactions ———

  #sendMessage(
    message: Mail | RawMessage,
    options: SendOptions,
    hooks: SendHooks,
  ): Promise<SendResult> {
    let prepared: OutgoingMessage;
    let composed: ComposedMessage | undefined;
    try {
      // Misuse is refused at once, before the call is even queued.
      checkSendOptions(options);
      ({ prepared, composed } = prepare(message));
    } catch (error) {
      return Promise.reject(error);
    }
    const { dkim } = this.#settings;
    const release = (reason: unknown) => {
      // Release the message source (files, attachment streams) unless the
      // data phase consumed it.
      const { body } = prepared;
      if (body instanceof ReadableStream && !body.locked) {
        body.cancel(reason).catch(() => {});
      }
    };
    return this.#schedule(
      true,
      async (job) => {
        try {
          if (dkim) {
            // The body is hashed (read once) before the transaction: a
            // failure sends nothing, and SIZE counts the signature fields.
            const signed = await signPrepared(
              composed ?? (message as RawMessage).raw,
              dkim,
            );
            prepared = {
              ...prepared,
              body: signed.readable,
              size: signed.size,
            };
          }
          return await this.#transaction(prepared, options, job, hooks);
        } catch (error) {
          release(error);
          throw error;
        }
      },
      options.signal,
      hooks,
      release,
    );
  }

  async #transaction(
    prepared: OutgoingMessage,
    options: SendOptions,
    job: Job,
    hooks: SendHooks,
  ): Promise<SendResult> {
    const plan = planEnvelope(prepared, options, {
      capabilities: this.#capabilities,
      secure: this.secure,
    });
    for (const note of plan.notes) this.#wire.info(note);
    const caps = this.#capabilities;
    if (caps.chunking && caps.pipelining && this.#settings.chunking) {
      return await this.#chunked(prepared, plan, job, hooks);
    }
    return await this.#data(prepared, plan, job, hooks);
  }

  /**
   * The message source of a transaction, read under the data timeout, and
   * closed when the send is aborted (`job.onAbort`) or the connection
   * fails (a signal that lives as long as the client: one listener per
   * message, removed when the reader closes, and no signal made per
   * message).
   */
  #reader(
    prepared: OutgoingMessage,
    command: "DATA" | "BDAT",
    job: Job,
  ): MessageReader {
    const reader = new MessageReader(
      prepared.body,
      command,
      this.#settings.timeouts.data,
      this.#failed.signal,
    );
    job.onAbort((reason) => reader.close(reason));
    return reader;
  }

  /**
   * A transaction with DATA. Nothing is sent until the message produced its
   * first bytes, so a source that fails or stalls leaves the session as it
   * was. Under PIPELINING, MAIL, every RCPT and DATA go in one write.
   */
  async #data(
    prepared: OutgoingMessage,
    plan: EnvelopePlan,
    job: Job,
    hooks: SendHooks,
  ): Promise<SendResult> {
    const { timeouts, lmtp } = this.#settings;
    const wire = this.#wire;
    const reader = this.#reader(prepared, "DATA", job);
    try {
      let current = await reader.read() as Chunk & { done: false };
      const outcome = this.#capabilities.pipelining
        ? (await this.#pipelinedEnvelope(plan, job, [cmd.simple("DATA")]))
          .outcome
        : await this.#lockStepEnvelope(plan, job);
      job.enter("data");
      wire.busy("DATA");
      let octets = 0;
      const count = lmtp ? outcome.accepted.length : 1;
      let finals: Promise<Reply>[];
      while (true) {
        let next: Chunk;
        try {
          next = await reader.read();
        } catch (error) {
          // The data cannot be ended without delivering a truncated
          // message, so the connection is dropped; this send rejects with
          // the source's own error.
          wire.fail(
            new SmtpError(
              `Cannot use the connection: it was closed when the message source failed: ${
                errorMessage(error)
              }`,
              { kind: "closed", command: "DATA", cause: error },
            ),
          );
          throw error;
        }
        octets += current.value.length;
        if (next.done) {
          // `current` ends the data: its replies are expected before it is
          // written, as they may arrive before the write completes.
          wire.expect("DATA", count);
          finals = this.#readFinals(count, "DATA");
          await wire.write(current.value, timeouts.data);
          break;
        }
        await wire.write(current.value, timeouts.data);
        current = next;
      }
      job.written();
      wire.info(`${octets} octets of message data sent`);
      if (hooks.quitAfter) this.#quitBehindData();
      return await this.#outcome(finals, outcome, prepared, plan, "DATA");
    } finally {
      reader.close();
    }
  }

  /**
   * A transaction with BDAT (RFC 3030) under PIPELINING: MAIL, every RCPT and
   * the first chunk (`BDAT n LAST` when the message fits in it) go in one
   * write, so a small message costs one round trip and no 354 wait. Larger
   * messages follow in chunks, with at most CHUNK_WINDOW replies awaited.
   * Chunks are CRLF-normalised and sent by length: no dot-stuffing. Under
   * LMTP a message that fits in one chunk waits for the RCPT replies, as its
   * `BDAT LAST` is answered once per accepted recipient.
   */
  async #chunked(
    prepared: OutgoingMessage,
    plan: EnvelopePlan,
    job: Job,
    hooks: SendHooks,
  ): Promise<SendResult> {
    const { lmtp } = this.#settings;
    const wire = this.#wire;
    const reader = this.#reader(prepared, "BDAT", job);
    const sent = () => {
      job.written();
      if (hooks.quitAfter) this.#quitBehindData();
    };
    try {
      // Nothing is sent until the first chunk is read: a failing source
      // leaves the session as it was.
      let chunk = await gather(reader);
      let octets = chunk.bytes.length;
      let finals: Promise<Reply>[];
      let outcome: RecipientOutcome;
      /** Replies to chunks sent and not read yet, oldest first. */
      const pending: Promise<Reply>[] = [];
      if (lmtp && chunk.done) {
        ({ outcome } = await this.#pipelinedEnvelope(plan, job, []));
        job.enter("data");
        const group = this.#writeGroup(
          [cmd.bdat(chunk.bytes.length, true)],
          chunk.bytes,
          outcome.accepted.length,
        );
        finals = group.finals;
        await group.written;
        sent();
      } else {
        const first = cmd.bdat(chunk.bytes.length, chunk.done);
        const envelope = await this.#pipelinedEnvelope(
          plan,
          job,
          [first],
          chunk.bytes,
          chunk.done ? (lmtp ? 0 : 1) : 0,
          () => {
            job.enter("data");
            if (chunk.done) sent();
          },
        );
        outcome = envelope.outcome;
        finals = envelope.finals;
        pending.push(...envelope.tail);
        let refusal: Reply | undefined;
        while (!chunk.done) {
          for (
            let due = chunkRepliesDue(pending.length, false, CHUNK_WINDOW);
            due > 0;
            due--
          ) {
            const reply = await pending.shift()!;
            if (reply.code !== 250) refusal ??= reply;
          }
          if (refusal) break;
          try {
            chunk = await gather(reader);
          } catch (error) {
            // A BDAT transaction can be abandoned with RSET: nothing is
            // delivered and the session stays usable.
            await settleAll(pending);
            await this.#resetAfterFailure();
            throw error;
          }
          octets += chunk.bytes.length;
          const count = chunk.done ? (lmtp ? outcome.accepted.length : 1) : 0;
          const group = this.#writeGroup(
            [cmd.bdat(chunk.bytes.length, chunk.done)],
            chunk.bytes,
            count,
          );
          pending.push(...group.replies);
          finals = group.finals;
          await group.written;
          if (chunk.done) sent();
        }
        for (const reply of await settleAll(pending)) {
          if (reply.code !== 250) refusal ??= reply;
        }
        if (refusal) {
          if (!chunk.done) await this.#resetAfterFailure();
          await settleAll(finals);
          throw refused("message data", refusal, "BDAT");
        }
      }
      wire.info(`${octets} octets of message data sent in BDAT chunks`);
      return await this.#outcome(finals, outcome, prepared, plan, "BDAT");
    } finally {
      reader.close();
    }
  }

  /**
   * Writes commands in one write and starts reading every reply they get,
   * in order, before anything else can: a send that pipelines behind this
   * one reads its replies after these. `finalCount` replies answer the last
   * command when it ends the message data (one, or one per recipient under
   * LMTP); they are read as such (`maybeDelivered` on failure).
   */
  #writeGroup(
    commands: cmd.Command[],
    payload?: Uint8Array,
    finalCount = 0,
  ): {
    written: Promise<void>;
    replies: Promise<Reply>[];
    finals: Promise<Reply>[];
  } {
    const wire = this.#wire;
    const { timeouts } = this.#settings;
    const written = wire.send(
      commands,
      payload ? timeouts.data : timeouts.command,
      payload,
    );
    written.catch(() => {}); // awaited by the caller
    const last = commands.length - 1;
    if (finalCount > 1) wire.expect(commands[last]!.verb, finalCount - 1);
    const replies: Promise<Reply>[] = [];
    const finals: Promise<Reply>[] = [];
    commands.forEach((command, i) => {
      if (i === last && finalCount > 0) {
        for (let n = 0; n < finalCount; n++) {
          finals.push(
            quiet(wire.read(timeouts.dataEnd, command.verb, { dataEnd: true })),
          );
        }
      } else {
        const timeout = command.verb === "BDAT"
          ? timeouts.data
          : timeouts.command;
        replies.push(quiet(wire.read(timeout, command.verb)));
      }
    });
    return { written, replies, finals };
  }

  /**
   * Writes MAIL, every RCPT and `tail` (DATA, or the first BDAT chunk with
   * its `payload`) in one write and reads the envelope's replies in order.
   * When the envelope does not stand, it ends the transaction (a lone "."
   * after a 354, RSET) and throws.
   *
   * A server that refuses commands pipelined after the end of the previous
   * message's data (503 to MAIL while that message's reply was still due)
   * gets the envelope again once that reply is in, and no send on this
   * connection pipelines behind another any more.
   *
   * @returns The recipients sorted, the pending reply to a non-final BDAT
   * tail, and the final replies when the tail ended the data.
   */
  async #pipelinedEnvelope(
    plan: EnvelopePlan,
    job: Job,
    tail: cmd.Command[],
    payload?: Uint8Array,
    finalCount = 0,
    written?: () => void,
  ): Promise<
    {
      outcome: RecipientOutcome;
      tail: Promise<Reply>[];
      finals: Promise<Reply>[];
    }
  > {
    const { timeouts } = this.#settings;
    const wire = this.#wire;
    for (let attempt = 0;; attempt++) {
      const overlapped = wire.promised > wire.received;
      // Behind a BDAT send whose envelope is not answered yet, its
      // transaction may still be open (every recipient refused, MAIL
      // accepted): RSET first, or this MAIL is "nested" and these RCPTs
      // and chunks would join that transaction.
      const rset = overlapped && payload !== undefined;
      if (rset) job.previous.resetByNext = true;
      job.begin(wire.promised);
      const group = this.#writeGroup(
        [
          ...(rset ? [cmd.simple("RSET")] : []),
          plan.mail,
          ...plan.rcpts,
          ...tail,
        ],
        payload,
        finalCount,
      );
      await group.written;
      written?.();
      const replies = rset ? group.replies.slice(1) : group.replies;
      let envelopeReplies: Reply[];
      try {
        if (rset) await group.replies[0]; // ends the previous transaction
        envelopeReplies = await settleAll(
          replies.slice(0, 1 + plan.rcpts.length),
        );
      } catch (error) {
        // The end of the data went with the envelope (BDAT LAST): when the
        // connection failed before any reply, the server may have taken the
        // message, which the reply to the data says (maybeDelivered).
        const dropped = error instanceof SmtpError && !error.reply;
        if (dropped && group.finals.length > 0) await settleAll(group.finals);
        throw error;
      }
      const [mailReply, ...rest] = envelopeReplies;
      const tailReplies = replies.slice(1 + plan.rcpts.length);
      const isData = tail[0]?.verb === "DATA";
      const dataReply = isData ? await tailReplies[0]! : undefined;
      if (overlapped && attempt === 0 && mailReply!.code === 503) {
        this.#overlap = false;
        wire.info(
          "The server refused commands pipelined after the end of data: each send waits for the previous reply from now on",
        );
        if (payload) {
          // The server read the chunk as commands: nothing it says can be
          // paired with a command any more.
          const error = new SmtpError(
            "Cannot send MAIL FROM: the server refused commands pipelined after the end of the previous message's data",
            { kind: "protocol", command: "MAIL", temporary: true },
          );
          wire.fail(error);
          throw error;
        }
        await job.previous.done;
        continue;
      }
      const outcome = sortRecipients(plan.to, rest);
      const failure = envelopeFailure(mailReply!, outcome);
      if (dataReply?.code === 354 && failure) {
        // DATA was accepted although no recipient was: end it empty.
        wire.info("No recipient accepted: ending the message data empty");
        wire.expect("DATA");
        const end = quiet(wire.read(timeouts.dataEnd, "DATA"));
        await wire.write(END_EMPTY, timeouts.data);
        await end;
      }
      if (failure) {
        // A BDAT chunk sent with the envelope is answered too.
        await settleAll([
          ...tailReplies.slice(isData ? 1 : 0),
          ...group.finals,
        ]);
        await this.#resetAfterFailure(job);
        throw failure;
      }
      if (dataReply && dataReply.code !== 354) {
        await this.#resetAfterFailure();
        throw refused("DATA", dataReply, "DATA");
      }
      return {
        outcome,
        tail: isData ? [] : tailReplies,
        finals: group.finals,
      };
    }
  }

  /** MAIL, each RCPT and DATA, one at a time (no PIPELINING). */
  async #lockStepEnvelope(
    plan: EnvelopePlan,
    job: Job,
  ): Promise<RecipientOutcome> {
    job.begin(this.#wire.promised);
    const mailReply = await this.#command(plan.mail);
    if (!isPositive(mailReply)) {
      await this.#resetAfterFailure();
      throw refused("MAIL FROM", mailReply, "MAIL");
    }
    const replies: Reply[] = [];
    for (const rcpt of plan.rcpts) replies.push(await this.#command(rcpt));
    const outcome = sortRecipients(plan.to, replies);
    if (outcome.accepted.length === 0) {
      await this.#resetAfterFailure();
      throw allRefused(outcome.rejected);
    }
    const dataReply = await this.#command(cmd.simple("DATA"));
    if (dataReply.code !== 354) {
      await this.#resetAfterFailure();
      throw refused("DATA", dataReply, "DATA");
    }
    return outcome;
  }

  #readFinals(count: number, verb: string): Promise<Reply>[] {
    const finals: Promise<Reply>[] = [];
    for (let i = 0; i < count; i++) {
      finals.push(quiet(
        this.#wire.read(this.#settings.timeouts.dataEnd, verb, {
          dataEnd: true,
        }),
      ));
    }
    return finals;
  }

  /** The result once the replies to the end of the data are in. */
  async #outcome(
    finals: Promise<Reply>[],
    outcome: RecipientOutcome,
    prepared: OutgoingMessage,
    plan: EnvelopePlan,
    verb: string,
  ): Promise<SendResult> {
    const replies: Reply[] = [];
    for (const final of finals) replies.push(await final);
    let { accepted, rejected } = outcome;
    let reply = replies.at(-1)!;
    if (this.#settings.lmtp) {
      ({ accepted, rejected } = lmtpOutcome(outcome, replies));
      if (accepted.length === 0) {
        throw allRefused(rejected.slice(outcome.rejected.length), verb);
      }
      reply = replies.find(isPositive) ?? reply;
    } else if (!isPositive(reply)) {
      throw refused("message data", reply, verb);
    }
    return {
      accepted,
      rejected,
      reply,
      ...(prepared.messageId ? { messageId: prepared.messageId } : {}),
      envelope: { from: plan.from, to: plan.to },
      secure: this.secure,
    };
  }

  /**
   * `sendmail()`: only QUIT follows, so it goes right behind the data
   * (RFC 2920 §3.1) and its reply comes in the same round trip, but only
   * when the server offers PIPELINING: a strict server refuses a command
   * that arrives with the end of the data otherwise.
   */
  #quitBehindData(): void {
    if (!this.#capabilities.pipelining) return;
    this.#quitSent = true;
    this.#wire.send([cmd.simple("QUIT")], this.#settings.timeouts.quit)
      .catch(() => {
        // The wire keeps the failure; the reply read reports it.
      });
  }

  /** Reads the replies to chunks already sent after one was refused. */
  async #drainChunks(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      await this.#wire.read(this.#settings.timeouts.data, "BDAT");
    }
  }

  // ——— plumbing ———

  /** Sends one command and reads its reply; 421 closes the session. */
  async #command(command: cmd.Command): Promise<Reply> {
    const { timeouts } = this.#settings;
    await this.#wire.send([command], timeouts.command);
    return await this.#wire.read(timeouts.command, command.verb);
  }

  async #simple(command: cmd.Command): Promise<Reply> {
    const reply = await this.#command(command);
    if (!isPositive(reply)) throw refused(command.verb, reply, command.verb);
    return reply;
  }

  /** RSET after a failed transaction; a failing RSET closes the session. */
  async #resetAfterFailure(job?: Job): Promise<void> {
    // After a pipelined QUIT (sendmail()) the session is ending anyway.
    if (this.#quitSent || this.#wire.failed) return;
    // The next send's commands, already written, begin with RSET.
    if (job?.own.resetByNext) return;
    try {
      const reply = await this.#command(cmd.simple("RSET"));
      if (reply.code !== 250) {
        this.#wire.fail(refused("RSET", reply, "RSET"));
      }
    } catch {
      // The wire keeps the failure; the caller reports the transaction's.
    }
  }

  /** Sends QUIT when the connection still works, then closes it. */
  async #abandon(timeout: number): Promise<void> {
    const wire = this.#wire;
    try {
      if (!wire.failed && !this.#quitSent) {
        await wire.send([cmd.simple("QUIT")], timeout);
      }
      // The reply may already be in (QUIT pipelined behind the data).
      if (this.#quitSent || !wire.failed) await wire.read(timeout, "QUIT");
    } catch {
      // QUIT is a courtesy: the connection is closed either way.
    }
    await wire.close();
    this.#detach();
    this.#notifyClosed();
  }
}

/** A promise whose rejection is handled where it is awaited, later. */
function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

/**
 * Awaits every promise in order, even after one rejected (so no reply read
 * is left behind), then rejects with the first rejection.
 */
async function settleAll<T>(promises: readonly Promise<T>[]): Promise<T[]> {
  const values: T[] = [];
  let failure: { error: unknown } | undefined;
  for (const promise of promises) {
    try {
      values.push(await promise);
    } catch (error) {
      failure ??= { error };
    }
  }
  if (failure) throw failure.error;
  return values;
}

async function open(settings: SessionSettings): Promise<Wire> {
  const { hostname, port, path, tls, caCerts, signal, timeouts, logger } =
    settings;
  const where = path ?? `${hostname}:${port}`;
  // A port the platform drops fails now, naming the ports that work, rather
  // than after the connect timeout.
  if (!settings.allowBlockedPorts && path === undefined) {
    const block = portBlock(readPlatformSnapshot(), port);
    if (block) throw blockedPortError(block, hostname);
  }
  const timer = AbortSignal.timeout(timeouts.connect);
  const combined = signal ? AbortSignal.any([signal, timer]) : timer;
  const connect = settings.connect ?? defaultConnect;
  try {
    const conn = await connect({
      hostname,
      port,
      ...(path !== undefined ? { path } : {}),
      tls: tls === "implicit"
        ? "implicit"
        : tls === "none"
        ? "none"
        : "starttls",
      ...(caCerts ? { caCerts } : {}),
      signal: combined,
    });
    logger?.({
      type: "info",
      text: `Connected to ${where}${conn.secure ? " with TLS" : ""}`,
    });
    // Before a possible STARTTLS, replies are read only while awaited.
    const lazy = tls === "starttls" || tls === "opportunistic";
    return new Wire(conn, !lazy, logger);
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (timer.aborted) {
      throw new SmtpError(
        `Cannot connect to ${where}: no connection within ${timeouts.connect} ms`,
        { kind: "timeout", command: "CONNECT", cause: error },
      );
    }
    // An option the transport cannot honour is the caller's mistake.
    if (error instanceof TypeError) throw error;
    throw connectFailure(error, where);
  }
}

/** An adapter's connect failure as an `SmtpError`, by its seam reason. */
function connectFailure(error: unknown, where: string): SmtpError {
  const reason = failureReason(error);
  const detail = errorMessage(error);
  switch (reason) {
    case "tls-verify":
    case "tls-handshake":
      return new SmtpError(`Cannot connect to ${where} with TLS: ${detail}`, {
        kind: "tls",
        command: "CONNECT",
        temporary: false,
        cause: error,
      });
    case "dns":
      return new SmtpError(
        `Cannot connect to ${where}: the host name does not resolve: ${detail}`,
        {
          kind: "connection",
          command: "CONNECT",
          temporary: false,
          cause: error,
        },
      );
    case "timeout":
      return new SmtpError(`Cannot connect to ${where}: ${detail}`, {
        kind: "timeout",
        command: "CONNECT",
        cause: error,
      });
    default:
      return new SmtpError(`Cannot connect to ${where}: ${detail}`, {
        kind: "connection",
        command: "CONNECT",
        cause: error,
      });
  }
}

/** Loads what the session's options need beyond the core. */
function loadParts(settings: SessionSettings): Promise<unknown> {
  return settings.auth ? Promise.all([loadMime(), loadSasl()]) : loadMime();
}

/** The message to send, and the composer's output when it was a `Mail`. */
function prepare(
  message: Mail | RawMessage,
): { prepared: OutgoingMessage; composed?: ComposedMessage } {
  if (isRawMessage(message)) return { prepared: prepareRaw(message) };
  if (typeof message !== "object" || message === null) {
    throw new TypeError("Cannot send message: expected a Mail or a RawMessage");
  }
  const composed = loadedMime().composeMessage(message);
  return {
    prepared: {
      from: composed.envelope.from,
      to: composed.envelope.to,
      smtputf8: composed.envelope.smtputf8,
      eightBit: composed.eightBit,
      messageId: composed.messageId,
      body: composed.readable,
    },
    composed,
  };
}

/** Reads from `reader` until `CHUNK_SIZE` bytes or the end. */
async function gather(
  reader: MessageReader,
): Promise<{ bytes: Uint8Array; done: boolean }> {
  const parts: Uint8Array[] = [];
  let size = 0;
  while (size < CHUNK_SIZE) {
    const chunk = await reader.read();
    if (chunk.done) return { bytes: concatBytes(parts, size), done: true };
    parts.push(chunk.value);
    size += chunk.value.length;
  }
  return { bytes: concatBytes(parts, size), done: false };
}
