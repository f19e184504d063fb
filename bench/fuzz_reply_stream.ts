// Copyright the @x/sendmail authors. MIT license.
/**
 * Fuzzes the reply parser behind ReplyStream with random, valid and mutated
 * inputs in random chunkings, checking that:
 * - only SmtpError (kind "protocol") ever escapes;
 * - the bytes held never exceed maxLines * (maxLineLength + 2);
 * - the result agrees with the simple reference parser of the tests;
 * - the heap stays bounded.
 *
 * Usage: deno run bench/fuzz_reply_stream.ts [count=1000000] [seed=1]
 * (add --v8-flags=--expose-gc to measure the heap after a collection)
 *
 * @module
 */

import assert from "node:assert/strict";
import { ReplyParser } from "../src/protocol/_reply_parser.ts";
import type { Reply } from "../src/protocol/reply.ts";
import { ReplyStream } from "../src/protocol/reply_stream.ts";
import { SmtpError } from "../src/protocol/smtp_error.ts";
import { Random, randomChunks } from "../tests/_harness/random.ts";
import {
  mutate,
  randomBytes,
  randomReplies,
  referenceParse,
} from "../tests/_harness/reply_reference.ts";

const count = Number(Deno.args[0] ?? 1_000_000);
const seed = Number(Deno.args[1] ?? 1);
const random = new Random(seed);

const DEFAULTS = { maxLineLength: 8192, maxLines: 1000 };
const stats = {
  cases: 0,
  bytes: 0,
  valid: 0,
  errors: 0,
  replies: 0,
  streamed: 0,
  huge: 0,
  maxBuffered: 0,
  maxHeap: 0,
};

function generate(): Uint8Array {
  const kind = random.next();
  if (kind < 0.1) return randomBytes(random, random.int(300));
  const valid = randomReplies(random, 1 + random.int(5));
  return kind < 0.3 ? valid : mutate(random, valid);
}

/** An endless line or endless continuation lines, in 64 KiB chunks. */
function* huge(): Generator<Uint8Array> {
  const unit = random.pick(["x", "250-more\r\n", "250-", "\r"]);
  const chunk = new TextEncoder().encode(unit.repeat(65536 / unit.length));
  for (let i = 0; i < 64; i++) yield chunk; // 4 MiB
}

function check(
  chunks: Iterable<Uint8Array>,
  options: typeof DEFAULTS,
  whole?: Uint8Array,
): void {
  const parser = new ReplyParser(options);
  const bound = options.maxLines * (options.maxLineLength + 2);
  const replies: Reply[] = [];
  let error: unknown;
  for (const chunk of chunks) {
    stats.bytes += chunk.length;
    try {
      replies.push(...parser.push(chunk));
    } catch (caught) {
      error = caught;
      break;
    }
    stats.maxBuffered = Math.max(stats.maxBuffered, parser.buffered);
    assert.ok(parser.buffered <= bound, `buffered ${parser.buffered}`);
  }
  const pending = parser.buffered;
  if (error === undefined) {
    try {
      parser.end();
      assert.equal(pending, 0, "end() accepts pending bytes");
    } catch (caught) {
      if (pending === 0 || !(caught instanceof SmtpError)) throw caught;
    }
  }
  stats.replies += replies.length;
  if (error !== undefined) {
    if (!(error instanceof SmtpError) || error.kind !== "protocol") {
      throw new Error(`Unexpected error: ${error}`, { cause: error });
    }
    stats.errors++;
  } else {
    stats.valid++;
  }
  if (whole) {
    const expected = referenceParse(
      whole,
      options.maxLineLength,
      options.maxLines,
    );
    assert.equal(error !== undefined, expected.error, "error agreement");
    if (error === undefined) {
      assert.deepEqual(replies, expected.replies);
      assert.equal(pending, expected.pending);
    }
  }
}

async function checkStream(chunks: Uint8Array[]): Promise<void> {
  try {
    await ReadableStream.from(chunks).pipeThrough(new ReplyStream())
      .pipeTo(new WritableStream());
  } catch (error) {
    if (!(error instanceof SmtpError) || error.kind !== "protocol") {
      throw new Error(`Unexpected error: ${error}`, { cause: error });
    }
  }
  stats.streamed++;
}

// With --v8-flags=--expose-gc the heap is measured after a collection.
const gc = (globalThis as { gc?: () => void }).gc;
const started = performance.now();
let nextReport = 100_000;
let minReportedHeap = Infinity;
let maxReportedHeap = 0;
for (let i = 0; i < count; i++) {
  if (i === nextReport) {
    nextReport += 100_000;
    gc?.();
    const heap = Deno.memoryUsage().heapUsed / 2 ** 20;
    minReportedHeap = Math.min(minReportedHeap, heap);
    maxReportedHeap = Math.max(maxReportedHeap, heap);
    console.error(`${i} cases, heap ${heap.toFixed(1)} MiB`);
  }
  stats.cases++;
  if (i % 10_000 === 9_999) {
    stats.huge++;
    check(huge(), DEFAULTS);
    continue;
  }
  const options = random.chance(0.5)
    ? { maxLineLength: 8 + random.int(64), maxLines: 1 + random.int(8) }
    : DEFAULTS;
  const data = generate();
  const chunks = randomChunks(random, data);
  try {
    check(chunks, options, data);
    if (i % 100 === 0) await checkStream(chunks);
  } catch (error) {
    console.error("Failing input (seed %d, case %d):", seed, i);
    console.error(
      "%d bytes, options %o, starting %o",
      data.length,
      options,
      new TextDecoder().decode(data.subarray(0, 200)),
    );
    throw error;
  }
  if (i % 1000 === 0) {
    stats.maxHeap = Math.max(stats.maxHeap, Deno.memoryUsage().heapUsed);
  }
}
const seconds = (performance.now() - started) / 1000;
console.log(
  JSON.stringify(
    {
      ...stats,
      seconds: Number(seconds.toFixed(1)),
      casesPerSecond: Math.round(stats.cases / seconds),
      maxHeapMiB: Number((stats.maxHeap / 2 ** 20).toFixed(1)),
      heapAtReportsMiB: [minReportedHeap, maxReportedHeap].map((n) =>
        Number(n.toFixed(1))
      ),
    },
    null,
    2,
  ),
);
