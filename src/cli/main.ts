import type { SendOptions } from "../session/send_options.ts";
import type { SendResult } from "../session/send_result.ts";
import type { SmtpLogEvent } from "../session/smtp_client_options.ts";
import { parseAddressList } from "./_address_list.ts";
import { CliError } from "./cli_error.ts";
import { defaultSend, type SendFunction } from "./_default_send.ts";
import { prepareMessage } from "./_prepare_message.ts";
import { runShellCommand } from "./_run_shell_command.ts";
import { loadSettings, type Settings, type SettingsHost } from "./_settings.ts";
import { ExitCode, type ExitCodeValue } from "./exit_code.ts";
import { exitCodeForError } from "./exit_code_for_error.ts";
import { formatReceived } from "../received/format_received.ts";
import { type CliArgs, parseArgs } from "./parse_args.ts";
import denoJson from "../../deno.json" with { type: "json" };
import { describeReply } from "../protocol/_describe_reply.ts";
import { printable } from "../protocol/_control.ts";
import { toHex } from "../protocol/_base64.ts";
import {
  outboxCommand,
  type QueueHost,
  queueMessage,
  runQueue,
  sendOrQueue,
} from "./_queue.ts";

export type { SendFunction };

/**
 * What the command runs with. Every member has a default for a real run
 * (`Deno.stdin`, `Deno.env`, the module's `sendmail()` …); tests replace them.
 */
export interface CliContext {
  /** The message. @default {Deno.stdin.readable} */
  stdin?: ReadableStream<Uint8Array>;
  /** Where `--help`, `--version` and `-P` print. @default {Deno.stdout.writable} */
  stdout?: WritableStream<Uint8Array>;
  /** Where errors and the `-v` transcript print. @default {Deno.stderr.writable} */
  stderr?: WritableStream<Uint8Array>;
  /** Environment variables. @default {Deno.env.get} */
  env?: (name: string) => string | undefined;
  /** Sends the message. @default {the module's `sendmail()`} */
  send?: SendFunction;
  /** Reads a configuration, trust or aliases file. @default {Deno.readTextFile} */
  readTextFile?: (path: string) => Promise<string>;
  /** Runs a passwordeval command with `sh -c`, resolving with its output. */
  runCommand?: (command: string) => Promise<string>;
  /** This host's name. @default {Deno.hostname} */
  hostname?: () => string;
  /** The clock, for the Date field. @default {() => new Date()} */
  now?: () => Date;
}

const PROGRAM = "sendmail";

const HELP = `Usage: ${PROGRAM} [options] [--] [recipient ...] < message

Sends the message read from standard input, like sendmail(8).

Options:
  -t                 Also send to the To, Cc and Bcc addresses of the message
                     (Bcc fields are removed from it)
  -f, -r ADDRESS     Envelope sender (-f "<>" for none)
  -F NAME            Full name for an added From field
  -i, -oi            A line with a single "." does not end the message
  -oR, --add-received-header
                     Put a Received field for this submission first
  -N CONDITIONS      DSN: never, or a list of success,failure,delay
  -R full|hdrs       DSN: what a failure report returns
  -V ENVID           DSN: the envelope identifier
  -v                 Print the SMTP session on standard error
  -a ACCOUNT         Use this account of the msmtp configuration
  -C, --file FILE    Read this msmtp configuration file
  --url URL          Send through this server: smtp://user:pass@host:587,
                     smtps://host:465, ?tls=starttls|opportunistic|none
  -P, --pretend      Print the settings that would be used, and exit
  -odq, --queue      Store the message in the outbox instead of sending it
  --queue-on-failure Store the message in the outbox when sending fails
                     temporarily (instead of exiting with 75)
  -q                 Deliver what is due in the outbox, with these settings
  --outbox list|show ID|retry ID|cancel ID
                     Show the outbox, an entry; retry or cancel an entry
  --outbox-file FILE The outbox (a Deno KV file); default
                     $XDG_STATE_HOME/sendmail/outbox.sqlite3
  --help, --version
Accepted and ignored: -B type, -bm, -A x, -e x, -o x, -O opt=val, -h N,
-L tag, -p proto, -X file, -G, -I, -m, -n, -s, -U, -c.

Settings: --url, else $SENDMAIL_URL, else msmtp configuration files
(/etc/msmtprc, then --file, $XDG_CONFIG_HOME/msmtp/config or ~/.msmtprc).

Exit status (sysexits.h): 0 sent; 64 usage; 65 refused by the server (5xx);
68 unknown host; 69 unavailable; 75 temporary failure, try again later;
76 protocol or TLS error; 77 authentication failed; 78 configuration error.
`;

class Output {
  #writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  #stream: WritableStream<Uint8Array>;
  #last: Promise<void> = Promise.resolve();
  #encoder = new TextEncoder();
  constructor(stream: WritableStream<Uint8Array>) {
    this.#stream = stream;
  }
  write(text: string): void {
    this.#writer ??= this.#stream.getWriter();
    this.#last = this.#writer.write(this.#encoder.encode(text)).catch(() => {});
  }
  async release(): Promise<void> {
    await this.#last;
    this.#writer?.releaseLock();
    this.#writer = undefined;
  }
}

// deno-lint-ignore no-control-regex
const UNUSABLE_ADDRESS = /[\x00-\x20\x7f<>]/;

/**
 * Chooses the envelope sender: `-f`, else the configured `from`; undefined
 * when neither gives one (the message's From field is used then).
 */
function envelopeSender(
  args: CliArgs,
  settings: Settings,
  host: SettingsHost,
): string | undefined {
  let from = args.from;
  if (from !== undefined && !settings.allowFromOverride) from = undefined;
  if (from !== undefined && from !== "" && !from.includes("@")) {
    // An unqualified -f (cron's "-f root"): the configured sender serves
    // better; else it is qualified with this host's name, as sendmail does.
    from = settings.from ?? `${from}@${host.hostname()}`;
  }
  from ??= settings.from;
  if (from !== undefined && /[?*[]/.test(from)) {
    throw new CliError(
      `The configured from "${from}" is a pattern: give the envelope sender with -f`,
      ExitCode.CONFIG,
    );
  }
  if (from !== undefined && UNUSABLE_ADDRESS.test(from)) {
    throw new CliError(
      `Invalid envelope sender "${from}"`,
      args.from !== undefined ? ExitCode.USAGE : ExitCode.CONFIG,
    );
  }
  return from;
}

/** The local user: `$USER`, else `$LOGNAME`, else root. */
function localUser(host: SettingsHost): string {
  return host.env("USER") || host.env("LOGNAME") || "root";
}

/** The last resort for the envelope sender: `$USER@hostname`, as sendmail does. */
function defaultSender(host: SettingsHost): string {
  return `${localUser(host)}@${host.hostname()}`;
}

/**
 * sendmail(8)'s submission stamp, `(from alice@localhost) by host id …;
 * date`, for `-oR`.
 */
function submissionStamp(host: SettingsHost, now: Date): string {
  const id = toHex(crypto.getRandomValues(new Uint8Array(6))).toUpperCase();
  try {
    return formatReceived({
      from: { user: `${localUser(host)}@localhost` },
      by: { name: host.hostname() },
      id,
      date: now,
    });
  } catch (error) {
    throw new CliError(
      `Cannot add a Received field: ${
        error instanceof Error ? error.message : error
      }`,
      ExitCode.CONFIG,
    );
  }
}

function describe(
  settings: Settings,
  from: string | undefined,
  host: SettingsHost,
): string {
  const { options } = settings;
  const auth = options.auth;
  const lines = [
    `settings from ${settings.source}`,
    `host = ${options.hostname}`,
    `port = ${options.port}`,
    `tls = ${options.tls}`,
    `tls_trust_file = ${options.caCerts ? "(given)" : "system"}`,
    `domain = ${options.clientName ?? "localhost"}`,
    `auth = ${auth ? (auth.mechanism ?? "on").toLowerCase() : "off"}`,
    `user = ${auth?.username ?? "(not set)"}`,
    `password = ${auth ? "*" : "(not set)"}`,
    `from = ${
      from === ""
        ? "<>"
        : from ?? `(the From field, else ${defaultSender(host)})`
    }`,
  ];
  return lines.join("\n") + "\n";
}

function transcriptLine(event: SmtpLogEvent): string {
  const prefix = event.type === "client"
    ? "--> "
    : event.type === "server"
    ? "<-- "
    : "*** ";
  return prefix + printable(event.text) + "\n";
}

/**
 * Runs the sendmail command: parses `args`, loads the settings, reads the
 * message from standard input as a stream, sends it, and returns the exit
 * status (sysexits.h). Errors are printed on standard error prefixed with
 * `sendmail: `; nothing is printed on success. The password is never
 * printed; `-v` prints the transcript, in which the client redacts
 * credentials.
 *
 * @param args The arguments, without the program name.
 * @param context Standard streams, environment and the send step; each has a
 * default for a real run.
 * @returns The exit status: 0 when the message was accepted for every recipient.
 *
 * @example Run with a stand-in send step
 * ```ts
 * import { main } from "@x/sendmail/cli";
 *
 * const status = await main(["-i", "--url", "smtp://127.0.0.1:2525?tls=none", "ops@example.com"], {
 *   stdin: ReadableStream.from([new TextEncoder().encode("Subject: hi\n\nhello\n")]),
 *   env: () => undefined,
 *   hostname: () => "example.com",
 *   send: (_options, message) =>
 *     Promise.resolve({
 *       accepted: message.envelope.to,
 *       rejected: [],
 *       reply: { code: 250, lines: ["OK"], text: "OK" },
 *       envelope: message.envelope,
 *       secure: false,
 *     }),
 * });
 * console.log(status); // 0
 * ```
 */
export async function main(
  args: readonly string[],
  context: CliContext = {},
): Promise<ExitCodeValue> {
  const stdout = new Output(context.stdout ?? Deno.stdout.writable);
  const stderr = new Output(context.stderr ?? Deno.stderr.writable);
  const host: SettingsHost = {
    env: context.env ?? ((name) => Deno.env.get(name)),
    readTextFile: context.readTextFile ?? Deno.readTextFile,
    runCommand: context.runCommand ?? runShellCommand,
    hostname: context.hostname ?? Deno.hostname,
  };
  const send = context.send ?? defaultSend;
  try {
    return await run(args, context, host, send, stdout, stderr);
  } catch (error) {
    const status = exitCodeForError(error);
    // Whatever a server or a runtime put in the message: no control
    // character reaches the terminal (ESC, BEL, CR …).
    const message = printable(
      error instanceof Error ? error.message : String(error),
    );
    stderr.write(`${PROGRAM}: ${message}\n`);
    if (
      status === ExitCode.USAGE &&
      !(error instanceof CliError && /^No recipient/.test(message))
    ) {
      stderr.write(`Try '${PROGRAM} --help' for more information.\n`);
    }
    return status;
  } finally {
    await stdout.release();
    await stderr.release();
  }
}

async function run(
  argv: readonly string[],
  context: CliContext,
  host: SettingsHost,
  send: SendFunction,
  stdout: Output,
  stderr: Output,
): Promise<ExitCodeValue> {
  const args = parseArgs(argv);
  if (args.help) {
    stdout.write(HELP);
    return ExitCode.OK;
  }
  if (args.version) {
    stdout.write(`${PROGRAM} (${denoJson.name}) ${denoJson.version}\n`);
    return ExitCode.OK;
  }
  const queueHost: QueueHost = {
    env: host.env,
    out: (text) => stdout.write(text),
    err: (text) => stderr.write(text),
  };
  if (args.outbox) return await outboxCommand(args, queueHost, args.outbox);
  const settings = await loadSettings(args, host);
  const from = envelopeSender(args, settings, host);
  if (args.pretend) {
    stdout.write(describe(settings, from, host));
    return ExitCode.OK;
  }
  if (args.verbose) stderr.write(describe(settings, from, host));
  const options = { ...settings.options };
  if (args.verbose) {
    options.logger = (event) => stderr.write(transcriptLine(event));
  }
  if (args.runQueue) {
    return await runQueue(args, queueHost, options, context.send);
  }

  const recipients = args.recipients.flatMap((r) => parseAddressList(r));
  const aliases = settings.aliases;
  const now = context.now?.() ?? new Date();
  const message = await prepareMessage(
    context.stdin ?? Deno.stdin.readable,
    {
      readRecipients: args.readRecipients,
      recipients,
      envelopeFrom: args.readEnvelopeFrom ? undefined : from,
      defaultFrom: from ?? defaultSender(host),
      fullName: args.fullName,
      ignoreDots: args.ignoreDots,
      setFromHeader: settings.setFromHeader,
      setDateHeader: settings.setDateHeader,
      setMessageIdHeader: settings.setMsgidHeader,
      removeBcc: settings.removeBcc,
      undisclosedRecipients: settings.undisclosedRecipients,
      hostname: host.hostname(),
      now,
      received: args.addReceived ? submissionStamp(host, now) : undefined,
      ...(aliases && {
        expandAlias: (recipient: string) =>
          recipient.includes("@")
            ? [recipient]
            : aliases.get(recipient.toLowerCase()) ??
              aliases.get("default") ?? [recipient],
      }),
    },
  );

  const sendOptions: SendOptions = {};
  const dsn = { ...settings.dsn };
  if (args.dsnNotify) dsn.notify = args.dsnNotify;
  if (args.dsnReturn) dsn.ret = args.dsnReturn;
  if (args.envelopeId) dsn.envelopeId = args.envelopeId;
  if (Object.keys(dsn).length > 0) sendOptions.dsn = dsn;

  let result: SendResult;
  try {
    if (args.queue) {
      await queueMessage(args, queueHost, message, sendOptions);
      return ExitCode.OK;
    }
    const sent = args.queueOnFailure
      ? await sendOrQueue(args, queueHost, send, options, message, sendOptions)
      : await send(
        options,
        { envelope: message.envelope, raw: message.raw },
        sendOptions,
      );
    if (sent === undefined) return ExitCode.OK;
    result = sent;
  } finally {
    // Whatever the send step left unread is not needed any more.
    if (!message.raw.locked) await message.raw.cancel().catch(() => {});
  }
  if (result.rejected.length === 0) return ExitCode.OK;
  // Some recipients were refused: the message went to the others, so only
  // these are reported, with the status of the worst refusal.
  let status: ExitCodeValue = ExitCode.TEMPFAIL;
  for (const { recipient, reply } of result.rejected) {
    stderr.write(
      `${PROGRAM}: recipient ${recipient} refused: server replied ${
        describeReply(reply)
      }\n`,
    );
    if (reply.code >= 500) status = ExitCode.DATAERR;
  }
  return status;
}
