/**
 * Postfix's `smtp-sink` as a disposable test server. It never offers
 * STARTTLS and answers AUTH with 250 whatever is sent; it is the fast,
 * strict-enough ESMTP peer for pipelining and bulk tests.
 *
 * Its dump files lose information: smtp-sink drops every CR byte of the
 * message data and writes LF line ends, so bare CR and bare LF cannot be
 * told apart from CRLF. Use aiosmtpd or smtp-server to check exact bytes.
 *
 * @module
 */

import { findBinary } from "./interop.ts";
import { freePort, listening } from "./net.ts";
import { ChildLines } from "./process.ts";

/** Options for {@linkcode startSmtpSink}; defaults are smtp-sink's own. */
export interface SmtpSinkOptions {
  /** Offer PIPELINING (`-p` when false). @default {true} */
  pipelining?: boolean;
  /** smtp-sink cannot speak TLS: only `false` is accepted. */
  starttls?: false;
  /** Record every message to a file, read by `messages()`. @default {true} */
  dump?: boolean;
  /** Offer 8BITMIME (`-8` when false). @default {true} */
  eightBitMime?: boolean;
  /** Offer `AUTH PLAIN LOGIN`, accepting anything (`-a` when false). @default {true} */
  auth?: boolean;
  /** Offer ENHANCEDSTATUSCODES (`-E` when false). @default {true} */
  enhancedStatusCodes?: boolean;
  /** Speak ESMTP; when false EHLO gets 500 (`-e`). @default {true} */
  esmtp?: boolean;
  /** Offer XCLIENT (`-C` when false). @default {true} */
  xclient?: boolean;
  /** Offer XFORWARD (`-F` when false). @default {true} */
  xforward?: boolean;
  /** The name in the greeting and EHLO reply (`-h`). @default {"smtp-sink"} */
  hostname?: string;
  /** Commands answered with a 5xx reply, e.g. `["rcpt"]` (`-f`). */
  hardReject?: string[];
  /** Commands answered with a 4xx reply (`-r`). */
  softReject?: string[];
  /** Commands on which the server hangs up without a reply (`-q`). */
  disconnect?: string[];
  /** Seconds to wait before answering DATA (`-w`). */
  dataDelay?: number;
  /** More smtp-sink flags, placed before the address. */
  extraArgs?: string[];
}

/** One message as smtp-sink recorded it. */
export interface SinkMessage {
  /** The dump file. */
  file: string;
  /** The client's address (X-Client-Addr). */
  clientAddress: string;
  /** `SMTP` after HELO, `ESMTP` after EHLO (X-Client-Proto). */
  protocol: string;
  /** The HELO/EHLO argument, if any (X-Helo-Args). */
  helo: string | undefined;
  /** The reverse-path without angle brackets; `""` for `<>`. */
  mailFrom: string;
  /** MAIL FROM parameters, e.g. `["BODY=8BITMIME", "SIZE=120"]`. */
  mailParams: string[];
  /** The forward-paths without angle brackets, in order. */
  rcptTo: string[];
  /** RCPT TO parameters for each recipient, e.g. `[["NOTIFY=NEVER"]]`. */
  rcptParams: string[][];
  /**
   * The message as dumped: dot-stuffing undone, every CR byte removed, so
   * lines end in LF.
   */
  data: Uint8Array;
  /** {@linkcode SinkMessage.data} with each LF turned into CRLF. */
  crlfData: Uint8Array;
  /** {@linkcode SinkMessage.crlfData} decoded as UTF-8. */
  text: string;
}

/** smtp-sink's running counters (`-c`). */
export interface SinkStats {
  /** Sessions ended. */
  sessions: number;
  /** QUIT commands received. */
  quits: number;
  /** Messages received (final "." accepted). */
  messages: number;
}

/** A running smtp-sink; dispose it with `await using`. */
export interface SmtpSink extends AsyncDisposable {
  /** Always `127.0.0.1`. */
  readonly hostname: string;
  /** The port it listens on. */
  readonly port: number;
  /** The dump directory, when dumping. */
  readonly dumpDir: string | undefined;
  /** The latest counters. */
  stats(): SinkStats;
  /**
   * Waits until at least `count` messages were received.
   *
   * @param count How many.
   * @param timeoutMs How long to wait. @default {10000}
   */
  waitForMessages(count: number, timeoutMs?: number): Promise<void>;
  /**
   * Reads every recorded message, oldest first (order within the same
   * millisecond is unspecified). Call it after the client got its reply to
   * the final ".": smtp-sink writes the file before answering.
   *
   * @throws {Error} When started with `dump: false`.
   */
  messages(): Promise<SinkMessage[]>;
  /** What smtp-sink wrote to stderr. */
  readonly stderr: string;
}

/**
 * Starts `smtp-sink` on a free 127.0.0.1 port and waits until it listens.
 * As root it runs with `-u nobody`.
 *
 * @param options Which extensions to offer and what to record.
 * @returns The running server.
 * @throws {Error} When smtp-sink is missing or does not start.
 * @example Receiving with smtp-sink
 * ```ts ignore
 * await using sink = await startSmtpSink({ pipelining: false });
 * // ... send to sink.hostname:sink.port ...
 * const [message] = await sink.messages();
 * assertEquals(message.rcptTo, ["a@b.example"]);
 * ```
 */
export async function startSmtpSink(
  options: SmtpSinkOptions = {},
): Promise<SmtpSink> {
  const binary = findBinary("smtp-sink");
  if (!binary) throw new Error("Cannot start smtp-sink: it is not installed");
  if ((options.starttls as boolean | undefined) === true) {
    throw new TypeError("Cannot start smtp-sink with STARTTLS: it has none");
  }
  const dump = options.dump ?? true;
  const dumpDir = dump
    ? await Deno.makeTempDir({ prefix: "sendmail_sink_" })
    : undefined;
  try {
    const root = Deno.uid() === 0;
    // smtp-sink writes as "nobody" after dropping privileges.
    if (dumpDir && root) await Deno.chmod(dumpDir, 0o777);
    const flags = sinkFlags(options);
    if (root) flags.push("-u", "nobody");
    if (dumpDir) flags.push("-d", `${dumpDir}/m.`);
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = freePort();
      const child = new ChildLines(binary, [
        ...flags,
        `127.0.0.1:${port}`,
        "256",
      ]);
      try {
        await child.waitFor(
          () => listening(port) ? true : undefined,
          5000,
          `smtp-sink to listen on 127.0.0.1:${port}`,
        );
        return new Sink(child, port, dumpDir);
      } catch (error) {
        lastError = error;
        await child[Symbol.asyncDispose]();
        // Lost the port to another process: try another one.
        if (!/in use/i.test(child.stderr)) break;
      }
    }
    throw new Error("Cannot start smtp-sink", { cause: lastError });
  } catch (error) {
    if (dumpDir) await Deno.remove(dumpDir, { recursive: true });
    throw error;
  }
}

function sinkFlags(options: SmtpSinkOptions): string[] {
  const flags = ["-c"];
  if (options.pipelining === false) flags.push("-p");
  if (options.eightBitMime === false) flags.push("-8");
  if (options.auth === false) flags.push("-a");
  if (options.enhancedStatusCodes === false) flags.push("-E");
  if (options.esmtp === false) flags.push("-e");
  if (options.xclient === false) flags.push("-C");
  if (options.xforward === false) flags.push("-F");
  if (options.hostname !== undefined) flags.push("-h", options.hostname);
  if (options.hardReject?.length) {
    flags.push("-f", options.hardReject.join(","));
  }
  if (options.softReject?.length) {
    flags.push("-r", options.softReject.join(","));
  }
  if (options.disconnect?.length) {
    flags.push("-q", options.disconnect.join(","));
  }
  if (options.dataDelay !== undefined) {
    flags.push("-w", String(options.dataDelay));
  }
  flags.push(...(options.extraArgs ?? []));
  return flags;
}

class Sink implements SmtpSink {
  readonly hostname = "127.0.0.1";
  readonly port: number;
  readonly dumpDir: string | undefined;
  readonly #child: ChildLines;
  #stats: SinkStats = { sessions: 0, quits: 0, messages: 0 };

  constructor(child: ChildLines, port: number, dumpDir: string | undefined) {
    this.#child = child;
    this.port = port;
    this.dumpDir = dumpDir;
  }

  get stderr(): string {
    return this.#child.stderr;
  }

  stats(): SinkStats {
    for (const line of this.#child.takeLines()) {
      const m = /sess=(\d+) quit=(\d+) mesg=(\d+)/.exec(line);
      if (m) {
        this.#stats = {
          sessions: Number(m[1]),
          quits: Number(m[2]),
          messages: Number(m[3]),
        };
      }
    }
    return { ...this.#stats };
  }

  async waitForMessages(count: number, timeoutMs = 10_000): Promise<void> {
    await this.#child.waitFor(
      () => this.stats().messages >= count ? true : undefined,
      timeoutMs,
      `${count} messages at smtp-sink (got ${this.#stats.messages})`,
    );
  }

  async messages(): Promise<SinkMessage[]> {
    if (!this.dumpDir) {
      throw new Error("Cannot read messages: smtp-sink runs without dump");
    }
    const entries: { file: string; mtime: number }[] = [];
    for await (const entry of Deno.readDir(this.dumpDir)) {
      if (!entry.isFile) continue;
      const file = `${this.dumpDir}/${entry.name}`;
      const info = await Deno.stat(file);
      entries.push({ file, mtime: info.mtime?.getTime() ?? 0 });
    }
    entries.sort((a, b) => a.mtime - b.mtime || a.file.localeCompare(b.file));
    return await Promise.all(
      entries.map(async ({ file }) =>
        parseDump(file, await Deno.readFile(file))
      ),
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.#child[Symbol.asyncDispose]();
    } finally {
      if (this.dumpDir) await Deno.remove(this.dumpDir, { recursive: true });
    }
  }
}

const LF = 0x0a;

/**
 * Parses one smtp-sink dump: `X-Client-Addr`, `X-Client-Proto`,
 * `X-Helo-Args`, `X-Mail-Args`, `X-Rcpt-Args`… lines, then a three-line
 * `Received:` header it adds, then the data with CRs removed, then the LF
 * of the final ".\r\n".
 */
export function parseDump(file: string, bytes: Uint8Array): SinkMessage {
  const fields: [string, string][] = [];
  let offset = 0;
  const nextLine = (): string => {
    const end = bytes.indexOf(LF, offset);
    if (end < 0) throw new Error(`Cannot parse smtp-sink dump ${file}`);
    const line = new TextDecoder().decode(bytes.subarray(offset, end));
    offset = end + 1;
    return line;
  };
  for (;;) {
    const line = nextLine();
    const m = /^(X-[A-Za-z-]+): ?(.*)$/.exec(line);
    if (m) {
      fields.push([m[1]!, m[2]!]);
      continue;
    }
    // The Received header smtp-sink writes when DATA starts.
    if (
      !line.startsWith("Received: from ") ||
      !nextLine().startsWith("\tby ") || !nextLine().startsWith("\t")
    ) {
      throw new Error(`Cannot parse smtp-sink dump ${file}: "${line}"`);
    }
    break;
  }
  if (bytes.at(-1) !== LF) {
    throw new Error(`Cannot parse smtp-sink dump ${file}: it is incomplete`);
  }
  const data = bytes.slice(offset, bytes.length - 1);
  const crlfData = toCrlf(data);
  const get = (name: string) =>
    fields.filter(([n]) => n === name).map(([, v]) => v);
  const mail = splitPath(get("X-Mail-Args")[0] ?? "");
  const rcpts = get("X-Rcpt-Args").map(splitPath);
  return {
    file,
    clientAddress: get("X-Client-Addr")[0] ?? "",
    protocol: get("X-Client-Proto")[0] ?? "",
    helo: get("X-Helo-Args")[0],
    mailFrom: mail.path,
    mailParams: mail.params,
    rcptTo: rcpts.map((r) => r.path),
    rcptParams: rcpts.map((r) => r.params),
    data,
    crlfData,
    text: new TextDecoder().decode(crlfData),
  };
}

function toCrlf(data: Uint8Array): Uint8Array {
  let lfs = 0;
  for (const byte of data) if (byte === LF) lfs++;
  const out = new Uint8Array(data.length + lfs);
  let j = 0;
  for (const byte of data) {
    if (byte === LF) out[j++] = 0x0d;
    out[j++] = byte;
  }
  return out;
}

/** Splits `<path> PARAM=1 PARAM2` into the path (no brackets) and params. */
function splitPath(args: string): { path: string; params: string[] } {
  let path = "";
  let rest = args;
  if (args.startsWith("<")) {
    let quoted = false;
    let i = 1;
    for (; i < args.length; i++) {
      const c = args[i];
      if (c === "\\" && quoted) i++;
      else if (c === '"') quoted = !quoted;
      else if (c === ">" && !quoted) break;
    }
    path = args.slice(1, i);
    rest = args.slice(i + 1);
  } else {
    const space = args.indexOf(" ");
    path = space < 0 ? args : args.slice(0, space);
    rest = space < 0 ? "" : args.slice(space);
  }
  return { path, params: rest.split(" ").filter(Boolean) };
}
