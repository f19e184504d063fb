import { createServer, type Server, type Socket } from "node:net";
import { createSecureContext, TLSSocket } from "node:tls";
import { ServerSession, type SessionConfig } from "./_session.ts";
import {
  TEST_CA_CERT,
  TEST_SERVER_CERT,
  TEST_SERVER_KEY,
} from "./_test_cert.ts";
import { Transport } from "./_transport.ts";
import type { ReceivedMessage, TranscriptLine } from "./received_message.ts";
import {
  DEFAULT_EXTENSIONS,
  type TestServerAuthMechanism,
  type TestServerOptions,
} from "./test_server_options.ts";

/** The options a client needs to reach a {@linkcode TestServer}. */
export interface TestServerClientOptions {
  /** The server's address. */
  hostname: string;
  /** The server's port. */
  port: number;
  /** The TLS mode that matches the server's. */
  tls: "starttls" | "implicit" | "none";
  /** The CA certificate to trust. */
  caCerts: string[];
}

/**
 * A running capture server; see {@linkcode startTestServer}. Close it with
 * `close()`, or declare it with `await using` to close it at the end of the
 * scope.
 */
export interface TestServer extends AsyncDisposable {
  /** The address it listens on. */
  readonly hostname: string;
  /** The port it listens on. */
  readonly port: number;
  /** Its TLS mode. */
  readonly tls: "starttls" | "implicit" | "none";
  /**
   * The CA certificate (PEM) clients should trust to verify it: pass it in
   * `caCerts`. The built-in one is a TEST-ONLY CA whose server key is public.
   */
  readonly caCert: string;
  /**
   * Options to spread into a client's options: hostname, port, tls and
   * caCerts.
   */
  readonly clientOptions: TestServerClientOptions;
  /** The messages accepted so far, oldest first. */
  readonly messages: readonly ReceivedMessage[];
  /**
   * The transcript of every connection so far (index 0 is connection 1),
   * growing while sessions run: what a client said before it failed.
   */
  readonly transcripts: readonly (readonly TranscriptLine[])[];
  /**
   * Returns the next message not yet returned by `nextMessage`: a cursor
   * walks `messages` in order, so each message is returned once. When all
   * have been returned, waits for the next delivery.
   *
   * @param timeoutMs How long to wait for a delivery. @default {5000}
   * @returns The message.
   * @throws {Error} When no message arrives in time (the cursor does not
   * move), or the server closes first; or the error a hook threw, at once.
   */
  nextMessage(timeoutMs?: number): Promise<ReceivedMessage>;
  /**
   * Removes messages from `messages`: those `filter` selects, or all of
   * them. `nextMessage` goes on where it was; a removed message it had not
   * returned yet is skipped.
   *
   * @param filter Which messages to remove. @default {every message}
   * @returns How many were removed.
   */
  deleteMessages(filter?: (message: ReceivedMessage) => boolean): number;
  /**
   * Stops listening and closes every open connection (and pending
   * `nextMessage` calls reject). Safe to call more than once.
   *
   * @returns Once every socket and session is closed.
   * @throws {Error} The first error a hook threw (a failed assertion inside
   * a hook fails the test this way), after closing everything.
   */
  close(): Promise<void>;
}

interface Waiter {
  resolve(message: ReceivedMessage): void;
  reject(error: Error): void;
}

class CaptureServer implements TestServer {
  readonly hostname: string;
  readonly port: number;
  readonly tls: "starttls" | "implicit" | "none";
  readonly caCert: string;
  readonly messages: ReceivedMessage[] = [];
  readonly transcripts: TranscriptLine[][] = [];
  #server: Server;
  #sockets = new Set<Socket>();
  #sessions = new Set<ServerSession>();
  #running = new Set<Promise<void>>();
  #cursor = 0;
  #waiters: Waiter[] = [];
  #closing: Promise<void> | undefined;
  #error: Error | undefined;
  #maxMessages: number;
  #onMessage: ((message: ReceivedMessage) => void) | undefined;

  constructor(
    server: Server,
    hostname: string,
    port: number,
    tls: "starttls" | "implicit" | "none",
    caCert: string,
    maxMessages: number,
    onMessage: ((message: ReceivedMessage) => void) | undefined,
  ) {
    this.#server = server;
    this.hostname = hostname;
    this.port = port;
    this.tls = tls;
    this.caCert = caCert;
    this.#maxMessages = maxMessages;
    this.#onMessage = onMessage;
  }

  get clientOptions(): TestServerClientOptions {
    return {
      hostname: this.hostname,
      port: this.port,
      tls: this.tls,
      caCerts: [this.caCert],
    };
  }

  /** Starts a session on a new connection. */
  accept(socket: Socket, config: SessionConfig): void {
    if (this.#closing) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    this.#track(socket);
    let transport: Transport;
    if (config.tls === "implicit") {
      const tls = new TLSSocket(socket, {
        isServer: true,
        secureContext: config.secureContext!,
      });
      this.#track(tls);
      transport = new Transport(tls, true);
    } else {
      transport = new Transport(socket, false);
    }
    const id = this.transcripts.length + 1;
    const session = new ServerSession(transport, id, config, {
      deliver: (message) => this.#deliver(message),
      track: (upgraded) => this.#track(upgraded),
      fail: (error) => this.#fail(error),
    });
    this.transcripts.push(session.transcript);
    // With maxMessages, only that many connections keep their transcript.
    const old = this.transcripts.length - 1 - this.#maxMessages;
    if (old >= 0) this.transcripts[old] = RELEASED;
    this.#sessions.add(session);
    const running = session.run().finally(() => {
      this.#sessions.delete(session);
      this.#running.delete(running);
    });
    this.#running.add(running);
  }

  #track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on("error", () => {});
    socket.once("close", () => this.#sockets.delete(socket));
  }

  #deliver(message: ReceivedMessage): void {
    this.messages.push(message);
    const waiter = this.#waiters.shift();
    if (waiter) {
      this.#cursor++;
      waiter.resolve(message);
    }
    const excess = this.messages.length - this.#maxMessages;
    if (excess > 0) {
      this.messages.splice(0, excess);
      this.#cursor = Math.max(0, this.#cursor - excess);
    }
    try {
      this.#onMessage?.(message);
    } catch (error) {
      this.#fail(error);
    }
  }

  deleteMessages(filter?: (message: ReceivedMessage) => boolean): number {
    let kept = 0;
    let cursor = this.#cursor;
    const all = this.messages;
    for (let i = 0; i < all.length; i++) {
      if (filter && !filter(all[i]!)) all[kept++] = all[i]!;
      else if (i < this.#cursor) cursor--;
    }
    const removed = all.length - kept;
    all.length = kept;
    this.#cursor = cursor;
    return removed;
  }

  #fail(error: unknown): void {
    this.#error ??= error instanceof Error ? error : new Error(String(error));
    for (const waiter of this.#waiters.splice(0)) waiter.reject(this.#error);
  }

  nextMessage(timeoutMs = 5000): Promise<ReceivedMessage> {
    if (this.#cursor < this.messages.length) {
      return Promise.resolve(this.messages[this.#cursor++]!);
    }
    if (this.#error) return Promise.reject(this.#error);
    if (this.#closing) {
      return Promise.reject(
        new Error("Cannot wait for a message: the test server is closed"),
      );
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (message) => {
          clearTimeout(timer);
          resolve(message);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(
          new Error(
            `Timed out waiting for a message: none arrived in ${timeoutMs} ms (${this.messages.length} received in all)`,
          ),
        );
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const listenerClosed = new Promise<void>((resolve) =>
      this.#server.close(() => resolve())
    );
    for (const session of this.#sessions) session.cancelTimers();
    // Listen first, then destroy: on Node a socket under TLS closes with
    // the TLS socket, before a listener attached afterwards would hear it.
    const sockets = [...this.#sockets].filter((socket) => !socket.closed);
    const closed = sockets.map((socket) =>
      new Promise((resolve) => socket.once("close", resolve))
    );
    for (const socket of sockets) socket.destroy();
    await Promise.all(closed);
    await Promise.all(this.#running);
    await listenerClosed;
    for (const waiter of this.#waiters.splice(0)) {
      waiter.reject(
        new Error("Cannot wait for a message: the test server closed"),
      );
    }
    if (this.#error) throw this.#error;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** What a transcript released under `maxMessages` is replaced with. */
const RELEASED: TranscriptLine[] = Object.freeze([]) as never;

const ALL_MECHANISMS: TestServerAuthMechanism[] = [
  "PLAIN",
  "LOGIN",
  "CRAM-MD5",
  "XOAUTH2",
  "OAUTHBEARER",
];
/** Offered only when named in `auth.mechanisms`. */
const KNOWN_MECHANISMS: TestServerAuthMechanism[] = [
  ...ALL_MECHANISMS,
  "SCRAM-SHA-256",
  "SCRAM-SHA-1",
];

const KNOWN = new Set([
  "PIPELINING",
  "SIZE",
  "8BITMIME",
  "SMTPUTF8",
  "DSN",
  "CHUNKING",
  "ENHANCEDSTATUSCODES",
  "REQUIRETLS",
]);

/**
 * Starts an SMTP capture server on a loopback address, for tests: it accepts
 * every well-formed message and records it (envelope, bytes, transcript, TLS,
 * AUTH user), offers STARTTLS or implicit TLS with a built-in test
 * certificate, AUTH with the users you give, the ESMTP extensions you choose,
 * and lets hooks script any reply, delay, raw bytes or disconnect.
 *
 * @param options What to offer and how to behave.
 * @returns The running server; close it (or `await using` it) when done.
 * @throws {TypeError} When an option is invalid.
 * @throws {Error} When the address cannot be listened on (port in use).
 *
 * @example Test the code that sends your mail
 * ```ts ignore
 * import { sendmail } from "@x/sendmail";
 * import { startTestServer } from "@x/sendmail/testing";
 * import assert from "node:assert/strict";
 *
 * await using server = await startTestServer({ auth: { users: { app: "pw" } } });
 * await sendmail(
 *   { ...server.clientOptions, auth: { username: "app", password: "pw" } },
 *   { from: "app@example.com", to: "user@example.com", subject: "Welcome", text: "Hi" },
 * );
 * const message = await server.nextMessage();
 * assert.deepEqual(message.envelope.to, ["user@example.com"]);
 * assert.equal(message.authUser, "app");
 * assert.ok(message.secure);
 * ```
 *
 * @example A server that greets, then drops every connection
 * ```ts
 * import { startTestServer } from "@x/sendmail/testing";
 * import assert from "node:assert/strict";
 *
 * await using server = await startTestServer({
 *   hooks: { EHLO: () => [{ reply: "421 4.3.2 Going down" }, { close: true }] },
 * });
 * const conn = await Deno.connect({ hostname: server.hostname, port: server.port });
 * await conn.write(new TextEncoder().encode("EHLO me\r\n"));
 * const text = await new Response(conn.readable).text();
 * assert.equal(text, "220 localhost ESMTP @x/sendmail test server\r\n421 4.3.2 Going down\r\n");
 * ```
 */
export async function startTestServer(
  options: TestServerOptions = {},
): Promise<TestServer> {
  const hostname = options.hostname ?? "127.0.0.1";
  const port = options.port ?? 0;
  const tls = options.tls ?? "starttls";
  if (tls !== "starttls" && tls !== "implicit" && tls !== "none") {
    throw new TypeError(
      `Cannot start the test server: unknown tls mode "${tls}"`,
    );
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`Cannot start the test server: invalid port ${port}`);
  }
  if ((options.cert === undefined) !== (options.key === undefined)) {
    throw new TypeError(
      "Cannot start the test server: cert and key go together",
    );
  }
  const cert = options.cert ?? TEST_SERVER_CERT;
  const key = options.key ?? TEST_SERVER_KEY;
  const caCert = options.caCert ??
    (options.cert === undefined ? TEST_CA_CERT : options.cert);
  const secureContext = tls === "none"
    ? undefined
    : createSecureContext({ cert, key });

  const extensions = [...(options.extensions ?? DEFAULT_EXTENSIONS)];
  for (const line of extensions) {
    if (/[\r\n]/.test(line) || line === "") {
      throw new TypeError(
        `Cannot start the test server: invalid extension line ${
          JSON.stringify(line)
        }`,
      );
    }
  }
  const keywords = new Set(
    extensions.map((line) => line.split(" ")[0]!.toUpperCase()).filter((word) =>
      KNOWN.has(word)
    ),
  );
  const sizeLine = extensions.find((line) => /^SIZE\b/i.test(line));
  const sizeLimit = sizeLine === undefined
    ? undefined
    : Number(sizeLine.split(" ")[1] ?? 0) || 0;

  const auth = options.auth;
  const mechanisms = auth?.mechanisms ?? ALL_MECHANISMS;
  for (const mechanism of mechanisms) {
    if (!KNOWN_MECHANISMS.includes(mechanism)) {
      throw new TypeError(
        `Cannot start the test server: unknown AUTH mechanism "${mechanism}"`,
      );
    }
  }
  const maxMessages = options.maxMessages ?? Infinity;
  if (
    maxMessages !== Infinity &&
    (!Number.isSafeInteger(maxMessages) || maxMessages < 1)
  ) {
    throw new RangeError(
      `Cannot start the test server: maxMessages must be a whole number from 1, not ${maxMessages}`,
    );
  }
  if (
    options.onMessage !== undefined && typeof options.onMessage !== "function"
  ) {
    throw new TypeError(
      "Cannot start the test server: onMessage must be a function",
    );
  }
  if (options.received !== undefined && typeof options.received !== "boolean") {
    throw new TypeError(
      "Cannot start the test server: received must be true or false",
    );
  }
  const serverName = options.serverName ?? "localhost";
  const greeting = options.greeting ?? "ESMTP @x/sendmail test server";
  for (const text of [serverName, greeting]) {
    if (/[\r\n]/.test(text)) {
      throw new TypeError(
        "Cannot start the test server: CR or LF in serverName or greeting",
      );
    }
  }
  const config: SessionConfig = {
    tls,
    requireTls: options.requireTls ?? false,
    secureContext,
    auth: auth === undefined ? undefined : {
      users: { ...auth.users },
      mechanisms: [...mechanisms],
      required: auth.required ?? false,
      beforeStartTls: auth.beforeStartTls ?? false,
    },
    extensions,
    keywords,
    sizeLimit,
    serverName,
    greeting,
    maxLineLength: options.maxLineLength ?? 12288,
    maxRecipients: options.maxRecipients ?? 100,
    hooks: { ...options.hooks },
    received: options.received ?? false,
    lmtp: options.lmtp ?? false,
  };

  const server = createServer({ allowHalfOpen: false });
  const address = await new Promise<{ port: number }>((resolve, reject) => {
    server.once("error", (error) => {
      reject(
        new Error(
          `Cannot start the test server on ${hostname}:${port}: ${error.message}`,
          { cause: error },
        ),
      );
    });
    server.listen(
      port,
      hostname,
      () => resolve(server.address() as { port: number }),
    );
  });
  server.on("error", () => {});
  const capture = new CaptureServer(
    server,
    hostname,
    address.port,
    tls,
    caCert,
    maxMessages,
    options.onMessage,
  );
  server.on("connection", (socket: Socket) => capture.accept(socket, config));
  return capture;
}
