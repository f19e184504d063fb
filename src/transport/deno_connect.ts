import type {
  Connect,
  Connection,
  ConnectOptions,
  StartTlsOptions,
} from "./connection.ts";
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
interface DenoTlsConn extends DenoConn {
  handshake(): Promise<unknown>;
}
interface DenoNet {
  connect(
    options: { hostname: string; port: number } | {
      transport: "unix";
      path: string;
    },
  ): Promise<DenoTcpConn>;
  startTls(
    conn: DenoTcpConn,
    options: { hostname: string; caCerts?: string[] },
  ): Promise<DenoTlsConn>;
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
 * The default transport: `Deno.connect` / `Deno.connectTls`, and
 * `Deno.startTls` for STARTTLS. TLS is verified against the system roots plus
 * `caCerts`, and against `hostname`; the handshake is awaited so certificate
 * errors surface at connect time, not at the first write.
 *
 * Known Deno limitation (2.9.6), reported upstream-style: a TLS handshake
 * abandoned by a timeout, an abort or `close()` leaves the socket open
 * until the server sends a byte or closes. `Deno.startTls` takes the TCP
 * connection over (the old `TcpConn` throws `BadResource` on `close()`),
 * and `TlsConn.close()` only makes the pending handshake reject with
 * `Interrupted`; `Deno.connectTls`, `closeWrite()` and the `signal` of
 * `Deno.connect` do not release it either. Against a server that never
 * answers a handshake each attempt holds a socket until that server gives
 * up. Deno's `node:tls` (`nodeConnect`) releases it at once, but running
 * TLS through it here deadlocked large writes to a `node:tls` server in the
 * same process, so this adapter stays on `Deno.startTls`. Reproduction:
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
 * tls.handshake().catch((e) => console.log(e.name)); // "Interrupted"
 * setTimeout(() => tls.close(), 100); // the socket is not released
 * ```
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
  if (options.tls !== "implicit") return wrap(tcp, false);
  // Implicit TLS: the same socket upgraded before any byte is read.
  // Deno.startTls takes the socket over: from then on only the TLS
  // connection can close it (an abort during the handshake must).
  let upgrading: DenoTlsConn | undefined;
  return await abortable(
    upgrade(tcp, {
      hostname,
      ...(options.caCerts ? { caCerts: options.caCerts } : {}),
    }, (tls) => upgrading = tls),
    signal,
    (conn) => conn.close(),
  ).catch((error) => {
    close(tcp);
    if (upgrading) close(upgrading);
    throw error;
  });
};

async function upgrade(
  tcp: DenoTcpConn,
  options: StartTlsOptions,
  started?: (tls: DenoTlsConn) => void,
): Promise<Connection> {
  const what = `Cannot start TLS with ${JSON.stringify(options.hostname)}`;
  let tls: DenoTlsConn;
  try {
    tls = await denoNet().startTls(tcp, {
      hostname: options.hostname,
      ...(options.caCerts ? { caCerts: options.caCerts } : {}),
    });
  } catch (error) {
    throw classify(error, what, true);
  }
  started?.(tls);
  try {
    // Certificate errors surface here, not at the first write.
    await tls.handshake();
  } catch (error) {
    close(tls);
    throw classify(error, what, true);
  }
  return wrap(tls, true);
}

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

function wrap(conn: DenoConn, secure: boolean): Connection {
  // Deno.startTls takes the socket over: during the handshake only the TLS
  // connection can close it (a handshake timeout must not leave it open).
  let upgrading: DenoTlsConn | undefined;
  let closed = false;
  return {
    readable: readableOf(conn),
    writable: writableOf(conn),
    secure,
    startTls(options: StartTlsOptions): Promise<Connection> {
      // The caller has released every lock and no read is pending (the
      // STARTTLS trap of Deno: a pending read makes startTls fail).
      return upgrade(conn as DenoTcpConn, options, (tls) => {
        upgrading = tls;
        if (closed) close(tls);
      });
    },
    close() {
      closed = true;
      close(conn);
      if (upgrading) close(upgrading);
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
