import { SmtpError } from "../protocol/smtp_error.ts";
import type { ConnectionFailureReason } from "../transport/connection.ts";
import { failureReason } from "../transport/connection_failure.ts";
import { CliError } from "./cli_error.ts";
import { ExitCode, type ExitCodeValue } from "./exit_code.ts";

/** Commands whose permanent refusal means the sender, a recipient or the message is bad. */
const DATA_COMMANDS = new Set(["MAIL", "RCPT", "DATA", "BDAT", "."]);

/**
 * Chooses the exit status (sysexits.h) for an error thrown while sending, so
 * that callers retry exactly when retrying may help:
 *
 * | failure                                                    | status |
 * | ---------------------------------------------------------- | ------ |
 * | 4xx reply, dropped connection, refused connection, timeout | 75     |
 * | 5xx reply to MAIL, RCPT, DATA or BDAT                      | 65     |
 * | host name does not resolve                                 | 68     |
 * | authentication refused or impossible                       | 77     |
 * | malformed reply, TLS or STARTTLS failure, 5xx to EHLO      | 76     |
 * | 5xx greeting, missing extension (SIZE, SMTPUTF8 …)         | 69     |
 * | usage, configuration, input errors of the command          | 64, 78, 65, 74 |
 * | anything else                                              | 70     |
 *
 * @param error What was thrown.
 * @returns The exit status.
 *
 * @example A refused recipient is a data error
 * ```ts
 * import { exitCodeForError } from "@x/sendmail/cli";
 * import { SmtpError } from "@x/sendmail";
 *
 * const error = new SmtpError("Cannot send RCPT TO: server replied 550", {
 *   reply: { code: 550, lines: ["no such user"], text: "no such user" },
 *   command: "RCPT",
 * });
 * console.log(exitCodeForError(error)); // 65
 * ```
 */
export function exitCodeForError(error: unknown): ExitCodeValue {
  if (error instanceof CliError) return error.exitCode;
  const reason = reasonOf(error);
  if (reason === "dns") return ExitCode.NOHOST;
  if (error instanceof SmtpError) return exitCodeForSmtpError(error);
  if (error instanceof DOMException) {
    // An aborted or timed-out signal: the caller may try again.
    if (error.name === "AbortError" || error.name === "TimeoutError") {
      return ExitCode.TEMPFAIL;
    }
  }
  // The client rejects unusable envelope addresses or header data before
  // sending anything.
  if (error instanceof TypeError || error instanceof RangeError) {
    return ExitCode.DATAERR;
  }
  if (reason !== undefined) return ExitCode.TEMPFAIL;
  return ExitCode.SOFTWARE;
}

function exitCodeForSmtpError(error: SmtpError): ExitCodeValue {
  const command = error.command?.toUpperCase();
  switch (error.kind) {
    case "timeout":
    case "connection":
      return ExitCode.TEMPFAIL;
    case "auth":
      return error.temporary ? ExitCode.TEMPFAIL : ExitCode.NOPERM;
    case "protocol":
    case "tls":
      return error.temporary ? ExitCode.TEMPFAIL : ExitCode.PROTOCOL;
    case "unsupported":
      return ExitCode.UNAVAILABLE;
    case "closed":
      return ExitCode.SOFTWARE;
    case "reply":
      break;
  }
  const code = error.code ?? 0;
  if (error.temporary || (code >= 400 && code < 500)) return ExitCode.TEMPFAIL;
  if (command === "AUTH") return ExitCode.NOPERM;
  if (command !== undefined && DATA_COMMANDS.has(command)) {
    return ExitCode.DATAERR;
  }
  if (command === "EHLO" || command === "HELO" || command === "STARTTLS") {
    return ExitCode.PROTOCOL;
  }
  return ExitCode.UNAVAILABLE;
}

function* causes(error: unknown): Generator<unknown> {
  for (let depth = 0; depth < 8 && error !== undefined; depth++) {
    yield error;
    error = error instanceof Error ? error.cause : undefined;
  }
}

/** The seam reason a transport gave somewhere in the cause chain. */
function reasonOf(error: unknown): ConnectionFailureReason | undefined {
  for (const e of causes(error)) {
    const reason = failureReason(e);
    if (reason) return reason;
  }
  return undefined;
}
