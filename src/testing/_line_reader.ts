/**
 * The command-line reader of the capture server: a byte buffer that yields
 * one command line at a time, so pipelined commands (RFC 2920) are answered in
 * order, and hands the remaining raw bytes to DATA, BDAT and STARTTLS.
 *
 * @module
 */

/** One line read by {@linkcode LineReader.next}. */
export type ReadLine =
  | {
    /** The line without its line ending, decoded as UTF-8. */
    line: string;
    /** Whether it ended with a bare LF instead of CRLF. */
    bareLf: boolean;
    tooLong?: undefined;
  }
  | {
    /** The line was longer than the limit; its bytes were dropped. */
    tooLong: true;
  };

const LF = 0x0a;
const CR = 0x0d;
const EMPTY = new Uint8Array(0);

/** Splits buffered bytes into lines; see the module doc. */
export class LineReader {
  #buf: Uint8Array = EMPTY;
  #maxLength: number;
  #discarding = false;
  #decoder = new TextDecoder();

  /**
   * @param maxLength The longest line accepted, without its line ending.
   */
  constructor(maxLength: number) {
    this.#maxLength = maxLength;
  }

  /** How many bytes are buffered. */
  get buffered(): number {
    return this.#buf.length;
  }

  /** Appends bytes read from the connection. */
  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (this.#buf.length === 0) {
      this.#buf = bytes;
      return;
    }
    const joined = new Uint8Array(this.#buf.length + bytes.length);
    joined.set(this.#buf);
    joined.set(bytes, this.#buf.length);
    this.#buf = joined;
  }

  /**
   * Takes the next complete line.
   *
   * @returns The line, a too-long marker once the end of an over-long line has
   * arrived, or `undefined` when more bytes are needed.
   */
  next(): ReadLine | undefined {
    const lf = this.#buf.indexOf(LF);
    if (lf < 0) {
      if (this.#buf.length > this.#maxLength + 1) {
        // Too long already: drop it and report once its end arrives.
        this.#discarding = true;
        this.#buf = EMPTY;
      }
      return undefined;
    }
    const bareLf = lf === 0 || this.#buf[lf - 1] !== CR;
    const end = bareLf ? lf : lf - 1;
    const bytes = this.#buf.subarray(0, end);
    this.#buf = this.#buf.subarray(lf + 1);
    if (this.#discarding || bytes.length > this.#maxLength) {
      this.#discarding = false;
      return { tooLong: true };
    }
    return { line: this.#decoder.decode(bytes), bareLf };
  }

  /**
   * Takes raw bytes out of the buffer.
   *
   * @param max The most bytes to take. @default {all of them}
   * @returns The bytes taken.
   */
  take(max: number = Infinity): Uint8Array {
    const n = Math.min(max, this.#buf.length);
    const taken = this.#buf.subarray(0, n);
    this.#buf = n === this.#buf.length ? EMPTY : this.#buf.subarray(n);
    return taken;
  }
}
