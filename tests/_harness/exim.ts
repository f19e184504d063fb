/**
 * A real Exim 4 (Debian's exim4-daemon-light, GnuTLS) as a disposable test
 * server, unpacked by `.ci/install_servers` rather than installed (it would
 * replace Postfix). The daemon runs in the foreground (`exim -C CONF -bdf
 * -oX PORT`) from a private directory, under `unshare -m` with a private
 * /etc/passwd that has the `Debian-exim` user its binary looks up.
 *
 * It offers STARTTLS (and implicit TLS on a second port) with the test
 * certificates, AUTH PLAIN and LOGIN (Exim's `plaintext` driver) and
 * CRAM-MD5 (`cram_md5`) against given accounts, PIPELINING, CHUNKING and
 * SMTPUTF8, each of them switchable. Accepted messages stay in the spool
 * (`queue_only`, no queue runner): {@linkcode Exim.messages} reads the
 * spool files back, with what Exim recorded about the session (protocol,
 * authenticator, TLS cipher, the longest line) and its `<=` log line (`L.`
 * when the client pipelined, `K` when it used CHUNKING).
 *
 * Needs root, `unshare` and the unpacked Exim: the `"exim"` requirement of
 * `interop()`.
 *
 * @module
 */

import { hasControl } from "../../src/protocol/_control.ts";
import type { TestCerts } from "./certs.ts";
import { freePort, listening } from "./net.ts";
import { ChildLines } from "./process.ts";
import {
  privateAccounts,
  privateMountCommand,
  unpackedFile,
  unpackedVersion,
} from "./unpacked.ts";

/** An account Exim's authenticators accept. */
export interface EximUser {
  /** The login. */
  username: string;
  /** Its password (PLAIN, LOGIN, CRAM-MD5). */
  password: string;
}

/** Options for {@linkcode startExim}. */
export interface EximOptions {
  /** The certificate: STARTTLS on the main port, implicit TLS on {@linkcode Exim.implicitPort}. @default {no TLS} */
  certs?: TestCerts;
  /** Accounts: AUTH PLAIN LOGIN CRAM-MD5 is offered (also without TLS). @default {[]} */
  users?: EximUser[];
  /** Offer PIPELINING. @default {true} */
  pipelining?: boolean;
  /** Offer CHUNKING. @default {true} */
  chunking?: boolean;
  /** Offer SMTPUTF8. @default {true} */
  smtputf8?: boolean;
}

/** One message in Exim's spool. */
export interface EximMessage {
  /** The message id. */
  id: string;
  /** The envelope sender; `""` for `<>`. */
  sender: string;
  /** The envelope recipients, in order. */
  recipients: string[];
  /** The header section as Exim keeps it (its own Received first, LF line ends). */
  headers: string;
  /** The body as Exim stores it: LF line ends, dot-stuffing undone. */
  body: Uint8Array;
  /** {@linkcode EximMessage.body} decoded as UTF-8. */
  bodyText: string;
  /** The received protocol: `esmtp`, `esmtps` (TLS), `esmtpa`, `esmtpsa`, `utf8esmtp…`. */
  protocol: string;
  /** The authenticator's public name (`PLAIN`, `LOGIN`, `CRAM-MD5`), if any. */
  auth: string | undefined;
  /** The authenticated id, if any. */
  authId: string | undefined;
  /** The TLS version (`TLS1.3`), if TLS was used. */
  tls: string | undefined;
  /** The longest line Exim received, in octets without its CRLF. */
  maxLineLength: number;
  /** Exim's `<=` log line for the message. */
  logLine: string;
}

/** A running Exim; dispose it with `await using`. */
export interface Exim extends AsyncDisposable {
  /** Always `127.0.0.1`. */
  readonly hostname: string;
  /** The main port: plaintext, with STARTTLS when there are certs. */
  readonly port: number;
  /** The implicit-TLS port, when there are certs. */
  readonly implicitPort: number | undefined;
  /** The unpacked packages' versions. */
  readonly version: string;
  /** Every message in the spool, oldest first. */
  messages(): Promise<EximMessage[]>;
  /** Exim's main log so far. */
  readonly log: string;
}

/**
 * The unpacked Exim binary, when `.ci/install_servers` put it there.
 *
 * @returns Its path, or `undefined`.
 */
export function eximBinary(): string | undefined {
  return unpackedFile("exim", "usr/sbin/exim4");
}

function checked(value: string, what: string, key = false): string {
  // One lsearch line each: "name: password" (the value is not expanded).
  if (
    hasControl(value) || value !== value.trim() ||
    (key && /[\s:"]/.test(value))
  ) {
    throw new TypeError(`Cannot give Exim ${what}: "${value}"`);
  }
  return value;
}

/**
 * Starts the unpacked Exim daemon on free 127.0.0.1 ports and waits until
 * it listens.
 *
 * @param options TLS, accounts, extensions.
 * @returns The running server.
 * @throws {Error} When Exim is not unpacked, not root, or it does not start.
 * @example A STARTTLS server with AUTH
 * ```ts ignore
 * await using exim = await startExim({ certs, users: [{ username: "joe", password: "pw" }] });
 * const [message] = await exim.messages();
 * ```
 */
export async function startExim(options: EximOptions = {}): Promise<Exim> {
  const exim = eximBinary();
  if (!exim) {
    throw new Error(
      "Cannot start Exim: it is not unpacked (.ci/install_servers)",
    );
  }
  if (Deno.uid() !== 0) throw new Error("Cannot start Exim: not root");
  const dir = await Deno.makeTempDir({ prefix: "sendmail_exim_" });
  try {
    await Deno.chmod(dir, 0o755);
    const { binds, ids } = privateAccounts(dir, [{ name: "Debian-exim" }]);
    const id = ids["Debian-exim"]!;
    for (const sub of ["spool", "log"]) {
      await Deno.mkdir(`${dir}/${sub}`, { mode: 0o750 });
      await Deno.chown(`${dir}/${sub}`, id, id);
    }
    const users = (options.users ?? []).map((user) =>
      `${checked(user.username, "a user name", true)}: ${
        checked(user.password, "a password")
      }\n`
    );
    await Deno.writeTextFile(`${dir}/passwd.lsearch`, users.join(""));
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = freePort();
      let implicitPort = options.certs ? freePort() : undefined;
      while (implicitPort === port) implicitPort = freePort();
      await Deno.writeTextFile(
        `${dir}/exim.conf`,
        eximConf(exim, dir, options, port, implicitPort),
      );
      const ports = implicitPort ? `${port}:${implicitPort}` : `${port}`;
      const [command, args] = privateMountCommand(binds, exim, [
        "-C",
        `${dir}/exim.conf`,
        "-bdf",
        "-oX",
        ports,
      ]);
      const child = new ChildLines(command, args);
      try {
        await child.waitFor(
          () =>
            listening(port) && (!implicitPort || listening(implicitPort))
              ? true
              : undefined,
          10_000,
          `Exim to listen on 127.0.0.1:${ports}`,
        );
        return new Instance(child, dir, port, implicitPort);
      } catch (error) {
        lastError = error;
        await child[Symbol.asyncDispose]();
        const log = await readLog(dir, "panic") + child.stderr;
        if (!/in use/i.test(log)) break;
      }
    }
    throw new Error("Cannot start Exim", { cause: lastError });
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
}

function eximConf(
  exim: string,
  dir: string,
  options: EximOptions,
  port: number,
  implicitPort: number | undefined,
): string {
  const hosts = (on: boolean | undefined) => (on ?? true) ? "*" : "";
  const tls = options.certs
    ? [
      `tls_certificate = ${options.certs.certFile}`,
      `tls_privatekey = ${options.certs.keyFile}`,
      "tls_advertise_hosts = *",
      `tls_on_connect_ports = ${implicitPort}`,
    ]
    : ["tls_advertise_hosts ="];
  const lookup = `${dir}/passwd.lsearch`;
  const password = (key: string) =>
    `\${lookup{${key}}lsearch{${lookup}}{$value}fail}`;
  const auth = options.users?.length
    ? [
      "begin authenticators",
      "PLAIN:",
      "  driver = plaintext",
      "  public_name = PLAIN",
      "  server_prompts = :",
      `  server_condition = \${if and {{!eq{$auth2}{}}{eq{$auth3}{${
        password("$auth2")
      }}}}}`,
      "  server_set_id = $auth2",
      "LOGIN:",
      "  driver = plaintext",
      "  public_name = LOGIN",
      "  server_prompts = <| Username:: | Password::",
      `  server_condition = \${if and {{!eq{$auth1}{}}{eq{$auth2}{${
        password("$auth1")
      }}}}}`,
      "  server_set_id = $auth1",
      "CRAM_MD5:",
      "  driver = cram_md5",
      "  public_name = CRAM-MD5",
      `  server_secret = \${lookup{$auth1}lsearch{${lookup}}{$value}fail}`,
      "  server_set_id = $auth1",
    ]
    : [];
  return [
    `exim_path = ${exim}`,
    "exim_user = Debian-exim",
    "exim_group = Debian-exim",
    `spool_directory = ${dir}/spool`,
    `log_file_path = ${dir}/log/%slog`,
    "primary_hostname = exim.test",
    "keep_environment =",
    "local_interfaces = 127.0.0.1",
    `daemon_smtp_ports = ${port}`,
    // Nothing is delivered: messages stay in the spool for messages().
    "queue_only = true",
    "host_lookup =",
    "rfc1413_hosts =",
    "message_size_limit = 64M",
    `pipelining_advertise_hosts = ${hosts(options.pipelining)}`,
    `chunking_advertise_hosts = ${hosts(options.chunking)}`,
    `smtputf8_advertise_hosts = ${hosts(options.smtputf8)}`,
    "auth_advertise_hosts = *",
    ...tls,
    "log_selector = +pipelining +received_recipients +tls_cipher " +
    "+smtp_protocol_error +smtp_syntax_error +incoming_port " +
    "+smtp_connection +smtp_no_mail",
    "acl_smtp_rcpt = accept",
    "acl_smtp_data = accept",
    ...auth,
    "",
  ].join("\n");
}

async function readLog(dir: string, name: string): Promise<string> {
  try {
    return await Deno.readTextFile(`${dir}/log/${name}log`);
  } catch {
    return "";
  }
}

class Instance implements Exim {
  readonly hostname = "127.0.0.1";
  readonly port: number;
  readonly implicitPort: number | undefined;
  readonly version: string = unpackedVersion("exim");
  readonly #child: ChildLines;
  readonly #dir: string;

  constructor(
    child: ChildLines,
    dir: string,
    port: number,
    implicitPort: number | undefined,
  ) {
    this.#child = child;
    this.#dir = dir;
    this.port = port;
    this.implicitPort = implicitPort;
  }

  get log(): string {
    try {
      return Deno.readTextFileSync(`${this.#dir}/log/mainlog`);
    } catch {
      return "";
    }
  }

  async messages(): Promise<EximMessage[]> {
    const input = `${this.#dir}/spool/input`;
    const ids: { id: string; mtime: number }[] = [];
    try {
      for await (const entry of Deno.readDir(input)) {
        if (!entry.name.endsWith("-H")) continue;
        const mtime = (await Deno.stat(`${input}/${entry.name}`)).mtime
          ?.getTime() ?? 0;
        ids.push({ id: entry.name.slice(0, -2), mtime });
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    ids.sort((a, b) => a.mtime - b.mtime || a.id.localeCompare(b.id));
    const log = this.log.split("\n");
    const messages: EximMessage[] = [];
    for (const { id } of ids) {
      const header = await Deno.readFile(`${input}/${id}-H`);
      const data = await Deno.readFile(`${input}/${id}-D`);
      const logLine = log.find((line) => line.includes(` ${id} <= `)) ?? "";
      messages.push(parseSpool(id, header, data, logLine));
    }
    return messages;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.#child[Symbol.asyncDispose]();
    } finally {
      await Deno.remove(this.#dir, { recursive: true });
    }
  }
}

/**
 * Reads an Exim spool message: the `-H` file (envelope, variables, then
 * each header as `NNNf text` where NNN is its length in octets and f a flag,
 * `*` for a deleted one) and the `-D` file (its id line, then the body).
 */
function parseSpool(
  id: string,
  header: Uint8Array,
  data: Uint8Array,
  logLine: string,
): EximMessage {
  const decoder = new TextDecoder();
  // The envelope part ends at the first empty line.
  let end = 0;
  while (
    end < header.length - 1 && !(header[end] === 10 && header[end + 1] === 10)
  ) end++;
  const envelope = decoder.decode(header.subarray(0, end)).split("\n");
  const vars = new Map<string, string>();
  for (const line of envelope) {
    const match = /^-{1,2}([a-z_]+)(?: (.*))?$/.exec(line);
    if (match) vars.set(match[1]!, match[2] ?? "");
  }
  const sender = /^<(.*)>$/.exec(envelope[2] ?? "")?.[1] ?? "";
  // Recipients follow the count, after the non-recipients tree ("XX").
  let at = envelope.findIndex((line, i) => i > 3 && /^\d+$/.test(line));
  const count = Number(envelope[at] ?? 0);
  const recipients: string[] = [];
  for (let i = 0; i < count; i++) {
    const line = envelope[++at] ?? "";
    recipients.push(line.replace(/ \S*#\d+$/, ""));
  }
  // Headers: length-prefixed, so a header's own newlines are no trouble.
  const headers: string[] = [];
  let offset = end + 2;
  while (offset < header.length) {
    const prefix = /^(\d{3,})(.) /.exec(
      decoder.decode(header.subarray(offset, offset + 16)),
    );
    if (!prefix) break;
    const start = offset + prefix[0].length;
    const length = Number(prefix[1]);
    if (prefix[2] !== "*") {
      headers.push(decoder.decode(header.subarray(start, start + length)));
    }
    offset = start + length;
  }
  const firstLine = data.indexOf(10);
  const body = data.subarray(firstLine + 1);
  return {
    id,
    sender,
    recipients,
    headers: headers.join(""),
    body,
    bodyText: decoder.decode(body),
    protocol: vars.get("received_protocol") ?? "",
    auth: vars.get("host_auth_pubname") ?? vars.get("host_auth"),
    authId: vars.get("auth_id"),
    tls: vars.get("tls_ver"),
    maxLineLength: Number(vars.get("max_received_linelength") ?? 0),
    logLine,
  };
}
