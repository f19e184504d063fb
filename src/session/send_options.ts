/** Delivery status notification requests (RFC 3461). */
export interface DsnOptions {
  /** When to notify: `"never"`, or any of success, failure and delay. */
  notify?: "never" | ("success" | "failure" | "delay")[];
  /** Return the full message or only its headers in a failure report. */
  ret?: "full" | "hdrs";
  /** An envelope identifier echoed in the report (ENVID). */
  envelopeId?: string;
}

/** Options for one `send()`. */
export interface SendOptions {
  /** Delivery status notifications; used only when the server offers DSN. */
  dsn?: DsnOptions;
  /** Require TLS on every hop (RFC 8689): only over TLS, and only when offered. */
  requireTls?: boolean;
  /** Aborts this send: the connection is closed and the call rejects with the reason. */
  signal?: AbortSignal;
}
