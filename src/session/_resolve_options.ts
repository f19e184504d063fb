/**
 * Option resolution: what a caller passes to `SmtpClient.connect()` or
 * `sendmail()`, checked and with every default applied, before anything is
 * opened. Pure: no I/O, no timers.
 *
 * @module
 */
import { assertPrintable, checkClientName } from "../protocol/_command.ts";
import { type DkimSigning, prepareDkim } from "../dkim/_sign_prepared.ts";
import { checkAuth } from "../sasl/_sasl.ts";
import type { PasswordAuth, TokenAuth } from "../sasl/credentials.ts";
import type { Connect } from "../transport/connection.ts";
import { parseSmtpUrl } from "./parse_smtp_url.ts";
import type {
  SmtpClientOptions,
  SmtpLogger,
  SmtpTimeouts,
  TlsMode,
} from "./smtp_client_options.ts";

/** Timeouts with every default filled in. */
export type Timeouts = Required<SmtpTimeouts>;

/** The RFC 5321 §4.5.3.2 defaults (connect and quit are the client's own). */
export const DEFAULT_TIMEOUTS: Readonly<Timeouts> = Object.freeze({
  connect: 30_000,
  greeting: 300_000,
  command: 300_000,
  data: 180_000,
  dataEnd: 600_000,
  quit: 10_000,
});

/** The settings of a session: checked options, defaults applied. */
export interface SessionSettings {
  hostname: string;
  port: number;
  path?: string;
  tls: TlsMode;
  caCerts?: string[];
  clientName: string;
  auth?: PasswordAuth | TokenAuth;
  timeouts: Timeouts;
  signal?: AbortSignal;
  logger?: SmtpLogger;
  /** The transport; `undefined`: the runtime's default. */
  connect?: Connect;
  chunking: boolean;
  lmtp: boolean;
  /** Connect even to a port the platform blocks. */
  allowBlockedPorts: boolean;
  /** DKIM signing of every message, checked. */
  dkim?: DkimSigning;
}

/** The ports on which TLS starts with the first byte by default. */
const IMPLICIT_PORTS: ReadonlySet<number> = new Set([465, 2465]);

const TLS_MODES: readonly TlsMode[] = [
  "implicit",
  "starttls",
  "opportunistic",
  "none",
];

/** Every option `SmtpClientOptions` has; anything else is a mistake. */
const KNOWN: ReadonlySet<string> = new Set<string>(
  [
    "hostname",
    "port",
    "path",
    "tls",
    "caCerts",
    "clientName",
    "auth",
    "timeouts",
    "signal",
    "logger",
    "chunking",
    "lmtp",
    "dkim",
    "allowBlockedPorts",
    "connect",
  ] satisfies (keyof SmtpClientOptions)[],
);

/**
 * Checks the options of a session and applies the defaults: port 465 (and
 * implicit TLS) when `tls` is `"implicit"`, else 587 with STARTTLS required;
 * implicit TLS by default on ports 465 and 2465. An `smtp://` or `smtps://`
 * URL is read with `parseSmtpUrl`.
 *
 * @param options The caller's options, or a URL.
 * @param extra Option names a caller above the session adds (a pool's),
 * already taken care of.
 * @returns The settings.
 * @throws {TypeError} An unknown option, or one of the wrong type.
 * @throws {RangeError} A port or timeout out of range.
 */
export function resolveOptions(
  options: SmtpClientOptions | string | URL,
  extra: ReadonlySet<string> = new Set(),
): SessionSettings {
  if (typeof options === "string" || options instanceof URL) {
    options = parseSmtpUrl(options);
  }
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      "Cannot connect: expected options with a hostname, or an smtp:// URL",
    );
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key) && !extra.has(key)) {
      throw new TypeError(
        `Cannot connect: unknown option ${JSON.stringify(key)}`,
      );
    }
  }
  const { hostname } = options;
  if (typeof hostname !== "string" || hostname === "") {
    throw new TypeError("Cannot connect: hostname is required");
  }
  assertPrintable(hostname, "hostname");
  if (/\s/.test(hostname)) {
    throw new TypeError(
      `Cannot use hostname ${JSON.stringify(hostname)}: it contains a space`,
    );
  }
  if (options.port !== undefined) {
    const { port } = options;
    if (
      typeof port !== "number" || !Number.isInteger(port) || port < 1 ||
      port > 65535
    ) {
      throw new RangeError(
        `Cannot connect: port ${JSON.stringify(port)} is not 1 to 65535`,
      );
    }
  }
  const tls = options.tls ??
    (options.port !== undefined && IMPLICIT_PORTS.has(options.port)
      ? "implicit"
      : "starttls");
  if (!TLS_MODES.includes(tls)) {
    throw new TypeError(
      `Cannot connect: unknown tls mode ${JSON.stringify(tls)}`,
    );
  }
  const port = options.port ?? (tls === "implicit" ? 465 : 587);
  const { path } = options;
  if (path !== undefined) {
    if (typeof path !== "string" || path === "") {
      throw new TypeError("Cannot use path: expected a unix socket path");
    }
    assertPrintable(path, "path");
  }
  const caCerts = checkCaCerts(options.caCerts);
  const timeouts = checkTimeouts(options.timeouts);
  if (options.clientName !== undefined) {
    if (typeof options.clientName !== "string") {
      throw new TypeError("Cannot use clientName: expected a string");
    }
  }
  const clientName = checkClientName(options.clientName ?? "localhost");
  const { auth } = options;
  if (auth !== undefined) checkAuth(auth);
  const { signal, logger, connect } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError("Cannot use signal: expected an AbortSignal");
  }
  if (logger !== undefined && typeof logger !== "function") {
    throw new TypeError("Cannot use logger: expected a function");
  }
  if (connect !== undefined && typeof connect !== "function") {
    throw new TypeError("Cannot use connect: expected a function");
  }
  const chunking = checkBoolean(options.chunking, "chunking", true);
  const lmtp = checkBoolean(options.lmtp, "lmtp", false);
  const allowBlockedPorts = checkBoolean(
    options.allowBlockedPorts,
    "allowBlockedPorts",
    false,
  );
  const dkim = options.dkim === undefined
    ? undefined
    : prepareDkim(options.dkim);
  return {
    hostname,
    port,
    ...(path !== undefined ? { path } : {}),
    tls,
    ...(caCerts ? { caCerts } : {}),
    clientName,
    ...(auth ? { auth } : {}),
    timeouts,
    ...(signal ? { signal } : {}),
    ...(logger ? { logger } : {}),
    ...(connect ? { connect } : {}),
    chunking,
    lmtp,
    allowBlockedPorts,
    ...(dkim ? { dkim } : {}),
  };
}

function checkBoolean(
  value: unknown,
  name: string,
  fallback: boolean,
): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") {
    throw new TypeError(`Cannot use ${name}: expected true or false`);
  }
  return value;
}

function checkCaCerts(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  if (
    !Array.isArray(value) || !value.every((pem) => typeof pem === "string")
  ) {
    throw new TypeError(
      "Cannot use caCerts: expected an array of PEM strings",
    );
  }
  return value;
}

function checkTimeouts(value: unknown): Timeouts {
  const timeouts: Timeouts = { ...DEFAULT_TIMEOUTS };
  if (value === undefined) return timeouts;
  if (typeof value !== "object" || value === null) {
    throw new TypeError("Cannot use timeouts: expected an object");
  }
  for (const [key, ms] of Object.entries(value)) {
    if (!(key in DEFAULT_TIMEOUTS)) {
      throw new TypeError(
        `Cannot connect: unknown timeout ${JSON.stringify(key)}`,
      );
    }
    if (ms === undefined) continue;
    if (typeof ms !== "number" || !(ms > 0) || ms > 2 ** 31 - 1) {
      throw new RangeError(
        `Cannot connect: timeout ${key} must be a positive number of ms`,
      );
    }
    timeouts[key as keyof Timeouts] = ms;
  }
  return timeouts;
}
