/**
 * A throwaway Dovecot (Debian's dovecot-core and dovecot-lmtpd) run as root
 * from a private directory in the foreground (`dovecot -F -c CONF`): its
 * auth service as the SASL server of Postfix (`smtpd_sasl_type = dovecot`,
 * {@linkcode Dovecot.authSocket}) and, when asked, its LMTP server on a free
 * loopback port and a unix socket, delivering into maildirs under the
 * private directory that {@linkcode Dovecot.messages} reads back.
 *
 * Accounts live in a passwd-file: a password stored as `{PLAIN}` serves
 * every mechanism (PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-1, SCRAM-SHA-256); one
 * stored as `{SCRAM-SHA-256}` credentials (made by `doveadm pw`) serves
 * PLAIN, LOGIN and SCRAM-SHA-256 only, as on a server that never keeps the
 * password itself; one stored as a `{SHA512-CRYPT}` hash serves PLAIN and
 * LOGIN only, as on most servers (SCRAM is still offered). A per-account `quota` makes LMTP refuse a message for
 * that recipient after the data (`552 5.2.2`), the per-recipient failure
 * RFC 2033 exists for.
 *
 * Needs root and Dovecot: the `"dovecot"` (and `"dovecot-lmtp"`)
 * requirements of `interop()`.
 *
 * @module
 */

import type { TestCerts } from "./certs.ts";
import { freePort, listening } from "./net.ts";
import { ChildLines } from "./process.ts";

/** An account Dovecot accepts. */
export interface DovecotUser {
  /** The login, also the LMTP recipient's local part. */
  username: string;
  /** The password. */
  password: string;
  /**
   * How the password is stored: `"PLAIN"` serves every mechanism,
   * `"SCRAM-SHA-256"` (credentials from `doveadm pw`) serves PLAIN, LOGIN
   * and SCRAM-SHA-256 but not CRAM-MD5 or SCRAM-SHA-1, `"SHA512-CRYPT"` (a
   * crypt(3) hash) serves PLAIN and LOGIN only. @default {"PLAIN"}
   */
  scheme?: "PLAIN" | "SCRAM-SHA-256" | "SHA512-CRYPT";
  /** A maildir quota such as `"1K"`: LMTP refuses a larger message. */
  quota?: string;
}

/** The SASL mechanisms Dovecot can offer here. */
export type DovecotMechanism =
  | "PLAIN"
  | "LOGIN"
  | "CRAM-MD5"
  | "SCRAM-SHA-1"
  | "SCRAM-SHA-256";

/** Options for {@linkcode startDovecot}. */
export interface DovecotOptions {
  /** The accounts. @default {[{ username: "joe", password: "s3cret pass" }]} */
  users?: DovecotUser[];
  /** The mechanisms offered (Postfix offers what Dovecot offers). @default {all five} */
  mechanisms?: DovecotMechanism[];
  /** Also run LMTP, on a free TCP port and the unix socket {@linkcode DovecotLmtp.path}. @default {false} */
  lmtp?: boolean;
  /** Offer STARTTLS on LMTP with this certificate. @default {no TLS} */
  certs?: TestCerts;
}

/** Where Dovecot's LMTP server listens. */
export interface DovecotLmtp {
  /** Always `127.0.0.1`. */
  readonly hostname: string;
  /** The TCP port. */
  readonly port: number;
  /** The unix socket (mode 0666). */
  readonly path: string;
}

/** One message Dovecot's LMTP delivered into a maildir. */
export interface MaildirMessage {
  /** The maildir file. */
  file: string;
  /** The file's bytes: Dovecot's `Return-Path`, `Delivered-To` and `Received` fields, then the message with LF line ends. */
  bytes: Uint8Array;
  /** {@linkcode MaildirMessage.bytes} decoded as UTF-8. */
  text: string;
}

/** A running Dovecot; dispose it with `await using`. */
export interface Dovecot extends AsyncDisposable {
  /** The private directory. */
  readonly dir: string;
  /** The auth socket for Postfix's `smtpd_sasl_path` (mode 0666). */
  readonly authSocket: string;
  /** The mechanisms offered. */
  readonly mechanisms: readonly DovecotMechanism[];
  /** LMTP's addresses, when started with `lmtp: true`. */
  readonly lmtp: DovecotLmtp | undefined;
  /** What Dovecot logged so far (its log_path is stdout). */
  readonly log: string;
  /**
   * The messages delivered to `username`'s INBOX, oldest first.
   *
   * @param username The account.
   */
  messages(username: string): Promise<MaildirMessage[]>;
}

/** The account {@linkcode startDovecot} makes when given none. */
export const DOVECOT_DEFAULT_USER: DovecotUser = {
  username: "joe",
  password: "s3cret pass",
};

const ALL_MECHANISMS: DovecotMechanism[] = [
  "PLAIN",
  "LOGIN",
  "CRAM-MD5",
  "SCRAM-SHA-1",
  "SCRAM-SHA-256",
];

function nobody(): { uid: number; gid: number } {
  for (const line of Deno.readTextFileSync("/etc/passwd").split("\n")) {
    const [name, , uid, gid] = line.split(":");
    if (name === "nobody") return { uid: Number(uid), gid: Number(gid) };
  }
  return { uid: 65534, gid: 65534 };
}

/** A password stored as `scheme` would be, made by `doveadm pw`. */
async function storedCredentials(
  scheme: "SCRAM-SHA-256" | "SHA512-CRYPT",
  password: string,
): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command("doveadm", {
    args: ["pw", "-s", scheme, "-p", password],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(stdout).trim();
  if (code !== 0 || !text.startsWith(`{${scheme}}`)) {
    throw new Error(
      `Cannot make ${scheme} credentials: doveadm pw exited with ${code}: ${
        new TextDecoder().decode(stderr).trim()
      }`,
    );
  }
  return text;
}

function field(value: string, what: string): string {
  if (/[:\r\n]/.test(value)) {
    throw new TypeError(`Cannot put ${what} in a passwd-file: "${value}"`);
  }
  return value;
}

/**
 * The directory holding Dovecot's binaries, when Dovecot is installed.
 *
 * @param lmtp Also require the LMTP server (dovecot-lmtpd).
 * @returns Whether Dovecot can run here.
 */
export function dovecotInstalled(lmtp = false): boolean {
  try {
    Deno.statSync("/usr/sbin/dovecot");
    Deno.statSync("/usr/lib/dovecot/auth");
    if (lmtp) Deno.statSync("/usr/lib/dovecot/lmtp");
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts a throwaway Dovecot from a private directory and waits until its
 * auth socket (and LMTP, when asked) accepts connections.
 *
 * @param options Accounts, mechanisms, LMTP.
 * @returns The running instance.
 * @throws {Error} When Dovecot is missing, not root, or it does not start.
 * @example SASL for Postfix
 * ```ts ignore
 * await using dovecot = await startDovecot();
 * await using postfix = await startPostfix({ sasl: dovecot.authSocket });
 * ```
 */
export async function startDovecot(
  options: DovecotOptions = {},
): Promise<Dovecot> {
  if (!dovecotInstalled(options.lmtp)) {
    throw new Error("Cannot start Dovecot: it is not installed");
  }
  if (Deno.uid() !== 0) throw new Error("Cannot start Dovecot: not root");
  const users = options.users ?? [DOVECOT_DEFAULT_USER];
  const mechanisms = options.mechanisms ?? ALL_MECHANISMS;
  const dir = await Deno.makeTempDir({ prefix: "sendmail_dovecot_" });
  try {
    await Deno.chmod(dir, 0o755);
    const { uid, gid } = nobody();
    for (const sub of ["run", "state"]) await Deno.mkdir(`${dir}/${sub}`);
    await Deno.mkdir(`${dir}/home`, { mode: 0o755 });
    await Deno.chown(`${dir}/home`, uid, gid);
    const lines: string[] = [];
    for (const user of users) {
      const name = field(user.username, "a user name");
      const secret = user.scheme === undefined || user.scheme === "PLAIN"
        ? `{PLAIN}${field(user.password, "a password")}`
        : await storedCredentials(user.scheme, user.password);
      const extra = user.quota
        ? `userdb_quota_rule=*:storage=${field(user.quota, "a quota")}`
        : "";
      lines.push(
        `${name}:${secret}:${uid}:${gid}::${dir}/home/${name}::${extra}`,
      );
    }
    // Dovecot's auth process runs as the dovecot user: it must read it.
    await Deno.writeTextFile(`${dir}/passwd`, lines.join("\n") + "\n");
    await Deno.chmod(`${dir}/passwd`, 0o644);
    const authSocket = `${dir}/run/auth-smtpd`;
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = options.lmtp ? freePort() : 0;
      await Deno.writeTextFile(
        `${dir}/dovecot.conf`,
        dovecotConf(dir, mechanisms, options, port),
      );
      const child = new ChildLines("/usr/sbin/dovecot", [
        "-F",
        "-c",
        `${dir}/dovecot.conf`,
      ]);
      const log: string[] = [];
      const ready = () => {
        log.push(...child.takeLines());
        try {
          Deno.statSync(authSocket);
          if (options.lmtp) Deno.statSync(`${dir}/run/lmtp`);
        } catch {
          return undefined;
        }
        return !options.lmtp || listening(port) ? true : undefined;
      };
      try {
        await child.waitFor(ready, 10_000, "Dovecot to listen");
        const lmtp = options.lmtp
          ? { hostname: "127.0.0.1", port, path: `${dir}/run/lmtp` }
          : undefined;
        return new Instance(child, dir, authSocket, mechanisms, lmtp, log);
      } catch (error) {
        lastError = error;
        await child[Symbol.asyncDispose]();
        if (!/in use/i.test(log.join("\n") + child.stderr)) break;
      }
    }
    throw new Error("Cannot start Dovecot", { cause: lastError });
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
}

function dovecotConf(
  dir: string,
  mechanisms: readonly DovecotMechanism[],
  options: DovecotOptions,
  port: number,
): string {
  const tls = options.certs
    ? [
      "ssl = yes",
      `ssl_cert = <${options.certs.certFile}`,
      `ssl_key = <${options.certs.keyFile}`,
    ]
    : ["ssl = no"];
  const lmtp = options.lmtp
    ? [
      "service lmtp {",
      "  inet_listener lmtp {",
      "    address = 127.0.0.1",
      `    port = ${port}`,
      "  }",
      "  unix_listener lmtp {",
      "    mode = 0666",
      "  }",
      "}",
      "protocol lmtp {",
      "  mail_plugins = $mail_plugins quota",
      // joe@example.com is the user joe, as Dovecot's documentation
      // recommends for LMTP (a bare "joe" works too).
      "  auth_username_format = %Ln",
      "}",
    ]
    : [];
  return [
    `base_dir = ${dir}/run`,
    `state_dir = ${dir}/state`,
    "log_path = /dev/stdout",
    "log_timestamp =",
    `protocols = ${options.lmtp ? "lmtp" : "none"}`,
    "listen = 127.0.0.1",
    ...tls,
    // Loopback only: plaintext mechanisms are allowed without TLS.
    "disable_plaintext_auth = no",
    `auth_mechanisms = ${mechanisms.map((m) => m.toLowerCase()).join(" ")}`,
    "auth_verbose = yes",
    // A wrong password is answered at once (tests try them on purpose).
    "auth_failure_delay = 0",
    "mail_location = maildir:~/Maildir",
    "plugin {",
    "  quota = maildir:User quota",
    "}",
    "passdb {",
    "  driver = passwd-file",
    `  args = ${dir}/passwd`,
    "}",
    "userdb {",
    "  driver = passwd-file",
    `  args = ${dir}/passwd`,
    "}",
    "service auth {",
    "  unix_listener auth-smtpd {",
    "    mode = 0666",
    "  }",
    "}",
    // No auth penalty: after a failure from 127.0.0.1, Dovecot would delay
    // every later authentication from it by seconds (its anvil counts
    // failures per IP; auth, not root, cannot open a mode 0 socket).
    "service anvil {",
    "  unix_listener anvil-auth-penalty {",
    "    mode = 0",
    "  }",
    "}",
    ...lmtp,
    "",
  ].join("\n");
}

class Instance implements Dovecot {
  readonly dir: string;
  readonly authSocket: string;
  readonly mechanisms: readonly DovecotMechanism[];
  readonly lmtp: DovecotLmtp | undefined;
  readonly #child: ChildLines;
  readonly #log: string[];

  constructor(
    child: ChildLines,
    dir: string,
    authSocket: string,
    mechanisms: readonly DovecotMechanism[],
    lmtp: DovecotLmtp | undefined,
    log: string[],
  ) {
    this.#child = child;
    this.dir = dir;
    this.authSocket = authSocket;
    this.mechanisms = mechanisms;
    this.lmtp = lmtp;
    this.#log = log;
  }

  get log(): string {
    this.#log.push(...this.#child.takeLines());
    return this.#log.join("\n");
  }

  async messages(username: string): Promise<MaildirMessage[]> {
    return await readMaildir(`${this.dir}/home/${username}/Maildir`);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.#child[Symbol.asyncDispose]();
    } finally {
      await Deno.remove(this.dir, { recursive: true });
    }
  }
}

/**
 * Reads the messages of a maildir's `new` and `cur`, oldest first (maildir
 * names begin with the delivery time; ties keep name order).
 *
 * @param maildir The maildir (holding `new` and `cur`).
 * @returns The messages; none when the maildir does not exist yet.
 */
export async function readMaildir(maildir: string): Promise<MaildirMessage[]> {
  const files: { file: string; mtime: number; name: string }[] = [];
  for (const sub of ["new", "cur"]) {
    try {
      for await (const entry of Deno.readDir(`${maildir}/${sub}`)) {
        if (!entry.isFile) continue;
        const file = `${maildir}/${sub}/${entry.name}`;
        const mtime = (await Deno.stat(file)).mtime?.getTime() ?? 0;
        files.push({ file, mtime, name: entry.name });
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  files.sort((a, b) => a.mtime - b.mtime || a.name.localeCompare(b.name));
  const messages: MaildirMessage[] = [];
  for (const { file } of files) {
    const bytes = await Deno.readFile(file);
    messages.push({ file, bytes, text: new TextDecoder().decode(bytes) });
  }
  return messages;
}
