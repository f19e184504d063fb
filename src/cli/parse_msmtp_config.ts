import { CliError } from "./cli_error.ts";
import { ExitCode } from "./exit_code.ts";

/** How `auth` is set in an msmtp account. */
export type MsmtpAuth =
  | "on"
  | "off"
  | "plain"
  | "login"
  | "cram-md5"
  | "scram-sha-256"
  | "scram-sha-1"
  | "xoauth2"
  | "oauthbearer";

/**
 * One account of an msmtp configuration file: the settings this command
 * uses, with defaults and inherited accounts already applied. Settings left
 * unset are absent.
 */
export interface MsmtpAccount {
  /** The account name. */
  name: string;
  /** The file it was read from, for messages. */
  file: string;
  /** The line of its `account` command (0 for the implicit first account). */
  line: number;
  /** `host`: the SMTP server. */
  host?: string;
  /** `port`. */
  port?: number;
  /** `from`: the envelope sender; may hold %U, %H, %C, %M or be a pattern. */
  from?: string;
  /** `domain`: the EHLO argument. */
  domain?: string;
  /** `auth`: on (any mechanism), off, or a mechanism. */
  auth?: MsmtpAuth;
  /** `user`. */
  user?: string;
  /** `password`. */
  password?: string;
  /** `passwordeval`: a shell command whose first line of output is the password. */
  passwordeval?: string;
  /** `tls`. */
  tls?: boolean;
  /** `tls_starttls`: STARTTLS (true) or TLS from the first byte (false). */
  tlsStarttls?: boolean;
  /** `tls_trust_file`: a PEM file of trusted CAs, or "system". */
  tlsTrustFile?: string;
  /** `timeout` in seconds; 0 is off. */
  timeout?: number;
  /** `protocol lmtp` (RFC 2033) instead of SMTP. */
  lmtp?: boolean;
  /** `socket`: a unix domain socket instead of host and port. */
  socket?: string;
  /** `dsn_notify`: "never" or a comma list of success, failure, delay. */
  dsnNotify?: string;
  /** `dsn_return`: "full" or "hdrs". */
  dsnReturn?: "full" | "hdrs";
  /** `allow_from_override`: whether `-f` may change the envelope sender. */
  allowFromOverride?: boolean;
  /** `set_from_header`. */
  setFromHeader?: "auto" | "on" | "off";
  /** `set_date_header`. */
  setDateHeader?: "auto" | "off";
  /** `set_msgid_header`. */
  setMsgidHeader?: "auto" | "off";
  /** `remove_bcc_headers`. */
  removeBccHeaders?: boolean;
  /** `undisclosed_recipients`. */
  undisclosedRecipients?: boolean;
  /** `aliases`: a file mapping local names to addresses. */
  aliases?: string;
  /** `auto_from` (obsolete): envelope sender `user@maildomain`. */
  autoFrom?: boolean;
  /** `maildomain` (obsolete). */
  maildomain?: string;
  /**
   * Settings this command cannot honour without changing what msmtp would do
   * (certificate pinning, client certificates, proxies, other mechanisms …):
   * using the account fails with a configuration error naming them.
   */
  unsupported?: { command: string; line: number; reason: string }[];
}

/** Options of {@linkcode parseMsmtpConfig}. */
export interface ParseMsmtpConfigOptions {
  /** The file name, for messages and {@linkcode MsmtpAccount.file}. @default {"msmtprc"} */
  file?: string;
}

/** Commands msmtp knows that change nothing here: logging and TLS tuning. */
const IGNORED = new Set([
  "logfile",
  "logfile_time_format",
  "syslog",
  "tls_crl_file",
  "tls_priorities",
  "tls_min_dh_prime_bits",
  "tls_force_sslv3",
  "ntlmdomain",
  "proxy_port",
]);

/** msmtp's boolean words; an empty argument means on. */
function bool(arg: string): boolean | undefined {
  if (arg === "" || arg === "on") return true;
  if (arg === "off") return false;
  return undefined;
}

type Setter = (account: MsmtpAccount, arg: string) => string | void;

const invalid = "invalid";

const SETTERS: Record<string, Setter> = {
  host(a, arg) {
    if (arg === "") return "needs an argument";
    a.host = arg;
  },
  port(a, arg) {
    const port = /^\d+$/.test(arg) ? Number(arg) : NaN;
    if (!(port >= 1 && port <= 65535)) return invalid;
    a.port = port;
  },
  from(a, arg) {
    if (arg === "") delete a.from;
    else a.from = arg;
  },
  domain(a, arg) {
    a.domain = arg;
  },
  auth(a, arg) {
    const value = arg === "" ? "on" : arg.toLowerCase();
    if (
      [
        "on",
        "off",
        "plain",
        "login",
        "cram-md5",
        "scram-sha-256",
        "scram-sha-1",
        "xoauth2",
        "oauthbearer",
      ].includes(value)
    ) {
      a.auth = value as MsmtpAuth;
    } else if (
      [
        "gssapi",
        "external",
        "digest-md5",
        "ntlm",
      ]
        .includes(value)
    ) {
      return `unsupported:the ${value} mechanism is not implemented (use plain, login, cram-md5, scram-sha-256, scram-sha-1, xoauth2 or oauthbearer)`;
    } else return invalid;
  },
  user(a, arg) {
    if (arg === "") delete a.user;
    else a.user = arg;
  },
  password(a, arg) {
    if (arg === "") delete a.password;
    else a.password = arg;
  },
  passwordeval(a, arg) {
    if (arg === "") delete a.passwordeval;
    else a.passwordeval = arg;
  },
  tls(a, arg) {
    const on = bool(arg);
    if (on === undefined) return invalid;
    a.tls = on;
  },
  tls_starttls(a, arg) {
    const on = bool(arg);
    if (on === undefined) return invalid;
    a.tlsStarttls = on;
  },
  tls_nostarttls(a, arg) {
    if (arg !== "") return "takes no argument";
    a.tlsStarttls = false;
  },
  tls_trust_file(a, arg) {
    if (arg === "") {
      return "unsupported:an empty tls_trust_file disables certificate checks, which this command never does";
    }
    a.tlsTrustFile = arg;
  },
  tls_certcheck(_a, arg) {
    const on = bool(arg);
    if (on === undefined) return invalid;
    if (!on) {
      return "unsupported:certificates are always verified (use tls_trust_file to trust a private CA)";
    }
  },
  tls_nocertcheck() {
    return "unsupported:certificates are always verified (use tls_trust_file to trust a private CA)";
  },
  tls_fingerprint(_a, arg) {
    if (arg !== "") {
      return "unsupported:certificate pinning is not implemented (use tls_trust_file)";
    }
  },
  tls_key_file(_a, arg) {
    if (arg !== "") {
      return "unsupported:client certificates are not implemented";
    }
  },
  tls_cert_file(_a, arg) {
    if (arg !== "") {
      return "unsupported:client certificates are not implemented";
    }
  },
  tls_host_override(_a, arg) {
    if (arg !== "") return "unsupported:the name to verify is always the host";
  },
  proxy_host(_a, arg) {
    if (arg !== "") return "unsupported:SOCKS proxies are not implemented";
  },
  socket(a, arg) {
    if (arg === "") delete a.socket;
    else a.socket = arg;
  },
  source_ip(_a, arg) {
    if (arg !== "") {
      return "unsupported:binding a source address is not implemented";
    }
  },
  timeout(a, arg) {
    if (arg === "off") a.timeout = 0;
    else if (/^\d+$/.test(arg) && Number(arg) >= 1) a.timeout = Number(arg);
    else return invalid;
  },
  protocol(a, arg) {
    if (arg === "lmtp") a.lmtp = true;
    else if (arg === "smtp") delete a.lmtp;
    else return invalid;
  },
  dsn_notify(a, arg) {
    const value = arg.toLowerCase();
    if (value === "off") delete a.dsnNotify;
    else if (
      value === "never" ||
      (value !== "" &&
        value.split(",").every((w) =>
          ["success", "failure", "delay"].includes(w)
        ))
    ) {
      a.dsnNotify = value;
    } else return invalid;
  },
  dsn_return(a, arg) {
    const value = arg.toLowerCase();
    if (value === "off") delete a.dsnReturn;
    else if (value === "full") a.dsnReturn = "full";
    else if (value === "headers" || value === "hdrs") a.dsnReturn = "hdrs";
    else return invalid;
  },
  allow_from_override(a, arg) {
    const on = bool(arg);
    if (on === undefined) return invalid;
    a.allowFromOverride = on;
  },
  set_from_header(a, arg) {
    const value = arg === "" ? "on" : arg;
    if (value !== "auto" && value !== "on" && value !== "off") return invalid;
    a.setFromHeader = value;
  },
  add_missing_from_header(a, arg) {
    const on = bool(arg);
    if (on === undefined) return invalid;
    a.setFromHeader = on ? "auto" : "off";
  },
  set_date_header(a, arg) {
    const value = arg === "" ? "auto" : arg;
    if (value !== "auto" && value !== "off") return invalid;
    a.setDateHeader = value;
  },
  add_missing_date_header(a, arg) {
    const on = bool(arg);
    if (on === undefined) return invalid;
    a.setDateHeader = on ? "auto" : "off";
  },
  set_msgid_header(a, arg) {
    const value = arg === "" ? "auto" : arg;
    if (value !== "auto" && value !== "off") return invalid;
    a.setMsgidHeader = value;
  },
  remove_bcc_headers(a, arg) {
    const on = bool(arg);
    if (on === undefined) return invalid;
    a.removeBccHeaders = on;
  },
  keepbcc(a, arg) {
    const on = bool(arg);
    if (on === undefined) return invalid;
    a.removeBccHeaders = !on;
  },
  undisclosed_recipients(a, arg) {
    const on = bool(arg);
    if (on === undefined) return invalid;
    a.undisclosedRecipients = on;
  },
  aliases(a, arg) {
    if (arg === "") delete a.aliases;
    else a.aliases = arg;
  },
  auto_from(a, arg) {
    const on = bool(arg);
    if (on === undefined) return invalid;
    a.autoFrom = on;
  },
  maildomain(a, arg) {
    if (arg === "") delete a.maildomain;
    else a.maildomain = arg;
  },
};

/** msmtp's argument trimming: blanks around, then one pair of enclosing double quotes. */
function trimArgument(text: string): string {
  const t = text.replace(/^[ \t]+|[ \t]+$/g, "");
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"')
    ? t.slice(1, -1)
    : t;
}

interface Draft {
  account: MsmtpAccount;
  /** Settings given in this account's own section, applied to heirs. */
  own: Set<keyof MsmtpAccount>;
}

function copy(account: MsmtpAccount): MsmtpAccount {
  const c = { ...account };
  if (account.unsupported) c.unsupported = [...account.unsupported];
  return c;
}

/**
 * Parses an msmtp configuration file (msmtprc), as msmtp 1.8 does: one
 * command per line with its argument (blanks around it and one pair of
 * enclosing double quotes removed; there are no escapes, and `#` starts a
 * comment only at the start of a line); `defaults` sets values for the
 * accounts that follow; `account NAME [: PARENT[,…]]` starts an account that
 * inherits the settings of earlier ones; commands before any account define
 * the account "default".
 *
 * Used: host, port, from, domain, auth, user, password, passwordeval, tls,
 * tls_starttls, tls_trust_file, timeout, protocol (smtp, lmtp), socket, dsn_notify,
 * dsn_return, allow_from_override, set_from_header, set_date_header,
 * set_msgid_header, remove_bcc_headers, undisclosed_recipients, aliases,
 * auto_from, maildomain. Ignored: logfile, logfile_time_format, syslog,
 * tls_crl_file, tls_priorities, tls_min_dh_prime_bits, ntlmdomain.
 * Recorded as unsupported, failing only when their account is used:
 * tls_fingerprint, tls_certcheck off, client certificates,
 * tls_host_override, proxies, source_ip and SASL mechanisms
 * other than PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-256, SCRAM-SHA-1, XOAUTH2 and
 * OAUTHBEARER.
 *
 * @param text The file's content.
 * @param options The file name for messages.
 * @returns The accounts, in the order defined.
 * @throws {CliError} With exit status 78 for an unknown command (named, with
 * its line), an invalid argument, or a bad `account` line.
 *
 * @example
 * ```ts
 * import { parseMsmtpConfig } from "@x/sendmail/cli";
 *
 * const accounts = parseMsmtpConfig(`
 * defaults
 * tls on
 * account work
 * host smtp.example.com
 * from me@example.com
 * account default : work
 * `);
 * console.log(accounts.map((a) => a.name), accounts[1]?.host); // [ "work", "default" ] smtp.example.com
 * ```
 */
export function parseMsmtpConfig(
  text: string,
  options: ParseMsmtpConfigOptions = {},
): MsmtpAccount[] {
  const file = options.file ?? "msmtprc";
  const fail = (line: number, message: string): never => {
    throw new CliError(
      `Cannot read configuration ${file}: ${message} at line ${line}`,
      ExitCode.CONFIG,
    );
  };
  const drafts: Draft[] = [];
  const defaults: Draft = {
    account: { name: "", file, line: 0 },
    own: new Set(),
  };
  let current: Draft | undefined;

  const lines = text.split("\n");
  for (let index = 0; index < lines.length; index++) {
    const line = index + 1;
    const content = lines[index]!.replace(/\r$/, "");
    const start = content.search(/[^ \t]/);
    if (start === -1 || content[start] === "#") continue;
    const rest = content.slice(start);
    const cmdEnd = rest.search(/[ \t]/);
    const command = cmdEnd === -1 ? rest : rest.slice(0, cmdEnd);
    const arg = cmdEnd === -1 ? "" : trimArgument(rest.slice(cmdEnd));

    if (!current && command !== "account" && command !== "defaults") {
      // msmtp 1.2 compatibility: commands before any account define "default".
      current = {
        account: { ...copy(defaults.account), name: "default", line: 0 },
        own: new Set(),
      };
      drafts.push(current);
    }
    if (command === "defaults") {
      if (arg !== "") fail(line, `"defaults" takes no argument`);
      current = defaults;
      continue;
    }
    if (command === "account") {
      const colon = arg.indexOf(":");
      const name = trimArgument(colon === -1 ? arg : arg.slice(0, colon));
      const parents: Draft[] = [];
      if (colon !== -1) {
        for (const parentName of arg.slice(colon + 1).split(",")) {
          const id = trimArgument(parentName);
          if (id === "") fail(line, "missing account name");
          const parent = drafts.find((d) => d.account.name === id);
          if (!parent) fail(line, `account "${id}" is not (yet) defined`);
          parents.push(parent!);
        }
      }
      if (name === "") fail(line, "missing account name");
      if (/[:,]/.test(name)) {
        fail(line, "an account name must not contain colons or commas");
      }
      if (drafts.some((d) => d.account.name === name)) {
        fail(line, `account "${name}" was already defined`);
      }
      const account: MsmtpAccount = {
        ...copy(defaults.account),
        name,
        file,
        line,
      };
      for (const parent of parents) {
        for (const key of parent.own) {
          const value = parent.account[key];
          // deno-lint-ignore no-explicit-any
          if (value !== undefined) (account as any)[key] = value;
          else delete account[key];
        }
        if (parent.account.unsupported) {
          account.unsupported = [
            ...(account.unsupported ?? []),
            ...parent.account.unsupported,
          ];
        }
      }
      current = { account, own: new Set() };
      drafts.push(current);
      continue;
    }
    if (command === "eval") {
      fail(line, `"eval" is not supported (use passwordeval for passwords)`);
    }
    if (IGNORED.has(command)) continue;
    const setter = SETTERS[command];
    if (!setter) fail(line, `unknown command "${command}"`);
    const before = { ...current!.account };
    const problem = setter!(current!.account, arg);
    if (problem === invalid) {
      fail(line, `invalid argument "${arg}" for command "${command}"`);
    } else if (problem?.startsWith("unsupported:")) {
      (current!.account.unsupported ??= []).push({
        command,
        line,
        reason: problem.slice("unsupported:".length),
      });
    } else if (problem) {
      fail(line, `command "${command}" ${problem}`);
    }
    const keys = new Set([
      ...Object.keys(before),
      ...Object.keys(current!.account),
    ]) as Set<keyof MsmtpAccount>;
    for (const key of keys) {
      if (key !== "unsupported" && current!.account[key] !== before[key]) {
        current!.own.add(key);
      }
    }
  }
  return drafts.map((d) => d.account);
}
