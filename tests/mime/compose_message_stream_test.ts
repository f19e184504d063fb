// Streaming: attachments from streams and blobs are read as the output is
// read, errors and cancellation pass through, and a large attachment
// arrives intact.

import assert from "node:assert/strict";
import { simpleParser } from "npm:mailparser@3";
import { composeMessage, type Mail } from "../../mime.ts";
import { prng } from "./_util.ts";

const base: Mail = {
  from: "ada@example.com",
  to: "grace@example.org",
  text: "See attached.",
};

/** A pull-based source of `count` chunks of `size` bytes, counting pulls. */
function countingSource(count: number, size: number) {
  const state = { pulled: 0, cancelled: undefined as unknown };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (state.pulled === count) return controller.close();
      state.pulled++;
      controller.enqueue(new Uint8Array(size).fill(state.pulled & 0xff));
    },
    cancel(reason) {
      state.cancelled = reason;
    },
  }, { highWaterMark: 0 });
  return { stream, state };
}

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)).toHex();
}

Deno.test("composeMessage reads an attachment stream only as fast as its output is read", async () => {
  const { stream, state } = countingSource(1000, 64 * 1024);
  const message = composeMessage({
    ...base,
    attachments: [{ filename: "big.bin", content: stream }],
  });
  assert.equal(state.pulled, 0, "nothing is read before the output is");
  const reader = message.readable.getReader();
  let read = 0;
  while (state.pulled < 3) {
    const { done, value } = await reader.read();
    assert.ok(!done);
    read += value.length;
  }
  // Give a greedy implementation the chance to read ahead.
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(state.pulled <= 4, `read ahead ${state.pulled} chunks`);
  assert.ok(read < 5 * 64 * 1024 * 4 / 3 + 4096);
  await reader.cancel(new Error("stop"));
  assert.ok(
    state.cancelled instanceof Error,
    "cancelling the output cancels the source",
  );
});

Deno.test("composeMessage cancels unread attachment streams when its output is cancelled", async () => {
  const first = countingSource(10, 100);
  const second = countingSource(10, 100);
  const message = composeMessage({
    ...base,
    attachments: [
      { filename: "a.bin", content: first.stream },
      { filename: "b.bin", content: second.stream },
    ],
  });
  const reason = new Error("connection lost");
  await message.readable.cancel(reason);
  assert.equal(first.state.cancelled, reason);
  assert.equal(second.state.cancelled, reason);
  assert.equal(first.state.pulled, 0);
});

Deno.test("composeMessage errors its output when an attachment stream errors", async () => {
  const failure = new Error("disk on fire");
  let sent = false;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent) return controller.error(failure);
      sent = true;
      controller.enqueue(new Uint8Array(100));
    },
  });
  const message = composeMessage({
    ...base,
    attachments: [{ filename: "a.bin", content: stream }],
  });
  await assert.rejects(
    new Response(message.readable).arrayBuffer(),
    (e) => e === failure,
  );
});

Deno.test("composeMessage errors its output when an attachment stream yields a non-Uint8Array", async () => {
  const message = composeMessage({
    ...base,
    attachments: [{
      filename: "a.bin",
      content: ReadableStream.from(["text"]) as unknown as ReadableStream<
        Uint8Array
      >,
    }],
  });
  await assert.rejects(new Response(message.readable).arrayBuffer(), TypeError);
});

Deno.test("composeMessage streams a 20 MiB generator attachment intact", async () => {
  const size = 20 * 1024 * 1024;
  const random = prng(99);
  const expected = new Uint8Array(size);
  for (let i = 0; i < size; i += 4) {
    new DataView(expected.buffer).setUint32(i, Math.floor(random() * 2 ** 32));
  }
  // Odd chunk sizes, so base64 carries 0 to 56 bytes between chunks.
  async function* chunks() {
    for (let at = 0, n = 0; at < size; n++) {
      const length = [1, 2, 57, 4099, 65536, 100_003][n % 6]!;
      yield expected.slice(at, at + length);
      at += length;
    }
  }
  const blob = new Blob([expected.subarray(0, 1_000_001)]);
  const message = composeMessage({
    ...base,
    attachments: [
      { filename: "random.bin", content: ReadableStream.from(chunks()) },
      { filename: "blob.bin", content: blob },
    ],
  });
  const raw = new Uint8Array(
    await new Response(message.readable).arrayBuffer(),
  );
  const parsed = await simpleParser(Buffer.from(raw.buffer));
  assert.equal(parsed.attachments.length, 2);
  const [first, second] = parsed.attachments;
  assert.equal(first!.size, size);
  assert.equal(
    await sha256(new Uint8Array(first!.content)),
    await sha256(expected),
  );
  assert.deepEqual(
    new Uint8Array(second!.content),
    expected.subarray(0, 1_000_001),
  );
});
