/**
 * The capture server's byte transport: a `node:net` socket (or a `node:tls`
 * socket over one) turned into pull-style `read()` / `write()`.
 *
 * Why `node:net`: a server-side STARTTLS needs to turn an accepted plaintext
 * TCP connection into a TLS server connection. `Deno.startTls` is client-only
 * and `Deno.listenTls` is implicit TLS only, but `node:tls`'s
 * `new TLSSocket(socket, { isServer: true })` does exactly this on Deno. The
 * `node:` built-ins are part of Deno, not npm dependencies, and this module is
 * only used by the `./testing` entry point, never by the client.
 *
 * @module
 */

import type { Socket } from "node:net";
import { type SecureContext, TLSSocket } from "node:tls";

/** Read ahead at most this much before pausing the socket (backpressure). */
const HIGH_WATER = 1 << 20;

/** A pull-style view of one socket; see the module doc. */
export class Transport {
  readonly socket: Socket;
  readonly secure: boolean;
  /** Settles when the socket has closed (never rejects). */
  readonly closed: Promise<void>;
  /** Resolves with the TLS version once the handshake is done; rejects on failure. */
  readonly handshake: Promise<string>;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #ended = false;
  #detached = false;
  #stopped = false;
  #wake: (() => void) | undefined;
  #onData = (data: Uint8Array): void => {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.#chunks.push(bytes);
    this.#buffered += bytes.length;
    if (this.#buffered > HIGH_WATER) this.socket.pause();
    this.#notify();
  };
  #onEnd = (): void => {
    this.#ended = true;
    this.#notify();
  };

  /**
   * @param socket The socket; plaintext, or a server-side TLSSocket.
   * @param secure Whether `socket` is a TLSSocket.
   */
  constructor(socket: Socket, secure: boolean) {
    this.socket = socket;
    this.secure = secure;
    socket.on("data", this.#onData);
    socket.on("end", this.#onEnd);
    socket.on("close", this.#onEnd);
    // Errors (resets, TLS alerts) end the session like a close does.
    socket.on("error", this.#onEnd);
    this.closed = new Promise((resolve) =>
      socket.once("close", () => resolve())
    );
    this.handshake = !secure
      ? Promise.resolve("")
      : new Promise<string>((resolve, reject) => {
        socket.once("secure", () => {
          resolve((socket as TLSSocket).getProtocol() ?? "TLS");
        });
        socket.once("error", reject);
        socket.once("close", () => reject(new Error("Connection closed")));
      });
    // Nobody may be waiting on it (a client that never finishes the handshake).
    this.handshake.catch(() => {});
  }

  /**
   * Reads the next bytes.
   *
   * @returns The bytes, or `null` once the peer has closed or reading stopped
   * for good.
   */
  async read(): Promise<Uint8Array | null> {
    while (true) {
      const chunk = this.#chunks.shift();
      if (chunk) {
        this.#buffered -= chunk.length;
        if (this.#buffered <= HIGH_WATER && !this.#stopped) {
          this.socket.resume();
        }
        return chunk;
      }
      if (this.#ended || this.#detached) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
  }

  /**
   * Writes bytes.
   *
   * @returns Once the socket took them; never rejects (a broken connection
   * shows up as the end of `read()`).
   */
  write(bytes: Uint8Array): Promise<void> {
    if (bytes.length === 0 || this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      try {
        this.socket.write(bytes, () => resolve());
      } catch {
        resolve();
      }
    });
  }

  /** Stops reading from the socket for good; the client's writes will block. */
  stopReading(): void {
    this.#stopped = true;
    this.socket.pause();
  }

  /**
   * Sends `reply` and, in the same tick, starts a server-side TLS handshake
   * on the socket (STARTTLS). Bytes read but not consumed yet are discarded,
   * as RFC 3207 §6 requires (plaintext pipelined after STARTTLS must not be
   * taken as coming from inside TLS).
   *
   * @param reply The 220 reply (and whatever a hook adds to it).
   * @param context The server's certificate and key.
   * @returns The TLS transport and how many plaintext bytes were discarded.
   */
  startTls(
    reply: Uint8Array,
    context: SecureContext,
  ): { transport: Transport; discarded: number } {
    const discarded = this.#buffered;
    this.#detach();
    // Write and wrap synchronously: the client's ClientHello can only come
    // after it has read the 220, and must then reach the TLS layer.
    this.socket.write(reply);
    const tls = new TLSSocket(this.socket, {
      isServer: true,
      secureContext: context,
    });
    return { transport: new Transport(tls, true), discarded };
  }

  /** Closes gracefully: pending writes, then FIN (TLS: close_notify first). */
  end(): void {
    if (!this.socket.destroyed) this.socket.end();
  }

  /** Closes at once. */
  destroy(): void {
    this.socket.destroy();
  }

  #detach(): void {
    this.#detached = true;
    this.socket.pause();
    this.socket.off("data", this.#onData);
    this.socket.off("end", this.#onEnd);
    this.socket.off("close", this.#onEnd);
    this.socket.off("error", this.#onEnd);
    // The TLS layer reports errors; an unheard "error" event would throw.
    this.socket.on("error", () => {});
    this.#chunks = [];
    this.#buffered = 0;
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
