import type { ExitCodeValue } from "./exit_code.ts";

/**
 * A failure of the sendmail command that is not an SMTP session error: bad
 * usage, configuration or input. Carries the exit status to end with.
 *
 * @example
 * ```ts
 * import { CliError, parseArgs } from "@x/sendmail/cli";
 *
 * try {
 *   parseArgs(["-Z"]);
 * } catch (error) {
 *   if (error instanceof CliError) console.log(error.exitCode); // 64
 * }
 * ```
 */
export class CliError extends Error {
  /** The exit status. */
  readonly exitCode: ExitCodeValue;

  /**
   * Creates an error.
   *
   * @param message Sentence case, no trailing period.
   * @param exitCode The exit status.
   * @param options The cause, if any.
   */
  constructor(
    message: string,
    exitCode: ExitCodeValue,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}
