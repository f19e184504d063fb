import { parseSmtpUrl } from "../session/parse_smtp_url.ts";
import type { SmtpClientOptions } from "../session/smtp_client_options.ts";
import { CliError } from "./cli_error.ts";
import { ExitCode } from "./exit_code.ts";

/** What the command reads from `--url` or `SENDMAIL_URL`. */
export interface CommandUrl {
  /** The connection options. */
  options: SmtpClientOptions;
  /** The envelope sender of the command's own `from=` parameter. */
  from?: string;
}

/**
 * Reads the command's SMTP URL: `parseSmtpUrl`, plus the command's own
 * `from=` parameter (the envelope sender). A URL that cannot be used is a
 * configuration error (exit status 78), whatever part of it is wrong.
 *
 * @param url `--url` or `SENDMAIL_URL`.
 * @returns The options and the envelope sender.
 * @throws {CliError} Exit status 78, the message never repeating the URL.
 */
export function readSmtpUrl(url: string): CommandUrl {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError(
      "Invalid SMTP URL: it cannot be parsed as a URL",
      ExitCode.CONFIG,
    );
  }
  const from = parsed.searchParams.get("from") ?? undefined;
  parsed.searchParams.delete("from");
  try {
    const options = parseSmtpUrl(parsed);
    return from === undefined ? { options } : { options, from };
  } catch (error) {
    const detail = error instanceof TypeError
      ? error.message.replace(/^Cannot parse SMTP URL: /, "")
      : String(error);
    throw new CliError(`Invalid SMTP URL: ${detail}`, ExitCode.CONFIG);
  }
}
