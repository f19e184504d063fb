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
import { encode, START, type State, tail } from "../protocol/_line_endings.ts";
import { SmtpError } from "../protocol/smtp_error.ts";
import { assertBytes } from "../protocol/_bytes.ts";

/** A chunk, or the end. */
export type Chunk = { done: false; value: Uint8Array } | { done: true };

/** How the message is encoded: for DATA, or for BDAT. */
export type Encoding = "DATA" | "BDAT";

/** A message source read under the session's rules. */
export class MessageReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #timeout: number;
  #stop: AbortSignal;
  #verb: Encoding;
  #stuff: boolean;
  #state: State = START;
  /** The source reached its end. */
  #finished = false;
  /** The ending was handed out. */
  #ended = false;
  /** Why the reading was ended early. */
  #closed: { reason: unknown } | undefined;

  /**
   * @param readable The message, as the caller gave it.
   * @param encoding DATA (dot-stuffed, ended by ".") or BDAT (CRLF only).
   * @param timeout How long one read may take, in ms.
   * @param stop Aborts when the send must stop (wire failure, abort).
   */
  constructor(
    readable: ReadableStream<Uint8Array>,
    encoding: Encoding,
    timeout: number,
    stop: AbortSignal,
  ) {
    this.#reader = readable.getReader();
    this.#verb = encoding;
    this.#stuff = encoding === "DATA";
    this.#timeout = timeout;
    this.#stop = stop;
  }

  /**
   * The next chunk of the encoded message; with DATA the last one ends with
   * the end-of-data line.
   *
   * @returns The chunk, or the end.
   * @throws {TypeError} The source yielded something else than a
   * `Uint8Array` (a string, say).
   * @throws {SmtpError} Of kind "timeout" when the source produced nothing
   * in time; the wire's failure or the abort reason when those came first;
   * the source's own error when it failed.
   */
  async read(): Promise<Chunk> {
    while (!this.#finished) {
      const value = await this.#next();
      // A source cancelled under a pending read ends it: that is no end of
      // the message.
      if (this.#closed) throw this.#closed.reason;
      if (value === undefined) break;
      assertBytes(value, "send message");
      const { output, state } = encode(value, this.#state, this.#stuff);
      this.#state = state;
      if (output.length > 0) return { done: false, value: output };
    }
    if (this.#ended) return { done: true };
    this.#ended = true;
    const ending = tail(this.#state, this.#stuff);
    return ending.length > 0 ? { done: false, value: ending } : { done: true };
  }

  /**
   * Ends the reading: releases a source read to its end, or cancels it
   * (releasing files, sockets, attachment streams behind it) at once and
   * without waiting for a cancel that never settles.
   *
   * @param reason Why, passed to the source.
   */
  close(reason?: unknown): void {
    if (this.#finished) {
      try {
        this.#reader.releaseLock();
      } catch {
        // Already released.
      }
      return;
    }
    this.#finished = true;
    this.#closed = { reason };
    this.#reader.cancel(reason).catch(() => {});
  }

  async #next(): Promise<unknown> {
    // A listener per read, removed after it: racing a long-lived promise
    // instead would leave one reaction on it per read, for good.
    const stop = this.#stop;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onAbort: (() => void) | undefined;
    const interrupted = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new SmtpError(
              `Cannot send ${this.#verb}: the message source produced nothing within ${this.#timeout} ms`,
              { kind: "timeout", command: this.#verb },
            ),
          ),
        this.#timeout,
      );
      onAbort = () => reject(stop.reason);
      if (stop.aborted) onAbort();
      else stop.addEventListener("abort", onAbort, { once: true });
    });
    try {
      const result = await Promise.race([this.#reader.read(), interrupted]);
      if (result.done) {
        this.#finished = true;
        return undefined;
      }
      return result.value;
    } finally {
      clearTimeout(timer);
      stop.removeEventListener("abort", onAbort!);
    }
  }
}
