/**
 * Message bytes with every line ending made CRLF and a final CRLF added when
 * missing, without dot-stuffing: the payload of BDAT chunks (RFC 3030), which
 * are sent by length, not ended by a "." line.
 *
 * @module
 */
import { encode, START, type State, tail } from "./_line_endings.ts";

/** Normalises line endings to CRLF; see the module doc. */
export class CrlfStream extends TransformStream<Uint8Array, Uint8Array> {
  constructor() {
    let state: State = START;
    super({
      transform(chunk, controller): void {
        const result = encode(chunk, state, false);
        state = result.state;
        if (result.output.length > 0) controller.enqueue(result.output);
      },
      flush(controller): void {
        const ending = tail(state, false);
        if (ending.length > 0) controller.enqueue(ending);
      },
    });
  }
}
