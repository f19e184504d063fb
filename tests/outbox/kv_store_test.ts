import assert from "node:assert/strict";
import {
  CHUNK_SIZE,
  INLINE_BODY,
  KvStore,
} from "../../src/outbox/_kv_store.ts";
import type { EntryRecord } from "../../src/outbox/_store.ts";
import { keysByKind, streamOf, tempKv, textOf } from "./_helpers.ts";

function record(id: string, at = 1000): EntryRecord {
  return {
    version: 1,
    id,
    state: "queued",
    attempts: 0,
    createdAt: at,
    updatedAt: at,
    since: at,
    dueAt: at,
    messageId: `<${id}@example.com>`,
    from: "app@example.com",
    to: ["ada@example.com"],
    recipients: [{ state: "pending" }],
  };
}

async function read(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

Deno.test("KvStore stores a small message with its entry in one write, chunks of 64 KiB at most", async () => {
  await using temp = await tempKv();
  const store = new KvStore(temp.kv);
  const bytes = textOf(200_000);
  const { stored, created } = await store.create(
    () => record("a"),
    streamOf(bytes, 7000),
    1e7,
  );
  assert.equal(created, true);
  assert.deepEqual(stored.record.body?.chunks, 4);
  assert.equal(stored.record.body?.size, 200_000);
  const kinds = await keysByKind(temp.kv);
  assert.equal(kinds.body?.length, 4);
  assert.equal(kinds.upload, undefined);
  assert.deepEqual(kinds.due, [["sendmail.outbox", "due", 1000, "a"]]);
  assert.deepEqual(kinds.state, [[
    "sendmail.outbox",
    "state",
    "open",
    1000,
    "a",
  ]]);
  for await (
    const entry of temp.kv.list<Uint8Array>({
      prefix: ["sendmail.outbox", "body"],
    })
  ) {
    assert.ok(entry.value.length <= CHUNK_SIZE);
  }
  assert.deepEqual(await read(store.body(stored.record)), bytes);
});

Deno.test("KvStore keeps a message of up to 8 KiB in the entry's record, without chunks", async () => {
  await using temp = await tempKv();
  const store = new KvStore(temp.kv);
  const bytes = textOf(INLINE_BODY);
  const { stored } = await store.create(
    () => record("small"),
    streamOf(bytes, 1000),
    1e6,
  );
  assert.equal(stored.record.body?.chunks, 0);
  const kinds = await keysByKind(temp.kv);
  assert.equal(kinds.body, undefined);
  assert.deepEqual(await read(store.body(stored.record)), bytes);
  const reread = await store.get("small");
  assert.deepEqual(await read(store.body(reread!.record)), bytes);
  // One octet more goes to a chunk.
  const { stored: larger } = await store.create(
    () => record("larger"),
    streamOf(textOf(INLINE_BODY + 1)),
    1e6,
  );
  assert.equal(larger.record.body?.chunks, 1);
  assert.equal(larger.record.body?.bytes, undefined);
});

Deno.test("KvStore writes a large message in several writes and leaves no upload marker once committed", async () => {
  await using temp = await tempKv();
  const store = new KvStore(temp.kv);
  const bytes = textOf(3 * 1024 * 1024 + 5);
  const { stored } = await store.create(
    () => record("big"),
    streamOf(bytes, 100_000),
    1e8,
  );
  assert.equal(stored.record.body?.chunks, 49);
  const kinds = await keysByKind(temp.kv);
  assert.equal(kinds.body?.length, 49);
  assert.equal(kinds.upload, undefined);
  assert.deepEqual(await read(store.body(stored.record)), bytes);
});

Deno.test("KvStore.replace writes only over the version it read, and moves the indexes", async () => {
  await using temp = await tempKv();
  const store = new KvStore(temp.kv);
  const { stored } = await store.create(
    () => record("a"),
    streamOf(textOf(10)),
    1e6,
  );
  const taken = await store.replace(stored, {
    ...stored.record,
    state: "sending",
    dueAt: 9000,
    lease: "l1",
  });
  assert.ok(taken);
  // A second delivery that read the same version loses.
  assert.equal(
    await store.replace(stored, {
      ...stored.record,
      state: "sending",
      dueAt: 9999,
      lease: "l2",
    }),
    undefined,
  );
  let kinds = await keysByKind(temp.kv);
  assert.deepEqual(kinds.due, [["sendmail.outbox", "due", 9000, "a"]]);
  // Queued and sending share the "open" bucket: taking moves the due key only.
  assert.deepEqual(kinds.state?.map((k) => k[2]), ["open"]);
  const sent: EntryRecord = { ...taken.record, state: "sent", settledAt: 9500 };
  delete sent.dueAt;
  delete sent.lease;
  delete sent.body;
  assert.ok(await store.replace(taken, sent, { dropBody: true }));
  kinds = await keysByKind(temp.kv);
  assert.equal(kinds.due, undefined);
  assert.equal(kinds.body, undefined);
  assert.deepEqual(kinds.state, [[
    "sendmail.outbox",
    "state",
    "sent",
    9500,
    "a",
  ]]);
  assert.equal((await store.get("a"))?.record.state, "sent");
});

Deno.test("KvStore.due lists due entries earliest first, page by page", async () => {
  await using temp = await tempKv();
  const store = new KvStore(temp.kv);
  for (
    const [id, at] of [["c", 30], ["a", 10], ["b", 20], ["later", 99]] as const
  ) {
    await store.create(() => record(id, at), streamOf(textOf(10)), 1e6);
  }
  const first = await store.due(50, 2);
  assert.deepEqual(first.ids, ["a", "b"]);
  assert.ok(first.cursor);
  const second = await store.due(50, 2, first.cursor);
  assert.deepEqual(second.ids, ["c"]);
  assert.equal(second.cursor, undefined);
  assert.equal(await store.nextDue(), 10);
});

Deno.test("KvStore.sweep deletes an abandoned upload, and its late commit fails without leaving anything", async () => {
  await using temp = await tempKv();
  const store = new KvStore(temp.kv);
  // An upload of 12 chunks that stalls after its first atomic write.
  const { promise: stalled, resolve: resume } = Promise.withResolvers<void>();
  let pulls = 0;
  const slow = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (pulls === 9) await stalled;
      if (pulls++ === 12) return controller.close();
      controller.enqueue(textOf(CHUNK_SIZE, pulls));
    },
  });
  const creating = store.create(() => record("slow"), slow, 1e8);
  while ((await keysByKind(temp.kv)).upload === undefined) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.equal((await keysByKind(temp.kv)).body?.length, 8);
  // A fresh upload is left alone; one older than the limit is not.
  await store.sweep(0, 0);
  assert.equal((await keysByKind(temp.kv)).body?.length, 8);
  await store.sweep(0, Date.now() + 1);
  assert.deepEqual(await keysByKind(temp.kv), {});
  resume();
  await assert.rejects(creating, /abandoned/);
  assert.deepEqual(await keysByKind(temp.kv), {});
});

Deno.test("KvStore.sweep deletes settled entries before the limit with their bytes, and keeps the rest", async () => {
  await using temp = await tempKv();
  const store = new KvStore(temp.kv);
  for (const [id, settledAt] of [["old", 100], ["new", 900]] as const) {
    const { stored } = await store.create(
      () => record(id),
      streamOf(textOf(20_000)),
      1e6,
    );
    const failed: EntryRecord = {
      ...stored.record,
      state: "failed",
      settledAt,
    };
    delete failed.dueAt;
    await store.replace(stored, failed);
  }
  await store.sweep(500, 0);
  assert.equal(await store.get("old"), undefined);
  assert.equal((await store.get("new"))?.record.state, "failed");
  const kinds = await keysByKind(temp.kv);
  assert.equal(kinds.body?.length, 1);
  assert.deepEqual(kinds.entry, [["sendmail.outbox", "entry", "new"]]);
});

Deno.test("KvStore.body fails when a chunk is missing", async () => {
  await using temp = await tempKv();
  const store = new KvStore(temp.kv);
  const { stored } = await store.create(
    () => record("a"),
    streamOf(textOf(100_000)),
    1e6,
  );
  await temp.kv.delete([
    "sendmail.outbox",
    "body",
    stored.record.body!.token,
    1,
  ]);
  await assert.rejects(read(store.body(stored.record)), /chunk 1 is missing/);
});

Deno.test("KvStore posts a wake-up that a listener receives", async () => {
  await using temp = await tempKv();
  const store = new KvStore(temp.kv);
  const { promise: woken, resolve } = Promise.withResolvers<void>();
  assert.equal(store.listenForWakeUps(resolve), true);
  assert.equal(store.wakeUps, true);
  await store.create(() => record("a"), streamOf(textOf(10)), 1e6, 0);
  await woken;
});

Deno.test("KvStore.replace splits changes that together exceed an atomic write's mutations", async () => {
  await using temp = await tempKv();
  const store = new KvStore(temp.kv);
  const stored = [];
  for (const id of ["a", "b", "c", "d"]) {
    const { stored: one } = await store.create(
      () => record(id),
      streamOf(textOf(10)),
      1e6,
    );
    // As if each had 350 chunks to delete: 4 × 350 deletions are more than
    // one atomic write takes (1000 mutations).
    stored.push({
      ...one,
      record: {
        ...one.record,
        body: { token: `t-${id}`, chunks: 350, size: 1 },
      },
    });
  }
  const results = await Promise.all(stored.map((s) => {
    const sent: EntryRecord = { ...s.record, state: "sent", settledAt: 2000 };
    delete sent.dueAt;
    delete sent.body;
    return store.replace(s, sent, { dropBody: true });
  }));
  assert.ok(results.every((r) => r?.record.state === "sent"));
});
