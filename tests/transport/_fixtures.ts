/**
 * The servers of the transport conformance suite, on `node:net` and
 * `node:tls`, so that they run on Deno, Node and Bun alike. Each case starts
 * the one it needs on a free loopback port and closes it at its end; every
 * server counts the connections it accepted and tells when all of them have
 * closed, which is how a case proves that a socket opened after an abort
 * was closed.
 *
 * @module
 */

import {
  connect as netConnect,
  createServer,
  type Server,
  type Socket,
} from "node:net";
import { createSecureContext, type SecureContext, TLSSocket } from "node:tls";
import {
  type CertSet,
  hasSystemCerts,
  type Leaf,
  testCerts,
} from "./_certs.ts";

/** Which certificate a TLS server presents. */
export type FixtureCert = "good" | "wrongName" | "unknownCa" | "system";

/** What a server does with each connection. */
export type FixtureBehaviour =
  /** Sends back every byte it receives. */
  | { kind: "echo"; tls?: FixtureCert }
  /**
   * Speaks just enough SMTP: a `220` greeting; `EHLO` (offers STARTTLS);
   * `STARTTLS` (`220`, then a server-side TLS handshake with the good
   * certificate); `NOOP` (`250 secure` or `250 plain`); `QUIT`; anything
   * else `250 ok`. With `inject`, its `220` to STARTTLS is followed by
   * `250 injected\r\n` before the handshake: in the same write
   * (`"with-220"`), or when the case calls `inject()` (`"on-demand"`).
   */
  | { kind: "smtp"; inject?: "with-220" | "on-demand" }
  /** Sends `220 closing\r\n`, then closes (FIN). */
  | { kind: "close" }
  /**
   * Accepts and never sends a byte (not even a TLS handshake reply); what
   * it receives is read and dropped.
   */
  | { kind: "silent" }
  /** Resets the connection (RST) when the first bytes arrive. */
  | { kind: "reset" };

/** What a server saw on one connection. */
export interface FixtureConnection {
  /** Whether TLS was established (implicit, or after STARTTLS). */
  secure: boolean;
  /** The SNI name the client sent, or `undefined` when it sent none. */
  servername: string | undefined;
  /** Whether the connection has closed. */
  closed: boolean;
}

/** A running fixture server. */
export interface FixtureServer {
  /** Always `127.0.0.1`. */
  readonly hostname: string;
  /** Its port. */
  readonly port: number;
  /** The CA to trust in `caCerts`. */
  readonly caCert: string;
  /** Every connection accepted so far, in order. */
  readonly connections: readonly FixtureConnection[];
  /**
   * `"on-demand"` injection: writes `250 injected\r\n` on the newest
   * connection, then starts its TLS handshake.
   *
   * @returns Once the bytes have been handed to the system.
   */
  inject(): Promise<void>;
  /**
   * Waits until every connection attempt made so far has been accepted
   * (a probe connection is accepted after them) and every accepted
   * connection has closed. The probe is not counted.
   *
   * @param timeoutMs How long to wait. @default {5000}
   * @throws {Error} When a connection stays open.
   */
  quiesce(timeoutMs?: number): Promise<void>;
  /** Closes the server and every connection. */
  close(): Promise<void>;
}

/** Starts servers for the conformance cases. */
export interface ConformanceFixtures {
  /**
   * Starts a server on a free loopback port.
   *
   * @param behaviour What it does with each connection.
   * @returns The running server.
   */
  start(behaviour: FixtureBehaviour): Promise<FixtureServer>;
  /**
   * A loopback port nothing listens on (a listener was closed there).
   *
   * @returns The port.
   */
  closedPort(): Promise<number>;
  /**
   * Whether the runtime under test trusts the "system" CA as a root (the
   * runner installed it), so that `caCerts` can be shown to add to roots.
   *
   * @returns Whether a `{ kind: "echo", tls: "system" }` server can be
   * verified without `caCerts`.
   */
  hasSystemCa(): boolean;
}

const encoder = new TextEncoder();

class Fixture implements FixtureServer {
  readonly hostname = "127.0.0.1";
  port = 0;
  readonly caCert: string;
  readonly connections: FixtureConnection[] = [];
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #behaviour: FixtureBehaviour;
  readonly #certs: CertSet;
  #probes = new Set<Socket>();
  #injectors: (() => Promise<void>)[] = [];

  constructor(behaviour: FixtureBehaviour, certs: CertSet) {
    this.#behaviour = behaviour;
    this.#certs = certs;
    this.caCert = certs.caCert;
    this.#server = createServer((socket) => this.#accept(socket));
    this.#server.on("error", () => {});
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(0, this.hostname, () => {
        this.port = (this.#server.address() as { port: number }).port;
        resolve();
      });
    });
  }

  #context(cert: FixtureCert): SecureContext {
    const leaf: Leaf | undefined = this.#certs[cert];
    if (!leaf) {
      throw new Error(`Cannot serve the ${cert} certificate: not made`);
    }
    return createSecureContext({ cert: leaf.cert, key: leaf.key });
  }

  #track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on("error", () => {});
    socket.once("close", () => this.#sockets.delete(socket));
  }

  /** Upgrades `socket` as the server side; records SNI and success. */
  #tls(
    socket: Socket,
    cert: FixtureCert,
    seen: FixtureConnection,
  ): TLSSocket {
    const context = this.#context(cert);
    const secure = new TLSSocket(socket, {
      isServer: true,
      secureContext: context,
      SNICallback: (name, callback) => {
        if (name) seen.servername = name;
        callback(null, context);
      },
    });
    this.#track(secure);
    secure.once("secure", () => {
      seen.secure = true;
      const name = (secure as { servername?: unknown }).servername;
      if (typeof name === "string" && name !== "") seen.servername ??= name;
    });
    return secure;
  }

  #accept(socket: Socket): void {
    if (this.#probes.size > 0 && this.#isProbe(socket)) return;
    this.#track(socket);
    const seen: FixtureConnection = {
      secure: false,
      servername: undefined,
      closed: false,
    };
    socket.once("close", () => seen.closed = true);
    this.connections.push(seen);
    const behaviour = this.#behaviour;
    switch (behaviour.kind) {
      case "echo": {
        const stream = behaviour.tls
          ? this.#tls(socket, behaviour.tls, seen)
          : socket;
        stream.on("data", (data: Uint8Array) => stream.write(data));
        stream.on("end", () => stream.end());
        break;
      }
      case "close":
        socket.end("220 closing\r\n");
        break;
      case "silent":
        // Reading (and dropping) is how it notices the client's FIN.
        socket.on("data", () => {});
        break;
      case "reset":
        socket.once("data", () => {
          const reset = (socket as { resetAndDestroy?: () => void })
            .resetAndDestroy;
          if (typeof reset === "function") reset.call(socket);
          else socket.destroy();
        });
        break;
      case "smtp":
        this.#smtp(socket, seen, behaviour.inject);
        break;
    }
  }

  #smtp(
    plain: Socket,
    seen: FixtureConnection,
    inject: "with-220" | "on-demand" | undefined,
  ): void {
    let stream: Socket = plain;
    let buffer = "";
    const onData = (data: Uint8Array) => {
      buffer += new TextDecoder().decode(data);
      let end: number;
      while ((end = buffer.indexOf("\r\n")) !== -1) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const verb = line.split(" ")[0]!.toUpperCase();
        if (verb === "STARTTLS" && stream === plain) {
          // Stop reading plaintext: the rest belongs to the TLS layer.
          plain.off("data", onData);
          plain.pause();
          const upgrade = () => {
            stream = this.#tls(plain, "good", seen);
            stream.on("data", onData);
          };
          if (inject === "with-220") {
            plain.write("220 ready\r\n250 injected\r\n");
            upgrade();
          } else if (inject === "on-demand") {
            plain.write("220 ready\r\n");
            this.#injectors.push(() =>
              new Promise<void>((resolve) => {
                plain.write(encoder.encode("250 injected\r\n"), () => {
                  upgrade();
                  resolve();
                });
              })
            );
          } else {
            plain.write("220 ready\r\n");
            upgrade();
          }
          return;
        }
        switch (verb) {
          case "EHLO":
            stream.write("250-localhost\r\n250 STARTTLS\r\n");
            break;
          case "NOOP":
            stream.write(seen.secure ? "250 secure\r\n" : "250 plain\r\n");
            break;
          case "QUIT":
            stream.end("221 bye\r\n");
            return;
          default:
            stream.write("250 ok\r\n");
        }
      }
    };
    plain.on("data", onData);
    plain.write("220 localhost ESMTP conformance fixture\r\n");
  }

  #isProbe(socket: Socket): boolean {
    // A probe connects from a port we know once it is connected; the
    // accepted socket's remote port is that local port.
    for (const probe of this.#probes) {
      if (probe.localPort === socket.remotePort) {
        socket.on("error", () => {});
        socket.destroy();
        probe.emit("accepted");
        return true;
      }
    }
    return false;
  }

  async inject(): Promise<void> {
    const injector = this.#injectors.shift();
    if (!injector) {
      throw new Error("Cannot inject: no connection is waiting for it");
    }
    await injector();
  }

  async quiesce(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    // Connections are accepted in order: once a later probe is accepted,
    // every earlier attempt has been accepted too.
    const probe = netConnect({ host: this.hostname, port: this.port });
    probe.on("error", () => {});
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve, reject) => {
      probe.once("connect", () => {
        this.#probes.add(probe);
        // It may have been accepted before it was known as a probe.
        for (const socket of this.#sockets) {
          if (socket.remotePort === probe.localPort) {
            this.#sockets.delete(socket);
            this.connections.pop();
            socket.destroy();
            resolve();
            return;
          }
        }
      });
      probe.once("accepted", () => resolve());
      probe.once("close", () => resolve());
      timer = setTimeout(
        () => reject(new Error("Cannot quiesce: the probe was not accepted")),
        timeoutMs,
      );
    }).finally(() => {
      clearTimeout(timer);
      this.#probes.delete(probe);
      probe.destroy();
    });
    while (this.connections.some((c) => !c.closed)) {
      if (Date.now() > deadline) {
        throw new Error(
          `A connection stayed open: ${
            this.connections.filter((c) => !c.closed).length
          } of ${this.connections.length} accepted`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) =>
      this.#server.close(() => resolve())
    );
    const sockets = [...this.#sockets].filter((socket) => !socket.closed);
    const ends = sockets.map((socket) =>
      new Promise((resolve) => socket.once("close", resolve))
    );
    for (const socket of sockets) socket.destroy();
    await Promise.all(ends);
    await closed;
  }
}

/**
 * The conformance fixtures on `node:net` / `node:tls`, for Deno, Node and
 * Bun.
 */
export const nodeFixtures: ConformanceFixtures = {
  async start(behaviour) {
    const fixture = new Fixture(behaviour, await testCerts());
    await fixture.listen();
    return fixture;
  },
  async closedPort() {
    const server = createServer();
    const port = await new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(
        0,
        "127.0.0.1",
        () => resolve((server.address() as { port: number }).port),
      );
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
  },
  hasSystemCa() {
    return hasSystemCerts();
  },
};
