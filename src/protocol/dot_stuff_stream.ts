// Copyright the @x/sendmail authors. MIT license.

import { encode, START, type State, tail } from "./_line_endings.ts";

/**
 * Encodes a message for the SMTP `DATA` command (RFC 5321 §4.5.2): every
 * bare CR and bare LF becomes CRLF, a `"."` at the start of a line is
 * doubled, a missing final CRLF is added, and the end-of-data line `".\r\n"`
 * is appended, so the output ends with `"\r\n.\r\n"` and contains that
 * sequence nowhere else. An empty message is sent as `".\r\n"` alone: the
 * CRLF that precedes it is the one ending the `DATA` command line.
 *
 * The output does not depend on how the input is split into chunks (a CR
 * ending one chunk and a LF starting the next are one line break). Chunks that
 * need no change are passed through as they are, without a copy.
 *
 * @example Encoding a message
 * ```ts
 * import { DotStuffStream } from "@x/sendmail";
 * import assert from "node:assert/strict";
 *
 * const message = new TextEncoder().encode("Subject: hi\n\n.hidden\nbye");
 * const data = ReadableStream.from([message]).pipeThrough(new DotStuffStream());
 * const text = await new Response(data).text();
 * assert.equal(text, "Subject: hi\r\n\r\n..hidden\r\nbye\r\n.\r\n");
 * ```
 */
export class DotStuffStream extends TransformStream<Uint8Array, Uint8Array> {
  /** Creates a stream. */
  constructor() {
    let state: State = START;
    super({
      transform(chunk, controller): void {
        const result = encode(chunk, state, true);
        state = result.state;
        if (result.output.length > 0) controller.enqueue(result.output);
      },
      flush(controller): void {
        controller.enqueue(tail(state, true));
      },
    });
  }
}
