/**
 * Helpers of the outbox tests: a Deno KV on an SQLite file in a temporary
 * directory, disposed with `await using`, and a look at every key the
 * outbox left in it.
 *
 * @module
 */
import type { MailTransport, SendResult } from "../../mod.ts";

/** A KV on a temporary SQLite file. */
export interface TempKv extends AsyncDisposable {
  /** The open KV (reopen() replaces it). */
  kv: Deno.Kv;
  /** The SQLite file. */
  path: string;
  /** Closes the KV and opens the file again. */
  reopen(): Promise<Deno.Kv>;
}

/** Opens a KV on a new SQLite file; disposing closes it and removes the file. */
export async function tempKv(): Promise<TempKv> {
  const dir = await Deno.makeTempDir({ prefix: "sendmail_outbox_" });
  const path = `${dir}/outbox.sqlite3`;
  let kv = await Deno.openKv(path);
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    kv.close();
  };
  return {
    get kv() {
      return kv;
    },
    path,
    async reopen() {
      close();
      kv = await Deno.openKv(path);
      closed = false;
      return kv;
    },
    async [Symbol.asyncDispose]() {
      close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Every key under the outbox's root, grouped by kind ("entry", "body" …). */
export async function keysByKind(
  kv: Deno.Kv,
): Promise<Record<string, Deno.KvKey[]>> {
  const kinds: Record<string, Deno.KvKey[]> = {};
  for await (const entry of kv.list({ prefix: ["sendmail.outbox"] })) {
    const kind = String(entry.key[1]);
    (kinds[kind] ??= []).push(entry.key);
  }
  return kinds;
}

/** A stream of `bytes` in pieces of `size`. */
export function streamOf(
  bytes: Uint8Array,
  size = 10_000,
): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + size));
      offset += size;
    },
  });
}

/** Printable pseudo-random text of `size` octets, in CRLF lines of 76. */
export function textOf(size: number, seed = 1): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    if (i % 78 === 76) bytes[i] = 0x0d;
    else if (i % 78 === 77) bytes[i] = 0x0a;
    else {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      bytes[i] = 0x41 + (x >> 16) % 26;
    }
  }
  return bytes;
}

/** Pseudo-random bytes (every value 0 to 255), the same for the same seed. */
export function bytesOf(size: number, seed = 7): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    bytes[i] = x >> 23;
  }
  return bytes;
}

/** A transport whose sends wait for the test to settle them. */
export class HeldTransport implements MailTransport {
  readonly calls: {
    to: string[];
    settle: (result: SendResult | Error) => void;
  }[] = [];
  #waiters: (() => void)[] = [];

  async send(
    message: Parameters<MailTransport["send"]>[0],
  ): Promise<SendResult> {
    const raw = "raw" in message ? message.raw : undefined;
    if (raw instanceof ReadableStream) await new Response(raw).arrayBuffer();
    const to = "envelope" in message ? [...message.envelope.to] : [];
    const { promise, resolve, reject } = Promise.withResolvers<SendResult>();
    this.calls.push({
      to,
      settle: (r) => r instanceof Error ? reject(r) : resolve(r),
    });
    for (const wake of this.#waiters.splice(0)) wake();
    return await promise;
  }

  /** Waits until `count` sends were made. */
  async waitForCalls(count: number): Promise<void> {
    while (this.calls.length < count) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** A result that accepts every recipient of `to`. */
export function acceptedAll(to: string[]): SendResult {
  return {
    accepted: to,
    rejected: [],
    reply: { code: 250, lines: ["2.0.0 OK"], text: "2.0.0 OK" },
    envelope: { from: "app@example.com", to },
    secure: false,
  };
}
