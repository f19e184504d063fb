/**
 * A raw TCP server whose every connection runs a script: for the faults
 * real servers will not produce (bad replies, drops, slow lines, injected
 * bytes after STARTTLS). Built on node:net and node:tls, the only way to
 * upgrade a server-side socket to TLS (STARTTLS) in this runtime.
 *
 * @module
 */

import {
  createServer as createNetServer,
  type Server,
  type Socket,
} from "node:net";
import {
  createSecureContext,
  createServer as createTlsServer,
  TLSSocket,
} from "node:tls";
import { makeTestCerts, type TestCerts } from "./certs.ts";

/** The server side of one connection, as a script sees it. */
export interface ScriptedConnection {
  /**
   * Reads one line, without its LF and without a CR before it.
   *
   * @param timeoutMs Fail when no line arrives in time. @default {5000}
   * @returns The line, or `null` once the client closed the connection.
   */
  readLine(timeoutMs?: number): Promise<string | null>;
  /**
   * Reads one line as bytes, with its terminator (to see bare LFs).
   *
   * @param timeoutMs @default {5000}
   * @returns The bytes, or `null` at end of stream.
   */
  readRawLine(timeoutMs?: number): Promise<Uint8Array | null>;
  /**
   * Reads a DATA payload up to the line ".": the bytes as sent, dot-stuffing
   * intact, without the final ".\r\n".
   *
   * @param timeoutMs @default {5000}
   * @returns The bytes, or `null` when the stream ended first.
   */
  readData(timeoutMs?: number): Promise<Uint8Array | null>;
  /** Sends bytes (strings as UTF-8) exactly as given. */
  write(data: string | Uint8Array): Promise<void>;
  /**
   * Upgrades to TLS as the server side (after writing "220 Ready").
   *
   * @throws {Error} When the client had already sent bytes after its
   * STARTTLS line (RFC 3207 §6), or the handshake fails.
   */
  startTls(): Promise<void>;
  /**
   * Stops reading from the socket, so the client's writes eventually block
   * once the kernel buffers are full (a server that stalls mid-DATA).
   */
  stopReading(): void;
  /** Ends the connection gracefully (FIN). */
  close(): void;
  /** Drops the connection at once. */
  destroy(): void;
  /** Whether the connection is TLS. */
  readonly secure: boolean;
  /** Bytes received but not read yet: what the client pipelined. */
  readonly buffered: number;
}

/** A running scripted server; dispose it with `await using`. */
export interface ScriptedServer extends AsyncDisposable {
  /** Always `127.0.0.1`. */
  readonly hostname: string;
  /** The port it listens on. */
  readonly port: number;
  /** The certificates it serves; trust `certs.caCert`. */
  readonly certs: TestCerts;
  /** How many connections were accepted. */
  readonly connections: number;
  /**
   * Waits for the scripts of every connection accepted so far.
   *
   * @throws {Error} The first error a script threw.
   */
  finished(): Promise<void>;
}

/** Options for {@linkcode startScriptedServer}. */
export interface ScriptedServerOptions {
  /** Speak TLS from the first byte (port 465 style). @default {false} */
  tls?: boolean;
  /** The certificate for TLS and STARTTLS. @default {await makeTestCerts()} */
  certs?: TestCerts;
}

/**
 * Starts a TCP server on a port of 127.0.0.1 chosen by the system; every
 * connection runs `script`. Disposing it closes the listener, gives running
 * scripts 500 ms to finish, drops the connections still open, awaits the
 * scripts and throws the first error a script threw before the drop.
 *
 * @param script What the server does with one connection.
 * @param options TLS.
 * @returns The running server.
 * @example A server that drops the connection after EHLO
 * ```ts ignore
 * await using server = await startScriptedServer(async (conn) => {
 *   await conn.write("220 scripted ESMTP\r\n");
 *   assertEquals(await conn.readLine(), "EHLO localhost");
 *   conn.destroy();
 * });
 * ```
 */
export async function startScriptedServer(
  script: (conn: ScriptedConnection) => Promise<void>,
  options: ScriptedServerOptions = {},
): Promise<ScriptedServer> {
  const certs = options.certs ?? await makeTestCerts();
  const server = new Scripted(script, certs, options.tls ?? false);
  await server.listen();
  return server;
}

class Scripted implements ScriptedServer {
  readonly hostname = "127.0.0.1";
  port = 0;
  readonly certs: TestCerts;
  readonly #server: Server;
  readonly #script: (conn: ScriptedConnection) => Promise<void>;
  readonly #sockets = new Set<Socket>();
  readonly #runs: Promise<void>[] = [];
  readonly #errors: unknown[] = [];
  #disposing = false;

  constructor(
    script: (conn: ScriptedConnection) => Promise<void>,
    certs: TestCerts,
    tls: boolean,
  ) {
    this.#script = script;
    this.certs = certs;
    const track = (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
    };
    if (tls) {
      this.#server = createTlsServer(
        { key: certs.key, cert: certs.cert },
        (socket) => this.#run(new Conn(socket, certs, true), socket),
      );
      this.#server.on("tlsClientError", () => {
        // the client refused the certificate: nothing to script
      });
    } else {
      this.#server = createNetServer(
        (socket) => this.#run(new Conn(socket, certs, false), socket),
      );
    }
    this.#server.on("connection", track);
  }

  get connections(): number {
    return this.#runs.length;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(0, "127.0.0.1", () => {
        this.#server.off("error", reject);
        const address = this.#server.address();
        if (address && typeof address === "object") this.port = address.port;
        resolve();
      });
    });
  }

  #run(conn: Conn, socket: Socket): void {
    this.#sockets.add(socket);
    socket.on("close", () => this.#sockets.delete(socket));
    this.#runs.push(
      (async () => {
        try {
          await this.#script(conn);
        } catch (error) {
          if (!this.#disposing) this.#errors.push(error);
        } finally {
          await conn.finish();
        }
      })(),
    );
  }

  async finished(): Promise<void> {
    let seen = 0;
    while (seen < this.#runs.length) {
      seen = this.#runs.length;
      await Promise.all(this.#runs);
    }
    if (this.#errors.length) throw this.#errors[0];
  }

  async [Symbol.asyncDispose](): Promise<void> {
    const closed = new Promise<void>((resolve) =>
      this.#server.close(() => resolve())
    );
    // Scripts whose client has gone finish by themselves; give them a
    // moment, so their verdict counts, before dropping the rest.
    await settle(this.#runs, 500);
    this.#disposing = true;
    for (const socket of this.#sockets) socket.destroy();
    await Promise.all(this.#runs);
    await closed;
    if (this.#errors.length) {
      const [first] = this.#errors.splice(0);
      throw first instanceof Error
        ? first
        : new Error(`Scripted server failed: ${first}`);
    }
  }
}

/** Waits for `promises` to settle, at most `ms`. */
async function settle(promises: Promise<unknown>[], ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    Promise.allSettled(promises),
    new Promise((resolve) => timer = setTimeout(resolve, ms)),
  ]);
  clearTimeout(timer);
}

const LF = 0x0a;
const empty = new Uint8Array(0);

class Conn implements ScriptedConnection {
  #socket: Socket;
  readonly #certs: TestCerts;
  secure: boolean;
  #buffer: Uint8Array = empty;
  #ended = false;
  #waiters: (() => void)[] = [];
  readonly #onData = (chunk: Uint8Array) => {
    const next = new Uint8Array(this.#buffer.length + chunk.length);
    next.set(this.#buffer);
    next.set(chunk, this.#buffer.length);
    this.#buffer = next;
    this.#wake();
  };
  readonly #onEnd = () => {
    this.#ended = true;
    this.#wake();
  };

  constructor(socket: Socket, certs: TestCerts, secure: boolean) {
    this.#socket = socket;
    this.#certs = certs;
    this.secure = secure;
    this.#listen(socket);
  }

  get buffered(): number {
    return this.#buffer.length;
  }

  #listen(socket: Socket): void {
    socket.on("data", this.#onData);
    socket.on("end", this.#onEnd);
    socket.on("close", this.#onEnd);
    socket.on("error", this.#onEnd);
  }

  #unlisten(socket: Socket): void {
    socket.off("data", this.#onData);
    socket.off("end", this.#onEnd);
    socket.off("close", this.#onEnd);
    socket.off("error", this.#onEnd);
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  async #until<T>(
    take: () => T | undefined,
    timeoutMs: number,
    what: string,
  ): Promise<T | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = take();
      if (value !== undefined) return value;
      if (this.#ended) return null;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.#waiters.push(done);
      });
    }
  }

  #take(end: number): Uint8Array {
    const bytes = this.#buffer.slice(0, end);
    this.#buffer = this.#buffer.subarray(end);
    return bytes;
  }

  readRawLine(timeoutMs = 5000): Promise<Uint8Array | null> {
    return this.#until(
      () => {
        const lf = this.#buffer.indexOf(LF);
        return lf < 0 ? undefined : this.#take(lf + 1);
      },
      timeoutMs,
      "a line from the client",
    );
  }

  async readLine(timeoutMs = 5000): Promise<string | null> {
    const raw = await this.readRawLine(timeoutMs);
    if (raw === null) return null;
    let end = raw.length - 1;
    if (end > 0 && raw[end - 1] === 0x0d) end--;
    return new TextDecoder().decode(raw.subarray(0, end));
  }

  readData(timeoutMs = 5000): Promise<Uint8Array | null> {
    return this.#until(
      () => {
        const b = this.#buffer;
        // The payload ends at a line "."; the first line may be it.
        if (b[0] === 0x2e && b[1] === 0x0d && b[2] === LF) {
          this.#take(3);
          return new Uint8Array(0);
        }
        for (let i = 0; i + 4 < b.length; i++) {
          if (
            b[i] === 0x0d && b[i + 1] === LF && b[i + 2] === 0x2e &&
            b[i + 3] === 0x0d && b[i + 4] === LF
          ) {
            const data = this.#take(i + 2);
            this.#take(3);
            return data;
          }
        }
        return undefined;
      },
      timeoutMs,
      "the end of DATA from the client",
    );
  }

  write(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string"
      ? new TextEncoder().encode(data)
      : data;
    return new Promise((resolve, reject) => {
      if (this.#socket.destroyed) {
        return reject(new Error("Cannot write: the connection is closed"));
      }
      this.#socket.write(bytes, (error) => error ? reject(error) : resolve());
    });
  }

  async startTls(): Promise<void> {
    if (this.secure) throw new Error("Cannot start TLS: already secure");
    if (this.#buffer.length) {
      throw new Error(
        `Cannot start TLS: the client sent ${this.#buffer.length} bytes after STARTTLS`,
      );
    }
    const raw = this.#socket;
    this.#unlisten(raw);
    const secure = new TLSSocket(raw, {
      isServer: true,
      secureContext: createSecureContext({
        key: this.#certs.key,
        cert: this.#certs.cert,
      }),
    });
    this.#socket = secure;
    await new Promise<void>((resolve, reject) => {
      const fail = (error: Error) => {
        secure.off("secure", ok);
        reject(error);
      };
      const ok = () => {
        secure.off("error", fail);
        resolve();
      };
      secure.once("secure", ok);
      secure.once("error", fail);
    });
    this.secure = true;
    this.#listen(secure);
  }

  stopReading(): void {
    this.#socket.pause();
  }

  close(): void {
    this.#socket.end();
  }

  /** Ends the connection after the script, then drops it if the client lingers. */
  async finish(): Promise<void> {
    const socket = this.#socket;
    if (!socket.destroyed) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, 250);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        socket.once("close", done);
        socket.end();
      });
    }
    this.destroy();
  }

  destroy(): void {
    this.#socket.destroy();
    this.#ended = true;
    this.#wake();
  }
}
