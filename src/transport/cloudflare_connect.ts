import type {
  Connect,
  Connection,
  ConnectOptions,
  StartTlsOptions,
} from "./connection.ts";
import { connectionFailure } from "./connection_failure.ts";
import {
  classifyCloudflareError as classify,
  type CloudflarePhase,
} from "./_cloudflare_errors.ts";

/**
 * The part of `cloudflare:sockets` this transport uses, typed here so that
 * the module graph type-checks without Cloudflare's types.
 */
interface Socket {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly opened: Promise<unknown>;
  readonly closed: Promise<void>;
  close(): Promise<void>;
  startTls(options?: { expectedServerHostname?: string }): Socket;
}
interface Sockets {
  connect(
    address: { hostname: string; port: number },
    options: { secureTransport: "off" | "starttls"; allowHalfOpen: boolean },
  ): Socket;
}

/**
 * Not a literal on purpose: a bundler that meets `import("cloudflare:…")`
 * must be told to leave it alone, and every bundle of the library includes
 * this module (the default transport loads it on Workers). The runtime
 * resolves it the same way.
 */
const SPECIFIER = "cloudflare:sockets";

let sockets: Promise<Sockets> | undefined;

/** `cloudflare:sockets`, imported on first use. */
function load(): Promise<Sockets> {
  sockets ??= (import(SPECIFIER) as Promise<Sockets>).then(
    (module) => {
      if (typeof module?.connect !== "function") {
        throw new Error("it has no connect()");
      }
      return module;
    },
  ).catch((error) => {
    sockets = undefined;
    throw new TypeError(
      "Cannot connect: cloudflare:sockets is not available here (cloudflareConnect runs on Cloudflare Workers); pass another `connect` transport",
      { cause: error },
    );
  });
  return sockets;
}

/** Workers trust the platform's roots only. */
function refuseCaCerts(caCerts: string[] | undefined, what: string): void {
  if (caCerts && caCerts.length > 0) {
    throw new TypeError(
      `${what}: Cloudflare Workers cannot trust a custom CA (caCerts); the server's certificate must chain to a public root`,
    );
  }
}

/**
 * The transport for Cloudflare Workers: `connect()` from
 * `cloudflare:sockets`, with `secureTransport: "starttls"` whenever TLS may
 * follow, and `socket.startTls()` (which returns a new socket) both for
 * STARTTLS and, right after the socket opened, for implicit TLS — so that a
 * refused port and a refused certificate fail in different places and are
 * told apart, although the runtime reports both in the same opaque words.
 * Certificates are verified by the platform against its roots and the host
 * name; a custom CA cannot be added.
 *
 * Reads happen only when the connection's `readable` is pulled, so
 * nothing a server sends after its `220` to STARTTLS is lost or taken as
 * coming from inside TLS. `close()` never waits: the runtime's own close
 * waits for the socket to open first (for an address that never answers,
 * until the platform gives up). `cloudflare:sockets` is imported on the
 * first connection, so this module loads anywhere.
 *
 * Workers allow sockets only inside a request (or `ctx.waitUntil`), never
 * shared across requests, and at most six connections opening at once.
 *
 * @param options Where to connect, and the TLS intent. `caCerts` cannot be
 * honoured on Workers.
 * @returns The open connection (the TLS handshake done for `"implicit"`).
 * @throws {TypeError} When `caCerts` or a unix socket `path` is given, or
 * the runtime has no `cloudflare:sockets`.
 * @throws {Error} With a `cause` of `{ reason, error }` (the seam's
 * `ConnectionFailure`): `"refused"` (also for a name that does not resolve:
 * the runtime does not tell them apart), `"tls-verify"` (a refused
 * certificate, or no TLS there: the runtime does not say which), `"reset"`;
 * the session turns it into an `SmtpError`.
 * @throws The signal's reason, when `signal` aborts first.
 *
 * @example Sending from a Worker
 * ```ts ignore
 * import { sendmail } from "@x/sendmail";
 * import { cloudflareConnect } from "@x/sendmail/cloudflare";
 *
 * export default {
 *   async fetch(_request: Request, env: { SMTP_PASSWORD: string }): Promise<Response> {
 *     await sendmail(
 *       {
 *         hostname: "smtp.example.com",
 *         port: 465,
 *         auth: { username: "app", password: env.SMTP_PASSWORD },
 *         connect: cloudflareConnect,
 *       },
 *       { from: "app@example.com", to: "ops@example.com", subject: "Hi", text: "Hello" },
 *     );
 *     return new Response("sent");
 *   },
 * };
 * ```
 */
export const cloudflareConnect: Connect = async (
  options: ConnectOptions,
): Promise<Connection> => {
  const { hostname, port, signal } = options;
  const where = `Cannot connect to ${hostname}:${port}`;
  if (options.path !== undefined) {
    throw new TypeError(
      `Cannot connect to ${options.path}: Cloudflare Workers have no unix sockets`,
    );
  }
  refuseCaCerts(options.caCerts, where);
  signal?.throwIfAborted();
  const { connect } = await load();
  signal?.throwIfAborted();
  let socket: Socket;
  try {
    socket = connect({ hostname, port }, {
      secureTransport: options.tls === "none" ? "off" : "starttls",
      allowHalfOpen: false,
    });
  } catch (error) {
    // An address the runtime refuses to parse is the caller's mistake.
    if (error instanceof TypeError) throw error;
    throw classify(error, where, "connect");
  }
  quiet(socket);
  await opened(socket, signal, where, "connect");
  if (options.tls !== "implicit") return wrap(socket, hostname, false);
  const what = `Cannot start TLS with ${JSON.stringify(hostname)}`;
  let secure: Socket;
  try {
    secure = socket.startTls();
  } catch (error) {
    close(socket);
    if (error instanceof TypeError) throw error;
    throw classify(error, what, "tls");
  }
  quiet(secure);
  await opened(secure, signal, what, "tls");
  return wrap(secure, hostname, true);
};

/** Rejections nobody awaits (the runtime rejects `closed` on failures). */
function quiet(socket: Socket): void {
  socket.closed.catch(() => {});
  socket.opened.catch(() => {});
}

/** Closes without waiting: the runtime's close waits for the socket to open. */
function close(socket: Socket): void {
  try {
    socket.close().catch(() => {});
  } catch {
    // already closed
  }
}

/**
 * Waits for `socket.opened`; rejects with the classified failure, or with
 * the signal's reason (closing the socket) when `signal` aborts first.
 */
function opened(
  socket: Socket,
  signal: AbortSignal | undefined,
  what: string,
  phase: CloudflarePhase,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      close(socket);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.opened.then(
      () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      },
      (error) => {
        signal?.removeEventListener("abort", onAbort);
        close(socket);
        reject(classify(error, what, phase));
      },
    );
  });
}

const CLOSED = Symbol("closed");

/**
 * The seam's connection over `socket`: a readable that reads one chunk per
 * pull (no read-ahead), a writable whose writes resolve when the socket
 * took the bytes, and a `close()` that ends pending reads at once.
 */
function wrap(socket: Socket, hostname: string, secure: boolean): Connection {
  let closed = false;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  let upgrading: Socket | undefined;
  let onClose!: () => void;
  const closing = new Promise<typeof CLOSED>((resolve) => {
    onClose = () => resolve(CLOSED);
  });

  const closeAll = () => {
    if (closed) return;
    closed = true;
    onClose();
    close(socket);
    if (upgrading) close(upgrading);
  };

  const readable = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (closed) return controller.close();
      reader ??= socket.readable.getReader();
      let result: ReadableStreamReadResult<Uint8Array> | typeof CLOSED;
      try {
        result = await Promise.race([reader.read(), closing]);
      } catch (error) {
        if (closed) return controller.close();
        throw classify(error, "Cannot read from the connection", "io");
      }
      if (result === CLOSED || result.done) return controller.close();
      controller.enqueue(result.value);
    },
    cancel() {
      closeAll();
    },
  }, { highWaterMark: 0 });

  const writable = new WritableStream<Uint8Array>({
    async write(chunk) {
      if (closed) {
        throw connectionFailure(
          "Cannot write to the connection: it is closed",
          "reset",
        );
      }
      writer ??= socket.writable.getWriter();
      try {
        await writer.write(chunk);
      } catch (error) {
        throw classify(error, "Cannot write to the connection", "io");
      }
    },
    async close() {
      if (closed) return;
      writer ??= socket.writable.getWriter();
      await writer.close().catch(() => {});
    },
    abort() {
      closeAll();
    },
  });

  return {
    readable,
    writable,
    secure,
    async startTls(options: StartTlsOptions): Promise<Connection> {
      const name = options.hostname;
      const what = `Cannot start TLS with ${JSON.stringify(name)}`;
      refuseCaCerts(options.caCerts, what);
      if (closed) {
        throw connectionFailure(`${what}: the connection is closed`, "reset");
      }
      // The runtime takes the socket's streams over: no lock may be held
      // (the session has no read pending; this side holds no bytes).
      reader?.releaseLock();
      reader = undefined;
      writer?.releaseLock();
      writer = undefined;
      let upgraded: Socket;
      try {
        // The platform checks the name connect() was given; another one
        // goes in `expectedServerHostname`, which newer runtimes refuse.
        upgraded = name === hostname
          ? socket.startTls()
          : socket.startTls({ expectedServerHostname: name });
      } catch (error) {
        if (error instanceof TypeError) {
          throw new TypeError(`${what}: ${error.message}`, { cause: error });
        }
        throw classify(error, what, "tls");
      }
      quiet(upgraded);
      upgrading = upgraded;
      const handshake = opened(upgraded, undefined, what, "tls");
      const result = await Promise.race([handshake, closing]);
      if (result === CLOSED) {
        throw connectionFailure(`${what}: the connection was closed`, "reset");
      }
      // From now on the new connection owns the socket.
      upgrading = undefined;
      return wrap(upgraded, name, true);
    },
    close: closeAll,
  };
}
