// Copyright the @x/sendmail authors. MIT license.
/**
 * Throughput of ReplyStream and DotStuffStream on 64 KiB chunks, beside two
 * baselines: a pass-through TransformStream and a `Uint8Array.set` copy.
 * Each iteration pushes 16 MiB, so MB/s = 16.78 / (average time in s).
 *
 * Usage: deno bench bench/streams_bench.ts
 *
 * @module
 */

import { DotStuffStream } from "../src/protocol/dot_stuff_stream.ts";
import { ReplyStream } from "../src/protocol/reply_stream.ts";

const CHUNK = 64 * 1024;
const TOTAL = 16 * 1024 * 1024;
const encoder = new TextEncoder();

/** `TOTAL` bytes of `unit` repeated, as 64 KiB chunks. */
function chunksOf(unit: string): Uint8Array[] {
  const bytes = encoder.encode(unit.repeat(Math.ceil(TOTAL / unit.length)))
    .subarray(0, TOTAL);
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < TOTAL; i += CHUNK) {
    chunks.push(bytes.subarray(i, i + CHUNK));
  }
  return chunks;
}

async function drain(
  chunks: Uint8Array[],
  stream: TransformStream<Uint8Array, unknown>,
): Promise<void> {
  await ReadableStream.from(chunks).pipeThrough(stream).pipeTo(
    new WritableStream(),
  );
}

const TEXT = "The quick brown fox jumps over the lazy dog, 0123456789 ABCDEF";
const crlfText = chunksOf(`${TEXT}\r\n`);
const lfText = chunksOf(`${TEXT}\n`);
const dotText = chunksOf(`.${TEXT}\r\n`);
// A realistic mix: an EHLO reply, then single-line replies with codes.
const replies = chunksOf(
  "250-smtp.example.com Hello [127.0.0.1]\r\n250-SIZE 35882577\r\n" +
    "250-8BITMIME\r\n250-PIPELINING\r\n250-STARTTLS\r\n" +
    "250-ENHANCEDSTATUSCODES\r\n250 SMTPUTF8\r\n" +
    "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n354 Go ahead\r\n" +
    "250 2.0.0 Ok: queued as 4BXyZ12abc\r\n",
);
// The replies are cut at a whole number of units so parsing ends cleanly.
const unitLength = encoder.encode(
  "250-smtp.example.com Hello [127.0.0.1]\r\n250-SIZE 35882577\r\n" +
    "250-8BITMIME\r\n250-PIPELINING\r\n250-STARTTLS\r\n" +
    "250-ENHANCEDSTATUSCODES\r\n250 SMTPUTF8\r\n" +
    "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n354 Go ahead\r\n" +
    "250 2.0.0 Ok: queued as 4BXyZ12abc\r\n",
).length;
const replyBytes = TOTAL - (TOTAL % unitLength);
{
  const last = replies.length - 1;
  replies[last] = replies[last]!.subarray(0, replyBytes - last * CHUNK);
}

Deno.bench("baseline: pass-through TransformStream", {
  group: "text",
  baseline: true,
}, async () => {
  await drain(crlfText, new TransformStream());
});

Deno.bench("baseline: Uint8Array.set copy of each chunk", {
  group: "text",
}, () => {
  const out = new Uint8Array(CHUNK);
  for (const chunk of crlfText) out.set(chunk);
});

Deno.bench("DotStuffStream: CRLF text (no change needed)", {
  group: "text",
}, async () => {
  await drain(crlfText, new DotStuffStream());
});

Deno.bench("DotStuffStream: LF text (every line break rewritten)", {
  group: "text",
}, async () => {
  await drain(lfText, new DotStuffStream());
});

Deno.bench("DotStuffStream: every line starting with a dot", {
  group: "text",
}, async () => {
  await drain(dotText, new DotStuffStream());
});

Deno.bench("ReplyStream: EHLO and command replies", {
  group: "text",
}, async () => {
  await drain(replies, new ReplyStream());
});
