/**
 * A real Postfix `smtpd` as a disposable test server: a throwaway Postfix
 * instance (its own config, queue and data directories under a temporary
 * directory) whose `master` runs in the foreground and listens on a free
 * 127.0.0.1 port. Every accepted message is put on hold in the instance's
 * queue (`smtpd_client_restrictions = static:HOLD`), so nothing is ever
 * delivered, and {@linkcode Postfix.messages} reads the queue files back
 * with `postcat`.
 *
 * smtpd runs with `smtpd_forbid_bare_newline = reject` (the SMTP smuggling
 * defence of Postfix 3.9 / 3.8.5 / 3.7.10; `yes` only normalises): a bare LF
 * in a command or in the message data is refused with 550, so a test proves
 * the client never sends one.
 *
 * Needs root (the queue belongs to the `postfix` user) and Postfix's
 * `master`, `smtpd` and `postcat`: the `"postfix-smtpd"` requirement of
 * `interop()`.
 *
 * @module
 */

import type { TestCerts } from "./certs.ts";
import { freePort, listening } from "./net.ts";
import { ChildLines } from "./process.ts";

/** Where Debian and most distributions install Postfix's daemons. */
const DAEMON_DIRECTORIES = ["/usr/lib/postfix/sbin", "/usr/libexec/postfix"];

/**
 * The directory holding Postfix's `master` and `smtpd`, or `undefined`.
 *
 * @returns The daemon directory.
 */
export function postfixDaemonDirectory(): string | undefined {
  for (const dir of DAEMON_DIRECTORIES) {
    try {
      if (
        Deno.statSync(`${dir}/master`).isFile &&
        Deno.statSync(`${dir}/smtpd`).isFile
      ) {
        return dir;
      }
    } catch {
      // not here
    }
  }
  return undefined;
}

/** One message held in the Postfix queue. */
export interface PostfixMessage {
  /** The queue id. */
  id: string;
  /** The envelope sender; `""` for `<>`. */
  sender: string;
  /** The envelope recipients, in order. */
  recipients: string[];
  /** The header section as postcat prints it (LF line ends), Received first. */
  headers: string;
  /** The body as postcat prints it: lines end in LF, dot-stuffing undone. */
  body: string;
}

/** A running Postfix instance; dispose it with `await using`. */
export interface Postfix extends AsyncDisposable {
  /** Always `127.0.0.1`. */
  readonly hostname: string;
  /** The port the main smtpd listens on. */
  readonly port: number;
  /** The port of each of {@linkcode PostfixOptions.services}, by name. */
  readonly ports: Readonly<Record<string, number>>;
  /** Every message held so far, oldest first. */
  messages(): Promise<PostfixMessage[]>;
  /**
   * The messages held since the last call (or since the start), oldest
   * first: only those are read with postcat, so a long run stays fast.
   */
  newMessages(): Promise<PostfixMessage[]>;
  /** What Postfix logged (maillog_file is stdout). */
  readonly log: string;
}

/**
 * One more smtpd listener of the instance, on a free port of its own, with
 * settings that override main.cf for it alone (master.cf `-o`).
 */
export interface PostfixService {
  /** Its name: the key of {@linkcode Postfix.ports}, and its log name `postfix/NAME`. */
  name: string;
  /**
   * `"implicit"`: TLS from the first byte (`smtpd_tls_wrappermode`);
   * `"starttls"`: STARTTLS offered and required before MAIL (and AUTH);
   * `"none"`: as main.cf says. TLS needs {@linkcode PostfixOptions.certs}.
   * @default {"none"}
   */
  tls?: "implicit" | "starttls" | "none";
  /** Refuse mail from clients that did not authenticate (submission). @default {false} */
  authRequired?: boolean;
  /** More settings for this listener alone (`-o name=value`). */
  settings?: Record<string, string>;
}

/** Options for {@linkcode startPostfix}. */
export interface PostfixOptions {
  /** More main.cf settings, applied last. */
  main?: Record<string, string>;
  /**
   * The certificate for TLS: STARTTLS is then offered (security level
   * `may`) on every listener, and `tls` services can be asked for.
   * @default {no TLS}
   */
  certs?: TestCerts;
  /**
   * A Dovecot auth socket (`Dovecot.authSocket` of dovecot.ts): AUTH is then
   * offered with the mechanisms Dovecot offers (`smtpd_sasl_type =
   * dovecot`), without TLS too (loopback tests).
   * @default {no AUTH}
   */
  sasl?: string;
  /** More smtpd listeners (submission, smtps, strict modes). @default {[]} */
  services?: PostfixService[];
  /**
   * More master.cf services (`smtp unix - - n - - smtp` to relay, `tlsmgr
   * unix - - n 1000? 1 tlsmgr` for TLS), appended to the default ones.
   */
  master?: string[];
}

function idOf(name: string, file: string): number {
  for (const line of Deno.readTextFileSync(file).split("\n")) {
    const [entry, , id] = line.split(":");
    if (entry === name && id !== undefined) return Number(id);
  }
  throw new Error(`Cannot find ${name} in ${file}`);
}

const QUEUE_DIRS = [
  "active",
  "bounce",
  "corrupt",
  "defer",
  "deferred",
  "flush",
  "hold",
  "incoming",
  "private",
  "saved",
  "trace",
];

/**
 * Starts a throwaway Postfix instance whose smtpd listens on a free port
 * of 127.0.0.1, and waits until it accepts connections.
 *
 * @param options Extra main.cf settings.
 * @returns The running instance.
 * @throws {Error} When Postfix is missing, not root, or it does not start.
 * @example Proving what smtpd received
 * ```ts ignore
 * await using postfix = await startPostfix();
 * // ... send to postfix.hostname:postfix.port with tls "none" ...
 * const [message] = await postfix.messages();
 * ```
 */
export async function startPostfix(
  options: PostfixOptions = {},
): Promise<Postfix> {
  const daemons = postfixDaemonDirectory();
  if (!daemons) throw new Error("Cannot start Postfix: it is not installed");
  if (Deno.uid() !== 0) throw new Error("Cannot start Postfix: not root");
  const owner = idOf("postfix", "/etc/passwd");
  const postdrop = idOf("postdrop", "/etc/group");
  const dir = await Deno.makeTempDir({ prefix: "sendmail_postfix_" });
  try {
    await Deno.chmod(dir, 0o755);
    const conf = `${dir}/conf`;
    const queue = `${dir}/queue`;
    const data = `${dir}/data`;
    await Deno.mkdir(conf);
    await Deno.mkdir(queue);
    await Deno.mkdir(data);
    await Deno.chown(data, owner, null);
    for (const name of QUEUE_DIRS) {
      await Deno.mkdir(`${queue}/${name}`, { mode: 0o700 });
      await Deno.chown(`${queue}/${name}`, owner, null);
    }
    await Deno.mkdir(`${queue}/pid`, { mode: 0o755 });
    for (const [name, mode] of [["maildrop", 0o730], ["public", 0o710]]) {
      await Deno.mkdir(`${queue}/${name}`);
      await Deno.chown(`${queue}/${name}`, owner, postdrop);
      await Deno.chmod(`${queue}/${name}`, mode as number);
    }
    const main: Record<string, string> = {
      compatibility_level: "3.6",
      queue_directory: queue,
      data_directory: data,
      daemon_directory: daemons,
      mail_owner: "postfix",
      setgid_group: "postdrop",
      myhostname: "postfix.test",
      mydomain: "postfix.test",
      myorigin: "postfix.test",
      mydestination: "",
      relay_domains: "",
      inet_interfaces: "127.0.0.1",
      inet_protocols: "ipv4",
      mynetworks: "127.0.0.0/8",
      alias_maps: "",
      alias_database: "",
      biff: "no",
      smtputf8_enable: "yes",
      smtpd_banner: "$myhostname ESMTP Postfix test",
      smtpd_relay_restrictions: "permit_mynetworks, reject",
      // Every accepted message stays on hold: nothing is delivered.
      smtpd_client_restrictions: "static:HOLD",
      smtpd_forbid_bare_newline: "reject",
      smtpd_forbid_bare_newline_exclusions: "",
      maillog_file: "/dev/stdout",
      ...tlsSettings(options.certs),
      ...saslSettings(options.sasl),
      ...options.main,
    };
    const services = options.services ?? [];
    for (const service of services) {
      if (!/^[a-z][a-z0-9_-]*$/.test(service.name)) {
        throw new TypeError(`Cannot name a Postfix service "${service.name}"`);
      }
      if ((service.tls ?? "none") !== "none" && !options.certs) {
        throw new TypeError(
          `Cannot give Postfix service "${service.name}" TLS without certs`,
        );
      }
    }
    await Deno.writeTextFile(
      `${conf}/main.cf`,
      Object.entries(main).map(([k, v]) => `${k} = ${v}\n`).join(""),
    );
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = freePort();
      const ports: Record<string, number> = {};
      for (const service of services) {
        let extra = freePort();
        while (extra === port || Object.values(ports).includes(extra)) {
          extra = freePort();
        }
        ports[service.name] = extra;
      }
      await Deno.writeTextFile(
        `${conf}/master.cf`,
        masterCf(
          port,
          services,
          ports,
          options.certs !== undefined,
          options.master ?? [],
        ),
      );
      // Postfix waits until a configuration file is a second old: age them.
      const past = new Date(Date.now() - 60_000);
      for (const name of ["main.cf", "master.cf"]) {
        await Deno.utime(`${conf}/${name}`, past, past);
      }
      // -s: foreground, like `postfix start-fg`, without the checks.
      const child = new ChildLines(`${daemons}/master`, ["-s"], {
        env: { MAIL_CONFIG: conf },
      });
      const log: string[] = [];
      try {
        await child.waitFor(
          () => {
            log.push(...child.takeLines());
            return [port, ...Object.values(ports)].every(listening)
              ? true
              : undefined;
          },
          10_000,
          `Postfix to listen on 127.0.0.1:${port}`,
        );
        return new Instance(child, port, ports, dir, conf, queue, log);
      } catch (error) {
        lastError = error;
        await child[Symbol.asyncDispose]();
        if (!/in use/i.test(log.join("\n") + child.stderr)) break;
      }
    }
    throw new Error("Cannot start Postfix", { cause: lastError });
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
}

function tlsSettings(certs: TestCerts | undefined): Record<string, string> {
  if (!certs) return {};
  return {
    smtpd_tls_cert_file: certs.certFile,
    smtpd_tls_key_file: certs.keyFile,
    smtpd_tls_security_level: "may",
    smtpd_tls_loglevel: "1",
    smtpd_tls_received_header: "yes",
    smtpd_tls_auth_only: "no",
  };
}

function saslSettings(socket: string | undefined): Record<string, string> {
  if (!socket) return {};
  return {
    smtpd_sasl_auth_enable: "yes",
    smtpd_sasl_type: "dovecot",
    smtpd_sasl_path: socket,
    smtpd_sasl_security_options: "noanonymous",
    smtpd_sasl_local_domain: "",
    // Relaying is open to loopback anyway; authenticated clients too.
    smtpd_relay_restrictions:
      "permit_mynetworks, permit_sasl_authenticated, reject",
  };
}

function serviceSettings(service: PostfixService): Record<string, string> {
  const settings: Record<string, string> = {
    syslog_name: `postfix/${service.name}`,
  };
  if (service.tls === "implicit") {
    settings.smtpd_tls_wrappermode = "yes";
    settings.smtpd_tls_security_level = "encrypt";
  } else if (service.tls === "starttls") {
    settings.smtpd_tls_security_level = "encrypt";
    settings.smtpd_tls_auth_only = "yes";
  }
  if (service.authRequired) {
    // HOLD is applied and the list goes on: unauthenticated clients are
    // then refused, authenticated ones permitted (and held).
    settings.smtpd_client_restrictions =
      "static:HOLD, permit_sasl_authenticated, reject";
    settings.smtpd_relay_restrictions = "permit_sasl_authenticated, reject";
  }
  return { ...settings, ...service.settings };
}

function masterCf(
  port: number,
  services: PostfixService[],
  ports: Record<string, number>,
  tls: boolean,
  more: readonly string[],
): string {
  const extra = services.map((service) => {
    const settings = Object.entries(serviceSettings(service)).map((
      [name, value],
    ) =>
      /^[^\s{}]*$/.test(value)
        ? `-o ${name}=${value}`
        : `-o { ${name} = ${value} }`
    );
    return `127.0.0.1:${ports[service.name]} inet n - n - - smtpd ${
      settings.join(" ")
    }`;
  });
  // service type private unpriv chroot wakeup maxproc command
  return [
    `127.0.0.1:${port} inet n - n - - smtpd`,
    ...extra,
    ...(tls && !more.some((line) => /^tlsmgr\s/.test(line))
      ? ["tlsmgr unix - - n 1000? 1 tlsmgr"]
      : []),
    "cleanup unix n - n - 0 cleanup",
    "qmgr unix n - n 300 1 qmgr",
    "rewrite unix - - n - - trivial-rewrite",
    "bounce unix - - n - 0 bounce",
    "defer unix - - n - 0 bounce",
    "trace unix - - n - 0 bounce",
    "verify unix - - n - 1 verify",
    "flush unix n - n 1000? 0 flush",
    "proxymap unix - - n - - proxymap",
    "anvil unix - - n - 1 anvil",
    "scache unix - - n - 1 scache",
    "error unix - - n - - error",
    "retry unix - - n - - error",
    "discard unix - - n - - discard",
    "postlog unix-dgram n - n - 1 postlogd",
    ...more,
    "",
  ].join("\n");
}

async function postcat(conf: string, flag: string, file: string) {
  const { code, stdout, stderr } = await new Deno.Command("postcat", {
    args: ["-c", conf, flag, file],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(
      `Cannot read queue file ${file}: ${new TextDecoder().decode(stderr)}`,
    );
  }
  return new TextDecoder().decode(stdout);
}

class Instance implements Postfix {
  readonly hostname = "127.0.0.1";
  readonly port: number;
  readonly ports: Readonly<Record<string, number>>;
  readonly #child: ChildLines;
  readonly #dir: string;
  readonly #conf: string;
  readonly #queue: string;
  readonly #log: string[];

  constructor(
    child: ChildLines,
    port: number,
    ports: Record<string, number>,
    dir: string,
    conf: string,
    queue: string,
    log: string[],
  ) {
    this.#child = child;
    this.port = port;
    this.ports = ports;
    this.#dir = dir;
    this.#conf = conf;
    this.#queue = queue;
    this.#log = log;
  }

  get log(): string {
    this.#log.push(...this.#child.takeLines());
    return this.#log.join("\n");
  }

  readonly #seen = new Set<string>();

  async newMessages(): Promise<PostfixMessage[]> {
    const messages = await this.#read((id) => !this.#seen.has(id));
    for (const { id } of messages) this.#seen.add(id);
    return messages;
  }

  messages(): Promise<PostfixMessage[]> {
    return this.#read(() => true);
  }

  async #read(wanted: (id: string) => boolean): Promise<PostfixMessage[]> {
    const files: { file: string; id: string; mtime: number }[] = [];
    // Accepted mail is written to hold before smtpd answers the final ".".
    for (const sub of ["hold", "incoming", "active", "deferred"]) {
      for await (const entry of Deno.readDir(`${this.#queue}/${sub}`)) {
        if (!entry.isFile || !wanted(entry.name)) continue;
        const file = `${this.#queue}/${sub}/${entry.name}`;
        const info = await Deno.stat(file);
        files.push({ file, id: entry.name, mtime: info.mtime!.getTime() });
      }
    }
    files.sort((a, b) => a.mtime - b.mtime || a.id.localeCompare(b.id));
    const messages: PostfixMessage[] = [];
    for (const { file, id } of files) {
      const envelope = await postcat(this.#conf, "-e", file);
      const sender = /^sender: (.*)$/m.exec(envelope)?.[1] ?? "";
      const recipients = [...envelope.matchAll(/^recipient: (.*)$/gm)].map(
        (m) => m[1]!,
      );
      messages.push({
        id,
        sender,
        recipients,
        headers: await postcat(this.#conf, "-h", file),
        body: await postcat(this.#conf, "-b", file),
      });
    }
    return messages;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      // master ends its children (smtpd, cleanup …) on SIGTERM.
      await this.#child[Symbol.asyncDispose]();
    } finally {
      await Deno.remove(this.#dir, { recursive: true });
    }
  }
}
