/**
 * A loopback TCP proxy in front of a real server that counts, as the server
 * sees them, the connections open at once and when each MAIL command
 * arrives. A connection counts from the moment it is accepted (the client
 * is still setting up its session then) until the server's 221 or 421
 * reply passes, or either side closes: after a 221 the client closes and
 * only then may it open another, so that order is kept whatever order this
 * process learns of the two sockets' events in.
 *
 * @module
 */

const encoder = new TextEncoder();

/** One proxied connection, as the server saw it. */
export interface ProxiedConnection {
  /** Accepted, in ms of `performance.now()`. */
  readonly openedMs: number;
  /** When it stopped counting as open. */
  closedMs?: number;
  /** The client's command lines (and data lines), as received. */
  readonly lines: string[];
}

/** A running counting proxy; dispose it with `await using`. */
export class CountingProxy implements AsyncDisposable {
  /** Where clients connect: 127.0.0.1. */
  readonly hostname = "127.0.0.1";
  /** The proxy's port. */
  readonly port: number;
  /** Every connection so far, in order. */
  readonly connections: ProxiedConnection[] = [];
  /** When each `MAIL FROM` line arrived, in ms of `performance.now()`. */
  readonly mailTimes: number[] = [];
  /** The most connections open at once so far. */
  maxOpen = 0;
  #open = 0;
  readonly #target: number;
  readonly #listener: Deno.TcpListener;
  readonly #tasks = new Set<Promise<void>>();
  readonly #conns = new Set<Deno.Conn>();
  readonly #accepting: Promise<void>;
  #waiters: { test: () => boolean; resolve: () => void }[] = [];

  /**
   * Starts proxying 127.0.0.1:(a free port) to 127.0.0.1:`targetPort`.
   *
   * @param targetPort The server's port.
   */
  constructor(targetPort: number) {
    this.#target = targetPort;
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = (this.#listener.addr as Deno.NetAddr).port;
    this.#accepting = this.#accept();
  }

  /** Connections open now. */
  get open(): number {
    return this.#open;
  }

  /**
   * Resolves once `test()` holds (checked after every event).
   *
   * @param test The condition.
   * @param timeoutMs Reject after this long.
   */
  until(test: () => boolean, timeoutMs = 10_000): Promise<void> {
    if (test()) return Promise.resolve();
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const timer = setTimeout(() => {
      this.#waiters = this.#waiters.filter((w) => w.resolve !== done);
      reject(new Error("Timed out waiting at the counting proxy"));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    this.#waiters.push({ test, resolve: done });
    return promise;
  }

  #changed(): void {
    const ready = this.#waiters.filter((w) => w.test());
    this.#waiters = this.#waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }

  async #accept(): Promise<void> {
    try {
      for await (const client of this.#listener) {
        const task = this.#serve(client).catch(() => {});
        this.#tasks.add(task);
        task.finally(() => this.#tasks.delete(task));
      }
    } catch {
      // The listener was closed.
    }
  }

  async #serve(client: Deno.Conn): Promise<void> {
    const record: ProxiedConnection = {
      openedMs: performance.now(),
      lines: [],
    };
    this.connections.push(record);
    this.#open++;
    this.maxOpen = Math.max(this.maxOpen, this.#open);
    this.#conns.add(client);
    const ended = () => {
      if (record.closedMs !== undefined) return;
      record.closedMs = performance.now();
      this.#open--;
      this.#changed();
    };
    this.#changed();
    let server: Deno.Conn;
    try {
      server = await Deno.connect({
        hostname: "127.0.0.1",
        port: this.#target,
      });
    } catch {
      ended();
      this.#close(client);
      return;
    }
    this.#conns.add(server);
    let fromClient = "";
    let fromServer = "";
    const upstream = this.#pump(client, server, (text) => {
      fromClient += text;
      const lines = fromClient.split("\n");
      fromClient = lines.pop()!;
      for (const line of lines) {
        const clean = line.replace(/\r$/, "");
        record.lines.push(clean);
        if (/^MAIL FROM:/i.test(clean)) {
          this.mailTimes.push(performance.now());
          this.#changed();
        }
      }
    });
    const downstream = this.#pump(server, client, (text) => {
      fromServer += text;
      const lines = fromServer.split("\n");
      fromServer = lines.pop()!;
      if (lines.some((line) => /^(221|421)[ -]/.test(line))) ended();
    });
    await Promise.race([upstream, downstream]);
    ended();
    this.#close(client);
    this.#close(server);
    await Promise.allSettled([upstream, downstream]);
  }

  async #pump(
    from: Deno.Conn,
    to: Deno.Conn,
    seen: (text: string) => void,
  ): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    const decoder = new TextDecoder();
    try {
      while (true) {
        const n = await from.read(buffer);
        if (n === null) return;
        const chunk = buffer.subarray(0, n);
        seen(decoder.decode(chunk, { stream: true }));
        for (let at = 0; at < n;) at += await to.write(chunk.subarray(at));
      }
    } catch {
      // Either side was closed.
    }
  }

  #close(conn: Deno.Conn): void {
    if (!this.#conns.delete(conn)) return;
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#listener.close();
    await this.#accepting;
    for (const conn of [...this.#conns]) this.#close(conn);
    await Promise.allSettled([...this.#tasks]);
  }
}

/** Bytes of a short raw message, numbered, for exactly-once checks. */
export function numbered(
  i: number,
): { envelope: { from: string; to: string[] }; raw: Uint8Array } {
  return {
    envelope: { from: "bulk@example.com", to: ["rcpt@example.org"] },
    raw: encoder.encode(
      `Subject: message ${i}\r\nX-Seq: ${i}\r\n\r\nBody of message ${i}.\r\n`,
    ),
  };
}
