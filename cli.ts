/**
 * A sendmail(8)-compatible command: a drop-in `/usr/sbin/sendmail` for cron,
 * `git send-email`, PHP's `mail()`, mutt and scripts, configured with an SMTP
 * URL or an msmtp configuration file.
 *
 * ```sh
 * printf 'Subject: backup\n\ndone\n' | deno run -A jsr:@x/sendmail/cli -i ops@example.com
 * deno task compile   # dist/sendmail, a single binary
 * ```
 *
 * The message is read from standard input as a stream: the header section is
 * read (at most 1 MiB) and edited as sendmail and msmtp do (Bcc removed;
 * From, Date and Message-ID added when missing), the body is passed through
 * untouched. The exit status follows sysexits.h, so that callers retry
 * exactly on temporary failures (75). See {@linkcode main} for the flags and
 * {@linkcode parseMsmtpConfig} for the configuration file.
 *
 * @example Run the command in a script
 * ```ts ignore
 * import { main } from "@x/sendmail/cli";
 * Deno.exit(await main(Deno.args));
 * ```
 *
 * @module
 */
import { main } from "./src/cli/main.ts";

export { type CliContext, main, type SendFunction } from "./src/cli/main.ts";
export {
  type CliArgs,
  type OutboxCommand,
  parseArgs,
} from "./src/cli/parse_args.ts";
export {
  type MsmtpAccount,
  type MsmtpAuth,
  parseMsmtpConfig,
  type ParseMsmtpConfigOptions,
} from "./src/cli/parse_msmtp_config.ts";
export { CliError } from "./src/cli/cli_error.ts";
export { ExitCode, type ExitCodeValue } from "./src/cli/exit_code.ts";
export { exitCodeForError } from "./src/cli/exit_code_for_error.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
