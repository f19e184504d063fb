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
  /** The port smtpd listens on. */
  readonly port: number;
  /** Every message held so far, oldest first. */
  messages(): Promise<PostfixMessage[]>;
  /** What Postfix logged (maillog_file is stdout). */
  readonly log: string;
}

/** Options for {@linkcode startPostfix}. */
export interface PostfixOptions {
  /** More main.cf settings, applied last. */
  main?: Record<string, string>;
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
      ...options.main,
    };
    await Deno.writeTextFile(
      `${conf}/main.cf`,
      Object.entries(main).map(([k, v]) => `${k} = ${v}\n`).join(""),
    );
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = freePort();
      await Deno.writeTextFile(
        `${conf}/master.cf`,
        masterCf(port, options.master ?? []),
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
            return listening(port) ? true : undefined;
          },
          10_000,
          `Postfix to listen on 127.0.0.1:${port}`,
        );
        return new Instance(child, port, dir, conf, queue, log);
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

function masterCf(port: number, extra: readonly string[]): string {
  // service type private unpriv chroot wakeup maxproc command
  return [
    `127.0.0.1:${port} inet n - n - - smtpd`,
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
    ...extra,
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
  readonly #child: ChildLines;
  readonly #dir: string;
  readonly #conf: string;
  readonly #queue: string;
  readonly #log: string[];

  constructor(
    child: ChildLines,
    port: number,
    dir: string,
    conf: string,
    queue: string,
    log: string[],
  ) {
    this.#child = child;
    this.port = port;
    this.#dir = dir;
    this.#conf = conf;
    this.#queue = queue;
    this.#log = log;
  }

  get log(): string {
    this.#log.push(...this.#child.takeLines());
    return this.#log.join("\n");
  }

  async messages(): Promise<PostfixMessage[]> {
    const files: { file: string; id: string; mtime: number }[] = [];
    // Accepted mail is written to hold before smtpd answers the final ".".
    for (const sub of ["hold", "incoming", "active", "deferred"]) {
      for await (const entry of Deno.readDir(`${this.#queue}/${sub}`)) {
        if (!entry.isFile) continue;
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
