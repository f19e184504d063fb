/**
 * The inbox's messages: each message the capture server stores gets an id
 * and a summary (addresses and subject read from its header); lists,
 * searches, deletions, waits for a matching message, and listeners told of
 * every change (the page's server-sent events).
 *
 * @module
 */

import { parseAddressList } from "../../mime/parse_address_list.ts";
import type { ReceivedMessage } from "../received_message.ts";
import {
  decodeHeader,
  fieldValue,
  type MimeMessage,
  parseMime,
  viewOf,
} from "./_mime.ts";

/** A mailbox as the list shows it. */
export interface MailboxSummary {
  /** The display name, decoded. */
  name?: string;
  /** The address. */
  address: string;
}

/** What the list shows of a message (and `GET /api/messages` returns). */
export interface Summary {
  /** The inbox's id of the message. */
  id: string;
  /** When the capture server accepted it (ISO 8601). */
  receivedAt: string;
  /** The header's From. */
  from: MailboxSummary[];
  /** The header's To. */
  to: MailboxSummary[];
  /** The header's Cc. */
  cc: MailboxSummary[];
  /** The Subject, decoded. */
  subject: string;
  /** The Date field as written. */
  date?: string;
  /** The Message-ID field as written. */
  messageId?: string;
  /** The SMTP envelope. */
  envelope: { from: string; to: string[] };
  /** The size in octets. */
  size: number;
  /** Whether it came over TLS. */
  secure: boolean;
  /** Who it was sent as (AUTH), when anyone. */
  authUser?: string;
  /** How many files it carries (attachments and inline images). */
  attachments: number;
}

/** A stored message. */
export interface Entry {
  /** Its id, a decimal number. */
  id: string;
  /** The capture server's record. */
  message: ReceivedMessage;
  /** What the list shows. */
  summary: Summary;
  /** Its parts. */
  mime: MimeMessage;
  /** Details computed once when asked (DKIM results …). */
  cache: Map<string, unknown>;
}

/** What a search matches: every given criterion must (case-insensitive substrings). */
export interface Filter {
  /** Any address (header or envelope) or the subject. */
  q?: string;
  /** A recipient: To, Cc or the envelope. */
  to?: string;
  /** The sender: From or the envelope. */
  from?: string;
  /** The subject. */
  subject?: string;
}

/** A change the page hears of. */
export type StoreEvent =
  | { type: "message"; summary: Summary }
  | { type: "delete"; ids: string[] };

interface Waiter {
  filter: Filter;
  after: number;
  resolve(entry: Entry | undefined): void;
}

/** Reads an address field leniently: a malformed one still lists its addresses. */
function mailboxes(value: string | undefined): MailboxSummary[] {
  if (value === undefined || value === "") return [];
  try {
    return parseAddressList(value).map((m) =>
      m.name === undefined ? { address: m.address } : m
    );
  } catch {
    const found = value.match(/[^\s<>,;:"()]+@[^\s<>,;:"()]+/g) ?? [];
    return found.map((address) => ({ address }));
  }
}

function contains(haystack: readonly string[], needle: string): boolean {
  const lower = needle.toLowerCase();
  return haystack.some((text) => text.toLowerCase().includes(lower));
}

function texts(list: readonly MailboxSummary[]): string[] {
  return list.flatMap((m) => (m.name ? [m.name, m.address] : [m.address]));
}

/**
 * Whether a summary matches a filter.
 *
 * @param summary The message.
 * @param filter The criteria.
 * @returns True when every criterion given matches.
 */
export function matches(summary: Summary, filter: Filter): boolean {
  const recipients = [
    ...texts(summary.to),
    ...texts(summary.cc),
    ...summary.envelope.to,
  ];
  const senders = [...texts(summary.from), summary.envelope.from];
  if (filter.to && !contains(recipients, filter.to)) return false;
  if (filter.from && !contains(senders, filter.from)) return false;
  if (filter.subject && !contains([summary.subject], filter.subject)) {
    return false;
  }
  if (
    filter.q &&
    !contains([...recipients, ...senders, summary.subject], filter.q)
  ) {
    return false;
  }
  return true;
}

/** The messages of an inbox, newest last inside, newest first outside. */
export class Store {
  #entries: Entry[] = [];
  #next = 1;
  #max: number;
  #listeners = new Set<(event: StoreEvent) => void>();
  #waiters = new Set<Waiter>();

  /** @param max The most messages kept; the oldest go first. */
  constructor(max: number) {
    this.#max = max;
  }

  /**
   * Stores a message the capture server accepted.
   *
   * @param message The message.
   * @returns Its entry.
   */
  add(message: ReceivedMessage): Entry {
    const id = String(this.#next++);
    const mime = parseMime(message.raw);
    const fields = mime.root.fields;
    const summary: Summary = {
      id,
      receivedAt: new Date().toISOString(),
      from: mailboxes(fieldValue(fields, "from")),
      to: mailboxes(fieldValue(fields, "to")),
      cc: mailboxes(fieldValue(fields, "cc")),
      subject: decodeHeader(fieldValue(fields, "subject") ?? ""),
      envelope: { from: message.envelope.from, to: [...message.envelope.to] },
      size: message.raw.length,
      secure: message.secure,
      attachments: viewOf(mime).files.length,
    };
    const date = fieldValue(fields, "date");
    if (date !== undefined) summary.date = date;
    const messageId = fieldValue(fields, "message-id");
    if (messageId !== undefined) summary.messageId = messageId;
    if (message.authUser !== undefined) summary.authUser = message.authUser;
    const entry: Entry = { id, message, summary, mime, cache: new Map() };
    this.#entries.push(entry);
    const dropped: string[] = [];
    while (this.#entries.length > this.#max) {
      const old = this.#entries.shift()!;
      dropped.push(old.id);
    }
    if (dropped.length > 0) this.#emit({ type: "delete", ids: dropped });
    this.#emit({ type: "message", summary });
    for (const waiter of this.#waiters) {
      if (Number(id) > waiter.after && matches(summary, waiter.filter)) {
        this.#waiters.delete(waiter);
        waiter.resolve(entry);
      }
    }
    return entry;
  }

  /** The entry of an id. */
  get(id: string): Entry | undefined {
    return this.#entries.find((entry) => entry.id === id);
  }

  /**
   * The entries matching a filter, newest first.
   *
   * @param filter The criteria.
   * @returns The entries.
   */
  list(filter: Filter = {}): Entry[] {
    const out: Entry[] = [];
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      const entry = this.#entries[i]!;
      if (matches(entry.summary, filter)) out.push(entry);
    }
    return out;
  }

  /** How many messages are kept. */
  get size(): number {
    return this.#entries.length;
  }

  /**
   * Removes entries.
   *
   * @param ids The ids; every entry when absent.
   * @returns The messages removed (for the capture server to let go too).
   */
  delete(ids?: readonly string[]): Set<ReceivedMessage> {
    const wanted = ids === undefined ? undefined : new Set(ids);
    const removed = new Set<ReceivedMessage>();
    const gone: string[] = [];
    this.#entries = this.#entries.filter((entry) => {
      if (wanted && !wanted.has(entry.id)) return true;
      removed.add(entry.message);
      gone.push(entry.id);
      return false;
    });
    if (gone.length > 0) this.#emit({ type: "delete", ids: gone });
    return removed;
  }

  /**
   * Waits for the oldest message after `after` that matches: at once when
   * one is stored, else when one arrives.
   *
   * @param filter The criteria.
   * @param after Only messages with a greater id count.
   * @param timeoutMs How long to wait.
   * @returns The entry, or `undefined` on timeout or close.
   */
  wait(
    filter: Filter,
    after: number,
    timeoutMs: number,
  ): Promise<Entry | undefined> {
    const found = this.#entries.find((entry) =>
      Number(entry.id) > after && matches(entry.summary, filter)
    );
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => {
      const finish = (entry: Entry | undefined) => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        resolve(entry);
      };
      const waiter: Waiter = { filter, after, resolve: finish };
      const timer = setTimeout(() => finish(undefined), timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  /** Ends every wait (with no message). */
  close(): void {
    for (const waiter of [...this.#waiters]) waiter.resolve(undefined);
  }

  /**
   * Listens to changes.
   *
   * @param listener Called with each change.
   * @returns A function that stops listening.
   */
  listen(listener: (event: StoreEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(event: StoreEvent): void {
    for (const listener of this.#listeners) listener(event);
  }
}
