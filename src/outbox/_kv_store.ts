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
 * - `state, state, createdAt, id` → the entries by state, oldest first;
 * - `settled, settledAt, id` → settled entries, for the retention sweep.
 *
 * A small message (up to {@linkcode INLINE_CHUNKS} chunks) and its entry go
 * in one atomic write: nothing can be left behind. Every call that meets
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

const ROOT = "sendmail.outbox";
/** The size of a chunk of message bytes: a KV value holds at most 64 KiB. */
export const CHUNK_SIZE = 64 * 1024;
/**
 * Chunks written per atomic write, and the most that go with the entry's
 * own commit (an atomic write holds at most 800 KiB).
 */
export const INLINE_CHUNKS = 8;
/** Chunks deleted in the same atomic write as the record (at most 1000 mutations). */
const DROP_INLINE = 400;
/** Keys deleted per atomic write when clearing chunks. */
const DELETE_BATCH = 500;
/** The longest delay of a KV queue message (30 days). */
const MAX_QUEUE_DELAY = 30 * 24 * 3600 * 1000;
/** What a wake-up message holds. */
const WAKE = Object.freeze({ [ROOT]: "wake" });

const STATES: readonly OutboxState[] = [
  "queued",
  "sending",
  "sent",
  "failed",
  "cancelled",
];

const entryKey = (id: string): Deno.KvKey => [ROOT, "entry", id];
const bodyKey = (token: string, n: number): Deno.KvKey => [
  ROOT,
  "body",
  token,
  n,
];
const uploadKey = (token: string): Deno.KvKey => [ROOT, "upload", token];

/** The index keys of a record. */
function indexKeys(record: EntryRecord): Deno.KvKey[] {
  const keys: Deno.KvKey[] = [
    [ROOT, "state", record.state, record.createdAt, record.id],
  ];
  if (record.dueAt !== undefined) {
    keys.push([ROOT, "due", record.dueAt, record.id]);
  }
  if (record.settledAt !== undefined) {
    keys.push([ROOT, "settled", record.settledAt, record.id]);
  }
  return keys;
}

/** Adds to `op` what moves the indexes from `from` to `to`. */
function moveIndexes(
  op: Deno.AtomicOperation,
  from: EntryRecord | undefined,
  to: EntryRecord | undefined,
): void {
  const before = new Map(
    (from ? indexKeys(from) : []).map((key) => [JSON.stringify(key), key]),
  );
  const after = new Map(
    (to ? indexKeys(to) : []).map((key) => [JSON.stringify(key), key]),
  );
  for (const [name, key] of before) if (!after.has(name)) op.delete(key);
  for (const [name, key] of after) if (!before.has(name)) op.set(key, true);
}

function abandoned(): Error {
  return new Error(
    "Cannot enqueue message: its upload was taken for abandoned and deleted",
  );
}

/** The {@linkcode OutboxStore} on a `Deno.Kv`. */
export class KvStore implements OutboxStore {
  readonly #kv: Deno.Kv;
  #wakeUps = false;

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
        if (!(value instanceof Uint8Array)) {
          throw new TypeError(
            "Cannot enqueue message: its stream must yield Uint8Array chunks",
          );
        }
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
      const body: BodyRecord = {
        token,
        chunks: written + ready.length,
        size,
      };
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

  async replace(
    current: Stored,
    next: EntryRecord,
    options: ReplaceOptions = {},
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
    const kv = this.#kv;
    const body = record.body;
    let n = 0;
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (body === undefined || n >= body.chunks) {
          controller.close();
          return;
        }
        const chunk = await retryLocked(() =>
          kv.get<Uint8Array>(bodyKey(body.token, n))
        );
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
    const found: { createdAt: number; id: string }[] = [];
    for (const s of state ? [state] : STATES) {
      await retryLocked(async () => {
        const part: { createdAt: number; id: string }[] = [];
        for await (
          const entry of kv.list<true>({ prefix: [ROOT, "state", s] }, {
            limit,
            batchSize: Math.min(limit, 500),
          })
        ) {
          part.push({
            createdAt: entry.key[3] as number,
            id: entry.key[4] as string,
          });
        }
        found.push(...part);
      });
    }
    found.sort((a, b) =>
      a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
    );
    const ids = found.slice(0, limit).map((f) => f.id);
    const records: EntryRecord[] = [];
    for (let i = 0; i < ids.length; i += 10) {
      const entries = await retryLocked(() =>
        kv.getMany<EntryRecord[]>(ids.slice(i, i + 10).map(entryKey))
      );
      for (const entry of entries) {
        if (entry.versionstamp !== null) records.push(entry.value);
      }
    }
    return records;
  }

  async sweep(settledBefore: number, abandonedBefore: number): Promise<void> {
    const kv = this.#kv;
    // Settled entries past their retention, with what is left of their bytes.
    const settled = await retryLocked(async () => {
      const keys: Deno.KvKey[] = [];
      for await (
        const entry of kv.list<true>({
          start: [ROOT, "settled"],
          end: [ROOT, "settled", Math.floor(settledBefore)],
        }, { limit: 100 })
      ) keys.push(entry.key);
      return keys;
    });
    for (const key of settled) {
      const id = key[3] as string;
      const current = await this.get(id);
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
