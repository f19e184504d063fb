// Copyright the @x/sendmail authors. MIT license.

import assert from "node:assert/strict";
import { DotStuffStream } from "../../mod.ts";
import { DotUnstuffer } from "../../src/testing/_dot_unstuff.ts";
import {
  bytewise,
  concat,
  fromLatin1,
  latin1,
  Random,
  randomChunks,
  splitsInTwo,
} from "../_harness/random.ts";

async function stuff(chunks: Uint8Array[]): Promise<Uint8Array> {
  const out = await Array.fromAsync(
    ReadableStream.from(chunks).pipeThrough(new DotStuffStream()),
  );
  return concat(out);
}

/** The simplest correct encoder, on strings of bytes. */
function referenceStuff(message: string): string {
  let text = message.replace(/\r\n|\r|\n/g, "\r\n");
  if (text !== "" && !text.endsWith("\r\n")) text += "\r\n";
  const lines = text === "" ? [] : text.slice(0, -2).split("\r\n");
  return lines.map((line) =>
    (line.startsWith(".") ? "." + line : line) + "\r\n"
  )
    .join("") + ".\r\n";
}

/** CRLF-normalised message: what the receiving server must recover. */
function normalise(message: string): string {
  const text = message.replace(/\r\n|\r|\n/g, "\r\n");
  return text === "" || text.endsWith("\r\n") ? text : text + "\r\n";
}

const CASES: [string, string][] = [
  ["", ".\r\n"],
  ["a", "a\r\n.\r\n"],
  ["a\r\n", "a\r\n.\r\n"],
  ["a\n", "a\r\n.\r\n"],
  ["a\r", "a\r\n.\r\n"],
  ["\r\n", "\r\n.\r\n"],
  ["\n", "\r\n.\r\n"],
  ["\r", "\r\n.\r\n"],
  [".", "..\r\n.\r\n"],
  [".\r\n", "..\r\n.\r\n"],
  ["..x", "...x\r\n.\r\n"],
  ["a.b\r\n.c", "a.b\r\n..c\r\n.\r\n"],
  ["a\r\n.\r\nb", "a\r\n..\r\nb\r\n.\r\n"],
  ["\n.\n", "\r\n..\r\n.\r\n"],
  ["\r.\r", "\r\n..\r\n.\r\n"],
  ["\r\r", "\r\n\r\n.\r\n"],
  ["\n\r", "\r\n\r\n.\r\n"],
  ["\n\n", "\r\n\r\n.\r\n"],
  ["\r\n\r\n", "\r\n\r\n.\r\n"],
  ["x\r.y", "x\r\n..y\r\n.\r\n"],
  ["a\r\n\r\n.\r\n\r\nb", "a\r\n\r\n..\r\n\r\nb\r\n.\r\n"],
  ["\xe2\x9c\x93\n.\xff", "\xe2\x9c\x93\r\n..\xff\r\n.\r\n"],
];

Deno.test("DotStuffStream encodes messages for DATA whatever the chunking", async () => {
  for (const [input, expected] of CASES) {
    assert.equal(referenceStuff(input), expected, "reference");
    const data = latin1(input);
    const context = JSON.stringify(input);
    assert.equal(fromLatin1(await stuff([data])), expected, context);
    assert.equal(fromLatin1(await stuff(bytewise(data))), expected, context);
    for (let i = 0; i <= data.length; i++) {
      for (let j = i; j <= data.length; j++) {
        const chunks = [
          data.subarray(0, i),
          data.subarray(i, j),
          data.subarray(j),
        ];
        assert.equal(fromLatin1(await stuff(chunks)), expected, context);
      }
    }
  }
});

Deno.test("DotStuffStream passes a chunk that needs no change through without a copy", async () => {
  const chunk = latin1("Subject: hi\r\n\r\nbody\r\n");
  const out = await Array.fromAsync(
    ReadableStream.from([chunk]).pipeThrough(new DotStuffStream()),
  );
  assert.equal(out[0], chunk);
  assert.equal(fromLatin1(out[1]!), ".\r\n");
});

Deno.test("DotStuffStream leaves the input chunks unchanged", async () => {
  const chunk = latin1("a\n.b\rc");
  await stuff([chunk]);
  assert.equal(fromLatin1(chunk), "a\n.b\rc");
});

Deno.test("DotStuffStream encodes 8 MiB of text in random chunks like the reference", async () => {
  const random = new Random(4);
  const pieces = ["\r\n", "\n", "\r", ".", "..", "\r\n.", "\n.\n", "x", "é"];
  let text = "";
  while (text.length < 8 * 1024 * 1024) {
    text += random.chance(0.8)
      ? "The quick brown fox jumps over the lazy dog ".slice(random.int(40))
      : random.pick(pieces);
  }
  const data = latin1(text);
  const expected = referenceStuff(text);
  assert.equal(fromLatin1(await stuff(randomChunks(random, data))), expected);
  const bigChunks: Uint8Array[] = [];
  for (let i = 0; i < data.length; i += 65536) {
    bigChunks.push(data.subarray(i, i + 65536));
  }
  assert.equal(fromLatin1(await stuff(bigChunks)), expected);
});

/** Decodes a DATA payload, checking the end of data is at its end only. */
function unstuff(payload: Uint8Array): Uint8Array {
  const unstuffer = new DotUnstuffer();
  const message = unstuffer.push(payload);
  assert.ok(unstuffer.done, "the payload ends the data");
  assert.equal(unstuffer.rest.length, 0, "nothing follows the end of data");
  return message;
}

Deno.test("DotStuffStream output decodes to the CRLF-normalised message for random inputs", async () => {
  const random = new Random(5);
  const alphabet = latin1(".\r\n.\r\n.\r\nab\xff ");
  for (let n = 0; n < 3000; n++) {
    const length = random.int(random.chance(0.9) ? 40 : 2000);
    const data = Uint8Array.from(
      { length },
      () => random.chance(0.9) ? random.pick([...alphabet]) : random.int(256),
    );
    const payload = await stuff(randomChunks(random, data));
    const text = fromLatin1(payload);
    const context = JSON.stringify(fromLatin1(data));
    // Only CRLF line breaks reach the wire.
    assert.doesNotMatch(text, /\r(?!\n)|(?<!\r)\n/, context);
    // The end-of-data sequence appears once, at the end.
    if (data.length === 0) {
      assert.equal(text, ".\r\n");
    } else {
      assert.equal(text.indexOf("\r\n.\r\n"), text.length - 5, context);
    }
    assert.equal(
      fromLatin1(unstuff(payload)),
      normalise(fromLatin1(data)),
      context,
    );
  }
});

Deno.test("DotUnstuffer decodes a payload whatever the chunking", () => {
  const cases: [string, string, string][] = [
    // payload, message, bytes after the end of data
    [".\r\n", "", ""],
    ["a\r\n.\r\n", "a\r\n", ""],
    ["..\r\n.\r\nQUIT\r\n", ".\r\n", "QUIT\r\n"],
    [
      "...x\r\n..\r\n.\r\nMAIL FROM:<a@b>\r\nRCPT",
      "..x\r\n.\r\n",
      "MAIL FROM:<a@b>\r\nRCPT",
    ],
    // Only CRLF.CRLF ends the data: no SMTP smuggling with bare LF or CR.
    ["a\n.\nb\r.\rc\r\n.\n\r\n.\r\n", "a\n.\nb\r.\rc\r\n\n\r\n", ""],
    [".\rx\r\n.\r\n", "\rx\r\n", ""],
    [".x\r\n.\r\n", "x\r\n", ""],
    ["a\r\r\n.\r\n", "a\r\r\n", ""],
  ];
  for (const [payload, message, rest] of cases) {
    const data = latin1(payload);
    for (const chunks of [...splitsInTwo(data), bytewise(data)]) {
      const unstuffer = new DotUnstuffer();
      const out: Uint8Array[] = [];
      for (const chunk of chunks) {
        if (unstuffer.done) break;
        out.push(unstuffer.push(chunk));
      }
      const context = JSON.stringify(payload);
      assert.ok(unstuffer.done, context);
      assert.equal(fromLatin1(concat(out)), message, context);
      // The bytes after the end of data: in the chunk that ended it, plus
      // the chunks not pushed.
      const pushed = out.length;
      const restBytes = concat([unstuffer.rest, ...chunks.slice(pushed)]);
      assert.equal(fromLatin1(restBytes), rest, context);
    }
  }
});

Deno.test("DotUnstuffer throws when pushed after the end of data", () => {
  const unstuffer = new DotUnstuffer();
  unstuffer.push(latin1(".\r\n"));
  assert.throws(() => unstuffer.push(latin1("x")), TypeError);
});

Deno.test("DotUnstuffer does not end the data before the end-of-data line", () => {
  const unstuffer = new DotUnstuffer();
  assert.equal(fromLatin1(unstuffer.push(latin1("a\r\n.\r"))), "a\r\n");
  assert.equal(unstuffer.done, false);
});
