import type { Socket } from "node:net";
import type { ConnectionOptions, TLSSocket } from "node:tls";
import type {
  Connect,
  Connection,
  ConnectOptions,
  StartTlsOptions,
} from "./connection.ts";
import { connectionFailure } from "./connection_failure.ts";
import { classifyNodeError as classify } from "./_node_errors.ts";

type NodeNet = typeof import("node:net");
type NodeTls = typeof import("node:tls");

interface Modules {
  net: NodeNet;
  tls: NodeTls;
}

let modules: Promise<Modules> | undefined;

/**
 * node:net and node:tls, imported on first use: importing this module costs
 * nothing more, and a bundle that inlines it keeps them dynamic imports.
 */
function load(): Promise<Modules> {
  modules ??= Promise.all([import("node:net"), import("node:tls")]).then(
    ([net, tls]) => ({ net, tls }),
    (error) => {
      modules = undefined;
      throw new TypeError(
        "Cannot connect: node:net and node:tls are not available here; pass a `connect` transport",
        { cause: error },
      );
    },
  );
  return modules;
}

/**
 * The transport for Node and Bun: `node:net` sockets, and `node:tls` for
 * implicit TLS and STARTTLS (`tls.connect({ socket })` over the same
 * socket). TLS is verified against the runtime's default roots plus
 * `caCerts` (added to them, where node's own `ca` option would replace
 * them) and against `hostname`, sent as SNI when it is a name (never an IP
 * address). Reads happen only when the connection's `readable` is pulled,
 * and `startTls` rejects when bytes the server sent are still held, so
 * nothing a server sends after its `220` to STARTTLS is lost or taken as
 * coming from inside TLS. `node:net` and `node:tls` are imported on the
 * first connection.
 *
 * @param options Where to connect, and the TLS intent.
 * @returns The open connection (the TLS handshake done for `"implicit"`).
 * @throws {Error} With a `cause` of `{ reason, error }` (the seam's
 * `ConnectionFailure`): `"dns"`, `"refused"`, `"reset"`, `"timeout"`,
 * `"tls-verify"` or `"tls-handshake"`; the session turns it into an
 * `SmtpError`.
 * @throws {TypeError} When the runtime has no node:net / node:tls.
 * @throws The signal's reason, when `signal` aborts first.
 *
 * @example Sending from Node or Bun
 * ```ts ignore
 * import { SmtpClient } from "@x/sendmail";
 * import { nodeConnect } from "@x/sendmail/node";
 *
 * const client = await SmtpClient.connect({
 *   hostname: "smtp.example.com",
 *   connect: nodeConnect,
 * });
 * await client.quit();
 * ```
 */
export const nodeConnect: Connect = async (
  options: ConnectOptions,
): Promise<Connection> => {
  const { hostname, port, path, signal } = options;
  signal?.throwIfAborted();
  const { net, tls } = await load();
  signal?.throwIfAborted();
  const where = path ?? `${hostname}:${port}`;
  // Read no further ahead than one chunk (see `readableOf`).
  const socket = net.connect(
    (path === undefined
      ? { host: hostname, port, noDelay: true, readableHighWaterMark: 0 }
      : {
        path,
        readableHighWaterMark: 0,
      }) as unknown as import("node:net").NetConnectOpts,
  );
  const state = track(socket);
  try {
    await settle(
      socket,
      "connect",
      signal,
      (error) => classify(error, `Cannot connect to ${where}`),
    );
  } catch (error) {
    socket.destroy();
    throw error;
  }
  // Commands are small writes awaiting a reply: Nagle's algorithm would hold
  // the last one back for the server's delayed ACK (~40 ms a round trip).
  if (path === undefined) socket.setNoDelay(true);
  if (options.tls !== "implicit") return wrap(socket, state, false, tls, net);
  const secure = tls.connect(
    tlsOptions(net, tls, socket, {
      hostname,
      ...(options.caCerts ? { caCerts: options.caCerts } : {}),
    }),
  );
  const secureState = track(secure);
  try {
    await settle(secure, "secureConnect", signal, (error) =>
      classify(
        error,
        `Cannot start TLS with ${JSON.stringify(hostname)}`,
        true,
      ));
  } catch (error) {
    secure.destroy();
    socket.destroy();
    throw error;
  }
  return wrap(secure, secureState, true, tls, net);
};

/** What a socket reported so far: its end, its failure. */
interface SocketState {
  ended: boolean;
  closed: boolean;
  failure: Error | undefined;
}

/** Listens for a socket's end and errors for its whole life. */
function track(socket: Socket): SocketState {
  const state: SocketState = {
    ended: false,
    closed: false,
    failure: undefined,
  };
  socket.on("end", () => state.ended = true);
  socket.on("close", () => state.closed = true);
  // An "error" nobody hears would be thrown: keep the first one, classified.
  socket.on("error", (error) => {
    state.failure ??= classify(
      error,
      "Cannot use the connection",
      (socket as Partial<TLSSocket>).encrypted === true &&
        !(socket as TLSSocket).authorized,
    );
  });
  return state;
}

/**
 * Waits for `event` ("connect", "secureConnect"); rejects with the
 * classified error, a close before it, or the signal's reason.
 */
function settle(
  socket: Socket,
  event: string,
  signal: AbortSignal | undefined,
  failed: (error: unknown) => Error,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = () => {
      socket.off(event, onEvent);
      socket.off("error", onError);
      socket.off("close", onClose);
      signal?.removeEventListener("abort", onAbort);
    };
    const onEvent = () => {
      done();
      resolve();
    };
    const onError = (error: unknown) => {
      done();
      reject(failed(error));
    };
    const onClose = () => {
      done();
      reject(
        failed(
          Object.assign(new Error("the connection was closed"), {
            code: "ECONNRESET",
          }),
        ),
      );
    };
    // Destroying the socket also closes one that the system opens later.
    const onAbort = () => {
      done();
      socket.destroy();
      reject(signal!.reason);
    };
    socket.once(event, onEvent);
    socket.once("error", onError);
    socket.once("close", onClose);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** node:tls options: SNI for names only, `caCerts` added to the roots. */
function tlsOptions(
  net: NodeNet,
  tls: NodeTls,
  socket: Socket,
  options: StartTlsOptions,
): ConnectionOptions {
  const { hostname, caCerts } = options;
  const host = hostname.replace(/^\[(.*)\]$/, "$1");
  return {
    socket,
    // What the certificate is checked against (an IP address too).
    host,
    // RFC 6066 §3: SNI carries host names, never IP addresses.
    ...(net.isIP(host) === 0 ? { servername: host } : {}),
    ...(caCerts && caCerts.length > 0
      ? { ca: [...defaultRoots(tls), ...caCerts] }
      : {}),
  };
}

/**
 * The roots node:tls trusts by default: with `NODE_EXTRA_CA_CERTS` and
 * `--use-system-ca` where the runtime reports them
 * (`tls.getCACertificates("default")`, Node 22.15+), else the bundled ones.
 */
function defaultRoots(tls: NodeTls): readonly string[] {
  const get = (tls as {
    getCACertificates?: (type?: string) => string[];
  }).getCACertificates;
  return typeof get === "function"
    ? get.call(tls, "default")
    : tls.rootCertificates;
}

function wrap(
  socket: Socket,
  state: SocketState,
  secure: boolean,
  tls: NodeTls,
  net: NodeNet,
): Connection {
  let upgrading: TLSSocket | undefined;
  let closed = false;
  return {
    readable: readableOf(socket, state),
    writable: writableOf(socket, state),
    secure,
    async startTls(options: StartTlsOptions): Promise<Connection> {
      const what = `Cannot start TLS with ${JSON.stringify(options.hostname)}`;
      if (closed || socket.destroyed) {
        throw state.failure ?? connectionFailure(
          `${what}: the connection is closed`,
          "reset",
        );
      }
      // Bytes read from the socket but not consumed would be lost under
      // TLS, or worse, taken as coming from inside it (RFC 3207 §6).
      if (socket.readableLength > 0) {
        throw connectionFailure(
          `${what}: the server sent data after its 220 reply (possible response injection)`,
          "tls-handshake",
        );
      }
      const upgraded = tls.connect(tlsOptions(net, tls, socket, options));
      upgrading = upgraded;
      const upgradedState = track(upgraded);
      if (closed) upgraded.destroy();
      try {
        await settle(
          upgraded,
          "secureConnect",
          undefined,
          (error) => classify(error, what, true),
        );
      } catch (error) {
        upgraded.destroy();
        socket.destroy();
        throw error;
      }
      return wrap(upgraded, upgradedState, true, tls, net);
    },
    close() {
      closed = true;
      socket.destroy();
      upgrading?.destroy();
    },
  };
}

/**
 * The bytes `socket` receives, read only when asked for. The socket is
 * paused between pulls (its `readableHighWaterMark` is 0), so at most the
 * one chunk the runtime read last is held in node's buffer; `startTls`
 * refuses to upgrade while it holds any. A failed read errors the stream;
 * cancelling it closes the socket.
 */
function readableOf(
  socket: Socket,
  state: SocketState,
): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      return new Promise<void>((resolve, reject) => {
        const done = () => {
          socket.off("readable", attempt);
          socket.off("end", attempt);
          socket.off("close", attempt);
          socket.off("error", attempt);
        };
        function attempt(): void {
          const chunk = socket.read() as Uint8Array | null;
          if (chunk !== null) {
            done();
            controller.enqueue(
              new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength),
            );
            resolve();
          } else if (state.failure) {
            done();
            reject(state.failure);
          } else if (state.ended || state.closed || socket.destroyed) {
            done();
            controller.close();
            resolve();
          }
        }
        socket.on("readable", attempt);
        socket.on("end", attempt);
        socket.on("close", attempt);
        socket.on("error", attempt);
        attempt();
      });
    },
    cancel() {
      socket.destroy();
    },
  }, { highWaterMark: 0 });
}

/**
 * Bytes to `socket`. A write resolves as soon as node:net has taken the
 * bytes (they are copied: the caller may reuse its buffer), not when its
 * write callback fires: the server's reply to the end of the data can
 * arrive before that callback. When node's buffer is full, the next write
 * waits for it to drain.
 */
function writableOf(
  socket: Socket,
  state: SocketState,
): WritableStream<Uint8Array> {
  let full = false;
  return new WritableStream<Uint8Array>({
    async write(chunk) {
      if (full) await drained(socket, state);
      if (state.failure) throw state.failure;
      if (socket.destroyed || !socket.writable) {
        throw connectionFailure(
          "Cannot write to the connection: it is closed",
          "reset",
        );
      }
      full = !socket.write(chunk.slice());
    },
    close() {
      socket.end();
    },
    abort() {
      socket.destroy();
    },
  });
}

function drained(socket: Socket, state: SocketState): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      socket.off("drain", done);
      socket.off("close", done);
      socket.off("error", done);
      resolve();
    };
    if (state.failure || socket.destroyed) return resolve();
    socket.on("drain", done);
    socket.on("close", done);
    socket.on("error", done);
  });
}
