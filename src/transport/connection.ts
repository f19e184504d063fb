/**
 * The transport seam: a byte-stream connection to an SMTP server, and the
 * factory that opens one. The session talks only to these types; one adapter
 * per runtime implements them (`denoConnect`, `nodeConnect`,
 * `cloudflareConnect`), and every adapter passes the same conformance suite
 * (`tests/transport/`).
 *
 * ## Contract
 *
 * **Intent at connect time.** {@linkcode ConnectOptions.tls} says what the
 * session will do: `"implicit"` (TLS from the first byte), `"starttls"`
 * (plaintext now, an upgrade may follow: Cloudflare's `secureTransport:
 * "starttls"` must be chosen at connect) or `"none"` (plaintext for good).
 *
 * **No read-ahead.** An adapter reads from the socket only when its
 * `readable` is pulled (a `highWaterMark` of 0), so bytes a server sends
 * after its `220` to STARTTLS stay unread and visible to the session, which
 * refuses them (RFC 3207 §6). An adapter that cannot avoid holding bytes
 * must reject `startTls` while it holds any.
 *
 * **STARTTLS.** The session calls `startTls` only after releasing every
 * reader and writer lock, with no read pending. It resolves once the
 * handshake has completed and the certificate was verified against
 * `hostname` (system roots plus `caCerts`), with a new connection for the
 * encrypted stream; the old one is not used again.
 *
 * **Writes.** A write resolves once the socket has taken the bytes (not
 * once the peer acknowledged them): the server's reply may arrive before a
 * runtime's write callback would fire.
 *
 * **Failures.** An adapter rejects (connect, `startTls`, a read or a write)
 * with an error whose `cause` is a {@linkcode ConnectionFailure}: its
 * `reason` classifies the failure, so the session and the command classify
 * by that and never by a runtime's error message. An option the runtime
 * cannot honour (custom `caCerts` on Cloudflare) is a `TypeError`, thrown as
 * is. An aborted `signal` rejects with the signal's reason; a socket that
 * opens after the abort is closed.
 *
 * **Close.** `close()` is idempotent, never throws and never waits: it
 * releases the socket (also during a handshake in progress) and makes
 * pending reads end.
 *
 * @module
 */

/** A byte-stream connection to an SMTP server. See the module doc for the contract. */
export interface Connection {
  /** Bytes from the server, read only when pulled (no read-ahead). */
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes to the server; a write resolves when the socket has taken them. */
  readonly writable: WritableStream<Uint8Array>;
  /** Whether the connection is encrypted. */
  readonly secure: boolean;
  /** Upgrades the connection to TLS (STARTTLS); see the contract. */
  startTls(options: StartTlsOptions): Promise<Connection>;
  /** Closes the connection; safe to call more than once, never waits. */
  close(): void;
}

/** Options for {@linkcode Connection.startTls}. */
export interface StartTlsOptions {
  /** The name the certificate must match (also sent as SNI when a name). */
  hostname: string;
  /** Extra trusted CA certificates (PEM), added to the system roots. */
  caCerts?: string[];
}

/**
 * What the session intends to do with TLS on a connection:
 * - `"implicit"`: TLS from the first byte (port 465, 2465);
 * - `"starttls"`: plaintext now, an upgrade with STARTTLS may follow;
 * - `"none"`: plaintext for the whole session.
 */
export type ConnectTls = "implicit" | "starttls" | "none";

/** What a {@linkcode Connect} function is asked to open. */
export interface ConnectOptions {
  /** The host to connect to. */
  hostname: string;
  /** The TCP port. */
  port: number;
  /**
   * A unix socket to connect to instead of `hostname:port` (Dovecot's LMTP
   * listens on one); `hostname` still names the server for TLS. An adapter
   * whose runtime has no unix sockets throws a `TypeError`.
   */
  path?: string;
  /** The TLS intent, known at connect time. */
  tls: ConnectTls;
  /** Extra trusted CA certificates (PEM), added to the system roots. */
  caCerts?: string[];
  /** Aborts the connection attempt. */
  signal?: AbortSignal;
}

/** Opens a {@linkcode Connection}: the transport seam's factory. */
export type Connect = (options: ConnectOptions) => Promise<Connection>;

/**
 * Why a connection failed, as an adapter classifies it:
 * - `"dns"`: the host name could not be resolved;
 * - `"refused"`: nothing listens there (or a firewall refused);
 * - `"reset"`: the connection was reset or closed unexpectedly (also during
 *   a TLS handshake);
 * - `"timeout"`: the runtime gave up waiting;
 * - `"tls-verify"`: the server's certificate was not trusted or not valid
 *   for the host name;
 * - `"tls-handshake"`: the TLS handshake failed otherwise (no TLS there,
 *   no common protocol version or cipher).
 */
export type ConnectionFailureReason =
  | "dns"
  | "refused"
  | "reset"
  | "timeout"
  | "tls-verify"
  | "tls-handshake";

/** The `cause` of an error an adapter rejects with. */
export interface ConnectionFailure {
  /** The class of failure. */
  reason: ConnectionFailureReason;
  /** The runtime's own error, for diagnostics. */
  error?: unknown;
}
