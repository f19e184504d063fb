/**
 * A loopback TCP proxy that holds every chunk the server sends for `delayMs`
 * before passing it to the client, in order; client bytes pass at once. One
 * protocol round trip then costs `delayMs`, so elapsed / delayMs counts the
 * round trips a client waits for. It records, per connection, when it was
 * accepted and when the client closed its side.
 *
 * @module
 */

/** Timings of one proxied connection, in ms since the proxy started. */
export interface ProxiedConnection {
  /** When the client's connection was accepted. */
  openedMs: number;
  /** When the client closed its side (EOF or reset), if it did. */
  clientClosedMs?: number;
}

/** A running delay proxy; dispose it with `await using`. */
export class DelayProxy implements AsyncDisposable {
  /** The port it listens on, at 127.0.0.1. */
  readonly port: number;
  /** Every connection so far, in order. */
  readonly connections: ProxiedConnection[] = [];
  readonly #listener: Deno.TcpListener;
  readonly #origin = performance.now();
  readonly #tasks = new Set<Promise<void>>();
  readonly #open = new Set<Deno.Conn>();
  #accepting: Promise<void>;

  /**
   * Starts proxying 127.0.0.1:(chosen port) to 127.0.0.1:`targetPort`.
   *
   * @param targetPort The server's port.
   * @param delayMs How long each server chunk is held.
   */
  /** The server's port. */
  readonly targetPort: number;
  /** How long each server chunk is held, ms. */
  delayMs: number;

  constructor(targetPort: number, delayMs: number) {
    this.targetPort = targetPort;
    this.delayMs = delayMs;
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = (this.#listener.addr as Deno.NetAddr).port;
    this.#accepting = this.#accept();
  }

  /** Milliseconds since the proxy started. */
  now(): number {
    return performance.now() - this.#origin;
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

  async #serve(client: Deno.TcpConn): Promise<void> {
    const record: ProxiedConnection = { openedMs: this.now() };
    this.connections.push(record);
    client.setNoDelay(true);
    const server = await Deno.connect({
      hostname: "127.0.0.1",
      port: this.targetPort,
    });
    server.setNoDelay(true);
    this.#open.add(client);
    this.#open.add(server);
    const upstream = this.#pipeNow(client, server).finally(() => {
      record.clientClosedMs = this.now();
    });
    const downstream = this.#pipeDelayed(server, client);
    await Promise.allSettled([upstream, downstream]);
    for (const conn of [client, server]) {
      this.#open.delete(conn);
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
  }

  /** Client to server, at once; closes the server's write side at EOF. */
  async #pipeNow(from: Deno.TcpConn, to: Deno.TcpConn): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const n = await from.read(buffer);
        if (n === null) break;
        await writeAll(to, buffer.subarray(0, n));
      }
    } finally {
      await to.closeWrite().catch(() => {});
    }
  }

  /** Server to client, each chunk `delayMs` later, in order. */
  async #pipeDelayed(from: Deno.TcpConn, to: Deno.TcpConn): Promise<void> {
    let chain: Promise<void> = Promise.resolve();
    let broken = false;
    try {
      while (true) {
        const buffer = new Uint8Array(64 * 1024);
        const n = await from.read(buffer);
        if (n === null) break;
        const chunk = buffer.subarray(0, n);
        const due = performance.now() + this.delayMs;
        chain = chain.then(async () => {
          if (broken) return;
          const wait = due - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          await writeAll(to, chunk).catch(() => {
            broken = true;
          });
        });
      }
    } finally {
      await chain;
      await to.closeWrite().catch(() => {});
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#listener.close();
    await this.#accepting;
    for (const conn of this.#open) {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
    await Promise.allSettled([...this.#tasks]);
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) {
    at += await conn.write(bytes.subarray(at));
  }
}
