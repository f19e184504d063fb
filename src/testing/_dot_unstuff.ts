// Copyright the @x/sendmail authors. MIT license.
// This module is private: the capture server and the tests use it.

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;

// States between two input bytes. Only CRLF ends a line: a bare LF or CR is
// message content, so "\n.\n" or "\r.\r" never end the data (a server that
// accepts them is open to SMTP smuggling).
/** At the start of a line (the start of the data, or after CRLF). */
const LINE_START = 0;
/** A "." began the line and is held back. */
const DOT_SEEN = 1;
/** The line began with ".\r", both held back. */
const DOT_CR = 2;
/** In the middle of a line. */
const MID_LINE = 3;
/** After a CR in the middle of a line. */
const AFTER_CR = 4;
/** The end-of-data line arrived. */
const DONE = 5;

/**
 * An incremental decoder of a `DATA` payload (RFC 5321 §4.5.2), the server's
 * side of `DotStuffStream`: push the bytes received after the `354` reply,
 * get the message bytes out, until the end-of-data line `".\r\n"` (at the
 * start of the data or after a CRLF) arrives. A line starting with `"."`
 * loses that first `"."`. The CRLF before the end-of-data line belongs to
 * the message, so `"a\r\n.\r\n"` decodes to `"a\r\n"` and `".\r\n"` to an
 * empty message.
 */
export class DotUnstuffer {
  #state: number = LINE_START;
  #rest: Uint8Array = new Uint8Array(0);

  /** Whether the end-of-data line has arrived. */
  get done(): boolean {
    return this.#state === DONE;
  }

  /** The bytes received after the end-of-data line (pipelined commands). */
  get rest(): Uint8Array {
    return this.#rest;
  }

  /**
   * Decodes a chunk of the payload.
   *
   * @param chunk The bytes, in the order received.
   * @returns The message bytes decoded from this chunk (possibly empty).
   * @throws {TypeError} When called after the end of the data.
   */
  push(chunk: Uint8Array): Uint8Array {
    if (this.#state === DONE) {
      throw new TypeError("Cannot decode data: the end of data has arrived");
    }
    // Output never exceeds input plus the two bytes (".\r") held back.
    const out = new Uint8Array(chunk.length + 2);
    let written = 0;
    let state = this.#state;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      switch (state) {
        case LINE_START:
          if (b === DOT) {
            state = DOT_SEEN;
            continue;
          }
          break;
        case DOT_SEEN:
          if (b === CR) {
            state = DOT_CR;
            continue;
          }
          // Other bytes follow the "." on this line: it was stuffing.
          break;
        case DOT_CR:
          if (b === LF) {
            this.#state = DONE;
            this.#rest = chunk.slice(i + 1);
            return out.subarray(0, written);
          }
          // ".\r" then something else: the "." was stuffing, the CR is data.
          out[written++] = CR;
          state = AFTER_CR;
          break;
      }
      // MID_LINE or AFTER_CR, or a state above that fell through with `b`.
      out[written++] = b;
      if (b === CR) state = AFTER_CR;
      else if (b === LF && state === AFTER_CR) state = LINE_START;
      else state = MID_LINE;
    }
    this.#state = state;
    return out.subarray(0, written);
  }
}
