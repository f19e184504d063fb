import type { DkimOptions } from "../dkim/dkim_options.ts";
import type { PasswordAuth, TokenAuth } from "../sasl/credentials.ts";
import type { Connect } from "../transport/connection.ts";

/**
 * How TLS is used:
 * - `"implicit"`: TLS from the first byte (port 465).
 * - `"starttls"`: plaintext, then STARTTLS, which is required: a server that
 *   does not offer it fails the session before anything is sent.
 * - `"opportunistic"`: STARTTLS when offered, plaintext otherwise.
 * - `"none"`: plaintext only.
 */
export type TlsMode = "implicit" | "starttls" | "opportunistic" | "none";

/** Timeouts per phase, in milliseconds (RFC 5321 §4.5.3.2 defaults). */
export interface SmtpTimeouts {
  /** Opening the TCP (and TLS) connection. @default {30000} */
  connect?: number;
  /** Waiting for the 220 greeting. @default {300000} */
  greeting?: number;
  /** Waiting for the reply to a command (EHLO, MAIL, RCPT, DATA, AUTH …). @default {300000} */
  command?: number;
  /** Writing one block of message data. @default {180000} */
  data?: number;
  /** Waiting for the reply after the final dot. @default {600000} */
  dataEnd?: number;
  /** Waiting for the reply to QUIT; `quit()` returns after it either way. @default {10000} */
  quit?: number;
}

/** One line of the session transcript, for a {@linkcode SmtpLogger}. */
export interface SmtpLogEvent {
  /** Who sent the line, or `"info"` for a note from the client. */
  type: "client" | "server" | "info";
  /** The line without its CRLF; credentials are shown as `[redacted]`. */
  text: string;
}

/** Receives the session transcript. */
export type SmtpLogger = (event: SmtpLogEvent) => void;

/** Options of `SmtpClient.connect` and `sendmail`. */
export interface SmtpClientOptions {
  /** The server's host name or IP address (also the name TLS verifies). */
  hostname: string;
  /** The port. @default {465 with tls "implicit", else 587} */
  port?: number;
  /**
   * A unix socket to connect to instead of `hostname:port` (an LMTP server
   * such as Dovecot's listens on one). `hostname` still names the server
   * for TLS; the socket counts as local, so credentials may cross it
   * without TLS.
   */
  path?: string;
  /** How TLS is used. @default {"implicit" on port 465, else "starttls"} */
  tls?: TlsMode;
  /** Extra trusted CA certificates (PEM), added to the system roots. */
  caCerts?: string[];
  /** The EHLO argument. @default {"localhost"} */
  clientName?: string;
  /** Credentials; never sent without TLS except to a loopback address. */
  auth?: PasswordAuth | TokenAuth;
  /** Timeouts per phase, in milliseconds. */
  timeouts?: SmtpTimeouts;
  /** Aborts the whole session: the socket is closed and calls reject with the reason. */
  signal?: AbortSignal;
  /** Receives the transcript; nothing is printed by default. */
  logger?: SmtpLogger;
  /**
   * Use BDAT (RFC 3030) when the server offers CHUNKING and PIPELINING: the
   * envelope and a message of up to 64 KiB go in one round trip, with no
   * wait for a 354 reply. `false` always uses DATA.
   * @default {true}
   */
  chunking?: boolean;
  /**
   * Speak LMTP (RFC 2033) instead of SMTP: LHLO instead of EHLO, and after
   * the data one reply per accepted recipient; a recipient refused then is
   * listed in `rejected`.
   * @default {false}
   */
  lmtp?: boolean;
  /**
   * Signs every message sent with DKIM (RFC 6376; `@x/sendmail/dkim`): one
   * signature, or a list for several (RSA beside Ed25519). Checked, keys
   * imported, at connect: a bad option or key is a `TypeError` before
   * anything is sent. Each message is read once to hash its body before its
   * transaction begins, then read again to send it (a message with a
   * `ReadableStream` attachment or raw stream is held in memory instead, up
   * to `maxBufferSize`); SIZE counts the DKIM-Signature fields.
   * @default {no signature}
   */
  dkim?: DkimOptions | DkimOptions[];
  /**
   * Connect even to a port the hosting platform is known to block. Where
   * the runtime shows a platform that drops outgoing connections to the
   * port (Cloudflare Workers and Vercel: 25; Supabase Edge Functions: 25
   * and 587), the session fails at once with an `SmtpError` (kind
   * `"connection"`, command `"CONNECT"`, not temporary) that names the
   * platform and the ports to use instead (465, 587, 2465, 2525, 2587),
   * rather than waiting for the connect timeout. Set `true` when the
   * connection does not leave through the platform's network (a `connect`
   * transport that tunnels, a platform that lifted the block for you).
   * @default {false}
   */
  allowBlockedPorts?: boolean;
  /**
   * The transport seam.
   * @default {the runtime's own: denoConnect on Deno, nodeConnect on Node and Bun}
   */
  connect?: Connect;
}
