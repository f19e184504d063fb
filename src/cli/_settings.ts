/**
 * Where the command's settings come from: `--url`, `SENDMAIL_URL`, or msmtp
 * configuration files; and how an msmtp account becomes client options.
 *
 * @module
 */

import type { SmtpClientOptions } from "../session/smtp_client_options.ts";
import type { DsnOptions } from "../session/send_options.ts";
import { CliError } from "./cli_error.ts";
import { parseAddressList } from "./_address_list.ts";
import { ExitCode } from "./exit_code.ts";
import { type MsmtpAccount, parseMsmtpConfig } from "./parse_msmtp_config.ts";
import { readSmtpUrl } from "./_read_smtp_url.ts";
import type { CliArgs } from "./parse_args.ts";

/** What the settings are read with: the environment and the file system. */
export interface SettingsHost {
  /** Reads an environment variable. */
  env(name: string): string | undefined;
  /** Reads a text file; rejects with `Deno.errors.NotFound` when it does not exist. */
  readTextFile(path: string): Promise<string>;
  /** Runs a shell command (`sh -c`) with no input; resolves with its standard output. */
  runCommand(command: string): Promise<string>;
  /** The name of this host. */
  hostname(): string;
}

/** Everything the command needs to know besides the message. */
export interface Settings {
  /** Where the settings came from, for `-v` and `-P`. */
  source: string;
  /** The client options (without logger and signal). */
  options: SmtpClientOptions;
  /** The configured envelope sender, substitutions applied. */
  from?: string;
  /** Whether `-f` may replace the configured sender. */
  allowFromOverride: boolean;
  setFromHeader: "auto" | "on" | "off";
  setDateHeader: "auto" | "off";
  setMsgidHeader: "auto" | "off";
  removeBcc: boolean;
  undisclosedRecipients: boolean;
  /** Configured DSN requests; `-N` and `-R` override them. */
  dsn?: DsnOptions;
  /** Local name → addresses, from the `aliases` file. */
  aliases?: Map<string, string[]>;
}

const configError = (message: string, cause?: unknown): CliError =>
  new CliError(
    message,
    ExitCode.CONFIG,
    cause === undefined ? undefined : { cause },
  );

function base(source: string, options: SmtpClientOptions): Settings {
  return {
    source,
    options,
    allowFromOverride: true,
    setFromHeader: "auto",
    setDateHeader: "auto",
    setMsgidHeader: "auto",
    removeBcc: true,
    undisclosedRecipients: false,
  };
}

/** The user configuration file: `$XDG_CONFIG_HOME/msmtp/config` if it exists, else `~/.msmtprc`. */
function userConfigFiles(host: SettingsHost): string[] {
  const home = host.env("HOME") ?? "";
  const xdg = host.env("XDG_CONFIG_HOME") || `${home}/.config`;
  return [`${xdg}/msmtp/config`, `${home}/.msmtprc`];
}

async function readOptional(
  host: SettingsHost,
  path: string,
): Promise<string | undefined> {
  try {
    return await host.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw configError(
      `Cannot read configuration ${path}: ${(error as Error).message}`,
      error,
    );
  }
}

/** Whether an account's `from` (an address or a shell pattern) matches the `-f` address. */
function fromMatches(pattern: string, address: string): boolean {
  const a = address.toLowerCase();
  const p = pattern.toLowerCase();
  if (/[?*[]/.test(p)) {
    const source = p.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, ".*")
      .replace(/\?/g, ".");
    try {
      return new RegExp(`^${source}$`).test(a);
    } catch {
      return false;
    }
  }
  // A subaddress user+detail@example.com matches user@example.com.
  return a === p || a.replace(/\+[^@]*@/, "@") === p;
}

/**
 * Loads the settings: `--url`; else `SENDMAIL_URL` unless an account or a
 * file is named; else msmtp configuration (`/etc/msmtprc`, then the user
 * file or `--file`, whose accounts override the system ones).
 */
export async function loadSettings(
  args: CliArgs,
  host: SettingsHost,
): Promise<Settings> {
  const envUrl = host.env("SENDMAIL_URL");
  if (args.url !== undefined || (envUrl && !args.account && !args.file)) {
    const fromFlag = args.url !== undefined;
    const { options, from } = readSmtpUrl((fromFlag ? args.url : envUrl)!);
    const settings = base(fromFlag ? "--url" : "SENDMAIL_URL", options);
    if (from !== undefined) settings.from = from;
    return settings;
  }

  const accounts: MsmtpAccount[] = [];
  const read: string[] = [];
  const add = (file: string, text: string) => {
    read.push(file);
    for (const account of parseMsmtpConfig(text, { file })) {
      const same = accounts.findIndex((a) => a.name === account.name);
      if (same === -1) accounts.push(account);
      else accounts[same] = account;
    }
  };
  const system = await readOptional(host, "/etc/msmtprc");
  if (system !== undefined) add("/etc/msmtprc", system);
  if (args.file !== undefined) {
    const text = await readOptional(host, args.file);
    if (text === undefined) {
      throw configError(`Cannot read configuration ${args.file}: no such file`);
    }
    add(args.file, text);
  } else {
    for (const file of userConfigFiles(host)) {
      const text = await readOptional(host, file);
      if (text !== undefined) {
        add(file, text);
        break;
      }
    }
  }
  if (read.length === 0) {
    throw configError(
      "No configuration: give --url, set SENDMAIL_URL, or write ~/.msmtprc (see --help)",
    );
  }

  let account: MsmtpAccount | undefined;
  if (args.account !== undefined) {
    account = accounts.find((a) => a.name === args.account);
    if (!account) {
      throw configError(`No account "${args.account}" in ${read.join(", ")}`);
    }
  } else {
    if (args.from) {
      account = accounts.find((a) =>
        a.from !== undefined && fromMatches(a.from, args.from!)
      );
    }
    account ??= accounts.find((a) => a.name === "default");
    if (!account) {
      throw configError(
        `No account "default" in ${read.join(", ")}: name one with -a`,
      );
    }
  }
  return await resolveAccount(account, host);
}

/** Replaces msmtp's %U, %H, %C and %M in `from` and `domain`. */
async function substitute(value: string, host: SettingsHost): Promise<string> {
  if (!value.includes("%")) return value;
  const hostname = host.env("HOSTNAME") || host.hostname();
  let mailname: string | undefined;
  if (value.includes("%M")) {
    mailname = (await readOptional(host, "/etc/mailname"))?.split("\n")[0]
      ?.trim();
  }
  return value.replace(/%([UHCM])/g, (_, c: string) => {
    switch (c) {
      case "U":
        return host.env("USER") || host.env("LOGNAME") || "root";
      case "M":
        return mailname || hostname;
      default:
        return hostname; // %H, and %C: the canonical name is not looked up
    }
  });
}

function expandTilde(path: string, host: SettingsHost): string {
  return path.startsWith("~")
    ? `${host.env("HOME") ?? ""}${path.slice(1)}`
    : path;
}

/** Parses an msmtp aliases file: `local: a@example.com, b@example.com`. */
export function parseAliases(text: string): Map<string, string[]> {
  const aliases = new Map<string, string[]>();
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    const colon = line.indexOf(":");
    if (colon === -1) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const addresses = line.slice(colon + 1).split(",").flatMap((a) =>
      parseAddressList(a)
    );
    if (name !== "" && addresses.length > 0) aliases.set(name, addresses);
  }
  return aliases;
}

/** Turns an msmtp account into settings, reading the files and running the commands it names. */
export async function resolveAccount(
  account: MsmtpAccount,
  host: SettingsHost,
): Promise<Settings> {
  const where = `account "${account.name}" of ${account.file}`;
  if (account.unsupported?.length) {
    const seen = new Set<number>();
    const problems = account.unsupported.filter((u) =>
      !seen.has(u.line) && seen.add(u.line)
    ).map((u) => `"${u.command}" at line ${u.line}: ${u.reason}`);
    throw configError(`Cannot use ${where}: ${problems.join("; ")}`);
  }
  if (!account.host && !account.socket) {
    throw configError(`Cannot use ${where}: host is not set`);
  }

  const tls = account.tls
    ? (account.tlsStarttls === false ? "implicit" : "starttls")
    : "none";
  const options: SmtpClientOptions = {
    // With `socket` the host only names the server (TLS, logs).
    hostname: account.host ?? "localhost",
    port: account.port ?? (tls === "implicit" ? 465 : 25),
    tls,
  };
  if (account.socket) options.path = expandTilde(account.socket, host);
  if (account.lmtp) options.lmtp = true;
  if (account.tlsTrustFile && account.tlsTrustFile !== "system") {
    const path = expandTilde(account.tlsTrustFile, host);
    const pem = await readOptional(host, path);
    if (pem === undefined) {
      throw configError(
        `Cannot use ${where}: tls_trust_file ${path} does not exist`,
      );
    }
    if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
      throw configError(
        `Cannot use ${where}: tls_trust_file ${path} holds no PEM certificate`,
      );
    }
    options.caCerts = [pem];
  }
  if (account.domain) {
    options.clientName = await substitute(account.domain, host);
  }
  if (account.timeout) {
    const ms = account.timeout * 1000;
    options.timeouts = {
      connect: ms,
      greeting: ms,
      command: ms,
      data: ms,
      dataEnd: ms,
    };
  }

  const auth = account.auth ?? "off";
  if (auth !== "off") {
    if (!account.user) {
      throw configError(`Cannot use ${where}: auth is on but user is not set`);
    }
    let secret = account.password;
    if (secret === undefined && account.passwordeval !== undefined) {
      let output: string;
      try {
        output = await host.runCommand(account.passwordeval);
      } catch (error) {
        throw configError(
          `Cannot use ${where}: passwordeval failed: ${
            (error as Error).message
          }`,
          error,
        );
      }
      secret = output.split("\n")[0]!.replace(/\r$/, "");
    }
    if (secret === undefined) {
      throw configError(
        `Cannot use ${where}: auth is on but neither password nor passwordeval is set`,
      );
    }
    const username = account.user;
    if (auth === "xoauth2" || auth === "oauthbearer") {
      options.auth = {
        username,
        accessToken: secret,
        mechanism: auth === "xoauth2" ? "XOAUTH2" : "OAUTHBEARER",
      };
    } else if (auth === "on") {
      options.auth = { username, password: secret };
    } else {
      options.auth = {
        username,
        password: secret,
        mechanism: auth === "plain"
          ? "PLAIN"
          : auth === "login"
          ? "LOGIN"
          : auth === "scram-sha-256"
          ? "SCRAM-SHA-256"
          : auth === "scram-sha-1"
          ? "SCRAM-SHA-1"
          : "CRAM-MD5",
      };
    }
  }

  const settings = base(where, options);
  let from = account.from;
  if (from === undefined && account.autoFrom) {
    from = `%U${account.maildomain ? `@${account.maildomain}` : ""}`;
  }
  if (from !== undefined) settings.from = await substitute(from, host);
  if (account.allowFromOverride === false) settings.allowFromOverride = false;
  if (account.setFromHeader) settings.setFromHeader = account.setFromHeader;
  if (account.setDateHeader) settings.setDateHeader = account.setDateHeader;
  if (account.setMsgidHeader) settings.setMsgidHeader = account.setMsgidHeader;
  if (account.removeBccHeaders === false) settings.removeBcc = false;
  if (account.undisclosedRecipients) settings.undisclosedRecipients = true;
  if (account.dsnNotify || account.dsnReturn) {
    const dsn: DsnOptions = {};
    if (account.dsnNotify === "never") dsn.notify = "never";
    else if (account.dsnNotify) {
      dsn.notify = account.dsnNotify.split(
        ",",
      ) as ("success" | "failure" | "delay")[];
    }
    if (account.dsnReturn) dsn.ret = account.dsnReturn;
    settings.dsn = dsn;
  }
  if (account.aliases) {
    const path = expandTilde(account.aliases, host);
    const text = await readOptional(host, path);
    if (text === undefined) {
      throw configError(
        `Cannot use ${where}: aliases file ${path} does not exist`,
      );
    }
    settings.aliases = parseAliases(text);
  }
  return settings;
}
