// MessageReader: the message source as a send reads it — encoded on the
// way, the ending with the last chunk, one shared timer for every reader.

import assert from "node:assert/strict";
import { SmtpError } from "../../mod.ts";
import { MessageReader } from "../../src/session/_message_reader.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const never = () => new Promise<never>(() => {});
/** A stop signal that never aborts. */
const running = () => new AbortController().signal;

function chunks(...parts: string[]): ReadableStream<Uint8Array> {
  return ReadableStream.from(parts.map((p) => encoder.encode(p)));
}

async function readAll(reader: MessageReader): Promise<string[]> {
  const out: string[] = [];
  while (true) {
    const chunk = await reader.read();
    if (chunk.done) return out;
    out.push(decoder.decode(chunk.value));
  }
}

Deno.test("MessageReader hands out the end-of-data line with the last chunk (DATA)", async () => {
  const reader = new MessageReader(
    chunks("Subject: x\r\n\r\n", ".hidden\nlast line"),
    "DATA",
    1000,
    running(),
  );
  assert.deepEqual(await readAll(reader), [
    "Subject: x\r\n\r\n",
    "..hidden\r\nlast line\r\n.\r\n",
  ]);
  reader.close();
});

Deno.test("MessageReader ends an empty message with the end-of-data line alone (DATA) and nothing (BDAT)", async () => {
  const data = new MessageReader(chunks(), "DATA", 1000, running());
  assert.deepEqual(await readAll(data), [".\r\n"]);
  data.close();
  const bdat = new MessageReader(chunks(), "BDAT", 1000, running());
  assert.deepEqual(await readAll(bdat), []);
  bdat.close();
});

Deno.test("MessageReader reports a source's failure after its first chunk on the next read, not with that chunk", async () => {
  const failure = new Error("disk read failed");
  let sent = false;
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent) return controller.error(failure);
      sent = true;
      controller.enqueue(encoder.encode("Subject: x\r\n\r\nbody\r\n"));
    },
  });
  const reader = new MessageReader(source, "DATA", 1000, running());
  const first = await reader.read();
  assert.equal(first.done, false);
  await assert.rejects(reader.read(), (error) => error === failure);
  reader.close();
});

Deno.test("MessageReader times out a source that produces nothing, with kind timeout", async () => {
  const stalled = new ReadableStream<Uint8Array>({ pull: () => never() });
  const reader = new MessageReader(stalled, "BDAT", 50, running());
  await assert.rejects(reader.read(), (error) => {
    assert.ok(error instanceof SmtpError);
    assert.equal(error.kind, "timeout");
    assert.equal(error.command, "BDAT");
    assert.match(error.message, /produced nothing within 50 ms/);
    return true;
  });
  reader.close();
});

Deno.test("MessageReader times out the reader with the shorter timeout first when readers share the timer", async () => {
  const stalled = () => new ReadableStream<Uint8Array>({ pull: () => never() });
  const slow = new MessageReader(stalled(), "DATA", 5000, running());
  const fast = new MessageReader(stalled(), "DATA", 50, running());
  const slowRead = slow.read();
  slowRead.catch(() => {});
  await assert.rejects(fast.read(), /within 50 ms/);
  // The slow one is still waiting for its source: end it.
  slow.close();
  fast.close();
});

Deno.test("MessageReader stops a read when the send is stopped, and cancels the source on close", async () => {
  let cancelled: unknown;
  const source = new ReadableStream<Uint8Array>({
    pull: () => never(),
    cancel: (reason) => {
      cancelled = reason;
    },
  });
  const stop = new AbortController();
  const reader = new MessageReader(source, "DATA", 5000, stop.signal);
  const read = reader.read();
  const reason = new Error("aborted");
  stop.abort(reason);
  await assert.rejects(read, (error) => error === reason);
  reader.close(reason);
  assert.equal(cancelled, reason);
});
