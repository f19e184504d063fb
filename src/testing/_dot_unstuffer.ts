/**
 * The receiving side of DATA (RFC 5321 §4.5.2): removes the transparency
 * dots and finds the end of the message, `CRLF . CRLF`.
 *
 * @module
 */

/** What one {@linkcode DotUnstuffer.push} produced. */
export interface DotUnstuffResult {
  /** Message bytes un-stuffed from this chunk (may be empty). */
  data: Uint8Array;
  /** Whether the chunk held the end of the message, `.` CRLF at a line start. */
  done: boolean;
  /** The bytes after the end marker (pipelined commands); empty unless `done`. */
  rest: Uint8Array;
}

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

// States. A line starts after CRLF (and at the very start of the message,
// which follows the CRLF of the DATA command).
const LINE_START = 0; // at the start of a line
const MIDDLE = 1; // inside a line
const AFTER_CR = 2; // inside a line, just after a CR (a CRLF would end it)
const DOT_START = 3; // a "." at the start of a line, held back
const DOT_CR = 4; // "." CR at the start of a line, both held back

/**
 * An incremental un-stuffer: push the bytes that follow the 354 reply in any
 * chunking; it returns the message bytes and, once it has seen the end
 * marker, the bytes after it.
 *
 * The message keeps the CRLF that ends its last line; the marker's `.` CRLF is
 * removed; a `.` that starts a line is removed when more follows on the line.
 * Bare CR and bare LF are message bytes like any other (only CRLF ends a
 * line).
 */
export class DotUnstuffer {
  #state: number = LINE_START;
  #done = false;

  /** Whether the end marker has been seen. */
  get done(): boolean {
    return this.#done;
  }

  /**
   * Feeds bytes.
   *
   * @param chunk The next bytes from the client.
   * @returns The message bytes in it, whether the end was reached, and what
   * followed the end marker.
   * @throws {TypeError} When called again after the end marker.
   */
  push(chunk: Uint8Array): DotUnstuffResult {
    if (this.#done) throw new TypeError("Cannot push data: message ended");
    // At most one held-back CR is emitted on top of the chunk's bytes.
    const out = new Uint8Array(chunk.length + 1);
    let n = 0;
    let state = this.#state;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      switch (state) {
        case LINE_START:
          if (byte === DOT) {
            state = DOT_START;
            continue;
          }
          out[n++] = byte;
          state = byte === CR ? AFTER_CR : MIDDLE;
          continue;
        case MIDDLE:
          out[n++] = byte;
          if (byte === CR) state = AFTER_CR;
          continue;
        case AFTER_CR:
          out[n++] = byte;
          state = byte === LF ? LINE_START : byte === CR ? AFTER_CR : MIDDLE;
          continue;
        case DOT_START:
          // The held dot was transparency stuffing unless CRLF follows.
          if (byte === CR) {
            state = DOT_CR;
            continue;
          }
          out[n++] = byte;
          state = MIDDLE;
          continue;
        case DOT_CR:
          if (byte === LF) {
            this.#done = true;
            this.#state = state;
            return {
              data: out.subarray(0, n),
              done: true,
              rest: chunk.subarray(i + 1),
            };
          }
          // "." CR then something else: the dot was stuffing, the CR is data.
          out[n++] = CR;
          out[n++] = byte;
          state = byte === CR ? AFTER_CR : MIDDLE;
          continue;
      }
    }
    this.#state = state;
    return { data: out.subarray(0, n), done: false, rest: new Uint8Array(0) };
  }
}
