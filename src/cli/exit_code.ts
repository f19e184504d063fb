/**
 * The exit statuses of the sendmail command, from BSD `sysexits.h`: the
 * values sendmail(8), Postfix and msmtp use, which callers such as cron, mail
 * user agents and `git send-email` understand. `TEMPFAIL` (75) means "try
 * again later"; every other non-zero status is permanent.
 *
 * @example Telling a caller to retry
 * ```ts
 * import { ExitCode } from "@x/sendmail/cli";
 * console.log(ExitCode.TEMPFAIL); // 75
 * ```
 */
export const ExitCode = {
  /** Successful termination. */
  OK: 0,
  /** The command was used incorrectly: a bad flag or argument, no recipient. */
  USAGE: 64,
  /** The input data was incorrect: the server refused the sender, a recipient or the message (5xx). */
  DATAERR: 65,
  /** The host name of the server could not be resolved. */
  NOHOST: 68,
  /** A service is unavailable: the server refused the session, or lacks a needed extension. */
  UNAVAILABLE: 69,
  /** An internal software error. */
  SOFTWARE: 70,
  /** An error reading the message from standard input. */
  IOERR: 74,
  /** A temporary failure (4xx reply, dropped connection, timeout): the caller should retry later. */
  TEMPFAIL: 75,
  /** The server broke the SMTP protocol, or TLS could not be set up. */
  PROTOCOL: 76,
  /** Permission denied: authentication failed. */
  NOPERM: 77,
  /** A configuration error. */
  CONFIG: 78,
} as const;

/** One of the {@linkcode ExitCode} values. */
export type ExitCodeValue = typeof ExitCode[keyof typeof ExitCode];
