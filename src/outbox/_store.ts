/**
 * What the outbox asks of its storage, and the record it stores per entry.
 * Deno KV (`_kv_store.ts`) is the one implementation; the outbox's delivery
 * rules never touch a key.
 *
 * Every change of an entry is one `replace()`: a compare-and-set on the
 * version the caller read, which also moves the entry in the indexes (by
 * state, by due time, by settlement time) in the same atomic write. So any
 * number of processes may work on one store: of two that read the same
 * version, exactly one's change lands.
 *
 * @module
 */
import type { Reply } from "../protocol/reply.ts";
import type { OutboxError, OutboxState } from "./outbox_entry.ts";
import type { OutboxSendOptions } from "./outbox_options.ts";

/** The state of one recipient, aligned with {@linkcode EntryRecord.to}. */
export interface RecipientRecord {
  /** Pending, accepted or rejected. */
  state: "pending" | "accepted" | "rejected";
  /** The server's last word on it. */
  reply?: Reply;
}

/** Where an entry's message bytes are. */
export interface BodyRecord {
  /** The key of the upload that wrote them (not the entry's id). */
  token: string;
  /** How many chunks. */
  chunks: number;
  /** The size in octets. */
  size: number;
  /** The message itself, when it is small enough to live in the record (no chunks then). */
  bytes?: Uint8Array;
}

/** One entry as stored. Times are ms since the epoch. */
export interface EntryRecord {
  /** The format of the record. */
  version: 1;
  id: string;
  state: OutboxState;
  attempts: number;
  createdAt: number;
  updatedAt: number;
  /** The start of the retry window (`maxAge`): enqueue, or `retry()`. */
  since: number;
  /**
   * When the entry is due: its next attempt ("queued") or the end of its
   * lease ("sending"); absent when settled.
   */
  dueAt?: number;
  /** The lease of the delivery holding it ("sending"). */
  lease?: string;
  /** When it was settled ("sent", "failed", "cancelled"). */
  settledAt?: number;
  messageId: string;
  from: string;
  to: string[];
  recipients: RecipientRecord[];
  lastError?: OutboxError;
  maybeDuplicate?: boolean;
  sendOptions?: OutboxSendOptions;
  /** The message bytes; absent once they are deleted (sent, cancelled). */
  body?: BodyRecord;
}

/** A record with the version it was read at. */
export interface Stored {
  record: EntryRecord;
  /** The store's version of the record (a KV versionstamp). */
  version: string;
}

/** What a `replace()` does besides writing the record. */
export interface ReplaceOptions {
  /** Delete the message bytes (the new record has no `body`). */
  dropBody?: boolean;
  /** Post a wake-up for listeners, due in this many ms. */
  wakeIn?: number;
  /** Write it as soon as possible (a take, which a send waits for). */
  urgent?: boolean;
}

/** The storage of an outbox. */
export interface OutboxStore {
  /** The entry with this id, if any. */
  get(id: string): Promise<Stored | undefined>;
  /** The entries with these ids, in order (`undefined` where there is none). */
  getMany(ids: readonly string[]): Promise<(Stored | undefined)[]>;
  /**
   * Stores a new entry and its message bytes, which are written before the
   * entry is committed, so a committed entry always has its bytes. When an
   * entry with the same id exists, nothing is stored and it is returned.
   *
   * @param record Makes the entry, without `body`, once the bytes are read
   * (a Message-ID found in them is known then).
   * @param bytes The message.
   * @param maxSize The most octets `bytes` may hold.
   * @param wakeIn Post a wake-up for listeners, due in this many ms.
   * @returns The stored entry, and whether it is the one given.
   * @throws {RangeError} `bytes` is larger than `maxSize`: nothing is kept.
   */
  create(
    record: () => EntryRecord,
    bytes: ReadableStream<Uint8Array>,
    maxSize: number,
    wakeIn?: number,
  ): Promise<{ stored: Stored; created: boolean }>;
  /**
   * Changes an entry if it is still at the version read. Changes asked for
   * while a write is in flight may go together in one atomic write (each
   * with its own check); when that write fails a check, each is made alone.
   *
   * @returns The entry as written, or `undefined` when its version changed.
   */
  replace(
    current: Stored,
    next: EntryRecord,
    options?: ReplaceOptions,
  ): Promise<Stored | undefined>;
  /** The ids of entries due at or before `until`, earliest first, after `cursor`. */
  due(
    until: number,
    limit: number,
    cursor?: string,
  ): Promise<{ ids: string[]; cursor: string | undefined }>;
  /** The earliest due time of any entry, if any is queued or sending. */
  nextDue(): Promise<number | undefined>;
  /** The message bytes of an entry, read as they are pulled. */
  body(record: EntryRecord): ReadableStream<Uint8Array>;
  /** Entries in a state (or in any), oldest first. */
  list(state: OutboxState | undefined, limit: number): Promise<EntryRecord[]>;
  /**
   * Deletes entries settled before `settledBefore` with their bytes, and the
   * bytes of uploads abandoned before `abandonedBefore`.
   */
  sweep(settledBefore: number, abandonedBefore: number): Promise<void>;
  /**
   * Calls `wake` for every wake-up posted to the store, where the store can
   * deliver them (Deno KV queues), and from then on posts wake-ups.
   *
   * @returns Whether it can.
   */
  listenForWakeUps(wake: () => void): boolean;
  /** Whether wake-ups are posted (`listenForWakeUps` is running). */
  readonly wakeUps: boolean;
}
