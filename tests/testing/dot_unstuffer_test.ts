import assert from "node:assert/strict";
import { DotUnstuffer } from "../../src/testing/_dot_unstuff.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Feeds `input` split at the given offsets; returns message, done, rest. */
function run(input: string, splits: number[] = []): [string, boolean, string] {
  const bytes = encoder.encode(input);
  const unstuffer = new DotUnstuffer();
  const message: number[] = [];
  const rest: number[] = [];
  let done = false;
  let start = 0;
  for (const end of [...splits, bytes.length]) {
    const chunk = bytes.subarray(start, end);
    if (done) {
      rest.push(...chunk);
    } else {
      message.push(...unstuffer.push(chunk));
      done = unstuffer.done;
      if (done) rest.push(...unstuffer.rest);
    }
    start = end;
  }
  return [
    decoder.decode(new Uint8Array(message)),
    done,
    decoder.decode(new Uint8Array(rest)),
  ];
}

const CASES: [string, string, boolean, string][] = [
  // input, message, done, rest
  [".\r\n", "", true, ""],
  ["a\r\n.\r\n", "a\r\n", true, ""],
  ["..\r\n.\r\n", ".\r\n", true, ""],
  ["..a\r\n...\r\n.\r\nQUIT\r\n", ".a\r\n..\r\n", true, "QUIT\r\n"],
  ["a.\r\n.b\r\n.\r\n", "a.\r\nb\r\n", true, ""],
  // A dot that does not start a line stays.
  ["x\r\n.\r\n", "x\r\n", true, ""],
  // Bare LF and bare CR do not start a line; ".\n" is not the end.
  ["a\n.\n.\r\n", "a\n.\n.\r\n", false, ""],
  ["a\r.\r\n.\r\n", "a\r.\r\n", true, ""],
  // "." CR then not LF: the dot was stuffing, the CR is data.
  [".\rx\r\n.\r\n", "\rx\r\n", true, ""],
  [".\r\r\n.\r\n", "\r\r\n", true, ""],
  ["\r\r\n.\r\n", "\r\r\n", true, ""],
  ["no end\r\n", "no end\r\n", false, ""],
  ["café\r\n.\r\n", "café\r\n", true, ""],
];

Deno.test("DotUnstuffer removes transparency dots and finds CRLF.CRLF", () => {
  for (const [input, message, done, rest] of CASES) {
    assert.deepEqual(run(input), [message, done, rest], JSON.stringify(input));
  }
});

Deno.test("DotUnstuffer gives the same result at every chunk boundary", () => {
  for (const [input, message, done, rest] of CASES) {
    const length = encoder.encode(input).length;
    for (let i = 0; i <= length; i++) {
      for (let j = i; j <= length; j++) {
        assert.deepEqual(
          run(input, [i, j]),
          [message, done, rest],
          `${JSON.stringify(input)} split at ${i}, ${j}`,
        );
      }
    }
    // One byte at a time.
    assert.deepEqual(
      run(input, Array.from({ length }, (_, k) => k)),
      [message, done, rest],
    );
  }
});

Deno.test("DotUnstuffer refuses bytes after the end", () => {
  const unstuffer = new DotUnstuffer();
  assert.equal(unstuffer.push(encoder.encode(".\r\n")).length, 0);
  assert.equal(unstuffer.done, true);
  assert.throws(() => unstuffer.push(new Uint8Array(1)), TypeError);
});
