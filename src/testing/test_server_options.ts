import type { ReceivedMessage } from "./received_message.ts";

/**
 * The extensions the capture server advertises by default, in EHLO order.
 * `STARTTLS` and `AUTH` are not in the list: they follow the `tls` and `auth`
 * options.
 *
 * @example Everything but CHUNKING
 * ```ts
 * import { DEFAULT_EXTENSIONS, startTestServer } from "@x/sendmail/testing";
 *
 * await using server = await startTestServer({
 *   extensions: DEFAULT_EXTENSIONS.filter((line) => line !== "CHUNKING"),
 * });
 * ```
 */
export const DEFAULT_EXTENSIONS: readonly string[] = Object.freeze([
  "PIPELINING",
  "SIZE 52428800",
  "8BITMIME",
  "SMTPUTF8",
  "DSN",
  "CHUNKING",
  "ENHANCEDSTATUSCODES",
]);

/** A SASL mechanism the capture server can offer. */
export type TestServerAuthMechanism =
  | "PLAIN"
  | "LOGIN"
  | "CRAM-MD5"
  | "SCRAM-SHA-256"
  | "SCRAM-SHA-1"
  | "XOAUTH2"
  | "OAUTHBEARER";

/** Who may log in to the capture server, and how. */
export interface TestServerAuth {
  /**
   * User name → secret. The secret is the password (PLAIN, LOGIN, CRAM-MD5,
   * SCRAM-SHA-256, SCRAM-SHA-1) or the OAuth 2.0 access token (XOAUTH2,
   * OAUTHBEARER).
   */
  users: Record<string, string>;
  /**
   * The mechanisms offered, in this order. SCRAM-SHA-256 and SCRAM-SHA-1
   * are offered only when listed here (a fresh random salt and 4096
   * iterations per exchange, no channel binding): name them to test a
   * client's SCRAM, e.g. `["SCRAM-SHA-256", "PLAIN"]`.
   * @default {["PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2", "OAUTHBEARER"]}
   */
  mechanisms?: TestServerAuthMechanism[];
  /** Refuse MAIL until the client has authenticated (530 5.7.0). @default {false} */
  required?: boolean;
  /**
   * Offer AUTH before STARTTLS when `tls` is `"starttls"`. Real servers do
   * not, so by default AUTH only appears in the EHLO reply after STARTTLS
   * (with `tls: "none"` it is always offered).
   * @default {false}
   */
  beforeStartTls?: boolean;
}

/**
 * The commands a hook can intercept. `"connect"` is the greeting,
 * `"DATA_END"` the end of a message (after the final dot of DATA, or after
 * the last BDAT chunk; under `lmtp` it runs once per accepted recipient,
 * whose address is then `args`, and its reply is that recipient's),
 * `"OTHER"` any other command line (EXPN, HELP, unknown verbs, empty
 * lines).
 */
export type HookVerb =
  | "connect"
  | "EHLO"
  | "HELO"
  | "LHLO"
  | "STARTTLS"
  | "AUTH"
  | "MAIL"
  | "RCPT"
  | "DATA"
  | "DATA_END"
  | "BDAT"
  | "RSET"
  | "NOOP"
  | "VRFY"
  | "QUIT"
  | "OTHER";

/** What a hook sees of the session when it runs. */
export interface HookSession {
  /** Whether TLS is up. */
  readonly secure: boolean;
  /** The argument of the last EHLO/HELO, if any since the connection or STARTTLS. */
  readonly helo?: string;
  /** The authenticated user, if any. */
  readonly authUser?: string;
  /** The sender of the open transaction, if MAIL was accepted. */
  readonly from?: string;
  /** The accepted recipients of the open transaction. */
  readonly to: readonly string[];
  /** How many messages this connection has delivered. */
  readonly messages: number;
}

/** The argument of a {@linkcode TestServerHook}. */
export interface HookContext {
  /** The command being handled. */
  readonly verb: HookVerb;
  /** The command line as received, without CRLF (`""` for connect and DATA_END). */
  readonly line: string;
  /** The text after the verb and one space (`"FROM:<a@example.com> SIZE=12"`). */
  readonly args: string;
  /** How many times this verb has come up on this connection, from 1. */
  readonly count: number;
  /** The connection's number, from 1, in the order the server accepted them. */
  readonly connection: number;
  /** The session state before the command takes effect. */
  readonly session: HookSession;
  /** DATA_END: the whole message; BDAT: this chunk. */
  readonly message?: Uint8Array;
}

/**
 * One step of a {@linkcode HookAction}:
 * - `"default"`: do what the server would have done (reply and take effect).
 * - `{ reply }`: send these reply lines (each gets a CRLF; a string may hold
 *   several lines separated by `"\n"`), then `extra` raw bytes, in one write.
 *   A reply starting with 2 or 3 takes the command's effect (sender set,
 *   recipient added, 354 enters DATA, the message is delivered, 220 to
 *   STARTTLS starts TLS, 235 to AUTH logs in); any other code does not.
 * - `{ raw }`: send these bytes as they are; no effect.
 * - `{ delay }`: wait this many milliseconds (replies so far are flushed first).
 * - `{ close: true }`: flush, then close the connection (TCP FIN, or TLS
 *   close_notify then FIN).
 * - `{ hang: true }`: never answer again; keep reading and discarding what
 *   the client sends until it or the server closes.
 * - `{ stopReading: true }`: stop reading from the socket at all, so the
 *   client's writes eventually block (a server stuck in DATA).
 */
export type HookStep =
  | "default"
  | {
    /** Reply lines, `"250 2.0.0 OK"` or `["250-first", "250 last"]`. */
    reply: string | readonly string[];
    /** Raw bytes sent right after the reply, in the same write. */
    extra?: string | Uint8Array;
  }
  | {
    /** Bytes to send as they are. */
    raw: string | Uint8Array;
  }
  | {
    /** Milliseconds to wait. */
    delay: number;
  }
  | {
    /** Close the connection. */
    close: true;
  }
  | {
    /** Stop answering. */
    hang: true;
  }
  | {
    /** Stop reading. */
    stopReading: true;
  };

/** What a hook asks for: one step, or steps run in order. */
export type HookAction = HookStep | readonly HookStep[];

/**
 * A scripted behaviour for one command. Returning nothing (or `"default"`)
 * leaves the command to the server.
 */
export type TestServerHook = (
  context: HookContext,
) => HookAction | void | Promise<HookAction | void>;

/** Hooks by command; see {@linkcode HookVerb}. */
export type TestServerHooks = { [verb in HookVerb]?: TestServerHook };

/** Options of {@linkcode startTestServer}. */
export interface TestServerOptions {
  /** The address to listen on. @default {"127.0.0.1"} */
  hostname?: string;
  /** The port to listen on; 0 picks a free one. @default {0} */
  port?: number;
  /**
   * TLS: `"starttls"` offers STARTTLS on a plaintext connection,
   * `"implicit"` speaks TLS from the first byte (port 465 style), `"none"`
   * is plaintext only. STARTTLS is the default because it is what a client's
   * default settings require.
   * @default {"starttls"}
   */
  tls?: "starttls" | "implicit" | "none";
  /** Refuse MAIL on a connection without TLS (530 5.7.0). @default {false} */
  requireTls?: boolean;
  /** The server certificate chain (PEM). @default {the built-in test certificate} */
  cert?: string;
  /** The private key of `cert` (PEM). @default {the built-in test key} */
  key?: string;
  /**
   * The CA certificate clients should trust, reported as
   * `TestServer.caCert`. @default {the built-in test CA, or `cert` when
   * `cert` is given}
   */
  caCert?: string;
  /** Accounts and SASL mechanisms; no AUTH is offered without it. */
  auth?: TestServerAuth;
  /**
   * The EHLO extension lines, as advertised (`"SIZE 1000"`, `"PIPELINING"`).
   * Known keywords are implemented: PIPELINING, SIZE (0 for no limit),
   * 8BITMIME, SMTPUTF8, DSN, CHUNKING (BDAT), ENHANCEDSTATUSCODES (without it
   * replies carry no enhanced codes), REQUIRETLS; other lines are advertised
   * as given. MAIL and RCPT parameters of extensions not listed are refused
   * (555 5.5.4), as BDAT is without CHUNKING.
   * @default {DEFAULT_EXTENSIONS}
   */
  extensions?: readonly string[];
  /** The server's name in the greeting and the EHLO reply. @default {"localhost"} */
  serverName?: string;
  /** The greeting text after `220 <serverName> `. @default {"ESMTP @x/sendmail test server"} */
  greeting?: string;
  /**
   * The longest command line accepted, in bytes without CRLF; longer ones get
   * 500 5.5.2. RFC 5321 requires 512 at least; AUTH lines need up to 12288.
   * @default {12288}
   */
  maxLineLength?: number;
  /** Recipients per message; more get 452 4.5.3. @default {100} */
  maxRecipients?: number;
  /** Scripted behaviour per command. */
  hooks?: TestServerHooks;
  /**
   * Prepend a `Received:` field to every message stored, as a real MTA
   * does: `from` the client's HELO name and address, `by` the server's
   * name, `with` ESMTP/ESMTPS/ESMTPSA…, the queue id of the reply, `for`
   * the recipient when there is one, the TLS version and cipher, the date.
   * Off by default, so `raw` holds exactly the bytes the client sent.
   * @default {false}
   */
  received?: boolean;
  /**
   * Speak LMTP (RFC 2033) instead of SMTP: LHLO instead of EHLO (EHLO and
   * HELO get 500), and after the data one reply per accepted recipient, each
   * from the `DATA_END` hook run for that recipient (`args`). A message is
   * stored with the recipients whose reply accepted it.
   * @default {false}
   */
  lmtp?: boolean;
  /**
   * Keep only the newest this many messages in `messages` (and the
   * transcripts of the newest this many connections in `transcripts`,
   * older ones emptied), so a long-running server holds bounded memory.
   * @default {Infinity}
   */
  maxMessages?: number;
  /**
   * Called with each message as it is stored, after the server replied to
   * it (a dev inbox shows it live this way). An error it throws is handled
   * as a hook's: `nextMessage` and `close` reject with it.
   */
  onMessage?: (message: ReceivedMessage) => void;
}
