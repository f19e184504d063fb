import type { AuthMechanism } from "../sasl/credentials.ts";
import type {
  SmtpClientOptions,
  TlsMode,
} from "../session/smtp_client_options.ts";
import { CliError } from "./cli_error.ts";
import { ExitCode } from "./exit_code.ts";

/** What an SMTP URL configures. */
export interface SmtpUrlConfig {
  /** The connection options: host, port, TLS mode, credentials. */
  options: SmtpClientOptions;
  /** The envelope sender from the `from` parameter, if given. */
  from?: string;
}

const TLS_MODES: readonly TlsMode[] = [
  "implicit",
  "starttls",
  "opportunistic",
  "none",
];
const MECHANISMS: readonly AuthMechanism[] = [
  "PLAIN",
  "LOGIN",
  "CRAM-MD5",
  "XOAUTH2",
  "OAUTHBEARER",
];

const configError = (message: string): CliError =>
  new CliError(message, ExitCode.CONFIG);

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw configError(
      `Invalid SMTP URL: the ${what} is not correctly percent-encoded`,
    );
  }
}

/**
 * Parses an SMTP server URL, as given with `--url` or in `SENDMAIL_URL`:
 *
 * - `smtp://host` — port 587, STARTTLS required;
 * - `smtps://host` — port 465, TLS from the first byte;
 * - `smtp://user:password@host:port` — credentials, percent-encoded
 *   (`%40` for "@", `%3A` for ":");
 * - `smtp://[::1]:25` — an IPv6 address;
 * - parameters: `tls=implicit|starttls|opportunistic|none`,
 *   `auth=plain|login|cram-md5|xoauth2|oauthbearer` (with the last two the
 *   password is the access token), `from=address` (the envelope sender),
 *   `domain=name` (the EHLO argument).
 *
 * Error messages never repeat the URL, which may hold a password.
 *
 * @param url The URL.
 * @returns The client options and the envelope sender, if given.
 * @throws {CliError} With exit status 78 for a malformed or unsupported URL.
 *
 * @example A submission server with credentials
 * ```ts
 * import { parseSmtpUrl } from "@x/sendmail/cli";
 *
 * const { options } = parseSmtpUrl("smtp://me%40example.com:s3cret@smtp.example.com");
 * console.log(options.hostname, options.port, options.tls); // smtp.example.com 587 starttls
 * ```
 */
export function parseSmtpUrl(url: string): SmtpUrlConfig {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw configError("Invalid SMTP URL: it cannot be parsed as a URL");
  }
  const scheme = parsed.protocol.slice(0, -1).toLowerCase();
  if (scheme !== "smtp" && scheme !== "smtps") {
    throw configError(
      `Invalid SMTP URL: the scheme "${scheme}" is not "smtp" or "smtps"`,
    );
  }
  let hostname = parsed.hostname;
  if (hostname.startsWith("[") && hostname.endsWith("]")) {
    hostname = hostname.slice(1, -1);
  }
  hostname = decode(hostname, "host name");
  if (hostname === "") {
    throw configError("Invalid SMTP URL: the host is missing");
  }
  if (parsed.pathname !== "" && parsed.pathname !== "/") {
    throw configError("Invalid SMTP URL: a path is not allowed");
  }
  if (parsed.hash !== "") {
    throw configError("Invalid SMTP URL: a fragment is not allowed");
  }

  let tls: TlsMode | undefined = scheme === "smtps" ? "implicit" : undefined;
  let mechanism: AuthMechanism | undefined;
  let from: string | undefined;
  let clientName: string | undefined;
  for (const [key, value] of parsed.searchParams) {
    switch (key) {
      case "tls": {
        const mode = value.toLowerCase() as TlsMode;
        if (!TLS_MODES.includes(mode)) {
          throw configError(
            `Invalid SMTP URL: tls=${value} is not one of ${
              TLS_MODES.join(", ")
            }`,
          );
        }
        if (scheme === "smtps" && mode !== "implicit") {
          throw configError(
            `Invalid SMTP URL: smtps always uses implicit TLS, not tls=${mode}`,
          );
        }
        tls = mode;
        break;
      }
      case "auth": {
        const m = value.toUpperCase() as AuthMechanism;
        if (!MECHANISMS.includes(m)) {
          throw configError(
            `Invalid SMTP URL: auth=${value} is not one of ${
              MECHANISMS.join(", ").toLowerCase()
            }`,
          );
        }
        mechanism = m;
        break;
      }
      case "from":
        from = value;
        break;
      case "domain":
        clientName = value;
        break;
      default:
        throw configError(`Invalid SMTP URL: unknown parameter "${key}"`);
    }
  }

  const port = parsed.port === "" ? undefined : Number(parsed.port);
  tls ??= port === 465 ? "implicit" : "starttls";
  const options: SmtpClientOptions = {
    hostname,
    port: port ?? (tls === "implicit" ? 465 : 587),
    tls,
  };
  if (clientName !== undefined) options.clientName = clientName;

  const username = decode(parsed.username, "user name");
  const password = decode(parsed.password, "password");
  if (username !== "" || password !== "") {
    if (username === "") {
      throw configError(
        "Invalid SMTP URL: a password is given without a user name",
      );
    }
    if (password === "") {
      throw configError(
        "Invalid SMTP URL: a user name is given without a password",
      );
    }
    if (mechanism === "XOAUTH2" || mechanism === "OAUTHBEARER") {
      options.auth = { username, accessToken: password, mechanism };
    } else {
      options.auth = mechanism === undefined
        ? { username, password }
        : { username, password, mechanism };
    }
  } else if (mechanism !== undefined) {
    throw configError(
      "Invalid SMTP URL: auth is given without a user name and password",
    );
  }
  const config: SmtpUrlConfig = { options };
  if (from !== undefined) config.from = from;
  return config;
}
