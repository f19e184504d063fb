import type { ConnectionFailureReason } from "./connection.ts";
import { connectionFailure } from "./connection_failure.ts";

/** Resolver messages that mean a temporary failure: a retry may help. */
const DNS_TEMPORARY = /temporary failure in name resolution|EAI_AGAIN/i;
/** Resolver messages that mean "no such host". */
const NO_HOST =
  /failed to lookup address|name or service not known|no address associated|nodename nor servname|no such host|NXDOMAIN/i;

/**
 * Deno's network errors, classified into the seam's reasons
 * (`ConnectionFailure`). The one place that reads Deno's error names and
 * messages; the session and the command classify by the reason only.
 *
 * @param error What Deno threw.
 * @param what What failed, for the message ("Cannot connect to h:25").
 * @param tls Whether a TLS handshake was under way.
 * @returns An error with a `cause` of `{ reason, error }`.
 */
export function classifyDenoError(
  error: unknown,
  what: string,
  tls = false,
): Error {
  const name = error instanceof Error ? error.name : "";
  const message = error instanceof Error ? error.message : String(error);
  let reason: ConnectionFailureReason;
  if (
    /^(ConnectionRefused|NetworkUnreachable|HostUnreachable|AddrNotAvailable|NotFound)$/
      .test(name)
  ) {
    reason = "refused";
  } else if (name === "TimedOut" || DNS_TEMPORARY.test(message)) {
    reason = "timeout";
  } else if (
    /^(UnexpectedEof|ConnectionReset|ConnectionAborted|BrokenPipe|NotConnected|Interrupted|BadResource)$/
      .test(name)
  ) {
    reason = "reset";
  } else if (/invalid peer certificate|certificate/i.test(message)) {
    reason = "tls-verify";
  } else if (tls) reason = "tls-handshake";
  else if (NO_HOST.test(message)) reason = "dns";
  else reason = "reset";
  return connectionFailure(`${what}: ${message}`, reason, error);
}
