import { checkClientName } from "../protocol/_command.ts";
import { hasControl } from "../protocol/_control.ts";
import type { AuthMechanism } from "../sasl/credentials.ts";
import type { SmtpClientOptions, TlsMode } from "./smtp_client_options.ts";

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
  "SCRAM-SHA-256",
  "SCRAM-SHA-1",
];
/** Ports where TLS starts with the first byte unless `tls=` says otherwise. */
const IMPLICIT_PORTS: readonly number[] = [465, 2465];

function invalid(detail: string): TypeError {
  return new TypeError(`Cannot parse SMTP URL: ${detail}`);
}

function decode(part: string, what: string): string {
  let value: string;
  try {
    value = decodeURIComponent(part);
  } catch {
    throw invalid(`the ${what} is not correctly percent-encoded`);
  }
  return value;
}

/**
 * Reads an SMTP server URL into {@linkcode SmtpClientOptions}:
 *
 * - `smtp://host`: port 587, STARTTLS required;
 * - `smtps://host`: port 465, TLS from the first byte (also the default on
 *   port 2465);
 * - `smtp://user:password@host:port`: credentials, percent-encoded (`%40`
 *   for "@", `%3A` for ":");
 * - `smtp://[::1]:25`: an IPv6 address;
 * - parameters: `tls=implicit|starttls|opportunistic|none`,
 *   `auth=plain|login|cram-md5|scram-sha-256|scram-sha-1|xoauth2|oauthbearer`
 *   (with the OAuth ones the password is the access token), `domain=name`
 *   (the EHLO argument).
 *
 * Error messages never repeat the URL, which may hold a password.
 *
 * @param url The URL.
 * @returns The options for `SmtpClient.connect()` or `sendmail()`.
 * @throws {TypeError} A malformed or unsupported URL ("Cannot parse SMTP
 * URL: …").
 *
 * @example A submission server with credentials
 * ```ts
 * import { parseSmtpUrl } from "@x/sendmail";
 * import assert from "node:assert/strict";
 *
 * const options = parseSmtpUrl("smtp://me%40example.com:s3cret@smtp.example.com");
 * assert.equal(options.hostname, "smtp.example.com");
 * assert.equal(options.port, 587);
 * assert.equal(options.tls, "starttls");
 * assert.deepEqual(options.auth, { username: "me@example.com", password: "s3cret" });
 * ```
 */
export function parseSmtpUrl(url: string | URL): SmtpClientOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid("it is not a URL");
  }
  const scheme = parsed.protocol.slice(0, -1).toLowerCase();
  if (scheme !== "smtp" && scheme !== "smtps") {
    throw invalid(`the scheme "${scheme}" is not "smtp" or "smtps"`);
  }
  let hostname = parsed.hostname;
  if (hostname.startsWith("[") && hostname.endsWith("]")) {
    hostname = hostname.slice(1, -1);
  }
  hostname = decode(hostname, "host name");
  if (hostname === "") throw invalid("the host is missing");
  if (hasControl(hostname) || /\s/.test(hostname)) {
    throw invalid("the host name contains a control character or a space");
  }
  if (parsed.pathname !== "" && parsed.pathname !== "/") {
    throw invalid("a path is not allowed");
  }
  if (parsed.hash !== "") throw invalid("a fragment is not allowed");

  let tls: TlsMode | undefined = scheme === "smtps" ? "implicit" : undefined;
  let mechanism: AuthMechanism | undefined;
  let clientName: string | undefined;
  for (const [key, value] of parsed.searchParams) {
    switch (key) {
      case "tls": {
        const mode = value.toLowerCase() as TlsMode;
        if (!TLS_MODES.includes(mode)) {
          throw invalid(`tls=${value} is not one of ${TLS_MODES.join(", ")}`);
        }
        if (scheme === "smtps" && mode !== "implicit") {
          throw invalid(`smtps always uses implicit TLS, not tls=${mode}`);
        }
        tls = mode;
        break;
      }
      case "auth": {
        const m = value.toUpperCase() as AuthMechanism;
        if (!MECHANISMS.includes(m)) {
          throw invalid(
            `auth=${value} is not one of ${
              MECHANISMS.join(", ").toLowerCase()
            }`,
          );
        }
        mechanism = m;
        break;
      }
      case "domain":
        try {
          clientName = checkClientName(value);
        } catch {
          throw invalid(
            "domain= is not a domain or an address literal (or holds a control character)",
          );
        }
        break;
      default:
        throw invalid(`unknown parameter "${key}"`);
    }
  }

  const port = parsed.port === "" ? undefined : Number(parsed.port);
  tls ??= port !== undefined && IMPLICIT_PORTS.includes(port)
    ? "implicit"
    : "starttls";
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
      throw invalid("a password is given without a user name");
    }
    if (password === "") {
      throw invalid("a user name is given without a password");
    }
    if (mechanism === "XOAUTH2" || mechanism === "OAUTHBEARER") {
      options.auth = { username, accessToken: password, mechanism };
    } else {
      options.auth = mechanism === undefined
        ? { username, password }
        : { username, password, mechanism };
    }
  } else if (mechanism !== undefined) {
    throw invalid("auth is given without a user name and password");
  }
  return options;
}
