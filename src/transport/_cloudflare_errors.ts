import type { ConnectionFailureReason } from "./connection.ts";
import { connectionFailure } from "./connection_failure.ts";
import { printable } from "../protocol/_control.ts";

/** Where on its way a `cloudflare:sockets` socket failed. */
export type CloudflarePhase =
  /** Opening the TCP connection (`socket.opened`). */
  | "connect"
  /** The TLS handshake after `socket.startTls()`. */
  | "tls"
  /** A read or a write on an open connection. */
  | "io";

/** A connection that broke: workerd's own words for it. */
const RESET =
  /network connection lost|connection (was )?(reset|closed|aborted)|stream was cancelled|broken pipe|disconnected/i;
/** A name that did not resolve, where the runtime says so. */
const NO_HOST =
  /\bdns\b|failed to lookup address|name or service not known|no such host|could not resolve|NXDOMAIN/i;
/** A runtime that gave up waiting, where it says so. */
const TIMEOUT = /timed? ?out/i;
/** A handshake that failed for another reason than the certificate. */
const HANDSHAKE =
  /wrong version|unexpected (handshake )?message|invalid ?content ?type|protocol version|no (shared|common) cipher|handshake failure alert|not a TLS|record overflow/i;
/** A refused certificate, where the runtime says so. */
const VERIFY =
  /certificate|unknown ?issuer|self[- ]signed|not valid for name|verify|expired/i;

/**
 * Cloudflare's socket errors, classified into the seam's reasons
 * (`ConnectionFailure`). The one place that reads them: the session and the
 * command classify by the reason only.
 *
 * workerd says little: a socket that cannot be opened (a refused port, a
 * name that does not resolve, an address the platform does not allow)
 * fails with "proxy request failed, cannot connect to the specified
 * address", and a failed TLS handshake, whatever its cause (an untrusted
 * certificate, one for another name, a server that does not speak TLS),
 * with "internal error; reference = …". So a failure to open is
 * `"refused"` unless the message names DNS or a timeout, and a failed
 * handshake is `"tls-verify"` unless the message names another cause:
 * `cloudflareConnect` upgrades implicit TLS itself right after the socket
 * opened, so that the phase alone tells a refused port from a refused
 * certificate.
 *
 * @param error What the socket rejected with.
 * @param what What failed, for the message ("Cannot connect to h:465").
 * @param phase Where the socket was on its way.
 * @returns An error with a `cause` of `{ reason, error }`.
 */
export function classifyCloudflareError(
  error: unknown,
  what: string,
  phase: CloudflarePhase,
): Error {
  const message = printable(
    error instanceof Error ? error.message : String(error),
  );
  let reason: ConnectionFailureReason;
  let detail = message;
  if (RESET.test(message)) reason = "reset";
  else if (phase === "connect") {
    if (NO_HOST.test(message)) reason = "dns";
    else if (TIMEOUT.test(message)) reason = "timeout";
    else {
      reason = "refused";
      if (/proxy request failed/i.test(message)) {
        detail =
          `${message} (the port refused, the name did not resolve, or the platform does not allow the address: the runtime does not say which)`;
      }
    }
  } else if (phase === "tls") {
    if (HANDSHAKE.test(message)) reason = "tls-handshake";
    else if (TIMEOUT.test(message)) reason = "timeout";
    else {
      reason = "tls-verify";
      if (!VERIFY.test(message)) {
        detail =
          `the TLS handshake failed: the server's certificate was not accepted (untrusted, or not valid for the name), or the server does not speak TLS there; the runtime says only ${
            JSON.stringify(message)
          }`;
      }
    }
  } else reason = TIMEOUT.test(message) ? "timeout" : "reset";
  return connectionFailure(`${what}: ${detail}`, reason, error);
}
