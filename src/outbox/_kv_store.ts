/**
 * The outbox's storage on Deno KV.
 *
 * Keys, all under `"sendmail.outbox"`:
 * - `entry, id` → the {@linkcode EntryRecord};
 * - `body, token, n` → chunk n of a message (at most 64 KiB, a KV value's
 *   limit), written under the token of its upload before the entry that
 *   points to it is committed;
 * - `upload, token` → `{ touchedAt }` while a large message is written in
 *   several atomic writes (or once its entry is gone and its chunks are
 *   being deleted): a token left behind by a process that died is
 *   abandoned, and `sweep()` deletes its chunks;
 * - `due, dueAt, id` → the entries that are queued (due at their next
 *   attempt) or sending (due again when their lease ends), earliest first;
 * - `state, "open", createdAt, id` → queued and sending entries, oldest
 *   first (one bucket: taking an entry does not move it here);
 * - `state, state, settledAt, id` → sent, failed and cancelled entries, in
 *   the order they were settled (the retention sweep reads them so).
 *
 * A message of up to {@linkcode INLINE_BODY} octets is kept in its entry's
 * record; a larger one of up to {@linkcode INLINE_CHUNKS} chunks is
 * written in the entry's own atomic write: nothing can be left behind. Every call that meets
 * "database is locked" is made again.
 *
 * @module
 */
import { retryLocked } from "./_locked.ts";
import type {
  BodyRecord,
  EntryRecord,
  OutboxStore,
  ReplaceOptions,
  Stored,
} from "./_store.ts";
import type { OutboxState } from "./outbox_entry.ts";
import { assertBytes } from "../protocol/_bytes.ts";

const ROOT = "sendmail.outbox";
/** The size of a chunk of message bytes: a KV value holds at most 64 KiB. */
export const CHUNK_SIZE = 64 * 1024;
/**
 * Chunks written per atomic write, and the most that go with the entry's
 * own commit (an atomic write holds at most 800 KiB).
 */
export const INLINE_CHUNKS = 8;
/**
 * A message up to this size lives in its entry's record: no chunk to write,
 * read and delete (most notifications).
 */
export const INLINE_BODY = 8 * 1024;
/** Chunks deleted in the same atomic write as the record (at most 1000 mutations). */
const DROP_INLINE = 400;
/** Keys deleted per atomic write when clearing chunks. */
const DELETE_BATCH = 500;
/** Changes grouped in one atomic write: at most, and their estimated size. */
const GROUP_CHANGES = 32;
const GROUP_SIZE = 400 * 1024;
const GROUP_MUTATIONS = 900;
/** Fewer changes than this wait {@linkcode GROUP_WAIT} ms for company. */
const GROUP_WAIT_BELOW = 4;
const GROUP_WAIT = 2;
/** The longest delay of a KV queue message (30 days). */
const MAX_QUEUE_DELAY = 30 * 24 * 3600 * 1000;
/** What a wake-up message holds. */
const WAKE = Object.freeze({ [ROOT]: "wake" });

/** The buckets of the state index. */
type Bucket = "open" | "sent" | "failed" | "cancelled";
const BUCKETS: readonly Bucket[] = ["open", "sent", "failed", "cancelled"];
const SETTLED: readonly Bucket[] = ["sent", "failed", "cancelled"];

function bucketOf(state: OutboxState): Bucket {
  return state === "queued" || state === "sending" ? "open" : state;
}

/** The time a record sorts by in the state index: made, or settled. */
function stateTime(record: EntryRecord): number {
  return bucketOf(record.state) === "open"
    ? record.createdAt
    : record.settledAt ?? record.updatedAt;
}

/** The key of a record in the state index. */
function stateKey(record: EntryRecord): Deno.KvKey {
  return [ROOT, "state", bucketOf(record.state), stateTime(record), record.id];
}

const entryKey = (id: string): Deno.KvKey => [ROOT, "entry", id];
const bodyKey = (token: string, n: number): Deno.KvKey => [
  ROOT,
  "body",
  token,
  n,
];
const uploadKey = (token: string): Deno.KvKey => [ROOT, "upload", token];

/** Adds to `op` what moves the indexes from `from` to `to`. */
function moveIndexes(
  op: Deno.AtomicOperation,
  from: EntryRecord | undefined,
  to: EntryRecord | undefined,
): void {
  const before = from && stateKey(from);
  const after = to && stateKey(to);
  if (!sameKey(before, after)) {
    if (before) op.delete(before);
    if (after) op.set(after, true);
  }
  if (from?.dueAt !== to?.dueAt || from?.id !== to?.id) {
    if (from?.dueAt !== undefined) {
      op.delete([ROOT, "due", from.dueAt, from.id]);
    }
    if (to?.dueAt !== undefined) op.set([ROOT, "due", to.dueAt, to.id], true);
  }
}

function sameKey(a: Deno.KvKey | undefined, b: Deno.KvKey | undefined) {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((part, i) => part === b[i]);
}

/** A rough size of a record in an atomic write, for grouping. */
function sizeOf(record: EntryRecord): number {
  let size = 1024;
  for (const address of record.to) size += 2 * address.length + 64;
  for (const recipient of record.recipients) {
    size += recipient.reply ? 64 + 2 * recipient.reply.text.length : 16;
  }
  if (record.lastError) size += 2 * record.lastError.message.length;
  return size + (record.body?.bytes?.length ?? 0);
}

function abandoned(): Error {
  return new Error(
    "Cannot enqueue message: its upload was taken for abandoned and deleted",
  );
}

/** A change waiting for its atomic write. */
interface Change {
  current: Stored;
  next: EntryRecord;
  options: ReplaceOptions;
  /** Its estimated size in the write. */
  size: number;
  /** How many mutations it adds to the write (at most). */
  mutations: number;
  done: (result: Stored | undefined | { error: unknown }) => void;
}

/**
 * A queue of changes written in groups, one write at a time: changes asked
 * for in one turn (a batch of takes), or while a write is in flight, go
 * together. With `wait`, a small group waits {@linkcode GROUP_WAIT} ms for
 * more: an atomic write costs about the same whatever it holds.
 */
class GroupWriter {
  readonly #write: (group: Change[]) => Promise<void>;
  readonly #wait: boolean;
  #changes: Change[] = [];
  #writing = false;

  constructor(write: (group: Change[]) => Promise<void>, wait: boolean) {
    this.#write = write;
    this.#wait = wait;
  }

  push(change: Change): void {
    this.#changes.push(change);
    if (this.#writing) return;
    this.#writing = true;
    queueMicrotask(() => this.#run());
  }

  async #run(): Promise<void> {
    try {
      while (this.#changes.length > 0) {
        if (this.#wait && this.#changes.length < GROUP_WAIT_BELOW) {
          await new Promise((resolve) => setTimeout(resolve, GROUP_WAIT));
        }
        // A group holds one change per entry: two changes of one entry,
        // both checked against the version they read, must not both land.
        let size = 0;
        let mutations = 0;
        let count = 0;
        const ids = new Set<string>();
        for (const change of this.#changes) {
          if (
            count === GROUP_CHANGES || ids.has(change.next.id) ||
            (count > 0 &&
              (size + change.size > GROUP_SIZE ||
                mutations + change.mutations > GROUP_MUTATIONS))
          ) break;
          ids.add(change.next.id);
          size += change.size;
          mutations += change.mutations;
          count++;
        }
        await this.#write(this.#changes.splice(0, count));
      }
    } finally {
      this.#writing = false;
    }
  }
}

/** The {@linkcode OutboxStore} on a `Deno.Kv`. */
export class KvStore implements OutboxStore {
  readonly #kv: Deno.Kv;
  #wakeUps = false;
  /** Changes waiting while a write of their queue is in flight. */
  readonly #urgent = new GroupWriter((group) => this.#writeGroup(group), false);
  readonly #outcomes = new GroupWriter(
    (group) => this.#writeGroup(group),
    true,
  );
  /** Reads asked for in this turn, made together. */
  #reads: {
    key: Deno.KvKey;
    done: (entry: Deno.KvEntryMaybe<unknown> | { error: unknown }) => void;
  }[] = [];

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  get wakeUps(): boolean {
    return this.#wakeUps;
  }

  async get(id: string): Promise<Stored | undefined> {
    const entry = await retryLocked(() =>
      this.#kv.get<EntryRecord>(entryKey(id))
    );
    if (entry.versionstamp === null) return undefined;
    return { record: entry.value, version: entry.versionstamp };
  }

  async getMany(ids: readonly string[]): Promise<(Stored | undefined)[]> {
    const found: (Stored | undefined)[] = [];
    for (let i = 0; i < ids.length; i += 10) {
      const entries = await retryLocked(() =>
        this.#kv.getMany<EntryRecord[]>(ids.slice(i, i + 10).map(entryKey))
      );
      for (const entry of entries) {
        found.push(
          entry.versionstamp === null
            ? undefined
            : { record: entry.value, version: entry.versionstamp },
        );
      }
    }
    return found;
  }

  async create(
    makeRecord: () => EntryRecord,
    bytes: ReadableStream<Uint8Array>,
    maxSize: number,
    wakeIn?: number,
  ): Promise<{ stored: Stored; created: boolean }> {
    const kv = this.#kv;
    const token = crypto.randomUUID();
    const reader = bytes.getReader();
    /** Full chunks not written yet. */
    const ready: Uint8Array[] = [];
    let buffer = new Uint8Array(CHUNK_SIZE);
    let filled = 0;
    let size = 0;
    /** Chunks written by earlier atomic writes. */
    let written = 0;
    /** The version of the upload marker, once there is one. */
    let marker: string | undefined;

    const flush = async (): Promise<void> => {
      const batch = ready.splice(0);
      const result = await retryLocked(() => {
        const op = kv.atomic()
          .check({ key: uploadKey(token), versionstamp: marker ?? null })
          .set(uploadKey(token), { touchedAt: Date.now() });
        batch.forEach((chunk, i) => op.set(bodyKey(token, written + i), chunk));
        return op.commit();
      });
      if (!result.ok) throw abandoned();
      marker = result.versionstamp;
      written += batch.length;
    };

    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        assertBytes(value, "enqueue message");
        size += value.length;
        if (size > maxSize) {
          throw new RangeError(
            `Cannot enqueue message: larger than maxMessageSize (${maxSize} octets)`,
          );
        }
        let offset = 0;
        while (offset < value.length) {
          const n = Math.min(CHUNK_SIZE - filled, value.length - offset);
          buffer.set(value.subarray(offset, offset + n), filled);
          filled += n;
          offset += n;
          if (filled === CHUNK_SIZE) {
            ready.push(buffer);
            buffer = new Uint8Array(CHUNK_SIZE);
            filled = 0;
          }
        }
        if (ready.length >= INLINE_CHUNKS) await flush();
      }
      if (filled > 0) ready.push(buffer.slice(0, filled));
      const small = marker === undefined && size <= INLINE_BODY;
      const body: BodyRecord = small
        ? { token, chunks: 0, size, bytes: ready.pop() ?? new Uint8Array() }
        : { token, chunks: written + ready.length, size };
      const record = makeRecord();
      const full: EntryRecord = { ...record, body };
      const result = await retryLocked(() => {
        const op = kv.atomic()
          .check({ key: entryKey(record.id), versionstamp: null });
        if (marker !== undefined) {
          op.check({ key: uploadKey(token), versionstamp: marker })
            .delete(uploadKey(token));
        }
        ready.forEach((chunk, i) => op.set(bodyKey(token, written + i), chunk));
        moveIndexes(op, undefined, full);
        op.set(entryKey(record.id), full);
        if (wakeIn !== undefined) this.#wake(op, wakeIn);
        return op.commit();
      });
      if (result.ok) {
        return {
          stored: { record: full, version: result.versionstamp },
          created: true,
        };
      }
      // Another enqueue with this id won, or the upload was swept.
      await this.#clearUpload(token, written, marker);
      const existing = await this.get(full.id);
      if (existing) return { stored: existing, created: false };
      throw abandoned();
    } catch (error) {
      await reader.cancel(error).catch(() => {});
      // What could not be deleted now is swept later (the marker stays).
      await this.#clearUpload(token, written, marker).catch(() => {});
      throw error;
    } finally {
      reader.releaseLock();
    }
  }

  replace(
    current: Stored,
    next: EntryRecord,
    options: ReplaceOptions = {},
  ): Promise<Stored | undefined> {
    const body = options.dropBody ? current.record.body : undefined;
    if (body !== undefined && body.chunks > DROP_INLINE) {
      return this.#replaceAlone(current, next, options);
    }
    return new Promise((resolve, reject) => {
      // Takes go at once (a send waits for them); outcomes may wait a
      // moment for company. Each in its own queue.
      (options.urgent ? this.#urgent : this.#outcomes).push({
        current,
        next,
        options,
        size: sizeOf(next),
        mutations: 8 + (body?.chunks ?? 0),
        done: (result) =>
          result !== undefined && "error" in result
            ? reject(result.error)
            : resolve(result),
      });
    });
  }

  /** Writes a group of changes in one atomic write, or one by one. */
  async #writeGroup(group: Change[]): Promise<void> {
    if (group.length > 1) {
      let result: Deno.KvCommitResult | Deno.KvCommitError;
      try {
        result = await retryLocked(() => {
          const op = this.#kv.atomic();
          for (const change of group) this.#addChange(op, change);
          return op.commit();
        });
      } catch (error) {
        for (const change of group) change.done({ error });
        return;
      }
      if (result.ok) {
        for (const change of group) {
          change.done({ record: change.next, version: result.versionstamp });
        }
        return;
      }
      // A check failed: find out whose, one write each.
    }
    for (const change of group) {
      try {
        change.done(
          await this.#replaceAlone(change.current, change.next, change.options),
        );
      } catch (error) {
        change.done({ error });
      }
    }
  }

  /** Reads a key; reads asked for in the same turn go in one getMany. */
  #read(key: Deno.KvKey): Promise<Deno.KvEntryMaybe<unknown>> {
    return new Promise((resolve, reject) => {
      if (this.#reads.length === 0) {
        queueMicrotask(() => {
          const reads = this.#reads.splice(0);
          for (let i = 0; i < reads.length; i += 10) {
            const group = reads.slice(i, i + 10);
            retryLocked(() => this.#kv.getMany(group.map((r) => r.key))).then(
              (entries) => group.forEach((r, j) => r.done(entries[j]!)),
              (error) => group.forEach((r) => r.done({ error })),
            );
          }
        });
      }
      this.#reads.push({
        key,
        done: (entry) =>
          "error" in entry ? reject(entry.error) : resolve(entry),
      });
    });
  }

  /** Adds a change (with inline body deletion) to an atomic write. */
  #addChange(op: Deno.AtomicOperation, change: Change): void {
    const { current, next, options } = change;
    op.check({ key: entryKey(next.id), versionstamp: current.version });
    moveIndexes(op, current.record, next);
    const body = options.dropBody ? current.record.body : undefined;
    if (body) this.#dropBody(op, body, true);
    op.set(entryKey(next.id), next);
    if (options.wakeIn !== undefined && this.#wakeUps) {
      this.#wake(op, options.wakeIn);
    }
  }

  async #replaceAlone(
    current: Stored,
    next: EntryRecord,
    options: ReplaceOptions,
  ): Promise<Stored | undefined> {
    const body = options.dropBody ? current.record.body : undefined;
    const inline = body !== undefined && body.chunks <= DROP_INLINE;
    const result = await retryLocked(() => {
      const op = this.#kv.atomic()
        .check({ key: entryKey(next.id), versionstamp: current.version });
      moveIndexes(op, current.record, next);
      if (body) this.#dropBody(op, body, inline);
      op.set(entryKey(next.id), next);
      if (options.wakeIn !== undefined && this.#wakeUps) {
        this.#wake(op, options.wakeIn);
      }
      return op.commit();
    });
    if (!result.ok) return undefined;
    if (body && !inline) {
      await this.#clearUpload(body.token, body.chunks, undefined).catch(
        () => {},
      );
    }
    return { record: next, version: result.versionstamp };
  }

  async due(
    until: number,
    limit: number,
    cursor?: string,
  ): Promise<{ ids: string[]; cursor: string | undefined }> {
    return await retryLocked(async () => {
      const iterator = this.#kv.list<true>(
        { start: [ROOT, "due"], end: [ROOT, "due", Math.floor(until) + 1] },
        { limit, batchSize: limit, ...(cursor ? { cursor } : {}) },
      );
      const ids: string[] = [];
      for await (const entry of iterator) ids.push(entry.key[3] as string);
      return {
        ids,
        cursor: ids.length === limit ? iterator.cursor : undefined,
      };
    });
  }

  async nextDue(): Promise<number | undefined> {
    return await retryLocked(async () => {
      for await (
        const entry of this.#kv.list<true>({ prefix: [ROOT, "due"] }, {
          limit: 1,
        })
      ) {
        return entry.key[2] as number;
      }
      return undefined;
    });
  }

  body(record: EntryRecord): ReadableStream<Uint8Array> {
    const read = (key: Deno.KvKey) => this.#read(key);
    const body = record.body;
    let n = 0;
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (body?.bytes && n === 0) {
          n++;
          controller.enqueue(body.bytes);
          return;
        }
        if (body === undefined || n >= body.chunks) {
          controller.close();
          return;
        }
        const chunk = await read(bodyKey(body.token, n));
        if (!(chunk.value instanceof Uint8Array)) {
          throw new Error(
            `Cannot read the message of outbox entry ${
              JSON.stringify(record.id)
            }: chunk ${n} is missing`,
          );
        }
        n++;
        controller.enqueue(chunk.value);
      },
    }, { highWaterMark: 1 });
  }

  async list(
    state: OutboxState | undefined,
    limit: number,
  ): Promise<EntryRecord[]> {
    const kv = this.#kv;
    const buckets = state ? [bucketOf(state)] : BUCKETS;
    const records: EntryRecord[] = [];
    for (const bucket of buckets) {
      // Queued and sending entries share a bucket: read on until enough of
      // the state asked for are found.
      let cursor: string | undefined;
      let kept = 0;
      do {
        const page = await retryLocked(async () => {
          const iterator = kv.list<true>(
            { prefix: [ROOT, "state", bucket] },
            {
              limit: Math.min(limit, 500),
              batchSize: Math.min(limit, 500),
              ...(cursor ? { cursor } : {}),
            },
          );
          const ids: string[] = [];
          for await (const entry of iterator) ids.push(entry.key[4] as string);
          return {
            ids,
            cursor: ids.length === Math.min(limit, 500)
              ? iterator.cursor
              : undefined,
          };
        });
        cursor = page.cursor;
        for (const stored of await this.getMany(page.ids)) {
          if (!stored || (state && stored.record.state !== state)) continue;
          records.push(stored.record);
          kept++;
        }
      } while (cursor !== undefined && kept < limit);
    }
    records.sort((a, b) =>
      stateTime(a) - stateTime(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
    );
    return records.slice(0, limit);
  }

  async sweep(settledBefore: number, abandonedBefore: number): Promise<void> {
    const kv = this.#kv;
    // Settled entries past their retention, with what is left of their bytes.
    const settled = await retryLocked(async () => {
      const keys: Deno.KvKey[] = [];
      for (const bucket of SETTLED) {
        for await (
          const entry of kv.list<true>({
            start: [ROOT, "state", bucket],
            end: [ROOT, "state", bucket, Math.floor(settledBefore)],
          }, { limit: 100 })
        ) keys.push(entry.key);
      }
      return keys;
    });
    // Read together, ten to a call; the versionstamp check below still
    // guards each delete.
    const entries = await this.getMany(settled.map((key) => key[4] as string));
    for (const [i, key] of settled.entries()) {
      const id = key[4] as string;
      const current = entries[i];
      if (!current) {
        await retryLocked(() => kv.delete(key));
        continue;
      }
      const body = current.record.body;
      const inline = body !== undefined && body.chunks <= DROP_INLINE;
      const result = await retryLocked(() => {
        const op = kv.atomic()
          .check({ key: entryKey(id), versionstamp: current.version });
        moveIndexes(op, current.record, undefined);
        if (body) this.#dropBody(op, body, inline);
        return op.delete(entryKey(id)).commit();
      });
      if (result.ok && body && !inline) {
        await this.#clearUpload(body.token, body.chunks, undefined);
      }
    }
    // Uploads that nobody finished: their marker first (so that a late
    // write or commit of that upload fails), then their chunks.
    const uploads = await retryLocked(async () => {
      const found: Deno.KvEntry<{ touchedAt: number }>[] = [];
      for await (
        const entry of kv.list<{ touchedAt: number }>({
          prefix: [ROOT, "upload"],
        }, { limit: 100 })
      ) found.push(entry);
      return found;
    });
    for (const upload of uploads) {
      if (!(upload.value.touchedAt < abandonedBefore)) continue;
      const token = upload.key[2] as string;
      const result = await retryLocked(() =>
        kv.atomic().check(upload).delete(upload.key).commit()
      );
      if (result.ok) await this.#deletePrefix([ROOT, "body", token]);
    }
  }

  listenForWakeUps(wake: () => void): boolean {
    const kv = this.#kv;
    if (typeof kv.listenQueue !== "function") return false;
    let listening: Promise<void>;
    try {
      listening = kv.listenQueue((message: unknown) => {
        if (
          typeof message === "object" && message !== null &&
          (message as Record<string, unknown>)[ROOT] === "wake"
        ) wake();
      });
    } catch {
      return false;
    }
    this.#wakeUps = true;
    const stop = () => {
      this.#wakeUps = false;
    };
    listening.then(stop, stop);
    return true;
  }

  /** Posts a wake-up in the atomic write, due in `ms`. */
  #wake(op: Deno.AtomicOperation, ms: number): void {
    op.enqueue(WAKE, {
      delay: Math.max(0, Math.min(MAX_QUEUE_DELAY, Math.ceil(ms))),
    });
  }

  /**
   * Adds to `op` the deletion of a body: its chunks (`inline`), or a marker
   * that hands them to {@linkcode KvStore.#clearUpload} and, should that not
   * finish, to the sweep.
   */
  #dropBody(op: Deno.AtomicOperation, body: BodyRecord, inline: boolean): void {
    if (inline) {
      for (let n = 0; n < body.chunks; n++) op.delete(bodyKey(body.token, n));
    } else {
      op.set(uploadKey(body.token), { touchedAt: 0 });
    }
  }

  /** Deletes the first `chunks` chunks of an upload, then its marker. */
  async #clearUpload(
    token: string,
    chunks: number,
    marker: string | undefined,
  ): Promise<void> {
    const kv = this.#kv;
    for (let n = 0; n < chunks; n += DELETE_BATCH) {
      await retryLocked(() => {
        const op = kv.atomic();
        for (let i = n; i < Math.min(chunks, n + DELETE_BATCH); i++) {
          op.delete(bodyKey(token, i));
        }
        return op.commit();
      });
    }
    if (marker !== undefined || chunks > 0) {
      await retryLocked(() => kv.delete(uploadKey(token)));
    }
  }

  /** Deletes every key under `prefix`. */
  async #deletePrefix(prefix: Deno.KvKey): Promise<void> {
    const kv = this.#kv;
    for (;;) {
      const keys = await retryLocked(async () => {
        const found: Deno.KvKey[] = [];
        for await (
          const entry of kv.list({ prefix }, { limit: DELETE_BATCH })
        ) found.push(entry.key);
        return found;
      });
      if (keys.length === 0) return;
      await retryLocked(() => {
        const op = kv.atomic();
        for (const key of keys) op.delete(key);
        return op.commit();
      });
    }
  }
}
