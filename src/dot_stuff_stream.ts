// Copyright the @x/sendmail authors. MIT license.

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;

// The states of the encoder, between any two input bytes (and chunks):
/** At the start of a line: nothing emitted yet, or the last bytes emitted are
 * CRLF. A "." here is doubled. */
const LINE_START = 0;
/** The last byte emitted is a CR taken from the input: a LF is due. When the
 * next input byte is that LF it passes through, otherwise one is inserted (a
 * bare CR becomes CRLF). Either way the next state is LINE_START. */
const AFTER_CR = 1;
/** In the middle of a line: bytes pass through until a CR (→ AFTER_CR) or a
 * bare LF (a CR is inserted before it → LINE_START). */
const MID_LINE = 2;

type State = typeof LINE_START | typeof AFTER_CR | typeof MID_LINE;

const TERMINATOR: Record<State, Uint8Array> = {
  [LINE_START]: new Uint8Array([DOT, CR, LF]),
  [AFTER_CR]: new Uint8Array([LF, DOT, CR, LF]),
  [MID_LINE]: new Uint8Array([CR, LF, DOT, CR, LF]),
};

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
    let state: State = LINE_START;
    super({
      transform(chunk, controller): void {
        const result = encode(chunk, state);
        state = result.state;
        if (result.output.length > 0) controller.enqueue(result.output);
      },
      flush(controller): void {
        controller.enqueue(TERMINATOR[state].slice());
      },
    });
  }
}

interface Encoded {
  output: Uint8Array;
  state: State;
}

/**
 * Encodes one chunk from the given state. Runs of input bytes that need no
 * change are copied with `set` into an output buffer allocated only once a
 * change is needed; a chunk needing none is returned as is.
 */
function encode(input: Uint8Array, initial: State): Encoded {
  const n = input.length;
  let state: State = initial;
  let output: Uint8Array | undefined;
  let written = 0; // bytes written to output
  let copied = 0; // input[0, copied) is already in output
  let i = 0;

  // Copies input[copied, i) to the output, then appends `byte`.
  const insert = (byte: number): void => {
    const run = i - copied;
    if (output === undefined) {
      // Every input byte yields at most two output bytes, and one LF may be
      // due from the previous chunk; start smaller and grow when needed.
      output = new Uint8Array(n + (n >> 4) + 16);
    } else if (written + run + 1 + (n - i) > output.length) {
      const grown = new Uint8Array(
        Math.max(output.length * 2, written + run + 1 + (n - i)),
      );
      grown.set(output.subarray(0, written));
      output = grown;
    }
    if (run > 0) {
      if (run < 16) {
        for (let k = copied; k < i; k++) output[written++] = input[k]!;
      } else {
        output.set(input.subarray(copied, i), written);
        written += run;
      }
    }
    output[written++] = byte;
    copied = i;
  };

  while (i < n) {
    if (state === MID_LINE) {
      i = scanLineBreak(input, i, n);
      if (i === n) break;
      if (input[i] === CR) {
        i++;
        state = AFTER_CR;
        // The common CRLF: take the LF now and look at the next line's start.
        if (i < n && input[i] === LF) {
          i++;
          state = LINE_START;
        }
      } else {
        insert(CR); // bare LF: a CR goes before it
        i++;
        state = LINE_START;
      }
    } else if (state === AFTER_CR) {
      if (input[i] === LF) i++;
      else insert(LF); // bare CR: a LF goes after it
      state = LINE_START;
    } else {
      if (input[i] === DOT) insert(DOT); // the input's "." follows it
      state = MID_LINE;
    }
  }

  if (output === undefined) return { output: input, state };
  const out: Uint8Array = output;
  const rest = n - copied;
  if (written + rest > out.length) {
    const grown = new Uint8Array(written + rest);
    grown.set(out.subarray(0, written));
    grown.set(input.subarray(copied), written);
    return { output: grown, state };
  }
  out.set(input.subarray(copied), written);
  return { output: out.subarray(0, written + rest), state };
}

/** The index of the first CR or LF in input[from, to), or `to`. */
function scanLineBreak(input: Uint8Array, from: number, to: number): number {
  for (let i = from; i < to; i++) {
    const b = input[i]!;
    // Both are below 14, most bytes are not.
    if (b <= CR && (b === CR || b === LF)) return i;
  }
  return to;
}
