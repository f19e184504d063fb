/**
 * The session's I/O: writes command lines and message data, and hands out
 * replies in order. Two ways of reading share one reply parser design:
 *
 * - pull: one `read()` at a time, only while a reply is awaited. Used before
 *   STARTTLS, because Deno's `startTls` fails when a read is pending and
 *   cancelling `readable` closes the socket.
 * - pump: `readable.pipeThrough(new ReplyStream())`, used once no STARTTLS
 *   can follow (after TLS is up, or when the session never upgrades). Replies
 *   are read eagerly, so one that arrives when none is awaited is caught as
 *   unsolicited at once and never pairs with a later command.
 *
 * Any failure (timeout, abort, dropped connection, malformed or unsolicited
 * reply) closes the connection and is kept: every later call fails with it.
 *
 * @module
 */
import type { Command } from "../protocol/_command.ts";
import type { Connection, StartTlsOptions } from "../transport/connection.ts";
import { failureReason } from "../transport/connection_failure.ts";
import { ReplyParser } from "../protocol/_reply_parser.ts";
import type { Reply } from "../protocol/reply.ts";
import { ReplyStream } from "../protocol/reply_stream.ts";
import { SmtpError } from "../protocol/smtp_error.ts";
import type { SmtpLogger } from "./smtp_client_options.ts";

const encoder = new TextEncoder();

interface Waiter {
  resolve(reply: Reply): void;
  reject(reason: unknown): void;
  /** The verb of the command awaiting the reply ("CONNECT": the greeting). */
  verb: string;
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
  #logger: SmtpLogger | undefined;
  // Pull mode only.
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #parser: ReplyParser | undefined;
  // Pump mode only.
  #pump: Promise<void> | undefined;
  #pulling: Promise<void> | undefined;
  /** Pull mode only: reading eagerly, as no STARTTLS can follow any more. */
  #eager = false;
  #queue: Reply[] = [];
  #waiter: Waiter | undefined;
  #outstanding = 0;
  /** The verb of the last command written, for errors between replies. */
  #lastVerb = "CONNECT";
  /** The verb of what is in progress (a reply awaited, data being sent). */
  #busy: string | undefined = "CONNECT";
  #failure: unknown;
  #failed = false;

  /**
   * @param conn The connection.
   * @param pull Whether to read in pull mode (a STARTTLS may follow).
   * @param logger Receives the transcript.
   */
  constructor(conn: Connection, pull: boolean, logger?: SmtpLogger) {
    this.#conn = conn;
    this.#logger = logger;
    this.#writer = conn.writable.getWriter();
    if (pull) {
      this.#reader = conn.readable.getReader();
      this.#parser = new ReplyParser();
    } else {
      this.#startPump();
    }
  }

  /** Whether the connection is encrypted. */
  get secure(): boolean {
    return this.#conn.secure;
  }

  /** Whether the wire failed or was closed: nothing more can be sent. */
  get failed(): boolean {
    return this.#failed;
  }

  /** The error every call fails with once the wire failed. */
  get failure(): unknown {
    return this.#failure;
  }

  /** Logs a note from the client. */
  info(text: string): void {
    this.#logger?.({ type: "info", text });
  }

  /**
   * Writes commands in one write, and expects one reply to each.
   *
   * @param commands The commands, in order.
   * @param timeout How long the write may take, in ms.
   * @param payload Bytes written right after the last command in the same
   * write (the chunk that follows `BDAT n`).
   */
  async send(
    commands: Command[],
    timeout: number,
    payload?: Uint8Array,
  ): Promise<void> {
    this.#throwIfFailed();
    let text = "";
    for (const command of commands) {
      this.#logger?.({ type: "client", text: command.logged });
      text += command.line + "\r\n";
    }
    this.#outstanding += commands.length;
    this.#lastVerb = commands.at(-1)?.verb ?? this.#lastVerb;
    this.#busy = commands[0]?.verb ?? this.#busy;
    let bytes = encoder.encode(text);
    if (payload && payload.length > 0) {
      const joined = new Uint8Array(bytes.length + payload.length);
      joined.set(bytes);
      joined.set(payload, bytes.length);
      bytes = joined;
    }
    await this.#write(bytes, timeout, commands[0]?.verb);
  }

  /**
   * Writes message data (already dot-stuffed).
   *
   * @param chunk The bytes.
   * @param timeout How long this block may take, in ms.
   */
  async write(chunk: Uint8Array, timeout: number): Promise<void> {
    this.#throwIfFailed();
    this.#busy = "DATA";
    await this.#write(chunk, timeout, "DATA");
  }

  /**
   * Expects one more reply without writing a command: the greeting, or the
   * reply to the end of data.
   *
   * @param verb "CONNECT" or "DATA", for errors.
   */
  expect(verb: string): void {
    this.#outstanding++;
    this.#lastVerb = verb;
    this.#busy = verb;
  }

  /**
   * The next reply, in order.
   *
   * @param timeout How long to wait, in ms.
   * @param verb The command awaiting it, for errors ("CONNECT" for the
   * greeting).
   * @returns The reply.
   */
  read(timeout: number, verb: string): Promise<Reply> {
    this.#throwIfFailed();
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    const { promise, resolve, reject } = Promise.withResolvers<Reply>();
    this.#waiter = { resolve, reject, verb };
    const timer = setTimeout(() => {
      this.fail(
        new SmtpError(
          `Cannot complete ${awaited(verb)}: no reply within ${timeout} ms`,
          { kind: "timeout", command: verb },
        ),
      );
    }, timeout);
    if (this.#reader && !this.#eager) this.#pulling = this.#pull(verb);
    return promise.finally(() => clearTimeout(timer));
  }

  /**
   * Declares that no STARTTLS will follow: a wire in pull mode reads eagerly
   * from now on, so a reply that arrives when none is awaited is caught as
   * unsolicited at once instead of pairing with the next command (a session
   * that stays in plaintext under `tls: "opportunistic"`).
   */
  settle(): void {
    if (!this.#reader || this.#eager || this.#failed) return;
    this.#eager = true;
    const pulling = this.#pulling ?? Promise.resolve();
    this.#pump = pulling.then(() => this.#readEagerly());
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
    const reader = this.#reader;
    if (!reader || !this.#parser || this.#eager) {
      throw new Error("Cannot start TLS: the wire is not in pull mode");
    }
    if (this.#parser.buffered > 0 || this.#queue.length > 0) {
      const error = new SmtpError(
        "Cannot start TLS: the server sent data after its 220 reply (possible response injection)",
        { kind: "protocol", command: "STARTTLS" },
      );
      this.fail(error);
      throw error;
    }
    reader.releaseLock();
    this.#writer.releaseLock();
    this.#reader = undefined;
    this.#parser = undefined;
    try {
      const upgraded = await withTimeout(
        this.#conn.startTls(options),
        timeout,
        () =>
          new SmtpError(`Cannot start TLS: no handshake within ${timeout} ms`, {
            kind: "timeout",
            command: "STARTTLS",
          }),
      );
      this.#conn = upgraded;
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
      this.#failed = true;
      this.#failure = failure;
      this.#conn.close();
      throw failure;
    }
    this.#writer = this.#conn.writable.getWriter();
    this.#startPump();
  }

  /**
   * Fails the wire: closes the connection, and rejects the waiting read and
   * every later call with `reason`. The first failure wins.
   */
  fail(reason: unknown): void {
    if (this.#failed) return;
    // Name the command whose reply was awaited (or the last one sent) in a
    // wire error that does not say.
    if (reason instanceof SmtpError && reason.command === undefined) {
      const verb = this.#waiter?.verb ?? this.#busy ??
        (reason.kind === "protocol" ? this.#lastVerb : undefined);
      if (verb) reason = withCommand(reason, verb);
    }
    this.#failed = true;
    // An abort rejects the call it interrupts with its reason; every later
    // call gets an SmtpError saying why the connection is gone.
    this.#failure = reason instanceof SmtpError ? reason : new SmtpError(
      `Cannot use the connection: it was closed after an abort: ${
        errorMessage(reason)
      }`,
      { kind: "closed", cause: reason },
    );
    this.#outstanding = 0;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(reason);
    this.#conn.close();
  }

  /** Closes the connection and waits until nothing is left running. */
  async close(): Promise<void> {
    this.fail(
      new SmtpError("Cannot use the connection: it is closed", {
        kind: "closed",
      }),
    );
    await this.#pulling;
    await this.#pump;
  }

  #throwIfFailed(): void {
    if (this.#failed) throw this.#failure;
  }

  async #write(
    bytes: Uint8Array,
    timeout: number,
    verb: string | undefined,
  ): Promise<void> {
    try {
      await withTimeout(
        this.#writer.write(bytes),
        timeout,
        () =>
          new SmtpError(
            `Cannot send ${
              verb ?? "data"
            }: the write did not finish within ${timeout} ms`,
            { kind: "timeout", ...(verb ? { command: verb } : {}) },
          ),
      );
    } catch (error) {
      const failure = this.#failed
        ? this.#failure
        : error instanceof SmtpError
        ? error
        : new SmtpError(
          `Cannot send ${verb ?? "data"}: the connection was lost`,
          {
            kind: "connection",
            cause: error,
            ...(verb ? { command: verb } : {}),
          },
        );
      this.fail(failure);
      throw failure;
    }
  }

  #deliver(reply: Reply): void {
    for (const text of replyLines(reply)) {
      this.#logger?.({ type: "server", text });
    }
    if (this.#outstanding === 0) {
      // A reply nobody asked for: never let it pair with a later command.
      this.fail(
        reply.code === 421
          ? new SmtpError(
            `Cannot continue: the server is closing the connection: ${reply.code} ${
              JSON.stringify(reply.text)
            }`,
            { reply },
          )
          : new SmtpError(
            `Cannot continue: the server sent a reply nobody asked for: ${reply.code} ${
              JSON.stringify(reply.text)
            }`,
            { kind: "protocol", reply },
          ),
      );
      return;
    }
    this.#outstanding--;
    if (this.#outstanding === 0) this.#busy = undefined;
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = undefined;
      waiter.resolve(reply);
    } else {
      this.#queue.push(reply);
    }
  }

  async #pull(verb: string): Promise<void> {
    const reader = this.#reader!;
    const parser = this.#parser!;
    try {
      while (this.#waiter && !this.#failed) {
        const { value, done } = await reader.read();
        if (this.#failed) return;
        if (done) {
          parser.end();
          throw closedError(awaited(verb));
        }
        for (const reply of parser.push(value)) this.#deliver(reply);
      }
    } catch (error) {
      this.fail(asConnectionError(error, awaited(verb)));
    }
  }

  async #readEagerly(): Promise<void> {
    const reader = this.#reader!;
    const parser = this.#parser!;
    try {
      while (!this.#failed) {
        const { value, done } = await reader.read();
        if (this.#failed) return;
        if (done) {
          parser.end();
          throw closedError(this.#awaiting());
        }
        for (const reply of parser.push(value)) this.#deliver(reply);
      }
    } catch (error) {
      this.fail(asConnectionError(error, this.#awaiting()));
    }
  }

  #startPump(): void {
    this.#pump = this.#conn.readable
      .pipeThrough(new ReplyStream())
      .pipeTo(
        new WritableStream({ write: (reply) => this.#deliver(reply) }),
      )
      .then(
        () => this.fail(closedError(this.#awaiting())),
        (error) => this.fail(asConnectionError(error, this.#awaiting())),
      );
  }

  /** What the session is waiting for, for errors of the pump. */
  #awaiting(): string {
    return this.#waiter ? awaited(this.#waiter.verb) : "the session";
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
async function withTimeout<T>(
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
