/**
 * An in-memory transport: a `Connect` whose connections lead to a script
 * instead of a socket. Session tests run whole SMTP dialogues with it, as
 * colombe's tests do: scripted server lines in, the client's bytes checked
 * out, no port, no timing of the kernel. Web APIs only.
 *
 * @module
 */
import type {
  Connect,
  Connection,
  ConnectOptions,
  StartTlsOptions,
} from "../transport/connection.ts";
import { connectionFailure } from "../transport/connection_failure.ts";
import { concatBytes } from "../protocol/_bytes.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const LF = 0x0a;
const LONE_DOT = encoder.encode(".\r\n");
const END_OF_DATA = encoder.encode("\r\n.\r\n");

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  return bytes.length >= prefix.length &&
    prefix.every((b, i) => bytes[i] === b);
}

function indexOf(bytes: Uint8Array, needle: Uint8Array): number {
  for (
    let at = bytes.indexOf(needle[0]!);
    at >= 0;
    at = bytes.indexOf(needle[0]!, at + 1)
  ) {
    if (at + needle.length > bytes.length) return -1;
    if (needle.every((b, i) => bytes[at + i] === b)) return at;
  }
  return -1;
}

/** The server side of one in-memory connection, as a script sees it. */
export interface MemoryServerConnection {
  /** What the client asked for when it connected. */
  readonly options: ConnectOptions;
  /** Whether the client upgraded (or connected with implicit TLS). */
  readonly secure: boolean;
  /** Bytes the client wrote that the script has not read yet. */
  readonly buffered: number;
  /**
   * Reads one line from the client, without its CRLF (or bare LF).
   *
   * @returns The line, or `null` once the client closed the connection.
   */
  readLine(): Promise<string | null>;
  /**
   * Reads a DATA payload up to the line ".": the bytes as sent, dot-stuffing
   * intact, without the final ".\r\n".
   *
   * @returns The bytes, or `null` when the client closed first.
   */
  readData(): Promise<Uint8Array | null>;
  /**
   * Reads exactly `count` bytes (a BDAT chunk).
   *
   * @param count How many.
   * @returns The bytes, or `null` when the client closed first.
   */
  readBytes(count: number): Promise<Uint8Array | null>;
  /** Sends bytes (strings as UTF-8) to the client as one chunk. */
  write(data: string | Uint8Array): void;
  /**
   * Waits for the client's STARTTLS upgrade. Nothing is encrypted: the
   * connection only becomes `secure`. The client's `startTls()` rejects
   * when the script wrote bytes the client has not read (no read-ahead:
   * they would have been read as if they came over TLS).
   */
  startTls(): Promise<void>;
  /** Ends the connection (the client reads the end of the stream). */
  close(): void;
  /**
   * Resets the connection: the client's reads fail once it has read what
   * was written before, and its writes fail at once.
   */
  reset(): void;
  /** Resolves when the client closed its side. */
  readonly closed: Promise<void>;
}

/** A script for one connection. */
export type MemoryScript = (server: MemoryServerConnection) => Promise<void>;

/** An in-memory transport and what its scripts did. */
export interface MemoryTransport {
  /** The transport to pass as `SmtpClientOptions.connect`. */
  readonly connect: Connect;
  /** How many connections were opened. */
  readonly connections: number;
  /**
   * Waits for the scripts of every connection opened so far.
   *
   * @throws {Error} The first error a script threw.
   */
  finished(): Promise<void>;
}

/**
 * Creates an in-memory transport; each connection runs `script`.
 *
 * @param script What the server does with one connection.
 * @returns The transport.
 * @example A session with no socket
 * ```ts
 * import { SmtpClient } from "@x/sendmail";
 * import { memoryTransport } from "@x/sendmail/testing";
 * import assert from "node:assert/strict";
 *
 * const transport = memoryTransport(async (server) => {
 *   server.write("220 mx.test ESMTP\r\n");
 *   assert.equal(await server.readLine(), "EHLO localhost");
 *   server.write("250 mx.test\r\n");
 *   assert.equal(await server.readLine(), "QUIT");
 *   server.write("221 bye\r\n");
 *   server.close();
 * });
 * const client = await SmtpClient.connect({
 *   hostname: "mx.test",
 *   tls: "none",
 *   connect: transport.connect,
 * });
 * await client.quit();
 * await transport.finished();
 * ```
 */
export function memoryTransport(script: MemoryScript): MemoryTransport {
  const runs: Promise<unknown>[] = [];
  let connections = 0;
  const connect: Connect = (options) => {
    options.signal?.throwIfAborted();
    connections++;
    const pair = new Pair(options);
    const run = script(pair.server).catch((error) => {
      pair.server.reset();
      throw error;
    });
    run.catch(() => {});
    runs.push(run);
    return Promise.resolve(pair.client);
  };
  return {
    connect,
    get connections() {
      return connections;
    },
    async finished() {
      const results = await Promise.allSettled(runs);
      for (const result of results) {
        if (result.status === "rejected") throw result.reason;
      }
    },
  };
}

/** A one-way byte channel with pull semantics on the reading side. */
class Channel {
  #chunks: Uint8Array[] = [];
  #ended = false;
  #failure: Error | undefined;
  #wake: (() => void) | undefined;

  get size(): number {
    let n = 0;
    for (const chunk of this.#chunks) n += chunk.length;
    return n;
  }

  push(chunk: Uint8Array): void {
    if (this.#ended) return;
    this.#chunks.push(chunk);
    this.#notify();
  }

  end(): void {
    this.#ended = true;
    this.#notify();
  }

  /** Fails the channel once what was pushed before has been taken. */
  fail(error: Error): void {
    this.#failure ??= error;
    this.#ended = true;
    this.#notify();
  }

  get failed(): Error | undefined {
    return this.#failure;
  }

  /** The next chunk, or `null` at the end. */
  async take(): Promise<Uint8Array | null> {
    while (true) {
      const chunk = this.#chunks.shift();
      if (chunk) return chunk;
      if (this.#failure) throw this.#failure;
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
  }

  /** Puts bytes back in front (what a line read did not use). */
  unshift(chunk: Uint8Array): void {
    if (chunk.length > 0) this.#chunks.unshift(chunk);
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

class Pair {
  readonly toClient = new Channel();
  readonly toServer = new Channel();
  readonly client: Connection;
  readonly server: MemoryServerConnection;
  #secure: boolean;
  #upgrade: PromiseWithResolvers<void> = Promise.withResolvers();
  #clientClosed: PromiseWithResolvers<void> = Promise.withResolvers();

  constructor(options: ConnectOptions) {
    this.#secure = options.tls === "implicit";
    this.client = this.#clientSide(this.#secure);
    this.server = this.#serverSide(options);
  }

  #clientSide(secure: boolean): Connection {
    const readable = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const chunk = await this.toClient.take().catch((error) => {
          throw connectionFailure(
            `Cannot read from the connection: ${error.message}`,
            "reset",
            error,
          );
        });
        if (chunk === null) controller.close();
        else controller.enqueue(chunk);
      },
      cancel: () => {
        this.#closeClient();
      },
    }, { highWaterMark: 0 });
    const writable = new WritableStream<Uint8Array>({
      write: (chunk) => {
        const failure = this.toServer.failed ?? this.toClient.failed;
        if (failure) {
          throw connectionFailure(
            `Cannot write to the connection: ${failure.message}`,
            "reset",
            failure,
          );
        }
        this.toServer.push(chunk.slice());
      },
      close: () => {
        this.#closeClient();
      },
    });
    return {
      readable,
      writable,
      secure,
      startTls: (options: StartTlsOptions): Promise<Connection> => {
        if (this.toClient.size > 0) {
          return Promise.reject(
            connectionFailure(
              `Cannot start TLS with ${
                JSON.stringify(options.hostname)
              }: the server sent bytes before the handshake`,
              "tls-handshake",
            ),
          );
        }
        this.#secure = true;
        this.#upgrade.resolve();
        return Promise.resolve(this.#clientSide(true));
      },
      close: () => this.#closeClient(),
    };
  }

  #closeClient(): void {
    this.toServer.end();
    this.toClient.end();
    this.#clientClosed.resolve();
  }

  #serverSide(options: ConnectOptions): MemoryServerConnection {
    const readUntil = async (
      done: (bytes: Uint8Array) => number,
    ): Promise<Uint8Array | null> => {
      let held: Uint8Array = new Uint8Array(0);
      while (true) {
        const end = done(held);
        if (end >= 0) {
          this.toServer.unshift(held.subarray(end));
          return held.subarray(0, end);
        }
        const chunk = await this.toServer.take();
        if (chunk === null) return null;
        held = concatBytes([held, chunk]);
      }
    };
    const server: MemoryServerConnection = {
      options,
      secure: false,
      buffered: 0,
      readLine: async () => {
        const line = await readUntil((bytes) => {
          const lf = bytes.indexOf(LF);
          return lf < 0 ? -1 : lf + 1;
        });
        if (line === null) return null;
        return decoder.decode(line).replace(/\r?\n$/, "");
      },
      readData: async () => {
        const data = await readUntil((bytes) => {
          if (startsWith(bytes, LONE_DOT)) return 3;
          const at = indexOf(bytes, END_OF_DATA);
          return at < 0 ? -1 : at + END_OF_DATA.length;
        });
        if (data === null) return null;
        // The CRLF before "." ends the last line of the payload.
        return startsWith(data, LONE_DOT) && data.length === 3
          ? new Uint8Array(0)
          : data.subarray(0, data.length - 3);
      },
      readBytes: (count: number) => {
        return readUntil((bytes) => bytes.length >= count ? count : -1);
      },
      write: (data) => {
        this.toClient.push(
          typeof data === "string" ? encoder.encode(data) : data,
        );
      },
      startTls: () => this.#upgrade.promise,
      close: () => {
        this.toClient.end();
      },
      reset: () => {
        const error = new Error("connection reset by the script");
        this.toClient.fail(error);
        this.toServer.fail(error);
        this.#clientClosed.resolve();
      },
      closed: this.#clientClosed.promise,
    };
    Object.defineProperties(server, {
      secure: { get: () => this.#secure },
      buffered: { get: () => this.toServer.size },
    });
    return server;
  }
}
