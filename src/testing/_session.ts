/**
 * One SMTP session of the capture server: the server side of RFC 5321 with
 * PIPELINING (RFC 2920), STARTTLS (RFC 3207), AUTH (RFC 4954), SIZE
 * (RFC 1870), 8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531), DSN (RFC 3461),
 * CHUNKING (RFC 3030), ENHANCEDSTATUSCODES (RFC 2034), REQUIRETLS (RFC 8689),
 * and the hooks that script it.
 *
 * @module
 */

import type { Socket } from "node:net";
import type { SecureContext } from "node:tls";
import { authenticate } from "./_auth.ts";
import { DotUnstuffer } from "./_dot_unstuff.ts";
import { REDACTED } from "../protocol/_redacted.ts";
import { redactAuthLine } from "./_redact_auth_line.ts";
import { LineReader, type ReadLine } from "./_line_reader.ts";
import { receivedStamp } from "./_received_stamp.ts";
import type { Transport } from "./_transport.ts";
import type { ReceivedMessage, TranscriptLine } from "./received_message.ts";
import type {
  HookAction,
  HookSession,
  HookStep,
  HookVerb,
  TestServerAuthMechanism,
  TestServerHooks,
} from "./test_server_options.ts";
import { concatBytes } from "../protocol/_bytes.ts";

/** The server's options, resolved. */
export interface SessionConfig {
  tls: "starttls" | "implicit" | "none";
  requireTls: boolean;
  secureContext: SecureContext | undefined;
  auth:
    | {
      users: Readonly<Record<string, string>>;
      mechanisms: readonly TestServerAuthMechanism[];
      required: boolean;
      beforeStartTls: boolean;
    }
    | undefined;
  /** Extension lines as advertised. */
  extensions: readonly string[];
  /** Known keywords in `extensions`, upper-cased. */
  keywords: ReadonlySet<string>;
  /** The SIZE limit; 0 for none; undefined when SIZE is not advertised. */
  sizeLimit: number | undefined;
  serverName: string;
  greeting: string;
  maxLineLength: number;
  maxRecipients: number;
  hooks: TestServerHooks;
  /** Prepend a Received field to each message. */
  received: boolean;
  /** Speak LMTP: LHLO, and a reply per recipient after the data. */
  lmtp: boolean;
}

/** Where a session reports to. */
export interface SessionSink {
  /** Records an accepted message. */
  deliver(message: ReceivedMessage): void;
  /** Registers a socket made by STARTTLS, so that closing the server closes it. */
  track(socket: Socket): void;
  /** Reports an error thrown in the session (by a hook, most likely). */
  fail(error: unknown): void;
}

type Params = Record<string, string | true>;

/** A command's default handling and its effect. */
interface ParsedCommand {
  /** Replies as the server would, and takes effect when it accepts. */
  run(): Promise<void> | void;
  /** The effect alone, when a hook's 2xx/3xx reply accepts the command. */
  apply(): Promise<void> | void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const NO_OP: () => void = () => {};

function toBytes(data: string | Uint8Array): Uint8Array {
  return typeof data === "string" ? encoder.encode(data) : data;
}

/**
 * Parses `FROM:<path> params` / `TO:<path> params`.
 *
 * @returns The path (brackets removed) and parameters, or an error text.
 */
export function parsePathArgs(
  args: string,
  prefix: "FROM:" | "TO:",
): { path: string; params: Params } | string {
  if (args.slice(0, prefix.length).toUpperCase() !== prefix) {
    return `Syntax: ${prefix}<address>`;
  }
  const rest = args.slice(prefix.length);
  if (!rest.startsWith("<")) return `Syntax: ${prefix}<address>`;
  // Find the closing bracket outside a quoted local part.
  let end = -1;
  let quoted = false;
  for (let i = 1; i < rest.length; i++) {
    const c = rest[i];
    if (c === "\\" && quoted) i++;
    else if (c === '"') quoted = !quoted;
    else if (c === ">" && !quoted) {
      end = i;
      break;
    }
  }
  if (end < 0) return "Unterminated address";
  const path = rest.slice(1, end);
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(path)) return "Control character in address";
  if (!quoted && /[\s<>]/.test(path.replace(/"(?:[^"\\]|\\.)*"/g, ""))) {
    return "Invalid character in address";
  }
  const tail = rest.slice(end + 1);
  if (tail !== "" && !tail.startsWith(" ")) return "Syntax error after address";
  const params: Params = {};
  for (const word of tail.split(" ")) {
    if (word === "") continue;
    const eq = word.indexOf("=");
    const key = (eq < 0 ? word : word.slice(0, eq)).toUpperCase();
    if (!/^[A-Z0-9][A-Z0-9-]*$/.test(key)) return `Bad parameter "${word}"`;
    if (Object.hasOwn(params, key)) return `Duplicate parameter ${key}`;
    const value = eq < 0 ? true : word.slice(eq + 1);
    if (
      value === "" ||
      // deno-lint-ignore no-control-regex
      (typeof value === "string" && /[\x00-\x20=\x7f]/.test(value))
    ) {
      return `Bad parameter value "${word}"`;
    }
    params[key] = value;
  }
  return { path, params };
}

/** Transcript entries kept from the start of a connection. */
export const TRANSCRIPT_HEAD = 1000;
/** At least this many of the latest entries are kept too. */
export const TRANSCRIPT_TAIL = 1000;

/**
 * A connection's transcript, bounded: the first TRANSCRIPT_HEAD entries, an
 * info entry saying how many were dropped, and the latest entries (between
 * TRANSCRIPT_TAIL and twice that). A client sending 800,000 NOOPs cannot
 * make the server hold them all. The array is live (the server's
 * `transcripts` share it).
 */
function pushBounded(
  transcript: TranscriptLine[],
  entry: TranscriptLine,
): void {
  transcript.push(entry);
  if (transcript.length < TRANSCRIPT_HEAD + 1 + 2 * TRANSCRIPT_TAIL) return;
  const marker = transcript[TRANSCRIPT_HEAD];
  const previously = marker?.dropped;
  const start = previously === undefined
    ? TRANSCRIPT_HEAD
    : TRANSCRIPT_HEAD + 1;
  transcript.splice(start, TRANSCRIPT_TAIL);
  const dropped = (previously ?? 0) + TRANSCRIPT_TAIL;
  const line: TranscriptLine = {
    type: "info",
    text: `${dropped} transcript lines dropped`,
    dropped,
  };
  if (previously === undefined) transcript.splice(TRANSCRIPT_HEAD, 0, line);
  else transcript[TRANSCRIPT_HEAD] = line;
}

/** One connection; {@linkcode ServerSession.run} resolves when it is over. */
export class ServerSession {
  readonly transcript: TranscriptLine[] = [];
  #t: Transport;
  #id: number;
  #config: SessionConfig;
  #sink: SessionSink;
  #reader: LineReader;
  #out: Uint8Array[] = [];
  #open = true;
  #mode: "commands" | "hang" | "stopped" = "commands";
  /** A greeting other than 2xx: everything but QUIT gets 503. */
  #refusing = false;
  #helo: string | undefined;
  #esmtp = false;
  #authUser: string | undefined;
  #authMechanism: string | undefined;
  #authenticated = false;
  #from: string | undefined;
  #mailParams: Params = {};
  #to: string[] = [];
  #rcptParams: Params[] = [];
  #bdat: Uint8Array[] | undefined;
  /** Octets of BDAT chunks in the current transaction, kept or not. */
  #bdatSize = 0;
  #enterData = false;
  #messages = 0;
  #counts = new Map<HookVerb, number>();
  #timers = new Set<
    { id: ReturnType<typeof setTimeout>; resolve: () => void }
  >();

  constructor(
    transport: Transport,
    id: number,
    config: SessionConfig,
    sink: SessionSink,
  ) {
    this.#t = transport;
    this.#id = id;
    this.#config = config;
    this.#sink = sink;
    this.#reader = new LineReader(config.maxLineLength);
  }

  /** Runs the session until either side closes. */
  async run(): Promise<void> {
    try {
      if (this.#t.secure) await this.#tlsUp();
      if (this.#open) await this.#greet();
      await this.#loop();
    } catch (error) {
      // A hook threw (a failed assertion, say): the test must hear of it.
      this.#info(
        `Session error: ${error instanceof Error ? error.message : error}`,
      );
      this.#sink.fail(error);
    } finally {
      await this.#flush();
      this.#open = false;
      this.#t.end();
      this.#info("Connection closed");
    }
  }

  /** Ends waits in `delay` steps (the server is closing). */
  cancelTimers(): void {
    for (const timer of this.#timers) {
      clearTimeout(timer.id);
      timer.resolve();
    }
    this.#timers.clear();
  }

  // ---- the loop --------------------------------------------------------

  async #loop(): Promise<void> {
    while (this.#open) {
      if (this.#mode === "stopped") {
        await this.#flush();
        this.#t.stopReading();
        await this.#t.closed;
        return;
      }
      const item = this.#mode === "commands" ? this.#reader.next() : undefined;
      if (item === undefined) {
        if (this.#mode === "hang") this.#reader.take();
        if (!await this.#fill()) return;
        continue;
      }
      await this.#command(item);
      if (this.#enterData && this.#open && this.#mode === "commands") {
        this.#enterData = false;
        await this.#data();
      }
    }
  }

  /** Flushes replies, then reads more bytes; false once the client is gone. */
  async #fill(): Promise<boolean> {
    await this.#flush();
    const bytes = await this.#t.read();
    if (bytes === null) return false;
    this.#reader.push(bytes);
    return true;
  }

  async #command(item: ReadLine): Promise<void> {
    if (item.tooLong) {
      this.#info("Command line too long");
      this.#reply(500, "5.5.2", "Line too long");
      return;
    }
    const { line } = item;
    this.#client(redactAuthLine(line));
    if (item.bareLf) {
      this.#reply(500, "5.5.2", "Bare LF not allowed, lines end with CRLF");
      return;
    }
    const space = line.indexOf(" ");
    const word = (space < 0 ? line : line.slice(0, space)).toUpperCase();
    const args = space < 0 ? "" : line.slice(space + 1);
    const verb = this.#verbOf(word);
    if (this.#refusing && verb !== "QUIT") {
      await this.#dispatch(verb, line, args, {
        run: () => this.#reply(503, "5.5.1", "Bad sequence of commands"),
        apply: NO_OP,
      });
      return;
    }
    switch (verb) {
      case "EHLO":
      case "HELO":
      case "LHLO":
        return this.#dispatch(verb, line, args, this.#hello(verb, args));
      case "STARTTLS":
        return this.#dispatch(verb, line, args, this.#startTlsCommand(args));
      case "AUTH":
        return this.#dispatch(verb, line, args, this.#authCommand(args));
      case "MAIL":
        return this.#dispatch(verb, line, args, this.#mail(args));
      case "RCPT":
        return this.#dispatch(verb, line, args, this.#rcpt(args));
      case "DATA":
        return this.#dispatch(verb, line, args, this.#dataCommand(args));
      case "BDAT":
        return this.#bdatCommand(line, args);
      case "RSET":
        return this.#dispatch(verb, line, args, {
          run: () => {
            this.#resetTransaction();
            this.#reply(250, "2.0.0", "OK");
          },
          apply: () => this.#resetTransaction(),
        });
      case "NOOP":
        return this.#dispatch(verb, line, args, {
          run: () => this.#reply(250, "2.0.0", "OK"),
          apply: NO_OP,
        });
      case "VRFY":
        return this.#dispatch(verb, line, args, {
          run: () =>
            this.#reply(
              252,
              "2.5.0",
              "Cannot VRFY user, but will accept message",
            ),
          apply: NO_OP,
        });
      case "QUIT":
        return this.#dispatch(verb, line, args, {
          run: () => {
            this.#reply(221, "2.0.0", "Bye");
            this.#open = false;
          },
          apply: () => {
            this.#open = false;
          },
        });
      default:
        return this.#dispatch("OTHER", line, args, {
          run: () => {
            if (line === "") this.#reply(500, "5.5.2", "Syntax error");
            else if (word === "EXPN") {
              this.#reply(502, "5.5.1", "EXPN not implemented");
            } else if (word === "HELP") {
              this.#reply(214, "2.0.0", "See RFC 5321");
            } else this.#reply(500, "5.5.1", "Command unrecognized");
          },
          apply: NO_OP,
        });
    }
  }

  #verbOf(word: string): HookVerb {
    switch (word) {
      case "EHLO":
      case "HELO":
      case "LHLO":
      case "STARTTLS":
      case "AUTH":
      case "MAIL":
      case "RCPT":
      case "DATA":
      case "RSET":
      case "NOOP":
      case "VRFY":
      case "QUIT":
        return word;
      case "BDAT":
        return this.#config.keywords.has("CHUNKING") ? "BDAT" : "OTHER";
      default:
        return "OTHER";
    }
  }

  // ---- hooks -----------------------------------------------------------

  async #dispatch(
    verb: HookVerb,
    line: string,
    args: string,
    command: ParsedCommand,
    message?: Uint8Array,
  ): Promise<void> {
    const count = (this.#counts.get(verb) ?? 0) + 1;
    this.#counts.set(verb, count);
    const hook = this.#config.hooks[verb];
    let action: HookAction | void = "default";
    if (hook) {
      action = await hook({
        verb,
        line,
        args,
        count,
        connection: this.#id,
        session: this.#state(),
        ...(message ? { message } : {}),
      });
    }
    const steps: readonly HookStep[] = action === undefined
      ? ["default"]
      : Array.isArray(action)
      ? action
      : [action as HookStep];
    let applied = false;
    for (const step of steps) {
      if (!this.#open || this.#mode !== "commands") break;
      if (step === "default") {
        if (!applied) await command.run();
        applied = true;
      } else if ("reply" in step) {
        const lines = typeof step.reply === "string"
          ? step.reply.split("\n")
          : step.reply;
        const parts: Uint8Array[] = lines.map((text) => {
          const clean = text.endsWith("\r") ? text.slice(0, -1) : text;
          this.#server(clean);
          return encoder.encode(clean + "\r\n");
        });
        if (step.extra !== undefined) {
          const extra = toBytes(step.extra);
          this.#info(
            `Raw bytes sent: ${JSON.stringify(decoder.decode(extra))}`,
          );
          parts.push(extra);
        }
        const bytes = concatBytes(parts);
        const accepts = /^[23]/.test(lines[0] ?? "");
        if (accepts && !applied && verb === "STARTTLS") {
          applied = true;
          await this.#upgrade(bytes);
        } else {
          this.#out.push(bytes);
          if (accepts && !applied) {
            applied = true;
            await command.apply();
          }
        }
      } else if ("raw" in step) {
        const bytes = toBytes(step.raw);
        this.#info(`Raw bytes sent: ${JSON.stringify(decoder.decode(bytes))}`);
        this.#out.push(bytes);
      } else if ("delay" in step) {
        await this.#flush();
        await this.#sleep(step.delay);
      } else if ("close" in step) {
        this.#info("Closing the connection (hook)");
        this.#open = false;
      } else if ("hang" in step) {
        this.#info("Not answering any more (hook)");
        this.#mode = "hang";
      } else if ("stopReading" in step) {
        this.#info("Not reading any more (hook)");
        this.#mode = "stopped";
      }
    }
  }

  #state(): HookSession {
    return {
      secure: this.#t.secure,
      ...(this.#helo !== undefined ? { helo: this.#helo } : {}),
      ...(this.#authUser !== undefined ? { authUser: this.#authUser } : {}),
      ...(this.#from !== undefined ? { from: this.#from } : {}),
      to: [...this.#to],
      messages: this.#messages,
    };
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = {
        id: setTimeout(() => {
          this.#timers.delete(timer);
          resolve();
        }, ms),
        resolve,
      };
      this.#timers.add(timer);
    });
  }

  // ---- commands --------------------------------------------------------

  async #greet(): Promise<void> {
    const { serverName, greeting } = this.#config;
    await this.#dispatch("connect", "", "", {
      run: () => this.#replyPlain(220, `${serverName} ${greeting}`),
      apply: NO_OP,
    });
    // A greeting other than 2xx (sent by a hook) refuses the session.
    const first = this.transcript.find((entry) => entry.type === "server");
    if (first && !first.text.startsWith("2")) this.#refusing = true;
  }

  #hello(verb: "EHLO" | "HELO" | "LHLO", args: string): ParsedCommand {
    const domain = args.trim();
    const apply = () => {
      this.#resetTransaction();
      this.#helo = domain;
      this.#esmtp = verb !== "HELO";
    };
    return {
      run: () => {
        if ((verb === "LHLO") !== this.#config.lmtp) {
          // RFC 2033 §4.1: an LMTP server speaks LHLO only, and the other
          // way round.
          this.#reply(500, "5.5.1", `Command unrecognized: ${verb}`);
          return;
        }
        if (domain === "" || /\s/.test(domain)) {
          this.#reply(501, "5.5.4", `Syntax: ${verb} <domain or address>`);
          return;
        }
        apply();
        const { serverName } = this.#config;
        if (verb === "HELO") {
          this.#replyPlain(250, serverName);
          return;
        }
        const lines = [`${serverName} greets ${domain}`, ...this.#advertised()];
        lines.forEach((text, i) => {
          const sep = i === lines.length - 1 ? " " : "-";
          this.#server(`250${sep}${text}`);
          this.#out.push(encoder.encode(`250${sep}${text}\r\n`));
        });
      },
      apply,
    };
  }

  #advertised(): string[] {
    const { extensions, tls, auth } = this.#config;
    const secure = this.#t.secure;
    const lines = extensions.filter((line) =>
      line.split(" ")[0]!.toUpperCase() !== "REQUIRETLS" || secure
    );
    if (tls === "starttls" && !secure) lines.push("STARTTLS");
    if (this.#authOffered() && auth!.mechanisms.length > 0) {
      lines.push(`AUTH ${auth!.mechanisms.join(" ")}`);
    }
    return lines;
  }

  #authOffered(): boolean {
    const { auth, tls } = this.#config;
    if (auth === undefined) return false;
    return this.#t.secure || tls === "none" || auth.beforeStartTls;
  }

  #startTlsCommand(args: string): ParsedCommand {
    return {
      run: async () => {
        if (this.#config.tls !== "starttls") {
          this.#reply(502, "5.5.1", "STARTTLS not offered");
        } else if (this.#t.secure) {
          this.#reply(503, "5.5.1", "TLS already active");
        } else if (args !== "") {
          this.#reply(501, "5.5.4", "Syntax: STARTTLS");
        } else if (this.#helo === undefined) {
          this.#reply(503, "5.5.1", "Send EHLO first");
        } else {
          await this.#upgrade(
            this.#replyBytes(220, "2.0.0", "Ready to start TLS"),
          );
        }
      },
      // A hook's 2xx reply goes through #upgrade itself (see #dispatch).
      apply: NO_OP,
    };
  }

  /** Sends the 220 (already in the transcript) and turns the connection into TLS. */
  async #upgrade(reply: Uint8Array): Promise<void> {
    if (this.#t.secure || this.#config.secureContext === undefined) {
      this.#out.push(reply);
      return;
    }
    await this.#flush();
    // Whatever the client pipelined after STARTTLS is dropped (RFC 3207 §6).
    const left = this.#reader.take();
    const { transport, discarded } = this.#t.startTls(
      reply,
      this.#config.secureContext,
    );
    if (left.length + discarded > 0) {
      this.#info(
        `Discarded ${left.length + discarded} bytes pipelined after STARTTLS`,
      );
    }
    this.#sink.track(transport.socket);
    this.#t = transport;
    this.#helo = undefined;
    this.#esmtp = false;
    this.#authUser = undefined;
    this.#authMechanism = undefined;
    this.#authenticated = false;
    this.#resetTransaction();
    await this.#tlsUp();
  }

  async #tlsUp(): Promise<void> {
    try {
      const version = await this.#t.handshake;
      this.#info(`TLS established (${version})`);
    } catch (error) {
      this.#info(
        `TLS handshake failed: ${
          error instanceof Error ? error.message : error
        }`,
      );
      this.#open = false;
    }
  }

  #authCommand(args: string): ParsedCommand {
    const [name = "", initial, ...more] = args.split(" ");
    const mechanism = name.toUpperCase();
    return {
      run: async () => {
        const auth = this.#config.auth;
        if (!this.#authOffered() || auth === undefined) {
          this.#reply(503, "5.5.1", "AUTH not available");
          return;
        }
        if (this.#helo === undefined) {
          this.#reply(503, "5.5.1", "Send EHLO first");
          return;
        }
        if (this.#authenticated) {
          this.#reply(503, "5.5.1", "Already authenticated");
          return;
        }
        if (this.#from !== undefined) {
          this.#reply(
            503,
            "5.5.1",
            "AUTH not allowed during a mail transaction",
          );
          return;
        }
        if (!(auth.mechanisms as readonly string[]).includes(mechanism)) {
          this.#reply(504, "5.5.4", "Unrecognized authentication type");
          return;
        }
        if (more.length > 0) {
          this.#reply(
            501,
            "5.5.4",
            "Syntax: AUTH mechanism [initial-response]",
          );
          return;
        }
        const outcome = await authenticate(
          mechanism as TestServerAuthMechanism,
          initial,
          async (base64) => {
            this.#replyPlain(334, base64);
            const line = await this.#nextLine();
            // An empty answer or a "*" cancel holds no secret: keep them visible.
            if (line !== null) {
              this.#client(line === "" || line === "*" ? line : REDACTED);
            }
            return line;
          },
          auth.users,
          this.#config.serverName,
        );
        if (outcome.ok) {
          this.#authenticated = true;
          this.#authUser = outcome.user;
          this.#authMechanism = mechanism;
          this.#reply(235, "2.7.0", "Authentication successful");
        } else if (outcome.closed) {
          this.#open = false;
        } else {
          this.#reply(...outcome.reply);
        }
      },
      apply: () => {
        this.#authenticated = true;
        this.#authMechanism = mechanism;
      },
    };
  }

  /** Reads one line for an AUTH exchange; null when the client is gone. */
  async #nextLine(): Promise<string | null> {
    while (true) {
      const item = this.#reader.next();
      if (item !== undefined) return item.tooLong ? "" : item.line;
      if (!await this.#fill()) return null;
    }
  }

  #mail(args: string): ParsedCommand {
    const parsed = parsePathArgs(args, "FROM:");
    const apply = () => {
      this.#resetTransaction();
      if (typeof parsed === "string") {
        this.#from = args.replace(/^FROM:\s*/i, "").replace(/^<(.*)>.*$/, "$1");
      } else {
        this.#from = parsed.path;
        this.#mailParams = parsed.params;
      }
    };
    return {
      run: () => {
        if (this.#helo === undefined) {
          return this.#reply(503, "5.5.1", "Send EHLO first");
        }
        if (this.#config.requireTls && !this.#t.secure) {
          return this.#reply(
            530,
            "5.7.0",
            "Must issue a STARTTLS command first",
          );
        }
        if (this.#config.auth?.required && !this.#authenticated) {
          return this.#reply(530, "5.7.0", "Authentication required");
        }
        if (this.#from !== undefined) {
          return this.#reply(503, "5.5.1", "Nested MAIL command");
        }
        if (typeof parsed === "string") {
          return this.#reply(501, "5.5.4", parsed);
        }
        const problem = this.#checkMailParams(parsed.params);
        if (problem) return this.#reply(...problem);
        const utf8 = parsed.params["SMTPUTF8"] === true;
        // deno-lint-ignore no-control-regex
        if (!utf8 && /[^\x00-\x7f]/.test(parsed.path)) {
          return this.#reply(
            553,
            "5.6.7",
            "Non-ASCII address requires SMTPUTF8",
          );
        }
        if (parsed.path !== "" && !parsed.path.includes("@")) {
          return this.#reply(
            553,
            "5.1.7",
            "Sender address must contain a domain",
          );
        }
        apply();
        this.#reply(250, "2.1.0", "Sender OK");
      },
      apply,
    };
  }

  #checkMailParams(params: Params): [number, string, string] | undefined {
    const has = (keyword: string) => this.#config.keywords.has(keyword);
    for (const [key, value] of Object.entries(params)) {
      switch (key) {
        case "SIZE": {
          if (!has("SIZE")) break;
          if (typeof value !== "string" || !/^\d{1,20}$/.test(value)) {
            return [501, "5.5.4", "Syntax: SIZE=<digits>"];
          }
          const limit = this.#config.sizeLimit ?? 0;
          if (limit > 0 && Number(value) > limit) {
            return [
              552,
              "5.3.4",
              "Message size exceeds fixed maximum message size",
            ];
          }
          continue;
        }
        case "BODY": {
          if (!has("8BITMIME")) break;
          const body = typeof value === "string" ? value.toUpperCase() : "";
          if (body !== "7BIT" && body !== "8BITMIME") {
            return [501, "5.5.4", `Unsupported BODY=${value}`];
          }
          continue;
        }
        case "SMTPUTF8":
          if (!has("SMTPUTF8")) break;
          if (value !== true) return [501, "5.5.4", "SMTPUTF8 takes no value"];
          continue;
        case "RET": {
          if (!has("DSN")) break;
          const ret = typeof value === "string" ? value.toUpperCase() : "";
          if (ret !== "FULL" && ret !== "HDRS") {
            return [501, "5.5.4", "Syntax: RET=FULL|HDRS"];
          }
          continue;
        }
        case "ENVID":
          if (!has("DSN")) break;
          if (value === true) return [501, "5.5.4", "Syntax: ENVID=<xtext>"];
          continue;
        case "AUTH":
          if (this.#config.auth === undefined) break;
          continue;
        case "REQUIRETLS":
          if (!has("REQUIRETLS") || !this.#t.secure) break;
          if (value !== true) {
            return [501, "5.5.4", "REQUIRETLS takes no value"];
          }
          continue;
      }
      return [555, "5.5.4", `MAIL FROM parameter ${key} not recognized`];
    }
    return undefined;
  }

  #rcpt(args: string): ParsedCommand {
    const parsed = parsePathArgs(args, "TO:");
    const apply = () => {
      if (typeof parsed === "string") {
        this.#to.push(args.replace(/^TO:\s*/i, "").replace(/^<(.*)>.*$/, "$1"));
        this.#rcptParams.push({});
      } else {
        this.#to.push(parsed.path);
        this.#rcptParams.push(parsed.params);
      }
    };
    return {
      run: () => {
        if (this.#from === undefined) {
          return this.#reply(503, "5.5.1", "Need MAIL before RCPT");
        }
        if (typeof parsed === "string") {
          return this.#reply(501, "5.5.4", parsed);
        }
        for (const [key, value] of Object.entries(parsed.params)) {
          const dsn = this.#config.keywords.has("DSN");
          if (key === "NOTIFY" && dsn) {
            const list = typeof value === "string"
              ? value.toUpperCase().split(",")
              : [];
            const ok = list.length > 0 &&
              (list.join() === "NEVER" ||
                list.every((v) =>
                  v === "SUCCESS" || v === "FAILURE" || v === "DELAY"
                ));
            if (!ok) {
              return this.#reply(
                501,
                "5.5.4",
                "Syntax: NOTIFY=NEVER|SUCCESS,FAILURE,DELAY",
              );
            }
          } else if (key === "ORCPT" && dsn) {
            if (typeof value !== "string" || !/^[^;]+;./.test(value)) {
              return this.#reply(501, "5.5.4", "Syntax: ORCPT=addr-type;xtext");
            }
          } else {
            return this.#reply(
              555,
              "5.5.4",
              `RCPT TO parameter ${key} not recognized`,
            );
          }
        }
        const utf8 = this.#mailParams["SMTPUTF8"] === true;
        // deno-lint-ignore no-control-regex
        if (!utf8 && /[^\x00-\x7f]/.test(parsed.path)) {
          return this.#reply(
            553,
            "5.6.7",
            "Non-ASCII address requires SMTPUTF8",
          );
        }
        if (
          !parsed.path.includes("@") &&
          parsed.path.toLowerCase() !== "postmaster"
        ) {
          return this.#reply(
            553,
            "5.1.3",
            "Recipient address must contain a domain",
          );
        }
        if (this.#to.length >= this.#config.maxRecipients) {
          return this.#reply(452, "4.5.3", "Too many recipients");
        }
        apply();
        this.#reply(250, "2.1.5", "Recipient OK");
      },
      apply,
    };
  }

  #dataCommand(args: string): ParsedCommand {
    return {
      run: () => {
        if (this.#from === undefined) {
          return this.#reply(503, "5.5.1", "Need MAIL before DATA");
        }
        if (this.#to.length === 0) {
          return this.#reply(554, "5.5.1", "No valid recipients");
        }
        if (this.#bdat !== undefined) {
          return this.#reply(503, "5.5.1", "DATA not allowed after BDAT");
        }
        if (args !== "") return this.#reply(501, "5.5.4", "Syntax: DATA");
        this.#replyPlain(354, "End data with <CR><LF>.<CR><LF>");
        this.#enterData = true;
      },
      apply: () => {
        this.#enterData = true;
      },
    };
  }

  /** Reads the message after a 354 and answers its end. */
  async #data(): Promise<void> {
    const unstuffer = new DotUnstuffer();
    const parts: Uint8Array[] = [];
    const limit = this.#config.sizeLimit ?? 0;
    let size = 0;
    let bytes = this.#reader.take();
    while (true) {
      const data = unstuffer.push(bytes);
      size += data.length;
      // Past the advertised SIZE the data is read to its end but not kept.
      if (limit === 0 || size <= limit) parts.push(data);
      else parts.length = 0;
      if (unstuffer.done) {
        this.#reader.push(unstuffer.rest);
        break;
      }
      await this.#flush();
      const next = await this.#t.read();
      if (next === null) {
        this.#info(`Connection closed during DATA after ${size} bytes`);
        this.#open = false;
        return;
      }
      bytes = next;
    }
    this.#info(`Message data: ${size} bytes`);
    this.#client(".");
    if (limit > 0 && size > limit) return await this.#oversized(size);
    await this.#messageEnd(concatBytes(parts), "DATA");
  }

  /** A DATA message over the SIZE limit: refused, nothing of it kept. */
  async #oversized(size: number): Promise<void> {
    this.#info(`Message refused: ${size} octets exceed the SIZE limit`);
    await this.#dispatch("DATA_END", "", "", {
      run: () =>
        this.#reply(
          552,
          "5.3.4",
          "Message size exceeds fixed maximum message size",
        ),
      apply: NO_OP,
    });
    this.#resetTransaction();
  }

  async #bdatCommand(line: string, args: string): Promise<void> {
    const match = /^(\d{1,15})( +LAST)? *$/i.exec(args);
    if (!match) {
      // Without a valid size the chunk cannot be found: just reply.
      return this.#dispatch("BDAT", line, args, {
        run: () => this.#reply(501, "5.5.4", "Syntax: BDAT <size> [LAST]"),
        apply: NO_OP,
      });
    }
    const size = Number(match[1]);
    const last = match[2] !== undefined;
    const limit = this.#config.sizeLimit ?? 0;
    const before = this.#bdatSize;
    // Over the advertised SIZE: the chunk is read (to stay in step) but
    // never held, whatever size it declares.
    const discard = limit > 0 && before + size > limit;
    // The chunk is read whatever the reply will be (RFC 3030 §2).
    const parts: Uint8Array[] = [];
    let got = 0;
    while (got < size) {
      if (this.#reader.buffered === 0 && !await this.#fill()) {
        this.#info(
          `Connection closed during BDAT after ${got} of ${size} bytes`,
        );
        this.#open = false;
        return;
      }
      const part = this.#reader.take(size - got);
      if (!discard) parts.push(part);
      got += part.length;
    }
    this.#info(`BDAT chunk: ${size} bytes${last ? " (last)" : ""}`);
    if (discard) {
      this.#bdatSize = before + size;
      if (this.#from !== undefined) this.#bdat ??= [];
      return await this.#dispatch("BDAT", line, args, {
        run: () => {
          this.#reply(
            552,
            "5.3.4",
            "Message size exceeds fixed maximum message size",
          );
          if (last) this.#resetTransaction();
        },
        apply: () => {
          if (last) this.#resetTransaction();
        },
      });
    }
    this.#bdatSize = before + size;
    const chunk = concatBytes(parts);
    const append = () => {
      this.#bdat ??= [];
      this.#bdat.push(chunk);
    };
    await this.#dispatch("BDAT", line, args, {
      run: async () => {
        if (this.#from === undefined) {
          return this.#reply(503, "5.5.1", "Need MAIL before BDAT");
        }
        if (this.#to.length === 0) {
          return this.#reply(554, "5.5.1", "No valid recipients");
        }
        append();
        if (!last) return this.#reply(250, "2.0.0", `${size} octets received`);
        const message = concatBytes(this.#bdat!);
        await this.#messageEnd(message, "BDAT");
      },
      apply: () => {
        append();
        if (last) {
          this.#deliver(concatBytes(this.#bdat!), "BDAT");
          this.#resetTransaction();
        }
      },
    }, chunk);
  }

  /** The end of a message (DATA's final dot, or the last BDAT chunk). */
  async #messageEnd(
    message: Uint8Array,
    transfer: "DATA" | "BDAT",
  ): Promise<void> {
    if (this.#config.lmtp) return await this.#lmtpEnd(message, transfer);
    await this.#dispatch("DATA_END", "", "", {
      run: () => {
        // Over SIZE was refused before here (#oversized, BDAT discard).
        const id = crypto.randomUUID().slice(0, 8).toUpperCase();
        this.#reply(250, "2.0.0", `OK: queued as ${id}`);
        this.#deliver(message, transfer, id);
      },
      apply: () => this.#deliver(message, transfer),
    }, message);
    this.#resetTransaction();
  }

  /** LMTP (RFC 2033 §4.2): one reply per accepted recipient, in order. */
  async #lmtpEnd(
    message: Uint8Array,
    transfer: "DATA" | "BDAT",
  ): Promise<void> {
    const delivered: string[] = [];
    for (const recipient of this.#to) {
      await this.#dispatch("DATA_END", "", recipient, {
        run: () => {
          this.#reply(250, "2.0.0", `<${recipient}> delivered`);
          delivered.push(recipient);
        },
        apply: () => {
          delivered.push(recipient);
        },
      }, message);
    }
    if (delivered.length > 0) {
      const to = this.#to;
      this.#to = delivered;
      this.#deliver(message, transfer);
      this.#to = to;
    }
    this.#resetTransaction();
  }

  #deliver(
    data: Uint8Array,
    transfer: "DATA" | "BDAT",
    id = crypto.randomUUID().slice(0, 8).toUpperCase(),
  ): void {
    this.#messages++;
    const raw = this.#config.received
      ? concatBytes([this.#stamp(id), data])
      : data;
    const message: ReceivedMessage = {
      envelope: {
        from: this.#from ?? "",
        to: [...this.#to],
        mailParams: { ...this.#mailParams },
        rcptParams: this.#rcptParams.map((params) => ({ ...params })),
      },
      raw,
      text: decoder.decode(raw),
      transfer,
      transcript: [...this.transcript],
      secure: this.#t.secure,
      ...(this.#authUser !== undefined ? { authUser: this.#authUser } : {}),
      ...(this.#authMechanism !== undefined
        ? { authMechanism: this.#authMechanism }
        : {}),
      helo: this.#helo ?? "",
      esmtp: this.#esmtp,
      connection: this.#id,
    };
    this.#sink.deliver(message);
  }

  /** The Received field of the `received` option. */
  #stamp(id: string): Uint8Array {
    return receivedStamp({
      helo: this.#helo,
      esmtp: this.#esmtp,
      socket: this.#t.socket,
      secure: this.#t.secure,
      authenticated: this.#authUser !== undefined,
      serverName: this.#config.serverName,
      id,
      to: this.#to,
    });
  }

  #resetTransaction(): void {
    this.#from = undefined;
    this.#mailParams = {};
    this.#to = [];
    this.#rcptParams = [];
    this.#bdat = undefined;
    this.#bdatSize = 0;
  }

  // ---- output ----------------------------------------------------------

  /** Queues a reply, with the enhanced code when ENHANCEDSTATUSCODES is on. */
  #reply(code: number, enhanced: string, text: string): void {
    this.#out.push(this.#replyBytes(code, enhanced, text));
  }

  #replyBytes(code: number, enhanced: string, text: string): Uint8Array {
    const withCode = this.#config.keywords.has("ENHANCEDSTATUSCODES")
      ? `${enhanced} ${text}`
      : text;
    this.#server(`${code} ${withCode}`);
    return encoder.encode(`${code} ${withCode}\r\n`);
  }

  /** Queues a reply that never carries an enhanced code (220, 334, 354 …). */
  #replyPlain(code: number, text: string): void {
    this.#server(`${code} ${text}`);
    this.#out.push(encoder.encode(`${code} ${text}\r\n`));
  }

  async #flush(): Promise<void> {
    if (this.#out.length === 0) return;
    const bytes = concatBytes(this.#out);
    this.#out = [];
    await this.#t.write(bytes);
  }

  #client(text: string): void {
    pushBounded(this.transcript, { type: "client", text });
  }

  #server(text: string): void {
    pushBounded(this.transcript, { type: "server", text });
  }

  #info(text: string): void {
    pushBounded(this.transcript, { type: "info", text });
  }
}
