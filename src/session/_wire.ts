/**
 * The session's I/O: writes command lines and message data, and hands out
 * replies in order. One read loop feeds one incremental reply parser:
 *
 * - lazy, before STARTTLS: the loop reads only while a reply is awaited, one
 *   `read()` at a time, so no read is pending when the socket is upgraded
 *   (Deno's `startTls` fails when one is, and cancelling `readable` closes
 *   the socket);
 * - eager, once no STARTTLS can follow (after TLS is up, or when the session
 *   stays in plaintext): the loop reads continuously, so a reply that arrives
 *   when none is expected is caught as unsolicited at once and never pairs
 *   with a later command, and a server that closes an idle connection is
 *   noticed.
 *
 * Replies are handed out in the order they arrive, to readers in the order
 * they asked (pipelined commands, and a send pipelined behind the previous
 * one's end of data, each read their own). A reply parsed before the
 * connection failed is still handed out, in order, before the failure: only
 * what is still awaited fails. A 421 reply fails the wire where it is read,
 * naming the command it answered.
 *
 * Any failure (timeout, abort, dropped connection, malformed or unsolicited
 * reply) closes the connection and is kept: every later call fails with it.
 *
 * The write that ends a message's data is held for a few microtask turns
 * (no timer, no I/O wait) and resolves at once: what the session writes
 * next in that time — the next send's commands pipelined behind the data
 * (RFC 2920 §3.1), or QUIT — goes out in the same write, so a bulk sender
 * makes one write per message. Nothing else is held, so a failure of any
 * other write is still that write's.
 *
 * Timeouts cost no timer per reply or per write: each reply awaited and each
 * write in progress has a deadline, and one timer looks at them, at the
 * earliest deadline or within a second, whichever comes first; it is moved
 * only when a deadline comes before it. When it fires it fails what is
 * overdue, or waits for the next deadline, or stops when nothing is
 * pending. A bulk sender's session then arms a timer about once a second
 * instead of several per message.
 *
 * @module
 */
import type { Command } from "../protocol/_command.ts";
import { concatBytes } from "../protocol/_bytes.ts";
import { describeReply } from "../protocol/_describe_reply.ts";
import { ReplyParser } from "../protocol/_reply_parser.ts";
import type { Reply } from "../protocol/reply.ts";
import { SmtpError } from "../protocol/smtp_error.ts";
import type { Connection, StartTlsOptions } from "../transport/connection.ts";
import { failureReason } from "../transport/connection_failure.ts";
import type { SmtpLogger } from "./smtp_client_options.ts";

const encoder = new TextEncoder();

/**
 * How many microtask turns the end of a message's data waits for what the
 * session writes next. The next send's commands come some 15 turns after
 * (the send's call queue, reading the message's first chunk): this leaves
 * room, and costs a few microseconds when nothing comes.
 */
const HOLD_TURNS = 64;

/** How often, at least, the deadline timer looks while something is pending (ms). */
const WATCH_PERIOD = 1000;

/** How a read is to be treated when the wire fails before its reply. */
export interface ReadOptions {
  /**
   * The reply answers the end of message data: a failure before it arrives
   * means the server may have taken the message (`maybeDelivered`).
   */
  dataEnd?: boolean;
}

interface Waiter {
  resolve(reply: Reply): void;
  reject(reason: unknown): void;
  /** The verb of the command awaiting the reply ("CONNECT": the greeting). */
  verb: string;
  options: ReadOptions | undefined;
  /** How long the reply may take once it is the next one due, in ms. */
  timeout: number;
  /** When it is overdue (`performance.now()`), set once it is first in line. */
  due?: number;
}

/** A write in progress. */
interface PendingWrite {
  /** When it is overdue. */
  due: number;
  timeout: number;
  verb: string | undefined;
}

/** How errors name what was awaited: the greeting or a command. */
function awaited(verb: string): string {
  return verb === "CONNECT" ? "the greeting" : verb;
}

/** Formats a reply as the server's wire lines, for the transcript. */
export function replyLines(reply: Reply): string[] {
  const last = reply.lines.length - 1;
  return reply.lines.map((text, i) => {
    const enhanced = reply.enhancedCode ? `${reply.enhancedCode} ` : "";
    const body = `${enhanced}${text}`;
    return `${reply.code}${i < last ? "-" : body ? " " : ""}${body}`;
  });
}

/** The session's connection, reply queue and failure state. */
export class Wire {
  #conn: Connection;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #parser: ReplyParser = new ReplyParser();
  #logger: SmtpLogger | undefined;
  /** Read continuously (no STARTTLS can follow). */
  #eager: boolean;
  /** The read loop, while it runs. */
  #loop: Promise<void> | undefined;
  /** Replies received and not yet handed out. */
  #replies: Reply[] = [];
  /** Readers waiting for a reply, oldest first (never both queues at once). */
  #waiters: Waiter[] = [];
  /** Replies expected (commands written) and not yet received. */
  #expected = 0;
  /** Replies received so far, and replies expected so far (monotonic). */
  #received = 0;
  #promised = 0;
  /** Fail with `reason` once this many replies have been received. */
  #failAt: { count: number; reason: unknown } | undefined;
  /** The verb of the last command written, for errors between replies. */
  #lastVerb = "CONNECT";
  /** The verb of what is in progress (a reply awaited, data being sent). */
  #busy: string | undefined = "CONNECT";
  #failure: SmtpError | undefined;
  /** Writes in progress, oldest first (they complete in order). */
  #writes: PendingWrite[] = [];
  /** The next `write()` ends message data (`expect("DATA")` came first). */
  #endsData = false;
  /** The end of a message's data, held for the write that follows it. */
  #held: { bytes: Uint8Array; pending: PendingWrite } | undefined;
  /** The one timer, and when it fires (`Infinity`: not armed). */
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #failed: Promise<never>;
  #rejectFailed!: (reason: SmtpError) => void;

  /**
   * @param conn The connection.
   * @param eager Whether to read continuously from the start (no STARTTLS
   * can follow).
   * @param logger Receives the transcript.
   */
  constructor(conn: Connection, eager: boolean, logger?: SmtpLogger) {
    this.#conn = conn;
    this.#logger = logger;
    this.#writer = conn.writable.getWriter();
    this.#reader = conn.readable.getReader();
    this.#eager = eager;
    this.#failed = new Promise<never>((_, reject) => {
      this.#rejectFailed = reject;
    });
    this.#failed.catch(() => {});
    if (eager) this.#loop = this.#read();
  }

  /** Whether the connection is encrypted. */
  get secure(): boolean {
    return this.#conn.secure;
  }

  /** Whether the wire failed or was closed: nothing more can be sent. */
  get failed(): boolean {
    return this.#failure !== undefined;
  }

  /** The error every call fails with once the wire failed. */
  get failure(): SmtpError | undefined {
    return this.#failure;
  }

  /** Rejects with the wire's failure, when it fails. */
  get whenFailed(): Promise<never> {
    return this.#failed;
  }

  /** Replies received so far (monotonic). */
  get received(): number {
    return this.#received;
  }

  /** Replies expected so far, the ones written or announced (monotonic). */
  get promised(): number {
    return this.#promised;
  }

  /** Logs a note from the client. */
  info(text: string): void {
    this.#logger?.({ type: "info", text });
  }

  /**
   * Writes commands in one write, and expects one reply to each. The replies
   * are counted as expected before the write, so a reply that arrives before
   * the write resolves pairs correctly.
   *
   * @param commands The commands, in order.
   * @param timeout How long the write may take, in ms.
   * @param payload Bytes written right after the last command in the same
   * write (the chunk that follows `BDAT n`).
   */
  async send(
    commands: readonly Command[],
    timeout: number,
    payload?: Uint8Array,
  ): Promise<void> {
    this.#throwIfFailed();
    let text = "";
    for (const command of commands) {
      this.#logger?.({ type: "client", text: command.logged });
      text += command.line + "\r\n";
    }
    this.#expect(commands.length);
    this.#endsData = false;
    this.#lastVerb = commands.at(-1)?.verb ?? this.#lastVerb;
    this.#busy = commands[0]?.verb ?? this.#busy;
    const bytes = encoder.encode(text);
    await this.#write(
      payload && payload.length > 0 ? concatBytes([bytes, payload]) : bytes,
      timeout,
      commands[0]?.verb,
    );
  }

  /**
   * Declares what is in progress between replies (message data being
   * sent), so that a failure then names it.
   *
   * @param verb "DATA" or "BDAT".
   */
  busy(verb: string): void {
    this.#busy = verb;
  }

  /**
   * Writes message data (already dot-stuffed or chunk payload).
   *
   * @param chunk The bytes.
   * @param timeout How long this block may take, in ms.
   * @param verb "DATA" or "BDAT", for errors.
   */
  async write(
    chunk: Uint8Array,
    timeout: number,
    verb: string = "DATA",
  ): Promise<void> {
    this.#throwIfFailed();
    this.#busy = verb;
    if (this.#endsData) {
      this.#endsData = false;
      this.#hold(chunk, timeout, verb);
      return;
    }
    await this.#write(chunk, timeout, verb);
  }

  /**
   * Expects one more reply without writing a command: the greeting, or the
   * reply to the end of data. Call it before writing what it answers.
   *
   * @param verb "CONNECT" or "DATA", for errors.
   * @param count How many replies (LMTP: one per recipient).
   */
  expect(verb: string, count = 1): void {
    this.#expect(count);
    // What the client writes next ends the message data.
    this.#endsData = verb === "DATA";
    this.#lastVerb = verb;
    this.#busy = verb;
  }

  /**
   * The next reply, in order. A 421 reply fails the wire (the server is
   * closing the connection) and rejects with an error naming `verb`.
   *
   * @param timeout How long to wait, in ms, counted from when this reply is
   * the next one due (replies awaited before it arrived, or the call).
   * @param verb The command awaiting it, for errors ("CONNECT" for the
   * greeting).
   * @param options Whether the reply answers the end of message data.
   * @returns The reply.
   */
  read(timeout: number, verb: string, options?: ReadOptions): Promise<Reply> {
    const queued = this.#replies.shift();
    if (queued) {
      try {
        return Promise.resolve(this.#check421(queued, verb));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    if (this.#failure) {
      return Promise.reject(this.#failureFor(options));
    }
    const { promise, resolve, reject } = Promise.withResolvers<Reply>();
    this.#waiters.push({ resolve, reject, verb, options, timeout });
    this.#arm();
    if (!this.#loop) this.#loop = this.#read();
    return promise;
  }

  /**
   * Declares that no STARTTLS will follow: the wire reads eagerly from now
   * on, so a reply that arrives when none is awaited is caught as
   * unsolicited at once instead of pairing with the next command (a session
   * that stays in plaintext under `tls: "opportunistic"`).
   */
  settle(): void {
    if (this.#eager || this.#failure) return;
    this.#eager = true;
    this.#loop ??= this.#read();
  }

  /**
   * Upgrades to TLS after the server's 220 to STARTTLS. Any byte the server
   * sent after that reply fails the session (RFC 3207 §6).
   *
   * @param options The name to verify and extra CAs.
   * @param timeout How long the handshake may take, in ms.
   */
  async startTls(options: StartTlsOptions, timeout: number): Promise<void> {
    this.#throwIfFailed();
    if (this.#eager) {
      throw new Error("Cannot start TLS: the wire reads eagerly");
    }
    // The loop stops once no reply is awaited; wait for its last read.
    await this.#loop;
    this.#throwIfFailed();
    if (this.#parser.buffered > 0 || this.#replies.length > 0) {
      const error = new SmtpError(
        "Cannot start TLS: the server sent data after its 220 reply (possible response injection)",
        { kind: "protocol", command: "STARTTLS" },
      );
      this.fail(error);
      throw error;
    }
    this.#reader.releaseLock();
    this.#writer.releaseLock();
    let upgraded: Connection;
    try {
      upgraded = await withTimeout(
        this.#conn.startTls(options),
        timeout,
        () =>
          new SmtpError(`Cannot start TLS: no handshake within ${timeout} ms`, {
            kind: "timeout",
            command: "STARTTLS",
          }),
      );
    } catch (error) {
      // A connection dropped mid-handshake may work next time; a refused
      // certificate or a broken handshake will not.
      const failure = error instanceof SmtpError ? error : new SmtpError(
        `Cannot start TLS with ${JSON.stringify(options.hostname)}: ${
          errorMessage(error)
        }`,
        {
          kind: failureReason(error) === "reset" ? "connection" : "tls",
          command: "STARTTLS",
          cause: error,
        },
      );
      this.#setFailure(failure);
      this.#conn.close();
      throw failure;
    }
    this.#conn = upgraded;
    this.#writer = upgraded.writable.getWriter();
    this.#reader = upgraded.readable.getReader();
    this.#parser = new ReplyParser();
    this.#eager = true;
    this.#loop = this.#read();
  }

  /**
   * Fails the wire: closes the connection, and rejects every waiting read
   * and every later call with an `SmtpError` (`reason` itself when it is
   * one; an abort's reason is the aborted call's to report). The first
   * failure wins. Replies already received stay readable.
   *
   * @param reason Why.
   */
  fail(reason: unknown): void {
    if (this.#failure) return;
    let failure: SmtpError;
    if (reason instanceof SmtpError) {
      // Name the command whose reply was awaited (or the last one sent).
      failure = reason;
      if (reason.command === undefined) {
        const verb = this.#waiters[0]?.verb ?? this.#busy ??
          (reason.kind === "protocol" ? this.#lastVerb : undefined);
        if (verb) failure = withCommand(reason, verb);
      }
    } else {
      failure = new SmtpError(
        `Cannot use the connection: it was closed after an abort: ${
          errorMessage(reason)
        }`,
        { kind: "closed", cause: reason },
      );
    }
    this.#setFailure(failure);
    this.#expected = 0;
    this.#held = undefined;
    this.#unwatch();
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) {
      waiter.reject(this.#failureFor(waiter.options));
    }
    this.#conn.close();
  }

  /**
   * Fails the wire with `reason` once every reply expected before
   * `position` (a value of {@linkcode Wire.promised}) has been received:
   * an aborted send pipelined behind another one ends the connection only
   * after the earlier send's reply, so that reply is not lost.
   *
   * @param position Replies to receive first.
   * @param reason Why.
   */
  failAfter(position: number, reason: unknown): void {
    if (this.#failure) return;
    if (this.#received >= position) this.fail(reason);
    else if (!this.#failAt || this.#failAt.count > position) {
      this.#failAt = { count: position, reason };
    }
  }

  /** Closes the connection and waits until the read loop has stopped. */
  async close(): Promise<void> {
    this.fail(
      new SmtpError("Cannot use the connection: it is closed", {
        kind: "closed",
      }),
    );
    await this.#loop;
  }

  /** Starts the timeout of the reply due next. */
  #arm(): void {
    const head = this.#waiters[0];
    if (!head || head.due !== undefined) return;
    head.due = performance.now() + head.timeout;
    this.#watch(head.due);
  }

  /**
   * Makes sure the timer fires by `due`. It fires at least every
   * `WATCH_PERIOD` ms while something is pending, so a later deadline
   * that is shorter than the ones before it (a data timeout after a
   * command's) seldom needs the timer moved.
   */
  #watch(due: number): void {
    if (due >= this.#timerAt || this.#failure) return;
    const now = performance.now();
    const at = Math.min(due, now + WATCH_PERIOD);
    if (at >= this.#timerAt) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.#check(), Math.max(0, at - now));
  }

  /** Stops the timer. */
  #unwatch(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  /** The timer fired: fails what is overdue, or waits for the next. */
  #check(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = performance.now();
    const head = this.#waiters[0];
    let write: PendingWrite | undefined;
    for (const pending of this.#writes) {
      if (!write || pending.due < write.due) write = pending;
    }
    if (head?.due !== undefined && head.due <= now) {
      this.fail(
        new SmtpError(
          `Cannot complete ${
            awaited(head.verb)
          }: no reply within ${head.timeout} ms`,
          { kind: "timeout", command: head.verb },
        ),
      );
    } else if (write && write.due <= now) {
      const { verb, timeout } = write;
      this.fail(
        new SmtpError(
          `Cannot send ${
            verb ?? "data"
          }: the write did not finish within ${timeout} ms`,
          { kind: "timeout", ...(verb ? { command: verb } : {}) },
        ),
      );
    } else {
      const next = Math.min(head?.due ?? Infinity, write?.due ?? Infinity);
      if (next !== Infinity) this.#watch(next);
    }
  }

  #setFailure(failure: SmtpError): void {
    this.#unwatch();
    this.#failure = failure;
    this.#rejectFailed(failure);
  }

  /** The failure as a reader gets it: maybe delivered after the data end. */
  #failureFor(options: ReadOptions | undefined): SmtpError {
    const failure = this.#failure!;
    if (!options?.dataEnd || failure.kind === "closed") return failure;
    return new SmtpError(
      `${failure.message} (after the end of the message data: the server may have taken the message)`,
      {
        kind: failure.kind,
        temporary: failure.temporary,
        maybeDelivered: true,
        ...(failure.command !== undefined ? { command: failure.command } : {}),
        ...(failure.reply ? { reply: failure.reply } : {}),
        cause: failure,
      },
    );
  }

  #throwIfFailed(): void {
    if (this.#failure) throw this.#failure;
  }

  #expect(count: number): void {
    this.#expected += count;
    this.#promised += count;
  }

  #check421(reply: Reply, verb: string): Reply {
    if (reply.code !== 421) return reply;
    const error = new SmtpError(
      verb === "CONNECT"
        ? `Cannot start session: server greeted with ${describeReply(reply)}`
        : `Cannot send ${verb}: server is closing the connection: ${
          describeReply(reply)
        }`,
      { reply, command: verb },
    );
    this.fail(error);
    throw error;
  }

  /**
   * Holds the end of a message's data for what is written next; writes it
   * alone after `HOLD_TURNS` microtask turns if nothing comes. Its deadline
   * runs from now.
   */
  #hold(bytes: Uint8Array, timeout: number, verb: string): void {
    const pending: PendingWrite = {
      due: performance.now() + timeout,
      timeout,
      verb,
    };
    this.#writes.push(pending);
    this.#watch(pending.due);
    const held = { bytes, pending };
    this.#held = held;
    let turns = HOLD_TURNS;
    const wait = (): void => {
      if (this.#held !== held) return; // it went with the next write
      if (--turns > 0) {
        queueMicrotask(wait);
        return;
      }
      this.#held = undefined;
      this.#forget(pending);
      // A failure is the wire's: the reads of the replies report it.
      this.#write(bytes, timeout, verb).catch(() => {});
    };
    queueMicrotask(wait);
  }

  #forget(pending: PendingWrite): void {
    const writes = this.#writes;
    const at = writes.indexOf(pending);
    if (at >= 0) writes.splice(at, 1);
  }

  async #write(
    bytes: Uint8Array,
    timeout: number,
    verb: string | undefined,
  ): Promise<void> {
    const held = this.#held;
    if (held) {
      // The end of the previous message's data goes first, in this write.
      this.#held = undefined;
      this.#forget(held.pending);
      bytes = concatBytes([held.bytes, bytes]);
    }
    const pending: PendingWrite = {
      due: performance.now() + timeout,
      timeout,
      verb,
    };
    this.#writes.push(pending);
    this.#watch(pending.due);
    try {
      // A write the timer gave up on is failed by closing the connection,
      // which ends the write too.
      await this.#writer.write(bytes);
    } catch (error) {
      const failure = this.#failure ??
        (error instanceof SmtpError ? error : new SmtpError(
          `Cannot send ${verb ?? "data"}: the connection was lost`,
          {
            kind: "connection",
            cause: error,
            ...(verb ? { command: verb } : {}),
          },
        ));
      this.fail(failure);
      throw this.#failure;
    } finally {
      this.#forget(pending);
    }
  }

  #deliver(reply: Reply): void {
    if (this.#failure) return;
    const logger = this.#logger;
    if (logger) {
      for (const text of replyLines(reply)) logger({ type: "server", text });
    }
    if (this.#expected === 0) {
      // A reply nobody asked for: never let it pair with a later command.
      this.fail(
        reply.code === 421
          ? new SmtpError(
            `Cannot continue: the server is closing the connection: ${
              describeReply(reply)
            }`,
            { reply },
          )
          : new SmtpError(
            `Cannot continue: the server sent a reply nobody asked for: ${
              describeReply(reply)
            }`,
            { kind: "protocol", reply },
          ),
      );
      return;
    }
    this.#expected--;
    this.#received++;
    const waiter = this.#waiters.shift();
    if (this.#expected === 0) {
      // After a 354 (or a 334) the client sends next: a failure then is
      // that command's.
      this.#busy = reply.code >= 300 && reply.code < 400
        ? waiter?.verb
        : undefined;
    }
    if (waiter) {
      this.#arm();
      if (reply.code === 421) {
        try {
          this.#check421(reply, waiter.verb);
        } catch (error) {
          waiter.reject(error);
        }
      } else waiter.resolve(reply);
    } else {
      this.#replies.push(reply);
    }
    const failAt = this.#failAt;
    if (failAt && this.#received >= failAt.count) {
      this.#failAt = undefined;
      this.fail(failAt.reason);
    }
  }

  /** The read loop: lazy (while replies are awaited) or eager. */
  async #read(): Promise<void> {
    const reader = this.#reader;
    const parser = this.#parser;
    try {
      while (!this.#failure && (this.#eager || this.#waiters.length > 0)) {
        const { value, done } = await reader.read();
        if (this.#failure) return;
        if (done) {
          parser.end();
          throw closedError(this.#awaiting());
        }
        for (const reply of parser.push(value)) this.#deliver(reply);
      }
    } catch (error) {
      this.fail(asConnectionError(error, this.#awaiting()));
    } finally {
      if (this.#reader === reader) this.#loop = undefined;
    }
  }

  /** What the session is waiting for, for errors of the read loop. */
  #awaiting(): string {
    const verb = this.#waiters[0]?.verb ?? this.#busy;
    return verb ? awaited(verb) : "the session";
  }
}

/** A copy of a wire error naming the command it concerns. */
function withCommand(error: SmtpError, verb: string): SmtpError {
  return new SmtpError(error.message, {
    kind: error.kind,
    temporary: error.temporary,
    command: verb,
    ...(error.reply ? { reply: error.reply } : {}),
    ...(error.cause !== undefined ? { cause: error.cause } : {}),
  });
}

function closedError(verb: string): SmtpError {
  return new SmtpError(
    `Cannot complete ${verb}: the server closed the connection`,
    { kind: "connection" },
  );
}

function asConnectionError(error: unknown, verb: string): unknown {
  if (error instanceof SmtpError) return error;
  return new SmtpError(
    `Cannot complete ${verb}: the connection failed: ${errorMessage(error)}`,
    { kind: "connection", cause: error },
  );
}

/** The message of an unknown thrown value. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Rejects with `onTimeout()` when `promise` takes longer than `ms`. */
export async function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  onTimeout: () => unknown,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(onTimeout()), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
