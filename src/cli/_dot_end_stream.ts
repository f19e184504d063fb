const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;
const HELD = new Uint8Array([DOT, CR]);

/** Where the scanner is in the current line. */
const State = {
  /** At the start of a line. */
  LineStart: 0,
  /** After a "." at the start of a line. */
  Dot: 1,
  /** After ".\r" at the start of a line. */
  DotCr: 2,
  /** Anywhere else in a line. */
  Middle: 3,
  /** The terminating line was seen; the rest of the input is ignored. */
  Done: 4,
} as const;
type State = typeof State[keyof typeof State];

/**
 * Ends the input at a line consisting of a single ".", as sendmail(8) reads
 * a message from standard input unless it is given `-i` or `-oi`. The
 * terminating line and everything after it are dropped; other lines pass
 * through untouched (a line starting with ".." is not unstuffed, as in
 * sendmail). A "." alone on the last line, without a line ending, also ends
 * the input.
 */
export class DotEndStream extends TransformStream<Uint8Array, Uint8Array> {
  #state: State = State.LineStart;
  /** How many bytes of ".\r" from earlier chunks are held back, not yet sent. */
  #held = 0;

  /** Creates the stream. */
  constructor() {
    super({
      transform: (chunk, controller) => this.#handle(chunk, controller),
      flush: () => {
        // A held "." or ".\r" at the end of input is a terminating line.
      },
    });
  }

  #handle(
    chunk: Uint8Array,
    controller: TransformStreamDefaultController<Uint8Array>,
  ): void {
    if (this.#state === State.Done) return;
    // Where a held "." started in this chunk, -1 when it started earlier.
    let mark = -1;
    const release = () => {
      if (mark === -1 && this.#held > 0) {
        controller.enqueue(HELD.subarray(0, this.#held));
      }
      this.#held = 0;
      mark = -1;
    };
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      switch (this.#state) {
        case State.LineStart:
          if (c === DOT) {
            this.#state = State.Dot;
            mark = i;
          } else if (c !== LF) this.#state = State.Middle;
          break;
        case State.Middle:
          if (c === LF) this.#state = State.LineStart;
          break;
        case State.Dot:
        case State.DotCr:
          if (c === LF) {
            if (mark > 0) controller.enqueue(chunk.subarray(0, mark));
            this.#state = State.Done;
            this.#held = 0;
            controller.terminate();
            return;
          }
          if (c === CR && this.#state === State.Dot) {
            this.#state = State.DotCr;
          } else {
            release();
            this.#state = State.Middle;
          }
          break;
      }
    }
    if (this.#state === State.Dot || this.#state === State.DotCr) {
      if (mark === -1) {
        this.#held += chunk.length;
      } else {
        if (mark > 0) controller.enqueue(chunk.subarray(0, mark));
        this.#held = chunk.length - mark;
      }
    } else if (chunk.length > 0) {
      controller.enqueue(chunk);
    }
  }
}
