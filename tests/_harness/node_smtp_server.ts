/**
 * Nodemailer's `smtp-server` (npm:smtp-server@3) in this process as a
 * disposable test server: STARTTLS or implicit TLS with the test
 * certificates, AUTH PLAIN, LOGIN, CRAM-MD5 and XOAUTH2, and the exact
 * bytes and envelope of every message.
 *
 * @module
 */

import type { Socket } from "node:net";
import {
  SMTPServer,
  type SMTPServerAddress,
  type SMTPServerOptions,
} from "npm:smtp-server@3";
import { makeTestCerts, type TestCerts } from "./certs.ts";
import { concatBytes } from "../../src/protocol/_bytes.ts";

/** Options for {@linkcode startNodeSmtpServer}. */
export interface NodeSmtpServerOptions {
  /** Speak TLS from the first byte (port 465 style). @default {false} */
  secure?: boolean;
  /** Offer STARTTLS (ignored when `secure`). @default {true} */
  starttls?: boolean;
  /**
   * The one account accepted: a password (PLAIN, LOGIN, CRAM-MD5) and/or
   * an access token (XOAUTH2); `methods` are the mechanisms offered.
   * Without it AUTH is not offered.
   */
  auth?: {
    username: string;
    password?: string;
    accessToken?: string;
    /** @default {["PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2"]} */
    methods?: string[];
  };
  /** Refuse MAIL until authenticated. @default {false} */
  authRequired?: boolean;
  /** Offer AUTH before TLS too. @default {false} */
  allowInsecureAuth?: boolean;
  /** SIZE limit in bytes; larger messages are refused with 552. */
  size?: number;
  /** Offer DSN (smtp-server hides it by default). @default {false} */
  dsn?: boolean;
  /** Offer REQUIRETLS (RFC 8689). @default {false} */
  requireTls?: boolean;
  /** Hide extensions, e.g. `["PIPELINING", "8BITMIME", "SMTPUTF8"]`. */
  hide?: ("PIPELINING" | "8BITMIME" | "SMTPUTF8" | "ENHANCEDSTATUSCODES")[];
  /** The name in the greeting. @default {"smtp-server.test"} */
  name?: string;
  /** Recipients to refuse: address → `[code, text]`, e.g. `[550, "No such user"]`. */
  rejectRecipients?: Record<string, [number, string]>;
  /** The certificate to serve. @default {await makeTestCerts()} */
  certs?: TestCerts;
  /** More smtp-server options, applied last. */
  serverOptions?: Partial<SMTPServerOptions>;
}

/** Authentication, as the server saw it. */
export interface NodeSmtpAuth {
  /** `PLAIN`, `LOGIN`, `CRAM-MD5` or `XOAUTH2`. */
  method: string;
  /** The username the client sent. */
  username: string;
}

/** An AUTH exchange, successful or not. */
export interface NodeSmtpAuthAttempt extends NodeSmtpAuth {
  /** Whether the credentials were accepted. */
  success: boolean;
  /** Whether the exchange ran over TLS. */
  secure: boolean;
}

/** One message as smtp-server received it. */
export interface NodeSmtpMessage {
  /** The reverse-path; `""` for `<>`. */
  mailFrom: string;
  /** MAIL FROM parameters, keys upper case (`{ BODY: "8BITMIME" }`). */
  mailParams: Record<string, string | true>;
  /** The forward-paths, in order. */
  rcptTo: string[];
  /** RCPT TO parameters for each recipient. */
  rcptParams: Record<string, string | true>[];
  /** The message bytes exactly, dot-stuffing undone, final CRLF included. */
  data: Uint8Array;
  /** {@linkcode NodeSmtpMessage.data} decoded as UTF-8. */
  text: string;
  /** The EHLO/HELO argument. */
  helo: string;
  /** `SMTP`, `ESMTP`, `ESMTPS`, `ESMTPSA`… */
  transmissionType: string;
  /** Whether the session ran over TLS. */
  secure: boolean;
  /** The TLS protocol version, when secure (`"TLSv1.3"`). */
  tlsVersion: string | undefined;
  /** The authentication of the session, or `null`. */
  auth: NodeSmtpAuth | null;
  /** Envelope flags: SMTPUTF8, BODY, REQUIRETLS, DSN RET/ENVID. */
  smtpUtf8: boolean;
  /** `7bit` or `8bitmime`. */
  bodyType: string | undefined;
  /** Whether MAIL FROM carried REQUIRETLS. */
  requireTls: boolean;
  /** DSN RET and ENVID, when DSN is offered. */
  dsn: { ret: string | null; envid: string | null } | undefined;
  /** DSN NOTIFY/ORCPT for each recipient, when DSN is offered. */
  rcptDsn: (
    | { notify?: string[] | undefined; orcpt?: string | undefined }
    | undefined
  )[];
}

/** A running smtp-server; dispose it with `await using`. */
export interface NodeSmtpServer extends AsyncDisposable {
  /** Always `127.0.0.1`. */
  readonly hostname: string;
  /** The port it listens on. */
  readonly port: number;
  /** The certificates it serves; trust `certs.caCert`. */
  readonly certs: TestCerts;
  /** Every message received so far, in order. */
  readonly messages: readonly NodeSmtpMessage[];
  /** Every AUTH exchange so far, in order. */
  readonly authAttempts: readonly NodeSmtpAuthAttempt[];
  /** Errors smtp-server reported (socket errors, protocol errors). */
  readonly errors: readonly Error[];
  /**
   * Waits for the next message not yet returned by this method.
   *
   * @param timeoutMs How long to wait. @default {5000}
   */
  nextMessage(timeoutMs?: number): Promise<NodeSmtpMessage>;
}

/**
 * Starts smtp-server in this process on a port of 127.0.0.1 chosen by the
 * system. Disposing it closes every connection and the listener.
 *
 * @param options TLS, AUTH and extension behaviour.
 * @returns The running server.
 * @example Implicit TLS
 * ```ts ignore
 * await using server = await startNodeSmtpServer({ secure: true });
 * // ... send with tls "implicit", caCerts: [server.certs.caCert] ...
 * const message = await server.nextMessage();
 * ```
 */
export async function startNodeSmtpServer(
  options: NodeSmtpServerOptions = {},
): Promise<NodeSmtpServer> {
  const certs = options.certs ?? await makeTestCerts();
  const server = new Capture(options, certs);
  await server.listen();
  return server;
}

function addressArgs(a: SMTPServerAddress): Record<string, string | true> {
  return a.args ? { ...a.args } : {};
}

class Capture implements NodeSmtpServer {
  readonly hostname = "127.0.0.1";
  port = 0;
  readonly certs: TestCerts;
  readonly messages: NodeSmtpMessage[] = [];
  readonly authAttempts: NodeSmtpAuthAttempt[] = [];
  readonly errors: Error[] = [];
  readonly #server: SMTPServer;
  readonly #sockets = new Set<Socket>();
  #taken = 0;
  #waiters: (() => void)[] = [];

  constructor(options: NodeSmtpServerOptions, certs: TestCerts) {
    this.certs = certs;
    const auth = options.auth;
    const hide = new Set(options.hide ?? []);
    const reject = new Map(
      Object.entries(options.rejectRecipients ?? {}).map((
        [k, v],
      ) => [k.toLowerCase(), v]),
    );
    const disabled: string[] = [];
    if (!auth) disabled.push("AUTH");
    if (!options.secure && options.starttls === false) {
      disabled.push("STARTTLS");
    }
    this.#server = new SMTPServer({
      name: "smtp-server.test",
      banner: "smtp-server test server",
      secure: options.secure ?? false,
      key: certs.key,
      cert: certs.cert,
      logger: false,
      disableReverseLookup: true,
      disabledCommands: disabled,
      authMethods: auth?.methods ?? ["PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2"],
      authOptional: !options.authRequired,
      allowInsecureAuth: options.allowInsecureAuth ?? false,
      ...(options.size !== undefined
        ? { size: options.size, rejectOversized: true }
        : {}),
      hideDSN: !options.dsn,
      hideREQUIRETLS: !options.requireTls,
      hidePIPELINING: hide.has("PIPELINING"),
      hide8BITMIME: hide.has("8BITMIME"),
      hideSMTPUTF8: hide.has("SMTPUTF8"),
      hideENHANCEDSTATUSCODES: hide.has("ENHANCEDSTATUSCODES"),
      ...(options.name !== undefined ? { name: options.name } : {}),
      onAuth: (a, session, callback) => {
        let success = false;
        if (auth && a.username === auth.username) {
          if (a.method === "XOAUTH2") {
            success = auth.accessToken !== undefined &&
              a.accessToken === auth.accessToken;
          } else if (a.method === "CRAM-MD5") {
            success = auth.password !== undefined &&
              a.validatePassword(auth.password);
          } else {
            success = auth.password !== undefined &&
              a.password === auth.password;
          }
        }
        this.authAttempts.push({
          method: a.method,
          username: a.username ?? "",
          success,
          secure: session.secure,
        });
        if (success) {
          callback(null, { user: { method: a.method, username: a.username } });
        } else if (a.method === "XOAUTH2") {
          callback(null, {
            data: { status: "401", schemes: "bearer", scope: "mail" },
          });
        } else {
          callback(new Error("Invalid username or password"));
        }
      },
      onRcptTo: (address, _session, callback) => {
        const refusal = reject.get(address.address.toLowerCase());
        if (refusal) {
          const error = new Error(refusal[1]) as Error & {
            responseCode: number;
          };
          error.responseCode = refusal[0];
          return callback(error);
        }
        callback();
      },
      onData: (stream, session, callback) => {
        const chunks: Uint8Array[] = [];
        stream.on("data", (chunk: Uint8Array) => chunks.push(chunk));
        stream.on("end", () => {
          if (stream.sizeExceeded) {
            const error = new Error("Message exceeds the size limit") as
              & Error
              & { responseCode: number };
            error.responseCode = 552;
            return callback(error);
          }
          const data = concatBytes(chunks);
          const envelope = session.envelope;
          const user = session.user as NodeSmtpAuth | undefined;
          this.messages.push({
            mailFrom: envelope.mailFrom ? envelope.mailFrom.address : "",
            mailParams: envelope.mailFrom ? addressArgs(envelope.mailFrom) : {},
            rcptTo: envelope.rcptTo.map((r) => r.address),
            rcptParams: envelope.rcptTo.map(addressArgs),
            data,
            text: new TextDecoder().decode(data),
            helo: session.hostNameAppearsAs,
            transmissionType: session.transmissionType,
            secure: session.secure,
            tlsVersion: session.tlsOptions
              ? session.tlsOptions.version
              : undefined,
            auth: user
              ? { method: user.method, username: user.username }
              : null,
            smtpUtf8: envelope.smtpUtf8 ?? false,
            bodyType: envelope.bodyType,
            requireTls: envelope.requireTLS ?? false,
            dsn: envelope.dsn ? { ...envelope.dsn } : undefined,
            rcptDsn: envelope.rcptTo.map((r) =>
              r.dsn ? { ...r.dsn } : undefined
            ),
          });
          this.#wake();
          callback();
        });
      },
      ...options.serverOptions,
    });
    this.#server.on("error", (error: Error) => this.errors.push(error));
    this.#server.server.on("connection", (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
    });
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.server.once("error", reject);
      this.#server.listen(0, "127.0.0.1", () => {
        this.#server.server.off("error", reject);
        const address = this.#server.server.address();
        if (address && typeof address === "object") this.port = address.port;
        resolve();
      });
    });
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  async nextMessage(timeoutMs = 5000): Promise<NodeSmtpMessage> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length <= this.#taken) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `Timed out after ${timeoutMs} ms waiting for a message at smtp-server`,
        );
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
    return this.messages[this.#taken++]!;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    const closed = new Promise<void>((resolve) =>
      this.#server.close(() => resolve())
    );
    // smtp-server waits for sessions to end (up to closeTimeout); end them.
    for (const socket of this.#sockets) socket.destroy();
    await closed;
    this.#wake();
  }
}
