import * as cmd from "../protocol/_command.ts";
import type { Command, Params } from "../protocol/_command.ts";
import { isLoopback } from "./_loopback.ts";
import { quitAfterData } from "./_quit_after_data.ts";
import {
  isRawMessage,
  type PreparedMessage,
  prepareRaw,
} from "./_message_source.ts";
import { checkAuth, chooseMechanism, startSasl } from "../sasl/_sasl.ts";
import { errorMessage, Wire } from "./_wire.ts";
import { Capabilities } from "../protocol/capabilities.ts";
import type { Connect } from "../transport/connection.ts";
import { failureReason } from "../transport/connection_failure.ts";
import { denoConnect } from "../transport/deno_connect.ts";
import { CrlfStream } from "../protocol/_crlf_stream.ts";
import { DotStuffStream } from "../protocol/dot_stuff_stream.ts";
import { composeMessage } from "../mime/compose_message.ts";
import {
  type DkimSigning,
  prepareDkim,
  signPrepared,
} from "../dkim/_sign_prepared.ts";
import type { Mail } from "../mime/mail.ts";
import type { RawMessage } from "./raw_message.ts";
import type { Reply } from "../protocol/reply.ts";
import type { MailTransport } from "./mail_transport.ts";
import type { SendOptions } from "./send_options.ts";
import type { SendResult } from "./send_result.ts";
import type { PasswordAuth, TokenAuth } from "../sasl/credentials.ts";
import type {
  SmtpClientOptions,
  SmtpTimeouts,
  TlsMode,
} from "./smtp_client_options.ts";
import { SmtpError } from "../protocol/smtp_error.ts";

/** Timeouts with every default filled in. */
type Timeouts = Required<SmtpTimeouts>;

const DEFAULT_TIMEOUTS: Timeouts = {
  connect: 30_000,
  greeting: 300_000,
  command: 300_000,
  data: 180_000,
  dataEnd: 600_000,
  quit: 10_000,
};

/** The settings of a session, checked and with defaults applied. */
interface Settings {
  hostname: string;
  port: number;
  tls: TlsMode;
  caCerts?: string[];
  clientName: string;
  auth?: PasswordAuth | TokenAuth;
  timeouts: Timeouts;
  signal?: AbortSignal;
  connect: Connect;
  chunking: boolean;
  dkim?: DkimSigning;
}

/** The size BDAT chunks are gathered to (the first one goes with MAIL). */
const CHUNK_SIZE = 64 * 1024;
/** How many BDAT chunks may await their reply at once. */
const CHUNK_WINDOW = 8;

/** Replies to EHLO that mean "try HELO" (RFC 5321 §4.1.4). */
const EHLO_UNKNOWN = new Set([500, 502, 504, 550]);

/**
 * An SMTP session: connect, EHLO, STARTTLS, AUTH, then any number of
 * `send()`s, then QUIT. Calls on one client are queued, so concurrent sends
 * are safe (they run one after the other on the one connection).
 *
 * @example Sending two messages on one connection
 * ```ts ignore
 * import { SmtpClient } from "@x/sendmail";
 *
 * await using client = await SmtpClient.connect({
 *   hostname: "smtp.example.com",
 *   auth: { username: "me@example.com", password: "secret" },
 * });
 * for (const to of ["a@example.com", "b@example.com"]) {
 *   await client.send({ from: "me@example.com", to, subject: "Hi", text: "Hello" });
 * }
 * ```
 */
export class SmtpClient implements MailTransport, AsyncDisposable {
  #wire: Wire;
  #settings: Settings;
  #capabilities: Capabilities = new Capabilities();
  #queue: Promise<unknown> = Promise.resolve();
  #quitting: Promise<void> | undefined;
  /** QUIT went out behind the message data (sendmail()). */
  #quitSent = false;
  #detach: () => void = () => {};

  private constructor(wire: Wire, settings: Settings) {
    this.#wire = wire;
    this.#settings = settings;
  }

  /**
   * Opens a session: connects, reads the greeting, says EHLO (HELO when EHLO
   * is unknown), upgrades with STARTTLS as `tls` asks, and authenticates.
   *
   * @param options Where and how to connect.
   * @returns The ready client.
   * @throws {TypeError | RangeError} Misused options; nothing is sent.
   * @throws {SmtpError} The session could not be set up.
   */
  static async connect(options: SmtpClientOptions): Promise<SmtpClient> {
    const settings = checkOptions(options);
    const { signal, timeouts } = settings;
    signal?.throwIfAborted();
    await settings.dkim?.ready();
    const wire = await open(settings, options.logger);
    const client = new SmtpClient(wire, settings);
    const onAbort = () => wire.fail(signal!.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      await client.#setUp();
    } catch (error) {
      await client.#abandon(timeouts.quit);
      signal?.removeEventListener("abort", onAbort);
      if (signal?.aborted) throw signal.reason;
      throw error;
    }
    // The session signal stays armed until the client is closed.
    if (signal) {
      client.#detach = () => signal.removeEventListener("abort", onAbort);
    }
    return client;
  }

  /** The extensions the server offered (parsed again after STARTTLS). */
  get capabilities(): Capabilities {
    return this.#capabilities;
  }

  /** Whether the connection is encrypted. */
  get secure(): boolean {
    return this.#wire.secure;
  }

  /**
   * Whether the client can no longer send: it quit, or its connection
   * failed or was closed by the server.
   */
  get closed(): boolean {
    return this.#quitting !== undefined || this.#wire.failed;
  }

  /**
   * Sends one message. Recipients the server refuses are listed in
   * `rejected`; when it refuses every one, the call rejects and no message is
   * sent. After a failed transaction the session is reset, so the next
   * `send()` works.
   *
   * @param message A `Mail` to compose, or a `RawMessage` sent as given.
   * @param options DSN, REQUIRETLS and an abort signal.
   * @returns Who was accepted and refused, and the server's final reply.
   * @throws {TypeError | RangeError} A bad address or parameter; nothing is sent.
   * @throws {SmtpError} The server refused the message, or the session failed.
   */
  send(
    message: Mail | RawMessage,
    options: SendOptions = {},
  ): Promise<SendResult> {
    return this.#enqueue(() => this.#send(message, options), options.signal);
  }

  /**
   * Sends NOOP, which also checks the connection is alive.
   *
   * @returns The server's reply.
   * @throws {SmtpError} The server refused it, or the session failed.
   */
  noop(): Promise<Reply> {
    return this.#enqueue(() => this.#simple(cmd.simple("NOOP")));
  }

  /**
   * Sends RSET, abandoning any transaction in progress.
   *
   * @throws {SmtpError} The server refused it, or the session failed.
   */
  reset(): Promise<void> {
    return this.#enqueue(async () => {
      await this.#simple(cmd.simple("RSET"));
    });
  }

  /**
   * Sends QUIT and closes the connection. It waits for the server's reply at
   * most `timeouts.quit` ms, never fails, and may be called more than once.
   */
  quit(): Promise<void> {
    this.#quitting ??= this.#queue.then(
      () => this.#abandon(this.#settings.timeouts.quit),
      () => this.#abandon(this.#settings.timeouts.quit),
    );
    return this.#quitting;
  }

  /** Same as {@linkcode SmtpClient.quit}: a `MailTransport`'s `close()`. */
  close(): Promise<void> {
    return this.quit();
  }

  /** Same as {@linkcode SmtpClient.quit}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.quit();
  }

  // ——— session set-up ———

  async #setUp(): Promise<void> {
    const wire = this.#wire;
    const { tls, hostname, caCerts, timeouts } = this.#settings;
    wire.expect("CONNECT");
    const greeting = await wire.read(timeouts.greeting, "CONNECT");
    if (greeting.code !== 220) {
      const error = new SmtpError(
        `Cannot start session: server greeted with ${describe(greeting)}`,
        { reply: greeting, command: "CONNECT", temporary: greeting.code < 500 },
      );
      // 421: the server is closing the connection, QUIT would go nowhere.
      if (greeting.code === 421) wire.fail(error);
      throw error;
    }
    await this.#hello();
    if (tls === "starttls" || tls === "opportunistic") {
      if (!this.#capabilities.startTls) {
        if (tls === "starttls") {
          throw new SmtpError(
            `Cannot start TLS: ${hostname} does not offer STARTTLS (use tls: "opportunistic" or "none" to allow plaintext)`,
            { kind: "tls", command: "STARTTLS" },
          );
        }
        wire.info("STARTTLS not offered: continuing without TLS");
      } else {
        const reply = await this.#command(cmd.simple("STARTTLS"));
        if (reply.code === 220) {
          await wire.startTls(
            { hostname, ...(caCerts ? { caCerts } : {}) },
            timeouts.command,
          );
          wire.info("TLS established");
          this.#capabilities = new Capabilities();
          await this.#hello();
        } else if (tls === "starttls") {
          throw new SmtpError(
            `Cannot start TLS: server replied ${describe(reply)}`,
            { kind: "tls", reply, command: "STARTTLS" },
          );
        } else {
          wire.info(
            `STARTTLS refused (${reply.code}): continuing without TLS`,
          );
        }
      }
    }
    // Without TLS now, no STARTTLS can follow: catch unsolicited replies.
    wire.settle();
    if (this.#settings.auth) await this.#authenticate(this.#settings.auth);
  }

  async #hello(): Promise<void> {
    const name = this.#settings.clientName;
    const reply = await this.#command(cmd.ehlo(name));
    if (reply.code === 250) {
      this.#capabilities = Capabilities.parse(reply);
      return;
    }
    if (!EHLO_UNKNOWN.has(reply.code)) {
      throw new SmtpError(
        `Cannot send EHLO: server replied ${describe(reply)}`,
        {
          reply,
          command: "EHLO",
        },
      );
    }
    const fallback = await this.#command(cmd.helo(name));
    if (fallback.code !== 250) {
      throw new SmtpError(
        `Cannot send HELO: server replied ${describe(fallback)}`,
        { reply: fallback, command: "HELO" },
      );
    }
    this.#capabilities = new Capabilities(fallback.lines[0]?.split(" ")[0]);
  }

  async #authenticate(auth: PasswordAuth | TokenAuth): Promise<void> {
    const { hostname, port } = this.#settings;
    const caps = this.#capabilities;
    if (!caps.has("AUTH")) {
      throw new SmtpError(
        `Cannot authenticate: ${hostname} does not offer AUTH${
          this.secure ? "" : " (it may offer it only over TLS)"
        }`,
        { kind: "auth", command: "AUTH" },
      );
    }
    if (!this.secure && !isLoopback(hostname)) {
      throw new SmtpError(
        `Cannot authenticate: refusing to send credentials without TLS to ${hostname}`,
        { kind: "auth", command: "AUTH" },
      );
    }
    const mechanism = chooseMechanism(caps.auth, auth, this.secure);
    const sasl = await startSasl(auth, mechanism, hostname, port);
    let reply = await this.#command(
      cmd.auth(mechanism, sasl.initialResponse),
    );
    for (let round = 0; reply.code === 334; round++) {
      if (round === 10) {
        throw new SmtpError("Cannot authenticate: too many challenges", {
          kind: "protocol",
          command: "AUTH",
        });
      }
      let response: string;
      try {
        response = await sasl.respond(reply.lines[0] ?? "");
      } catch (error) {
        // Cancel the exchange (RFC 4954 §4), then report the cause.
        await this.#command(cmd.saslResponse("*")).catch(() => {});
        throw error;
      }
      this.#wire.info(`AUTH ${mechanism}: answering challenge`);
      reply = await this.#command(cmd.saslResponse(response));
    }
    if (reply.code !== 235) {
      const detail = sasl.serverError ? ` (${sasl.serverError})` : "";
      throw new SmtpError(
        `Cannot authenticate with ${mechanism}: server replied ${
          describe(reply)
        }${detail}`,
        { kind: "auth", reply, command: "AUTH", temporary: reply.code < 500 },
      );
    }
  }

  // ——— transactions ———

  async #send(
    message: Mail | RawMessage,
    options: SendOptions,
  ): Promise<SendResult> {
    const prepared = await prepare(message, this.#settings.dkim);
    try {
      const { commands, from, to } = this.#transaction(prepared, options);
      return await this.#transact(prepared, commands, from, to);
    } catch (error) {
      // Release the message source (files, attachment streams) unless the
      // data phase already consumed it.
      if (!prepared.readable.locked) {
        await prepared.readable.cancel(error).catch(() => {});
      }
      throw error;
    }
  }

  async #transact(
    prepared: PreparedMessage,
    commands: Command[],
    from: string,
    to: string[],
  ): Promise<SendResult> {
    const caps = this.#capabilities;
    if (caps.chunking && caps.pipelining && this.#settings.chunking) {
      return await this.#transactChunked(prepared, commands, from, to);
    }
    const { timeouts } = this.#settings;
    const wire = this.#wire;
    const [mail, ...rcpts] = commands;
    const accepted: string[] = [];
    const rejected: SendResult["rejected"] = [];
    let mailReply: Reply;
    let dataReply: Reply;
    if (this.#capabilities.pipelining) {
      // RFC 2920: MAIL, every RCPT and DATA in one write; replies in order.
      await wire.send([mail!, ...rcpts, cmd.simple("DATA")], timeouts.command);
      mailReply = await this.#envelopeReplies(to, accepted, rejected);
      dataReply = await wire.read(timeouts.command, "DATA");
      check421(dataReply, "DATA", wire);
      if (
        dataReply.code === 354 &&
        (mailReply.code !== 250 || accepted.length === 0)
      ) {
        // DATA was accepted although no recipient was: end it empty.
        wire.info("No recipient accepted: ending the message data empty");
        await wire.write(new TextEncoder().encode(".\r\n"), timeouts.data);
        wire.expect("DATA");
        check421(await wire.read(timeouts.dataEnd, "DATA"), "DATA", wire);
      }
      await this.#checkEnvelope(mailReply, accepted, rejected);
      if (dataReply.code !== 354) {
        await this.#resetAfterFailure();
        throw refused("DATA", dataReply, "DATA");
      }
    } else {
      mailReply = await this.#command(mail!);
      if (mailReply.code !== 250) {
        await this.#resetAfterFailure();
        throw refused("MAIL FROM", mailReply, "MAIL");
      }
      for (const [i, recipient] of to.entries()) {
        const reply = await this.#command(rcpts[i]!);
        if (reply.code >= 200 && reply.code < 300) accepted.push(recipient);
        else rejected.push({ recipient, reply });
      }
      if (accepted.length === 0) {
        await this.#resetAfterFailure();
        throw allRefused(rejected);
      }
      dataReply = await this.#command(cmd.simple("DATA"));
      if (dataReply.code !== 354) {
        await this.#resetAfterFailure();
        throw refused("DATA", dataReply, "DATA");
      }
    }
    const reply = await this.#data(prepared.readable);
    if (reply.code < 200 || reply.code >= 300) {
      throw refused("message data", reply, "DATA");
    }
    return this.#result(accepted, rejected, reply, prepared, from, to);
  }

  /** Builds MAIL and RCPT commands; every check happens before sending. */
  #transaction(
    prepared: PreparedMessage,
    options: SendOptions,
  ): { commands: Command[]; from: string; to: string[] } {
    const caps = this.#capabilities;
    const { from } = prepared;
    const to = [...new Set(prepared.to)];
    if (to.length === 0) {
      throw new TypeError("Cannot send message: no recipient");
    }
    const mailParams: Params = [];
    const rcptParams: Params = [];
    if (prepared.size !== undefined && caps.size !== undefined) {
      if (caps.size > 0 && prepared.size > caps.size) {
        throw new SmtpError(
          `Cannot send message: its ${prepared.size} octets exceed the server's limit of ${caps.size}`,
          { kind: "unsupported", command: "MAIL" },
        );
      }
      mailParams.push(["SIZE", String(prepared.size)]);
    }
    if (prepared.eightBit && caps.eightBitMime) {
      mailParams.push(["BODY", "8BITMIME"]);
    }
    if (prepared.smtputf8) {
      if (!caps.smtpUtf8) {
        throw new SmtpError(
          "Cannot send message: an address is not ASCII and the server does not offer SMTPUTF8",
          { kind: "unsupported", command: "MAIL" },
        );
      }
      mailParams.push(["SMTPUTF8", true]);
    }
    const dsn = options.dsn;
    if (dsn) {
      if (dsn.envelopeId !== undefined) {
        cmd.assertPrintable(dsn.envelopeId, "DSN envelope id");
      }
      if (caps.dsn) {
        if (dsn.ret) mailParams.push(["RET", dsn.ret.toUpperCase()]);
        if (dsn.envelopeId !== undefined) {
          mailParams.push(["ENVID", cmd.xtext(dsn.envelopeId)]);
        }
        if (dsn.notify) {
          const notify = dsn.notify === "never"
            ? "NEVER"
            : dsn.notify.map((n) => n.toUpperCase()).join(",");
          if (!/^(NEVER|((SUCCESS|FAILURE|DELAY),?)+)$/.test(notify)) {
            throw new TypeError(
              `Cannot use DSN notify ${JSON.stringify(dsn.notify)}`,
            );
          }
          rcptParams.push(["NOTIFY", notify]);
        }
      } else {
        this.#wire.info("DSN requested but not offered: sending without it");
      }
    }
    if (options.requireTls) {
      if (!this.secure) {
        throw new SmtpError(
          "Cannot send message with REQUIRETLS: the connection is not encrypted",
          { kind: "tls", command: "MAIL" },
        );
      }
      if (!caps.requireTls) {
        throw new SmtpError(
          "Cannot send message with REQUIRETLS: the server does not offer it",
          { kind: "unsupported", command: "MAIL" },
        );
      }
      mailParams.push(["REQUIRETLS", true]);
    }
    const commands = [cmd.mailFrom(from, mailParams)];
    for (const recipient of to) {
      const params: Params = [...rcptParams];
      if (dsn && caps.dsn && dsn.notify) {
        params.push(["ORCPT", `rfc822;${cmd.xtext(recipient)}`]);
      }
      commands.push(cmd.rcptTo(recipient, params));
    }
    return { commands, from, to };
  }

  /**
   * A transaction with BDAT (RFC 3030) under PIPELINING: MAIL, every RCPT and
   * the first chunk (`BDAT n LAST` when the message fits in it) go in one
   * write, so a small message costs one round trip and no 354 wait. Larger
   * messages follow in chunks, with at most CHUNK_WINDOW replies awaited.
   * Chunks are CRLF-normalised and sent by length: no dot-stuffing.
   */
  async #transactChunked(
    prepared: PreparedMessage,
    commands: Command[],
    from: string,
    to: string[],
  ): Promise<SendResult> {
    const { timeouts } = this.#settings;
    const wire = this.#wire;
    const source = prepared.readable.pipeThrough(new CrlfStream()).getReader();
    const accepted: string[] = [];
    const rejected: SendResult["rejected"] = [];
    let finished = false;
    try {
      // Nothing is sent until the first chunk is read: a failing source
      // leaves the session as it was.
      let chunk = await gather(source);
      let octets = chunk.bytes.length;
      const quit = chunk.done && quitAfterData.has(this);
      await wire.send(
        [...commands, cmd.bdat(chunk.bytes.length, chunk.done)],
        timeouts.data,
        chunk.bytes,
      );
      if (quit) {
        // sendmail(): nothing follows, so QUIT closes the group (RFC 2920).
        this.#quitSent = true;
        await wire.send([cmd.simple("QUIT")], timeouts.quit).catch(() => {});
      }
      const mailReply = await this.#envelopeReplies(to, accepted, rejected);
      let reply = await wire.read(
        chunk.done ? timeouts.dataEnd : timeouts.data,
        "BDAT",
      );
      check421(reply, "BDAT", wire);
      await this.#checkEnvelope(mailReply, accepted, rejected);
      let outstanding = 0;
      while (!chunk.done && reply.code === 250) {
        try {
          chunk = await gather(source);
        } catch (error) {
          // A BDAT transaction can be abandoned with RSET: nothing is
          // delivered and the session stays usable.
          await this.#drainChunks(outstanding);
          await this.#resetAfterFailure();
          throw error;
        }
        octets += chunk.bytes.length;
        await wire.send(
          [cmd.bdat(chunk.bytes.length, chunk.done)],
          timeouts.data,
          chunk.bytes,
        );
        outstanding++;
        if (chunk.done && quitAfterData.has(this)) {
          this.#quitSent = true;
          await wire.send([cmd.simple("QUIT")], timeouts.quit).catch(() => {});
        }
        while (outstanding > (chunk.done ? 0 : CHUNK_WINDOW - 1)) {
          outstanding--;
          const last = chunk.done && outstanding === 0;
          reply = await wire.read(
            last ? timeouts.dataEnd : timeouts.data,
            "BDAT",
          );
          check421(reply, "BDAT", wire);
          if (reply.code !== 250 && !last) {
            await this.#drainChunks(outstanding);
            break;
          }
        }
      }
      finished = chunk.done;
      wire.info(`${octets} octets of message data sent in BDAT chunks`);
      if (reply.code < 200 || reply.code >= 300) {
        if (!finished) await this.#resetAfterFailure();
        throw refused("message data", reply, "BDAT");
      }
      return this.#result(accepted, rejected, reply, prepared, from, to);
    } finally {
      if (finished) source.releaseLock();
      else await source.cancel().catch(() => {});
    }
  }

  /**
   * Reads the pipelined replies to MAIL and to each RCPT, in order, sorting
   * the recipients into accepted and rejected.
   *
   * @returns The reply to MAIL.
   */
  async #envelopeReplies(
    to: string[],
    accepted: string[],
    rejected: SendResult["rejected"],
  ): Promise<Reply> {
    const wire = this.#wire;
    const { timeouts } = this.#settings;
    const mailReply = await wire.read(timeouts.command, "MAIL");
    check421(mailReply, "MAIL", wire);
    for (const recipient of to) {
      const reply = await wire.read(timeouts.command, "RCPT");
      check421(reply, "RCPT", wire);
      if (reply.code >= 200 && reply.code < 300) accepted.push(recipient);
      else rejected.push({ recipient, reply });
    }
    return mailReply;
  }

  /** A refused MAIL, or every RCPT refused, ends the transaction with RSET. */
  async #checkEnvelope(
    mailReply: Reply,
    accepted: string[],
    rejected: SendResult["rejected"],
  ): Promise<void> {
    if (mailReply.code !== 250) {
      await this.#resetAfterFailure();
      throw refused("MAIL FROM", mailReply, "MAIL");
    }
    if (accepted.length === 0) {
      await this.#resetAfterFailure();
      throw allRefused(rejected);
    }
  }

  /** Reads the replies to chunks already sent after one was refused. */
  async #drainChunks(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const reply = await this.#wire.read(this.#settings.timeouts.data, "BDAT");
      check421(reply, "BDAT", this.#wire);
    }
  }

  #result(
    accepted: string[],
    rejected: SendResult["rejected"],
    reply: Reply,
    prepared: PreparedMessage,
    from: string,
    to: string[],
  ): SendResult {
    return {
      accepted,
      rejected,
      reply,
      ...(prepared.messageId ? { messageId: prepared.messageId } : {}),
      envelope: { from, to },
      secure: this.secure,
    };
  }

  /** Streams the message through dot-stuffing and reads the final reply. */
  async #data(readable: ReadableStream<Uint8Array>): Promise<Reply> {
    const { timeouts } = this.#settings;
    const wire = this.#wire;
    const reader = readable.pipeThrough(new DotStuffStream()).getReader();
    let octets = 0;
    let finished = false;
    try {
      while (true) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (error) {
          // The message source failed. The data cannot be ended without
          // delivering a truncated message, so the connection is dropped;
          // this send rejects with the source's own error.
          wire.fail(
            new SmtpError(
              `Cannot use the connection: it was closed when the message source failed: ${
                errorMessage(error)
              }`,
              { kind: "closed", command: "DATA", cause: error },
            ),
          );
          throw error;
        }
        if (chunk.done) break;
        octets += chunk.value.length;
        await wire.write(chunk.value, timeouts.data);
      }
      finished = true;
    } finally {
      // Cancelling reaches the source through the pipe: files, sockets and
      // attachment streams behind the message are released.
      if (finished) reader.releaseLock();
      else await reader.cancel().catch(() => {});
    }
    wire.info(`${octets} octets of message data sent`);
    wire.expect("DATA");
    // Wait for the reply from here on: once QUIT is out, the server may
    // answer both and close while the write is awaited, and a read started
    // after that would only find the connection closed.
    const replied = wire.read(timeouts.dataEnd, "DATA");
    if (quitAfterData.has(this)) {
      replied.catch(() => {}); // awaited below, after the write
      // sendmail(): only QUIT follows, so it goes now (RFC 2920 §3.1) and
      // its reply comes in the same round trip as the message's.
      this.#quitSent = true;
      await wire.send([cmd.simple("QUIT")], timeouts.quit).catch(() => {
        // The wire keeps the failure; the read above reports it.
      });
    }
    const reply = await replied;
    check421(reply, "DATA", wire);
    return reply;
  }

  // ——— plumbing ———

  /** Sends one command and reads its reply; 421 closes the session. */
  async #command(command: Command): Promise<Reply> {
    const { timeouts } = this.#settings;
    await this.#wire.send([command], timeouts.command);
    const reply = await this.#wire.read(timeouts.command, command.verb);
    check421(reply, command.verb, this.#wire);
    return reply;
  }

  async #simple(command: Command): Promise<Reply> {
    const reply = await this.#command(command);
    if (reply.code < 200 || reply.code >= 300) {
      throw refused(command.verb, reply, command.verb);
    }
    return reply;
  }

  /** RSET after a failed transaction; a failing RSET closes the session. */
  async #resetAfterFailure(): Promise<void> {
    // After a pipelined QUIT (sendmail()) the session is ending anyway.
    if (this.#quitSent) return;
    try {
      const reply = await this.#command(cmd.simple("RSET"));
      if (reply.code !== 250) {
        this.#wire.fail(refused("RSET", reply, "RSET"));
      }
    } catch {
      // The wire keeps the failure; the caller reports the transaction's.
    }
  }

  /** Runs calls one at a time; a signal aborts the call and the session. */
  #enqueue<T>(job: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const run = async (): Promise<T> => {
      if (this.#quitting) {
        throw new SmtpError("Cannot use the client: it has quit", {
          kind: "closed",
        });
      }
      const session = this.#settings.signal;
      session?.throwIfAborted();
      signal?.throwIfAborted();
      const onAbort = () => this.#wire.fail(signal!.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      try {
        return await job();
      } catch (error) {
        // An aborted signal rejects with its reason, as the Web platform does.
        if (signal?.aborted) throw signal.reason;
        if (session?.aborted) throw session.reason;
        // A failed wire (timeout, drop) explains a session error best; the
        // caller's own errors (bad input, a failing message source) are
        // rethrown as they are.
        // After a pipelined QUIT the server closing is expected, not the cause.
        if (
          this.#wire.failed && error instanceof SmtpError && !this.#quitSent
        ) {
          throw this.#wire.failure;
        }
        throw error;
      } finally {
        signal?.removeEventListener("abort", onAbort);
      }
    };
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => {});
    return result;
  }

  /** Sends QUIT when the connection still works, then closes it. */
  async #abandon(timeout: number): Promise<void> {
    const wire = this.#wire;
    if (!wire.failed) {
      try {
        if (!this.#quitSent) await wire.send([cmd.simple("QUIT")], timeout);
        await wire.read(timeout, "QUIT");
      } catch {
        // QUIT is a courtesy: the connection is closed either way.
      }
    }
    await wire.close();
    this.#detach();
  }
}

async function open(
  settings: Settings,
  logger: SmtpClientOptions["logger"],
): Promise<Wire> {
  const { hostname, port, tls, caCerts, signal, timeouts } = settings;
  const timer = AbortSignal.timeout(timeouts.connect);
  const combined = signal ? AbortSignal.any([signal, timer]) : timer;
  try {
    const conn = await settings.connect({
      hostname,
      port,
      tls: tls === "implicit"
        ? "implicit"
        : tls === "none"
        ? "none"
        : "starttls",
      ...(caCerts ? { caCerts } : {}),
      signal: combined,
    });
    logger?.({
      type: "info",
      text: `Connected to ${hostname}:${port}${conn.secure ? " with TLS" : ""}`,
    });
    // Before a possible STARTTLS, replies are pulled one read at a time.
    const pull = tls === "starttls" || tls === "opportunistic";
    return new Wire(conn, pull, logger);
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (timer.aborted) {
      throw new SmtpError(
        `Cannot connect to ${hostname}:${port}: no connection within ${timeouts.connect} ms`,
        { kind: "timeout", command: "CONNECT", cause: error },
      );
    }
    // An option the transport cannot honour is the caller's mistake.
    if (error instanceof TypeError) throw error;
    throw connectFailure(error, hostname, port);
  }
}

/** An adapter's connect failure as an `SmtpError`, by its seam reason. */
function connectFailure(
  error: unknown,
  hostname: string,
  port: number,
): SmtpError {
  const reason = failureReason(error);
  const where = `${hostname}:${port}`;
  const detail = errorMessage(error);
  switch (reason) {
    case "tls-verify":
    case "tls-handshake":
      return new SmtpError(`Cannot connect to ${where} with TLS: ${detail}`, {
        kind: "tls",
        command: "CONNECT",
        temporary: false,
        cause: error,
      });
    case "dns":
      return new SmtpError(
        `Cannot connect to ${where}: the host name does not resolve: ${detail}`,
        {
          kind: "connection",
          command: "CONNECT",
          temporary: false,
          cause: error,
        },
      );
    case "timeout":
      return new SmtpError(`Cannot connect to ${where}: ${detail}`, {
        kind: "timeout",
        command: "CONNECT",
        cause: error,
      });
    default:
      return new SmtpError(`Cannot connect to ${where}: ${detail}`, {
        kind: "connection",
        command: "CONNECT",
        cause: error,
      });
  }
}

async function prepare(
  message: Mail | RawMessage,
  dkim: DkimSigning | undefined,
): Promise<PreparedMessage> {
  if (isRawMessage(message)) {
    const prepared = prepareRaw(message);
    // DKIM reads the raw source itself: twice when it can.
    return dkim
      ? { ...prepared, ...await signPrepared(message.raw, dkim) }
      : prepared;
  }
  if (typeof message !== "object" || message === null) {
    throw new TypeError("Cannot send message: expected a Mail or a RawMessage");
  }
  const composed = composeMessage(message);
  return {
    from: composed.envelope.from,
    to: composed.envelope.to,
    smtputf8: composed.envelope.smtputf8,
    eightBit: composed.eightBit,
    messageId: composed.messageId,
    ...(dkim
      ? await signPrepared(composed, dkim)
      : { readable: composed.readable }),
  };
}

function checkOptions(options: SmtpClientOptions): Settings {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("Cannot connect: expected options with a hostname");
  }
  const { hostname } = options;
  if (typeof hostname !== "string" || hostname === "") {
    throw new TypeError("Cannot connect: hostname is required");
  }
  cmd.assertPrintable(hostname, "hostname");
  const tls = options.tls ?? (options.port === 465 ? "implicit" : "starttls");
  if (!["implicit", "starttls", "opportunistic", "none"].includes(tls)) {
    throw new TypeError(
      `Cannot connect: unknown tls mode ${JSON.stringify(tls)}`,
    );
  }
  const port = options.port ?? (tls === "implicit" ? 465 : 587);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`Cannot connect: port ${port} is not 1 to 65535`);
  }
  const timeouts = { ...DEFAULT_TIMEOUTS };
  for (const [key, value] of Object.entries(options.timeouts ?? {})) {
    if (!(key in DEFAULT_TIMEOUTS)) {
      throw new TypeError(
        `Cannot connect: unknown timeout ${JSON.stringify(key)}`,
      );
    }
    if (value === undefined) continue;
    if (typeof value !== "number" || !(value > 0) || value > 2 ** 31 - 1) {
      throw new RangeError(
        `Cannot connect: timeout ${key} must be a positive number of ms`,
      );
    }
    timeouts[key as keyof Timeouts] = value;
  }
  const clientName = cmd.checkClientName(options.clientName ?? "localhost");
  const { auth } = options;
  if (auth !== undefined) checkAuth(auth);
  return {
    hostname,
    port,
    tls,
    ...(options.caCerts ? { caCerts: options.caCerts } : {}),
    clientName,
    ...(auth ? { auth } : {}),
    timeouts,
    ...(options.signal ? { signal: options.signal } : {}),
    connect: options.connect ?? denoConnect,
    chunking: options.chunking ?? true,
    ...(options.dkim === undefined ? {} : { dkim: prepareDkim(options.dkim) }),
  };
}

/** A 421 reply means the server is closing: the session ends here. */
function check421(reply: Reply, verb: string, wire: Wire): void {
  if (reply.code === 421) {
    const error = new SmtpError(
      `Cannot send ${verb}: server is closing the connection: ${
        describe(reply)
      }`,
      { reply, command: verb },
    );
    wire.fail(error);
    throw error;
  }
}

function refused(what: string, reply: Reply, verb: string): SmtpError {
  return new SmtpError(
    `Cannot send ${what}: server replied ${describe(reply)}`,
    {
      reply,
      command: verb,
    },
  );
}

function allRefused(rejected: SendResult["rejected"]): SmtpError {
  const first = rejected[0]!;
  const all = rejected.every((r) => r.reply.code >= 400 && r.reply.code < 500);
  return new SmtpError(
    `Cannot send RCPT TO: server refused every recipient, ${
      JSON.stringify(first.recipient)
    } with ${describe(first.reply)}`,
    { reply: first.reply, command: "RCPT", temporary: all },
  );
}

/** `550 5.1.1 "no such user"`. */
function describe(reply: Reply): string {
  const enhanced = reply.enhancedCode ? ` ${reply.enhancedCode}` : "";
  return `${reply.code}${enhanced} ${JSON.stringify(reply.text)}`;
}

/** Reads from `reader` until `CHUNK_SIZE` bytes or the end. */
async function gather(
  reader: ReadableStreamDefaultReader<Uint8Array>,
): Promise<{ bytes: Uint8Array; done: boolean }> {
  const parts: Uint8Array[] = [];
  let size = 0;
  while (size < CHUNK_SIZE) {
    const { value, done } = await reader.read();
    if (done) return { bytes: concat(parts, size), done: true };
    parts.push(value);
    size += value.length;
  }
  return { bytes: concat(parts, size), done: false };
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
