/**
 * The line-ending encoder behind `DotStuffStream` (DATA) and `CrlfStream`
 * (BDAT, RFC 3030, which has no dot-stuffing): every bare CR and bare LF
 * becomes CRLF and, when stuffing, a "." that starts a line is doubled.
 * Incremental: the state carries over from one chunk to the next.
 *
 * @module
 */

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;

// The states of the encoder, between any two input bytes (and chunks):
/** At the start of a line: nothing emitted yet, or the last bytes emitted are
 * CRLF. With stuffing, a "." here is doubled. */
const LINE_START = 0;
/** The last byte emitted is a CR taken from the input: a LF is due. When the
 * next input byte is that LF it passes through, otherwise one is inserted (a
 * bare CR becomes CRLF). Either way the next state is LINE_START. */
const AFTER_CR = 1;
/** In the middle of a line: bytes pass through until a CR (→ AFTER_CR) or a
 * bare LF (a CR is inserted before it → LINE_START). */
const MID_LINE = 2;

/** The encoder's state between two bytes (and two chunks). */
export type State = typeof LINE_START | typeof AFTER_CR | typeof MID_LINE;

/** The state at the start of a message. */
export const START: State = LINE_START;

// The hot loop below reads these constants: they stay private to this module
// (exported bindings would be read through live-binding cells, measured
// 15% slower on line-heavy input).
const TERMINATOR: Record<State, Uint8Array> = {
  [LINE_START]: new Uint8Array([DOT, CR, LF]),
  [AFTER_CR]: new Uint8Array([LF, DOT, CR, LF]),
  [MID_LINE]: new Uint8Array([CR, LF, DOT, CR, LF]),
};
const ENDING: Record<State, Uint8Array> = {
  [LINE_START]: new Uint8Array(0),
  [AFTER_CR]: new Uint8Array([LF]),
  [MID_LINE]: new Uint8Array([CR, LF]),
};

/**
 * What ends the message after the last chunk: with `stuff` (DATA) a final
 * CRLF when missing and the end-of-data line `".\r\n"`; without (BDAT) only
 * a final CRLF when missing (nothing for an empty message).
 */
export function tail(state: State, stuff: boolean): Uint8Array {
  return (stuff ? TERMINATOR : ENDING)[state].slice();
}

/** One encoded chunk and the state after it. */
export interface Encoded {
  output: Uint8Array;
  state: State;
}

/**
 * Encodes one chunk from the given state; `stuff` doubles a "." that starts
 * a line (DATA), without it only line endings change (BDAT). Runs of input bytes that need no
 * change are copied with `set` into an output buffer allocated only once a
 * change is needed; a chunk needing none is returned as is.
 */
export function encode(
  input: Uint8Array,
  initial: State,
  stuff: boolean,
): Encoded {
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
      if (input[i] === DOT && stuff) insert(DOT); // the input's "." follows it
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
