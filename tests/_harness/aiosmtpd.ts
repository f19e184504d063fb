/**
 * aiosmtpd (Debian's python3-aiosmtpd, run by /usr/bin/python3) as a
 * disposable test server: STARTTLS or implicit TLS with the test
 * certificates, AUTH PLAIN, LOGIN, CRAM-MD5, XOAUTH2 and OAUTHBEARER
 * against given accounts, and the exact bytes of every message.
 *
 * @module
 */

import { makeTestCerts, type TestCerts } from "./certs.ts";
import { PYTHON } from "./interop.ts";
import { ChildLines } from "./process.ts";

/** An account aiosmtpd accepts. */
export interface AiosmtpdUser {
  /** The login. */
  username: string;
  /** Its password, for PLAIN, LOGIN and CRAM-MD5. */
  password?: string;
  /** Its bearer token, for XOAUTH2 and OAUTHBEARER. */
  accessToken?: string;
}

/** Options for {@linkcode startAiosmtpd}. */
export interface AiosmtpdOptions {
  /** Offer STARTTLS. @default {true} */
  starttls?: boolean;
  /** Refuse everything but EHLO, STARTTLS, NOOP, QUIT before TLS (aiosmtpd `require_starttls`). @default {false} */
  requireStarttls?: boolean;
  /** Speak TLS from the first byte (port 465 style); no STARTTLS then. @default {false} */
  implicitTls?: boolean;
  /** Accounts; AUTH is offered (after TLS, see `authRequireTls`). @default {[]} */
  auth?: AiosmtpdUser[];
  /** Restrict the offered mechanisms, e.g. `["LOGIN"]`. @default {all five} */
  authMechanisms?: string[];
  /** Refuse MAIL until authenticated (aiosmtpd `auth_required`). @default {false} */
  authRequired?: boolean;
  /** Offer AUTH only over TLS (aiosmtpd `auth_require_tls`). @default {true} */
  authRequireTls?: boolean;
  /** Offer SMTPUTF8. @default {true} */
  smtputf8?: boolean;
  /** SIZE limit in bytes; 0 offers no SIZE. @default {33554432} */
  sizeLimit?: number;
  /** The name in the greeting and EHLO reply. @default {"aiosmtpd.test"} */
  hostname?: string;
  /** The greeting's text after the name. @default {"aiosmtpd test server"} */
  ident?: string;
  /** Recipients to refuse, with the whole reply: `{ "x@y": "550 5.1.1 No such user" }`. */
  rejectRecipients?: Record<string, string>;
  /** The reply to the final "." instead of `250 2.0.0 OK`. */
  dataReply?: string;
  /** The certificate to serve. @default {await makeTestCerts()} */
  certs?: TestCerts;
  /** The port; 0 lets the system choose. @default {0} */
  port?: number;
}

/** Authentication, as the server saw it. */
export interface AiosmtpdAuth {
  /** `PLAIN`, `LOGIN`, `CRAM-MD5`, `XOAUTH2` or `OAUTHBEARER`. */
  mechanism: string;
  /** The login the client sent. */
  login: string | null;
}

/** An AUTH exchange, successful or not. */
export interface AiosmtpdAuthAttempt extends AiosmtpdAuth {
  /** Whether the credentials were accepted. */
  success: boolean;
  /** Whether the exchange ran over TLS. */
  tls: boolean;
}

/** One message as aiosmtpd received it. */
export interface AiosmtpdMessage {
  /** The reverse-path (aiosmtpd strips the angle brackets); `""` for `<>`. */
  mailFrom: string;
  /** MAIL FROM parameters, e.g. `["BODY=8BITMIME", "SIZE=120"]`. */
  mailOptions: string[];
  /** The accepted forward-paths, in order. */
  rcptTo: string[];
  /** RCPT TO parameters for each accepted recipient. */
  rcptOptions: string[][];
  /** The message bytes exactly, dot-stuffing undone, final CRLF included. */
  data: Uint8Array;
  /** {@linkcode AiosmtpdMessage.data} decoded as UTF-8. */
  text: string;
  /** Whether MAIL FROM carried SMTPUTF8. */
  smtputf8: boolean;
  /** The EHLO/HELO argument. */
  helo: string | null;
  /** Whether the session began with EHLO. */
  extendedSmtp: boolean;
  /** The authentication of the session, or `null`. */
  auth: AiosmtpdAuth | null;
  /** The TLS of the session, or `null` in plaintext. */
  tls: { version: string; cipher: string | null } | null;
}

/** A running aiosmtpd; dispose it with `await using`. */
export interface Aiosmtpd extends AsyncDisposable {
  /** Always `127.0.0.1`. */
  readonly hostname: string;
  /** The port it listens on. */
  readonly port: number;
  /** The certificates it serves; trust `certs.caCert`. */
  readonly certs: TestCerts;
  /** Every message received so far, in order. */
  messages(): Promise<AiosmtpdMessage[]>;
  /**
   * Waits for the next message not yet returned by this method.
   *
   * @param timeoutMs How long to wait. @default {5000}
   * @throws {Error} On timeout.
   */
  nextMessage(timeoutMs?: number): Promise<AiosmtpdMessage>;
  /** Every AUTH exchange so far, in order. */
  authAttempts(): Promise<AiosmtpdAuthAttempt[]>;
  /** What aiosmtpd logged to stderr. */
  readonly stderr: string;
}

const SCRIPT = new URL("./aiosmtpd_server.py", import.meta.url).pathname;

/**
 * Starts aiosmtpd on 127.0.0.1 and waits until it listens.
 *
 * @param options TLS, AUTH and reply behaviour.
 * @returns The running server.
 * @throws {Error} When aiosmtpd is missing or does not start.
 * @example STARTTLS and AUTH
 * ```ts ignore
 * await using server = await startAiosmtpd({
 *   auth: [{ username: "joe", password: "secret" }],
 * });
 * // ... send with caCerts: [server.certs.caCert], hostname "localhost" ...
 * const message = await server.nextMessage();
 * assertEquals(message.auth, { mechanism: "PLAIN", login: "joe" });
 * ```
 */
export async function startAiosmtpd(
  options: AiosmtpdOptions = {},
): Promise<Aiosmtpd> {
  const certs = options.certs ?? await makeTestCerts();
  const dir = await Deno.makeTempDir({ prefix: "sendmail_aiosmtpd_" });
  const eventsFile = `${dir}/events.jsonl`;
  await Deno.writeTextFile(eventsFile, "");
  const tls = options.implicitTls || (options.starttls ?? true);
  const config = {
    eventsFile,
    port: options.port ?? 0,
    implicitTls: options.implicitTls ?? false,
    certFile: tls ? certs.certFile : undefined,
    keyFile: tls ? certs.keyFile : undefined,
    requireStarttls: options.requireStarttls ?? false,
    auth: options.auth ?? [],
    authMechanisms: options.authMechanisms,
    authRequired: options.authRequired ?? false,
    authRequireTls: options.authRequireTls ?? true,
    smtputf8: options.smtputf8 ?? true,
    sizeLimit: options.sizeLimit ?? 33554432,
    hostname: options.hostname,
    ident: options.ident,
    rejectRecipients: options.rejectRecipients,
    dataReply: options.dataReply,
  };
  const child = new ChildLines(PYTHON, [SCRIPT, JSON.stringify(config)], {
    env: { PYTHONUNBUFFERED: "1", PYTHONDONTWRITEBYTECODE: "1" },
  });
  try {
    const line = await child.nextLine(10_000);
    const ready = line === null ? undefined : JSON.parse(line);
    if (ready?.event !== "ready") {
      throw new Error(
        `Cannot start aiosmtpd: ${line ?? "it exited"} ${child.stderr}`,
      );
    }
    return new AiosmtpdServer(child, ready.port, certs, dir, eventsFile);
  } catch (error) {
    await child[Symbol.asyncDispose]();
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
}

interface Event {
  event: string;
  [key: string]: unknown;
}

class AiosmtpdServer implements Aiosmtpd {
  readonly hostname = "127.0.0.1";
  readonly port: number;
  readonly certs: TestCerts;
  readonly #child: ChildLines;
  readonly #dir: string;
  readonly #eventsFile: string;
  #taken = 0;
  #parsed: Event[] = [];
  #parsedBytes = 0;

  constructor(
    child: ChildLines,
    port: number,
    certs: TestCerts,
    dir: string,
    eventsFile: string,
  ) {
    this.#child = child;
    this.port = port;
    this.certs = certs;
    this.#dir = dir;
    this.#eventsFile = eventsFile;
  }

  get stderr(): string {
    return this.#child.stderr;
  }

  /** Parses the events appended since the last call, then filters all. */
  async #events(event: string): Promise<Event[]> {
    const bytes = await Deno.readFile(this.#eventsFile);
    // A line without its "\n" is still being written: leave it for later.
    const end = bytes.lastIndexOf(0x0a) + 1;
    if (end > this.#parsedBytes) {
      const text = new TextDecoder().decode(
        bytes.subarray(this.#parsedBytes, end),
      );
      for (const line of text.split("\n")) {
        if (line) this.#parsed.push(JSON.parse(line) as Event);
      }
      this.#parsedBytes = end;
    }
    return this.#parsed.filter((e) => e.event === event);
  }

  async messages(): Promise<AiosmtpdMessage[]> {
    return (await this.#events("message")).map(toMessage);
  }

  async nextMessage(timeoutMs = 5000): Promise<AiosmtpdMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const messages = await this.messages();
      const next = messages[this.#taken];
      if (next) {
        this.#taken++;
        return next;
      }
      if (this.#child.exitStatus) {
        throw new Error(
          `Cannot receive a message: aiosmtpd exited ${this.stderr}`,
        );
      }
      if (Date.now() >= deadline) {
        throw new Error(
          `Timed out after ${timeoutMs} ms waiting for a message at aiosmtpd`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async authAttempts(): Promise<AiosmtpdAuthAttempt[]> {
    return (await this.#events("auth")).map((e) => ({
      mechanism: e.mechanism as string,
      login: e.login as string | null,
      success: e.success as boolean,
      tls: e.tls as boolean,
    }));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.#child[Symbol.asyncDispose]();
    } finally {
      await Deno.remove(this.#dir, { recursive: true });
    }
  }
}

function toMessage(e: Event): AiosmtpdMessage {
  const data = Uint8Array.fromBase64(e.data as string);
  return {
    mailFrom: e.mailFrom as string,
    mailOptions: e.mailOptions as string[],
    rcptTo: e.rcptTos as string[],
    rcptOptions: e.rcptOptions as string[][],
    data,
    text: new TextDecoder().decode(data),
    smtputf8: e.smtputf8 as boolean,
    helo: e.helo as string | null,
    extendedSmtp: e.extendedSmtp as boolean,
    auth: e.auth as AiosmtpdAuth | null,
    tls: e.tls as AiosmtpdMessage["tls"],
  };
}
