import type {
  ConnectionFailure,
  ConnectionFailureReason,
} from "./connection.ts";

const REASONS: ReadonlySet<string> = new Set<ConnectionFailureReason>([
  "dns",
  "refused",
  "reset",
  "timeout",
  "tls-verify",
  "tls-handshake",
]);

/**
 * Makes the error an adapter rejects with: `message` for people, and a
 * `cause` of `{ reason, error }` for the session to classify.
 *
 * @param message What failed, in sentence case.
 * @param reason The class of failure.
 * @param error The runtime's own error.
 * @returns The error.
 *
 * @example Classifying a refused connection
 * ```ts
 * import { connectionFailure, failureReason } from "./connection_failure.ts";
 * const error = connectionFailure("Cannot connect to localhost:1: connection refused", "refused");
 * console.log(failureReason(error)); // "refused"
 * ```
 */
export function connectionFailure(
  message: string,
  reason: ConnectionFailureReason,
  error?: unknown,
): Error {
  const cause: ConnectionFailure = error === undefined
    ? { reason }
    : { reason, error };
  return new Error(message, { cause });
}

/**
 * The reason an adapter gave for a failure, when it gave one.
 *
 * @param error What an adapter rejected with.
 * @returns The reason, or `undefined` when the error is not classified.
 */
export function failureReason(
  error: unknown,
): ConnectionFailureReason | undefined {
  if (!(error instanceof Error)) return undefined;
  const cause = error.cause as { reason?: unknown } | undefined;
  const reason = typeof cause === "object" && cause !== null
    ? cause.reason
    : undefined;
  return typeof reason === "string" && REASONS.has(reason)
    ? reason as ConnectionFailureReason
    : undefined;
}
