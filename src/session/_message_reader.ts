/**
 * Reads a message source for a transaction: encodes it on the way (CRLF line
 * endings and dot-stuffing for DATA, CRLF only for BDAT; the same encoder as
 * `DotStuffStream` and `CrlfStream`, without a pipe in between) and never
 * hangs on it. Each read is raced with the data timeout (RFC 5321's data
 * block timeout also covers a source that produces nothing), the wire's
 * failure (the server closed, sent 421) and the send's abort. Whatever ends
 * the send, the source is cancelled at once, without waiting for a source
 * that does not answer.
 *
 * @module
 */
import { assertBytes, concatBytes } from "../protocol/_bytes.ts";
import { encode, START, type State, tail } from "../protocol/_line_endings.ts";
import { SmtpError } from "../protocol/smtp_error.ts";

/** How much of an in-memory message one read hands out. */
const PIECE = 64 * 1024;

/** A chunk, or the end. */
export type Chunk = { done: false; value: Uint8Array } | { done: true };

/** How the message is encoded: for DATA, or for BDAT. */
export type Encoding = "DATA" | "BDAT";

/** A message source read under the session's rules. */
export class MessageReader {
  /** A stream's reader; undefined for bytes given as such. */
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  /** Bytes given as such, and how far they are read. */
  #bytes: Uint8Array | undefined;
  #offset = 0;
  #timeout: number;
  #verb: Encoding;
  #stuff: boolean;
  #state: State = START;
  /** The source reached its end. */
  #finished = false;
  /** The ending was handed out. */
  #ended = false;
  /**
   * What the read ahead found after the chunk handed out last: the next
   * chunk, or the source's failure (reported by the next read, as if it
   * had not been read ahead).
   */
  #held: { value: Uint8Array } | { error: unknown } | undefined;
  /** Why reading stopped (the send's stop, or a read that timed out). */
  #halted: { reason: unknown } | undefined;
  /** Rejects the read in progress. */
  #interrupt: ((reason: unknown) => void) | undefined;
  /** When the read in progress is overdue; `undefined`: no read. */
  #due: number | undefined;
  #unlink: () => void;

  // Every reader alive shares one timer, set for the earliest deadline and
  // moved only when a deadline comes before it: sends that overlap (a pool,
  // pipelined sends) arm no timer per message.
  static #alive: Set<MessageReader> = new Set();
  static #timer: ReturnType<typeof setTimeout> | undefined;
  static #timerAt = Infinity;

  static #watch(due: number): void {
    if (due >= MessageReader.#timerAt) return;
    clearTimeout(MessageReader.#timer);
    MessageReader.#timerAt = due;
    MessageReader.#timer = setTimeout(
      () => MessageReader.#check(),
      Math.max(0, due - performance.now()),
    );
  }

  /** The timer fired: times out overdue reads, waits for the next one. */
  static #check(): void {
    MessageReader.#timer = undefined;
    MessageReader.#timerAt = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const reader of MessageReader.#alive) {
      const due = reader.#due;
      if (due === undefined) continue;
      if (due <= now) reader.#timeOut();
      else next = Math.min(next, due);
    }
    if (next !== Infinity) MessageReader.#watch(next);
  }

  static #forget(reader: MessageReader): void {
    const alive = MessageReader.#alive;
    alive.delete(reader);
    if (alive.size === 0) {
      clearTimeout(MessageReader.#timer);
      MessageReader.#timer = undefined;
      MessageReader.#timerAt = Infinity;
    }
  }

  /**
   * @param source The message, as the caller gave it: bytes (read in 64 KiB
   * pieces, no stream in between, no timer) or a stream.
   * @param encoding DATA (dot-stuffed, ended by ".") or BDAT (CRLF only).
   * @param timeout How long one read may take, in ms.
   * @param stop Aborts when the send must stop (wire failure, abort).
   */
  constructor(
    source: Uint8Array | ReadableStream<Uint8Array>,
    encoding: Encoding,
    timeout: number,
    stop: AbortSignal,
  ) {
    if (source instanceof Uint8Array) this.#bytes = source;
    else this.#reader = source.getReader();
    this.#verb = encoding;
    this.#stuff = encoding === "DATA";
    this.#timeout = timeout;
    this.#unlink = follow(stop, (reason) => this.#stop(reason));
    MessageReader.#alive.add(this);
  }

  /**
   * The next chunk of the encoded message; with DATA the last one ends with
   * the end-of-data line. The reader reads one chunk ahead, so the ending
   * goes with the last chunk of the message (one write, not two).
   *
   * @returns The chunk, or the end.
   * @throws {TypeError} The source yielded something else than a
   * `Uint8Array` (a string, say).
   * @throws {SmtpError} Of kind "timeout" when the source produced nothing
   * in time; the wire's failure or the abort reason when those came first;
   * the source's own error when it failed.
   */
  async read(): Promise<Chunk> {
    if (this.#ended) return { done: true };
    const held = this.#held;
    this.#held = undefined;
    if (held && "error" in held) throw held.error;
    const output = held ? held.value : await this.#produce();
    if (output !== undefined) {
      try {
        const next = await this.#produce();
        if (next !== undefined) this.#held = { value: next };
      } catch (error) {
        this.#held = { error };
      }
      if (this.#held) return { done: false, value: output };
    }
    this.#ended = true;
    const ending = tail(this.#state, this.#stuff);
    if (output === undefined) {
      return ending.length > 0
        ? { done: false, value: ending }
        : { done: true };
    }
    return {
      done: false,
      value: ending.length > 0 ? concatBytes([output, ending]) : output,
    };
  }

  /**
   * Ends the reading: lets go of a source read to its end, or cancels it
   * (releasing files, sockets, attachment streams behind it) at once and
   * without waiting for a cancel that never settles.
   *
   * @param reason Why, passed to the source.
   */
  close(reason?: unknown): void {
    MessageReader.#forget(this);
    this.#unlink();
    // A source read to its end is closed: its reader needs no release
    // (releasing one costs an error object and its stack trace).
    if (this.#finished) return;
    this.#finished = true;
    // A read pending on the cancelled source ends "done": that is no end of
    // the message, so it and every later read throw the reason instead.
    this.#stop(reason);
    this.#reader?.cancel(reason).catch(() => {});
  }

  /** The next non-empty encoded output of the source, or its end. */
  async #produce(): Promise<Uint8Array | undefined> {
    while (!this.#finished) {
      const value = await this.#next();
      if (value === undefined) break;
      assertBytes(value, "send message");
      const { output, state } = encode(value, this.#state, this.#stuff);
      this.#state = state;
      if (output.length > 0) return output;
    }
    return undefined;
  }

  async #next(): Promise<unknown> {
    if (this.#halted) throw this.#halted.reason;
    const bytes = this.#bytes;
    if (bytes) {
      // In memory: nothing to wait for, so no deadline either.
      if (this.#offset >= bytes.length) {
        this.#finished = true;
        return undefined;
      }
      const piece = bytes.subarray(this.#offset, this.#offset + PIECE);
      this.#offset += PIECE;
      return piece;
    }
    this.#due = performance.now() + this.#timeout;
    MessageReader.#watch(this.#due);
    // Not a race with a promise that lives as long as the message: each
    // such race would keep its chunk until the message ends (all of a
    // 1 GiB stream). The read in progress is rejected directly instead.
    const { promise, resolve, reject } = Promise.withResolvers<
      ReadableStreamReadResult<Uint8Array>
    >();
    this.#interrupt = reject;
    this.#reader!.read().then(resolve, reject);
    try {
      const result = await promise;
      // Stopped while the read was pending (close() cancelled the source).
      const halted = this.#halted as { reason: unknown } | undefined;
      if (halted) throw halted.reason;
      if (result.done) {
        this.#finished = true;
        return undefined;
      }
      return result.value;
    } finally {
      this.#due = undefined;
      this.#interrupt = undefined;
    }
  }

  /** Stops reading: the read in progress and every later one reject. */
  #stop(reason: unknown): void {
    this.#halted ??= { reason };
    this.#interrupt?.(this.#halted.reason);
  }

  /** The read in progress took too long. */
  #timeOut(): void {
    this.#stop(
      new SmtpError(
        `Cannot send ${this.#verb}: the message source produced nothing within ${this.#timeout} ms`,
        { kind: "timeout", command: this.#verb },
      ),
    );
  }
}

/**
 * Passes `stop`'s abort to `onStop` until the returned function is called.
 * `stop` may live as long as the connection (its failure): the listener is
 * removed then, so it holds nothing of the reader.
 */
function follow(
  stop: AbortSignal,
  onStop: (reason: unknown) => void,
): () => void {
  if (stop.aborted) {
    onStop(stop.reason);
    return () => {};
  }
  const listener = () => onStop(stop.reason);
  stop.addEventListener("abort", listener, { once: true });
  return () => stop.removeEventListener("abort", listener);
}
