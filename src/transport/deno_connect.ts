import type { Connect, Connection, ConnectOptions } from "./connection.ts";
import { classifyDenoError as classify } from "./_deno_errors.ts";

/**
 * The part of Deno's network API this transport uses, typed here so that the
 * module graph of the client also type-checks against the Web's lib alone.
 */
interface DenoConn {
  read(buffer: Uint8Array): Promise<number | null>;
  write(buffer: Uint8Array): Promise<number>;
  close(): void;
}
interface DenoTcpConn extends DenoConn {
  setNoDelay(noDelay?: boolean): void;
}
interface DenoNet {
  connect(
    options: { hostname: string; port: number } | {
      transport: "unix";
      path: string;
    },
  ): Promise<DenoTcpConn>;
}

function denoNet(): DenoNet {
  const net = (globalThis as { Deno?: DenoNet }).Deno;
  if (!net) {
    throw new TypeError(
      "Cannot connect: Deno's network API is not available here; pass a `connect` transport",
    );
  }
  return net;
}

/**
 * The transport on Deno: `Deno.connect` for plaintext sessions, and for TLS
 * (implicit, or a session that may STARTTLS) Deno's `node:net` / `node:tls`
 * through `nodeConnect`'s code, loaded on first use. TLS is
 * verified against the system roots plus `caCerts`, and against
 * `hostname`; the handshake is awaited so certificate errors surface at
 * connect time, not at the first write.
 *
 * Why not `Deno.startTls`: it takes the TCP connection over, and when the
 * handshake is abandoned (a timeout, an abort, `close()`), nothing can
 * release the socket: `TlsConn.close()` makes the pending handshake reject
 * with `Interrupted`, but the socket stays open until the server sends a
 * byte or closes, and the old `TcpConn` throws `BadResource`. Against a
 * server that never answers a handshake every attempt leaks a socket.
 * Reproduction (Deno 2.9.6):
 *
 * ```ts ignore
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const port = (listener.addr as Deno.NetAddr).port;
 * (async () => {
 *   const server = await listener.accept();
 *   await server.read(new Uint8Array(4096)); // the ClientHello; never answered
 *   // Expected: null (end of stream) once the client closed. Actual: this
 *   // read waits until the server gives up itself.
 *   console.log(await server.read(new Uint8Array(4096)));
 * })();
 * const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
 * const tls = await Deno.startTls(tcp, { hostname: "localhost" });
 * const handshake = tls.handshake().catch((e) => e.name); // "Interrupted"
 * setTimeout(() => tls.close(), 100); // the socket is not released
 * // tcp.close() throws BadResource; Deno.connectTls behaves the same.
 * ```
 *
 * Deno's `node:tls` releases the socket at once in the same situation
 * (`socket.destroy()`), and passes the same conformance suite at the same
 * throughput, so TLS sessions go through it.
 *
 * @param options Where to connect, and whether to start with TLS.
 * @returns The open connection.
 * @throws {Error} With a `cause` of `{ reason, error }` (the seam's
 * `ConnectionFailure`): `"dns"`, `"refused"`, `"reset"`, `"timeout"`,
 * `"tls-verify"` or `"tls-handshake"`; the session turns it into an
 * `SmtpError`.
 *
 * @example Passing the default transport explicitly
 * ```ts ignore
 * import { denoConnect, SmtpClient } from "@x/sendmail";
 * await using client = await SmtpClient.connect({ hostname: "localhost", connect: denoConnect });
 * ```
 */
export const denoConnect: Connect = async (
  options: ConnectOptions,
): Promise<Connection> => {
  const { hostname, port, path, signal } = options;
  signal?.throwIfAborted();
  if (options.tls !== "none") {
    const { nodeConnect } = await import("./node_connect.ts");
    return await nodeConnect(options);
  }
  const where = path ?? `${hostname}:${port}`;
  const tcp = await abortable(
    denoNet().connect(
      path === undefined ? { hostname, port } : { transport: "unix", path },
    ).catch((error) => {
      throw classify(error, `Cannot connect to ${where}`);
    }),
    signal,
    close,
  );
  // Commands are small writes awaiting a reply: Nagle's algorithm would hold
  // the last one back for the server's delayed ACK (~40 ms a round trip).
  if (path === undefined) tcp.setNoDelay(true);
  return wrap(tcp);
};

/** Races a promise with a signal; a connection that opens late is closed. */
async function abortable<T>(
  opening: Promise<T>,
  signal: AbortSignal | undefined,
  late?: (value: T) => void,
): Promise<T> {
  if (!signal) return await opening;
  const { promise, reject } = Promise.withResolvers<never>();
  const onAbort = () => reject(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    return await Promise.race([opening, promise]);
  } catch (error) {
    // The attempt may still succeed after the abort: never leak that socket.
    if (late) opening.then(late, () => {});
    throw error;
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

function close(conn: DenoConn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

function wrap(conn: DenoConn): Connection {
  return {
    readable: readableOf(conn),
    writable: writableOf(conn),
    secure: false,
    startTls(): Promise<Connection> {
      // A session that may upgrade connects with tls "starttls".
      return Promise.reject(
        new TypeError(
          'Cannot start TLS: the connection was opened with tls "none"',
        ),
      );
    },
    close() {
      close(conn);
    },
  };
}

/**
 * The bytes `conn` receives, read only when asked for: no read-ahead, so no
 * read is pending when STARTTLS upgrades the socket. Reads go into one
 * reused 64 KiB buffer and each chunk is a copy of just the bytes received,
 * where `conn.readable` allocates a fresh 64 KiB buffer for every read: for
 * a session of short replies that was most of its garbage. As with
 * `conn.readable`, a failed read errors the stream and cancelling it closes
 * the connection.
 */
function readableOf(conn: DenoConn): ReadableStream<Uint8Array> {
  const buffer = new Uint8Array(64 * 1024);
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let n: number | null;
      try {
        n = await conn.read(buffer);
      } catch (error) {
        throw classify(error, "Cannot read from the connection");
      }
      if (n === null) controller.close();
      else controller.enqueue(buffer.slice(0, n));
    },
    cancel() {
      close(conn);
    },
  }, { highWaterMark: 0 });
}

/** Bytes to `conn`; a write resolves once the socket has taken every byte. */
function writableOf(conn: DenoConn): WritableStream<Uint8Array> {
  return new WritableStream<Uint8Array>({
    async write(chunk) {
      try {
        for (let n = 0; n < chunk.length;) {
          n += await conn.write(n === 0 ? chunk : chunk.subarray(n));
        }
      } catch (error) {
        throw classify(error, "Cannot write to the connection");
      }
    },
    close() {
      close(conn);
    },
    abort() {
      close(conn);
    },
  });
}
