/**
 * A real Haraka (npm `Haraka`, installed by `.ci/install_servers` into a
 * private prefix, run by Node) as a disposable test server: a private
 * config directory, one process (`nodes=0`), the test certificates for
 * STARTTLS and for implicit TLS on a second port, AUTH PLAIN, LOGIN and
 * CRAM-MD5 (`auth/flat_file`) against given accounts, and a small queue
 * plugin that accepts every recipient and writes each message (CRLF line
 * ends, dot-stuffing undone, Haraka's own `Received` field first) with a
 * JSON note of its envelope and session, read back by
 * {@linkcode Haraka.messages}.
 *
 * `connection.ini` sets `data_line_length=1000`: Haraka's default, 992,
 * wraps a legal 998-octet line (RFC 5321 §4.5.3.1.6 allows 998 octets plus
 * CRLF). Haraka offers PIPELINING but not CHUNKING, and answers a command
 * pipelined right behind the end of DATA with `503 5.5.1 … pipelined after
 * end of DATA` (after the message's own 250).
 *
 * Needs Node and the installed Haraka: the `"haraka"` requirement of
 * `interop()`.
 *
 * @module
 */

import type { TestCerts } from "./certs.ts";
import { findBinary } from "./interop.ts";
import { freePort, listening } from "./net.ts";
import { ChildLines } from "./process.ts";
import { serversDirectory } from "./unpacked.ts";

/** An account Haraka's `auth/flat_file` accepts. */
export interface HarakaUser {
  /** The login. */
  username: string;
  /** Its password. */
  password: string;
}

/** Options for {@linkcode startHaraka}. */
export interface HarakaOptions {
  /** The certificate: STARTTLS on the main port, implicit TLS on {@linkcode Haraka.implicitPort}. @default {no TLS} */
  certs?: TestCerts;
  /** Accounts: AUTH PLAIN LOGIN CRAM-MD5 is offered (on loopback without TLS too). @default {[]} */
  users?: HarakaUser[];
  /** `connection.ini` `[max] data_line_length`. @default {1000} */
  dataLineLength?: number;
}

/** One message Haraka queued. */
export interface HarakaMessage {
  /** The envelope sender; `""` for `<>`. */
  mailFrom: string;
  /** The envelope recipients, in order. */
  rcptTo: string[];
  /** The message as Haraka stored it: its `Received` field, then the message; CRLF line ends, dot-stuffing undone. */
  bytes: Uint8Array;
  /** {@linkcode HarakaMessage.bytes} decoded as UTF-8. */
  text: string;
  /** Whether the session ran over TLS. */
  tls: boolean;
  /** The authenticated user, if any. */
  authUser: string | undefined;
  /** The AUTH mechanism, if any. */
  authMethod: string | undefined;
  /** The HELO/EHLO argument. */
  helo: string;
  /** Whether Haraka wrapped a line over `data_line_length`. */
  lineWrapped: boolean;
}

/** A running Haraka; dispose it with `await using`. */
export interface Haraka extends AsyncDisposable {
  /** Always `127.0.0.1`. */
  readonly hostname: string;
  /** The main port: plaintext, with STARTTLS when there are certs. */
  readonly port: number;
  /** The implicit-TLS port, when there are certs. */
  readonly implicitPort: number | undefined;
  /** Haraka's version. */
  readonly version: string;
  /** Every message queued so far, oldest first. */
  messages(): Promise<HarakaMessage[]>;
  /** What Haraka logged so far (level protocol: every command and reply line, not the data). */
  readonly log: string;
}

/**
 * Haraka's command, when `.ci/install_servers` installed it and Node is
 * there.
 *
 * @returns `[node, haraka.js]`, or `undefined`.
 */
export function harakaCommand(): [string, string] | undefined {
  const node = findBinary("node");
  const bin = `${serversDirectory()}/haraka/node_modules/Haraka/bin/haraka`;
  try {
    Deno.statSync(bin);
  } catch {
    return undefined;
  }
  return node ? [node, bin] : undefined;
}

const CAPTURE_PLUGIN =
  `// Accepts every recipient and writes each message to ../mail.
'use strict'
const fs = require('node:fs')
const path = require('node:path')
let count = 0

exports.hook_rcpt = function (next) {
  next(OK)
}

// Authenticated (relaying) sessions queue through queue_outbound.
exports.hook_queue_outbound = function (next, connection) {
  exports.hook_queue(next, connection)
}

exports.hook_queue = function (next, connection) {
  const txn = connection.transaction
  const dir = path.join(process.env.HARAKA, 'mail')
  const name = String(++count).padStart(6, '0')
  const note = {
    mailFrom: txn.mail_from ? String(txn.mail_from.address ?? '') : '',
    rcptTo: txn.rcpt_to.map((r) => String(r.address)),
    tls: Boolean(connection.tls && connection.tls.enabled),
    authUser: connection.notes.auth_user,
    authMethod: connection.notes.auth_method,
    helo: connection.hello ? connection.hello.host : '',
    lineWrapped: Boolean(txn.notes.data_line_length_exceeded),
  }
  const file = path.join(dir, name + '.eml')
  const out = fs.createWriteStream(file + '.part')
  out.once('close', () => {
    fs.writeFileSync(path.join(dir, name + '.json'), JSON.stringify(note))
    fs.renameSync(file + '.part', file)
    next(OK)
  })
  txn.message_stream.pipe(out, { line_endings: '\\r\\n', dot_stuffed: true })
}
`;

/**
 * Starts Haraka on free 127.0.0.1 ports from a private config directory and
 * waits until it listens.
 *
 * @param options TLS, accounts, line length.
 * @returns The running server.
 * @throws {Error} When Haraka or Node is missing, or it does not start.
 * @example STARTTLS and AUTH
 * ```ts ignore
 * await using haraka = await startHaraka({ certs, users: [{ username: "joe", password: "pw" }] });
 * const [message] = await haraka.messages();
 * ```
 */
export async function startHaraka(
  options: HarakaOptions = {},
): Promise<Haraka> {
  const command = harakaCommand();
  if (!command) {
    throw new Error(
      "Cannot start Haraka: it is not installed (.ci/install_servers)",
    );
  }
  const dir = await Deno.makeTempDir({ prefix: "sendmail_haraka_" });
  try {
    for (const sub of ["config", "plugins", "mail"]) {
      await Deno.mkdir(`${dir}/${sub}`);
    }
    await Deno.writeTextFile(`${dir}/plugins/capture.js`, CAPTURE_PLUGIN);
    const plugins = ["capture"];
    if (options.certs) {
      plugins.unshift("tls");
      await Deno.copyFile(options.certs.certFile, `${dir}/config/tls_cert.pem`);
      await Deno.copyFile(options.certs.keyFile, `${dir}/config/tls_key.pem`);
      // Haraka would generate 2048-bit DH parameters at start (seconds):
      // give it RFC 7919's named group instead.
      await dhParams(`${dir}/config/dhparams.pem`);
    }
    if (options.users?.length) {
      plugins.unshift("auth/flat_file");
      const users = options.users.map(({ username, password }) => {
        if (/[\s=;[\]]/.test(username) || /[\r\n;]/.test(password)) {
          throw new TypeError(`Cannot give Haraka the account "${username}"`);
        }
        return `${username}=${password}`;
      });
      await Deno.writeTextFile(
        `${dir}/config/auth_flat_file.ini`,
        ["[core]", "methods=PLAIN,LOGIN,CRAM-MD5", "[users]", ...users, ""]
          .join("\n"),
      );
    }
    await Deno.writeTextFile(
      `${dir}/config/plugins`,
      plugins.join("\n") + "\n",
    );
    await Deno.writeTextFile(`${dir}/config/me`, "haraka.test\n");
    // Haraka's own connection.ini, with the [max] limits changed: a file
    // of ours replaces it whole, and every section of it is needed.
    const home = `${serversDirectory()}/haraka/node_modules/Haraka`;
    const max: Record<string, string> = {
      bytes: "67108864",
      data_line_length: String(options.dataLineLength ?? 1000),
    };
    let section = "";
    const connection = (await Deno.readTextFile(
      `${home}/config/connection.ini`,
    )).split("\n").map((line) => {
      section = /^\[(.*)\]$/.exec(line)?.[1] ?? section;
      const key = /^;?\s*([a-z_]+)\s*=/.exec(line)?.[1];
      return section === "max" && key && key in max
        ? `${key}=${max[key]}`
        : line;
    });
    for (const key of Object.keys(max)) {
      if (!connection.includes(`${key}=${max[key]}`)) {
        throw new Error(
          `Cannot set Haraka's [max] ${key}: not in connection.ini`,
        );
      }
    }
    await Deno.writeTextFile(
      `${dir}/config/connection.ini`,
      connection.join("\n"),
    );
    await Deno.writeTextFile(
      `${dir}/config/log.ini`,
      ["[main]", "level=protocol", "timestamps=false", ""].join("\n"),
    );
    const version = JSON.parse(
      await Deno.readTextFile(`${home}/package.json`),
    ).version as string;
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = freePort();
      let implicitPort = options.certs ? freePort() : undefined;
      while (implicitPort === port) implicitPort = freePort();
      const listen = [port, implicitPort].filter((p) => p !== undefined)
        .map((p) => `127.0.0.1:${p}`).join(",");
      await Deno.writeTextFile(
        `${dir}/config/smtp.ini`,
        [
          "[main]",
          `listen=${listen}`,
          `smtps_port=${implicitPort ?? 0}`,
          "nodes=0",
          "inactivity_timeout=60",
          "force_shutdown_timeout=1",
          "",
        ].join("\n"),
      );
      const child = new ChildLines(command[0], [command[1], "-c", dir]);
      const log: string[] = [];
      try {
        await child.waitFor(
          () => {
            log.push(...child.takeLines());
            return listening(port) && (!implicitPort || listening(implicitPort))
              ? true
              : undefined;
          },
          20_000,
          `Haraka to listen on ${listen}`,
        );
        return new Instance(child, dir, port, implicitPort, version, log);
      } catch (error) {
        lastError = error;
        await child[Symbol.asyncDispose]();
        if (!/EADDRINUSE|in use/i.test(log.join("\n") + child.stderr)) break;
      }
    }
    throw new Error("Cannot start Haraka", { cause: lastError });
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
}

async function dhParams(file: string): Promise<void> {
  const { code, stderr } = await new Deno.Command("openssl", {
    args: [
      "genpkey",
      "-genparam",
      "-algorithm",
      "DH",
      "-pkeyopt",
      "dh_param:ffdhe2048",
      "-out",
      file,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(
      `Cannot write DH parameters: ${new TextDecoder().decode(stderr)}`,
    );
  }
}

class Instance implements Haraka {
  readonly hostname = "127.0.0.1";
  readonly port: number;
  readonly implicitPort: number | undefined;
  readonly version: string;
  readonly #child: ChildLines;
  readonly #dir: string;
  readonly #log: string[];

  constructor(
    child: ChildLines,
    dir: string,
    port: number,
    implicitPort: number | undefined,
    version: string,
    log: string[],
  ) {
    this.#child = child;
    this.#dir = dir;
    this.port = port;
    this.implicitPort = implicitPort;
    this.version = version;
    this.#log = log;
  }

  get log(): string {
    this.#log.push(...this.#child.takeLines());
    return this.#log.join("\n");
  }

  async messages(): Promise<HarakaMessage[]> {
    const names: string[] = [];
    for await (const entry of Deno.readDir(`${this.#dir}/mail`)) {
      if (entry.name.endsWith(".eml")) names.push(entry.name.slice(0, -4));
    }
    names.sort();
    const messages: HarakaMessage[] = [];
    for (const name of names) {
      const bytes = await Deno.readFile(`${this.#dir}/mail/${name}.eml`);
      const note = JSON.parse(
        await Deno.readTextFile(`${this.#dir}/mail/${name}.json`),
      );
      messages.push({
        ...note,
        bytes,
        text: new TextDecoder().decode(bytes),
      });
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
