/**
 * A byte-stream connection to an SMTP server: the transport seam. The client
 * core only talks to this interface; the default opens one with
 * `Deno.connect` / `Deno.connectTls`, and adapters can provide one for other
 * runtimes.
 *
 * Contract for `startTls`: the core calls it only after releasing every
 * reader and writer lock on `readable` and `writable`, with no read pending.
 * It resolves once the TLS handshake has completed (certificate verified
 * against `hostname`), with a new connection for the encrypted stream.
 */
export interface Connection {
  /** Bytes from the server. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes to the server. */
  readonly writable: WritableStream<Uint8Array>;
  /** Whether the connection is encrypted. */
  readonly secure: boolean;
  /** Upgrades the connection to TLS (STARTTLS); see the contract above. */
  startTls(options: StartTlsOptions): Promise<Connection>;
  /** Closes the connection; safe to call more than once. */
  close(): void;
}

/** Options for {@linkcode Connection.startTls}. */
export interface StartTlsOptions {
  /** The name the certificate must match. */
  hostname: string;
  /** Extra trusted CA certificates (PEM), added to the system roots. */
  caCerts?: string[];
}

/** What a {@linkcode Connect} function is asked to open. */
export interface ConnectOptions {
  /** The host to connect to. */
  hostname: string;
  /** The TCP port. */
  port: number;
  /** Whether to speak TLS from the first byte (implicit TLS, port 465). */
  tls: boolean;
  /** Extra trusted CA certificates (PEM). */
  caCerts?: string[];
  /** Aborts the connection attempt. */
  signal?: AbortSignal;
}

/** Opens a {@linkcode Connection}: the transport seam's factory. */
export type Connect = (options: ConnectOptions) => Promise<Connection>;
