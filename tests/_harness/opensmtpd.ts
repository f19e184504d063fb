/**
 * A real OpenSMTPD (Debian's opensmtpd 6.8) as a disposable test server,
 * unpacked by `.ci/install_servers` rather than installed (it would replace
 * Postfix). Its paths are compiled in, so `smtpd -d` runs under `unshare -m`
 * with private directories bind-mounted over them: the spool
 * (/var/spool/smtpd), the chroot (/var/lib/opensmtpd/empty), /run (its
 * control socket), /usr/libexec (its delivery helpers, from the unpacked
 * tree) and /etc/passwd, /etc/group (its `opensmtpd`/`opensmtpq` users and
 * the account that owns the test maildir). Nothing outside the private
 * directory changes.
 *
 * It is the strict server of the matrix: it offers neither PIPELINING nor
 * CHUNKING (and refuses a command that arrives with the previous one's
 * data: `500 5.5.1 Invalid command: Pipelining not supported`). Plaintext
 * only: OpenSMTPD 6.8's TLS is broken on Debian 12 (upstream issues
 * #1171/#1239; `openssl s_client` fails as well), and without TLS it offers
 * no AUTH. Every recipient's copy is delivered into one maildir, read back
 * by {@linkcode OpenSmtpd.messages}; delivery is asynchronous, so wait with
 * {@linkcode OpenSmtpd.waitForMessages}.
 *
 * Needs root, `unshare` and the unpacked OpenSMTPD: the `"opensmtpd"`
 * requirement of `interop()`.
 *
 * @module
 */

import { type MaildirMessage, readMaildir } from "./dovecot.ts";
import { freePort, listening } from "./net.ts";
import { ChildLines } from "./process.ts";
import {
  privateAccounts,
  privateMountCommand,
  serversDirectory,
  unpackedFile,
  unpackedVersion,
} from "./unpacked.ts";

/** A running OpenSMTPD; dispose it with `await using`. */
export interface OpenSmtpd extends AsyncDisposable {
  /** Always `127.0.0.1`. */
  readonly hostname: string;
  /** The plaintext port. */
  readonly port: number;
  /** The unpacked package's version. */
  readonly version: string;
  /**
   * Every copy delivered so far (one per recipient, each with OpenSMTPD's
   * `Return-Path`, `Delivered-To` and `Received` fields first, LF line
   * ends), oldest first.
   */
  messages(): Promise<MaildirMessage[]>;
  /**
   * Waits until at least `count` copies are delivered.
   *
   * @param count How many.
   * @param timeoutMs How long to wait. @default {10000}
   * @returns The delivered copies.
   */
  waitForMessages(count: number, timeoutMs?: number): Promise<MaildirMessage[]>;
  /** What smtpd logged so far: one `smtp …` line per event, with `failed-command` lines for refusals. */
  readonly log: string;
}

/**
 * The unpacked smtpd binary, when `.ci/install_servers` put it there.
 *
 * @returns Its path, or `undefined`.
 */
export function openSmtpdBinary(): string | undefined {
  return unpackedFile("opensmtpd", "usr/sbin/smtpd");
}

/**
 * Starts the unpacked OpenSMTPD on a free 127.0.0.1 port and waits until it
 * listens.
 *
 * @returns The running server.
 * @throws {Error} When OpenSMTPD is not unpacked, not root, or it does not start.
 * @example The strict server
 * ```ts ignore
 * await using smtpd = await startOpenSmtpd();
 * // ... send to smtpd.hostname:smtpd.port with tls "none" ...
 * const [copy] = await smtpd.waitForMessages(1);
 * ```
 */
export async function startOpenSmtpd(): Promise<OpenSmtpd> {
  const smtpd = openSmtpdBinary();
  if (!smtpd) {
    throw new Error(
      "Cannot start OpenSMTPD: it is not unpacked (.ci/install_servers)",
    );
  }
  if (Deno.uid() !== 0) throw new Error("Cannot start OpenSMTPD: not root");
  const dir = await Deno.makeTempDir({ prefix: "sendmail_opensmtpd_" });
  try {
    await Deno.chmod(dir, 0o755);
    const maildir = `${dir}/maildir`;
    const { binds, ids } = privateAccounts(dir, [
      { name: "opensmtpd" },
      { name: "opensmtpq" },
      { name: "smtpdtest", home: maildir },
    ]);
    await Deno.mkdir(`${dir}/spool/smtpd`, { recursive: true });
    await Deno.chmod(`${dir}/spool/smtpd`, 0o711);
    await Deno.mkdir(`${dir}/lib/opensmtpd/empty`, { recursive: true });
    await Deno.mkdir(`${dir}/run`);
    await Deno.mkdir(maildir, { mode: 0o700 });
    await Deno.chown(maildir, ids.smtpdtest!, ids.smtpdtest!);
    const libexec = `${serversDirectory()}/opensmtpd/usr/libexec`;
    const mounts: [string, string][] = [
      ...binds,
      [`${dir}/spool`, "/var/spool"],
      [`${dir}/lib`, "/var/lib"],
      [`${dir}/run`, "/run"],
      [libexec, "/usr/libexec"],
    ];
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = freePort();
      await Deno.writeTextFile(
        `${dir}/smtpd.conf`,
        [
          'table recipients { "@" = smtpdtest }',
          `listen on 127.0.0.1 port ${port}`,
          `action "deliver" maildir "${maildir}" virtual <recipients>`,
          'match from any for any action "deliver"',
          "",
        ].join("\n"),
      );
      const [command, args] = privateMountCommand(
        mounts,
        smtpd,
        ["-d", "-f", `${dir}/smtpd.conf`],
        { stderrToStdout: true },
      );
      const child = new ChildLines(command, args);
      const log: string[] = [];
      try {
        await child.waitFor(
          () => {
            log.push(...child.takeLines());
            return listening(port) ? true : undefined;
          },
          10_000,
          `OpenSMTPD to listen on 127.0.0.1:${port}`,
        );
        return new Instance(child, dir, port, log);
      } catch (error) {
        lastError = error;
        await child[Symbol.asyncDispose]();
        if (!/in use/i.test(log.join("\n") + child.stderr)) break;
      }
    }
    throw new Error("Cannot start OpenSMTPD", { cause: lastError });
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
}

class Instance implements OpenSmtpd {
  readonly hostname = "127.0.0.1";
  readonly port: number;
  readonly version: string = unpackedVersion("opensmtpd");
  readonly #child: ChildLines;
  readonly #dir: string;
  readonly #log: string[];

  constructor(child: ChildLines, dir: string, port: number, log: string[]) {
    this.#child = child;
    this.#dir = dir;
    this.port = port;
    this.#log = log;
  }

  get log(): string {
    this.#log.push(...this.#child.takeLines());
    return this.#log.join("\n");
  }

  messages(): Promise<MaildirMessage[]> {
    return readMaildir(`${this.#dir}/maildir`);
  }

  async waitForMessages(
    count: number,
    timeoutMs = 10_000,
  ): Promise<MaildirMessage[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const messages = await this.messages();
      if (messages.length >= count) return messages;
      if (Date.now() > deadline) {
        throw new Error(
          `Timed out after ${timeoutMs} ms waiting for ${count} OpenSMTPD deliveries (have ${messages.length}): ${
            this.log.slice(-2000)
          }`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.#child[Symbol.asyncDispose]();
    } finally {
      await Deno.remove(this.#dir, { recursive: true });
    }
  }
}
