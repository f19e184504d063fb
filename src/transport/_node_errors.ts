import type { ConnectionFailureReason } from "./connection.ts";
import { connectionFailure } from "./connection_failure.ts";

/** Resolver codes that mean "no such host". */
const NO_HOST = new Set(["ENOTFOUND", "EAI_NONAME", "EAI_NODATA", "ENODATA"]);
/** Resolver codes that mean a temporary failure: a retry may help. */
const DNS_TEMPORARY = new Set(["EAI_AGAIN", "ETIMEOUT", "ESERVFAIL"]);
/** System codes of a connection that broke or was never fully there. */
const RESET = new Set([
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ENOTCONN",
  "ERR_SOCKET_CLOSED",
  "ERR_STREAM_DESTROYED",
  "ERR_STREAM_PREMATURE_CLOSE",
  "ERR_STREAM_WRITE_AFTER_END",
]);
/**
 * OpenSSL's (and BoringSSL's, for Bun) verification codes, and Node's own
 * host name check: the certificate was not trusted or not for this host.
 */
const VERIFY = new Set([
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_DECRYPT_CERT_SIGNATURE",
  "UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY",
  "CERT_SIGNATURE_FAILURE",
  "CERT_NOT_YET_VALID",
  "CERT_HAS_EXPIRED",
  "ERROR_IN_CERT_NOT_BEFORE_FIELD",
  "ERROR_IN_CERT_NOT_AFTER_FIELD",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "CERT_CHAIN_TOO_LONG",
  "CERT_REVOKED",
  "INVALID_CA",
  "INVALID_PURPOSE",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "HOSTNAME_MISMATCH",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "ERR_TLS_CERT_ALTNAME_FORMAT",
]);

/**
 * Node's (and Bun's) network errors, classified into the seam's reasons
 * (`ConnectionFailure`) by their `code`. The one place that reads them; the
 * session and the command classify by the reason only.
 *
 * @param error What node:net or node:tls reported.
 * @param what What failed, for the message ("Cannot connect to h:25").
 * @param tls Whether a TLS handshake was under way.
 * @returns An error with a `cause` of `{ reason, error }`.
 */
export function classifyNodeError(
  error: unknown,
  what: string,
  tls = false,
): Error {
  const code = typeof (error as { code?: unknown })?.code === "string"
    ? (error as { code: string }).code
    : "";
  const message = error instanceof Error ? error.message : String(error);
  let reason: ConnectionFailureReason;
  // ENOENT: no unix socket at that path.
  if (/^(ECONNREFUSED|ENOENT|ENETUNREACH|EHOSTUNREACH)$/.test(code)) {
    reason = "refused";
  } else if (NO_HOST.has(code)) reason = "dns";
  else if (DNS_TEMPORARY.has(code) || code === "ETIMEDOUT") reason = "timeout";
  else if (VERIFY.has(code)) reason = "tls-verify";
  else if (RESET.has(code)) reason = "reset";
  else if (tls) reason = "tls-handshake";
  else reason = "reset";
  return connectionFailure(`${what}: ${message}`, reason, error);
}
