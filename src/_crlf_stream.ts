/**
 * Message bytes with every line ending made CRLF and a final CRLF added when
 * missing, without dot-stuffing: the payload of BDAT chunks (RFC 3030), which
 * are sent by length, not ended by a "." line.
 *
 * @module
 */
import {
  AFTER_CR,
  CR,
  encode,
  LF,
  LINE_START,
  MID_LINE,
  type State,
} from "./_line_endings.ts";

const ENDING: Record<State, Uint8Array> = {
  [LINE_START]: new Uint8Array(0),
  [AFTER_CR]: new Uint8Array([LF]),
  [MID_LINE]: new Uint8Array([CR, LF]),
};

/** Normalises line endings to CRLF; see the module doc. */
export class CrlfStream extends TransformStream<Uint8Array, Uint8Array> {
  constructor() {
    let state: State = LINE_START;
    super({
      transform(chunk, controller): void {
        const result = encode(chunk, state, false);
        state = result.state;
        if (result.output.length > 0) controller.enqueue(result.output);
      },
      flush(controller): void {
        if (state !== LINE_START) controller.enqueue(ENDING[state].slice());
      },
    });
  }
}
