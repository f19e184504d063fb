/**
 * The sendmail command's queue, on the outbox (a Deno KV file): `-odq`
 * stores the message instead of sending it, `--queue-on-failure` stores it
 * when sending fails temporarily, `-q` delivers what is due, and
 * `--outbox list|show|retry|cancel` looks inside.
 *
 * The file is `--outbox-file`, else `$XDG_STATE_HOME/sendmail/outbox.sqlite3`
 * (`~/.local/state/sendmail/outbox.sqlite3`). A queue run (`-q`) sends
 * through the settings it is run with, as sendmail's queue runner does.
 *
 * @module
 */
import { concatBytes } from "../protocol/_bytes.ts";
import { describeReply } from "../protocol/_describe_reply.ts";
import { printable } from "../protocol/_control.ts";
import { Outbox } from "../outbox/outbox.ts";
import type { OutboxEntry } from "../outbox/outbox_entry.ts";
import type { MailTransport } from "../session/mail_transport.ts";
import type { RawMessage } from "../session/raw_message.ts";
import type { DsnOptions, SendOptions } from "../session/send_options.ts";
import type { SendResult } from "../session/send_result.ts";
import type { SmtpClientOptions } from "../session/smtp_client_options.ts";
import type { SendFunction } from "./_default_send.ts";
import { CliError } from "./cli_error.ts";
import { ExitCode, type ExitCodeValue } from "./exit_code.ts";
import { exitCodeForError } from "./exit_code_for_error.ts";
import type { CliArgs, OutboxCommand } from "./parse_args.ts";

/** The largest message the command queues (the outbox's default limit). */
const MAX_QUEUED = 10 * 1024 * 1024;

/** What the queue needs of the command's surroundings. */
export interface QueueHost {
  /** Environment variables. */
  env: (name: string) => string | undefined;
  /** Prints on standard output. */
  out: (text: string) => void;
  /** Prints on standard error. */
  err: (text: string) => void;
}

/** A transport for an outbox that only stores or inspects. */
const NOT_SENDING: MailTransport = {
  send: () => Promise.reject(new Error("Cannot send: not a queue run")),
  close: () => Promise.resolve(),
};

/**
 * The outbox's KV file: `--outbox-file`, else under `$XDG_STATE_HOME`
 * (default `~/.local/state`).
 *
 * @param args The command line.
 * @param env Environment variables.
 * @returns The path.
 * @throws {CliError} 78 when neither `$XDG_STATE_HOME` nor `$HOME` is set.
 */
export function outboxPath(
  args: CliArgs,
  env: (name: string) => string | undefined,
): string {
  if (args.outboxFile !== undefined) return args.outboxFile;
  const state = env("XDG_STATE_HOME") ||
    (env("HOME") ? `${env("HOME")}/.local/state` : undefined);
  if (!state) {
    throw new CliError(
      "Cannot find the outbox: set $XDG_STATE_HOME or $HOME, or give --outbox-file",
      ExitCode.CONFIG,
    );
  }
  return `${state}/sendmail/outbox.sqlite3`;
}

/** An outbox on the command's KV file; dispose it to close both. */
interface OpenOutbox extends AsyncDisposable {
  outbox: Outbox;
}

/**
 * Opens the outbox on `path`, creating the file (and its folder) when
 * `create`; `undefined` when it does not exist and is not to be created.
 */
async function openOutbox(
  path: string,
  transport: MailTransport | SmtpClientOptions,
  create: boolean,
): Promise<OpenOutbox | undefined> {
  if (typeof Deno.openKv !== "function") {
    throw new CliError(
      "The outbox needs Deno KV: run deno with --unstable-kv (deno task compile builds it in)",
      ExitCode.CONFIG,
    );
  }
  try {
    if (create) {
      const folder = path.slice(0, path.lastIndexOf("/"));
      if (folder) await Deno.mkdir(folder, { recursive: true });
    } else {
      await Deno.stat(path);
    }
  } catch (error) {
    if (!create && error instanceof Deno.errors.NotFound) return undefined;
    throw cannotOpen(path, error);
  }
  let kv: Deno.Kv;
  try {
    kv = await Deno.openKv(path);
  } catch (error) {
    throw cannotOpen(path, error);
  }
  try {
    const outbox = await Outbox.open({ kv, transport });
    return {
      outbox,
      async [Symbol.asyncDispose]() {
        try {
          await outbox.close();
        } finally {
          kv.close();
        }
      },
    };
  } catch (error) {
    kv.close();
    throw error;
  }
}

function cannotOpen(path: string, error: unknown): CliError {
  const reason = error instanceof Error ? error.message : String(error);
  return new CliError(
    `Cannot open the outbox ${path}: ${reason}`,
    ExitCode.CONFIG,
  );
}

/** What `sendOptions` the outbox keeps: DSN only (no signal). */
function kept(sendOptions: SendOptions): { dsn?: DsnOptions } {
  return sendOptions.dsn ? { dsn: sendOptions.dsn } : {};
}

/**
 * `-odq`: stores the message in the outbox.
 *
 * @returns The entry.
 */
export async function queueMessage(
  args: CliArgs,
  host: QueueHost,
  message: RawMessage,
  sendOptions: SendOptions,
): Promise<OutboxEntry> {
  await using open = (await openOutbox(
    outboxPath(args, host.env),
    NOT_SENDING,
    true,
  ))!;
  const entry = await open.outbox.enqueue(message, {
    sendOptions: kept(sendOptions),
  });
  if (args.verbose) host.err(`queued as ${entry.id}\n`);
  return entry;
}

/**
 * `--queue-on-failure`: sends the message (read into memory first, so it
 * can still be stored), and stores it when the send fails temporarily, or
 * stores the recipients refused temporarily when others were accepted.
 *
 * @returns The send's result without the recipients now queued, or
 * `undefined` when the whole message was queued.
 * @throws What the send threw, when it was not temporary.
 */
export async function sendOrQueue(
  args: CliArgs,
  host: QueueHost,
  send: SendFunction,
  options: SmtpClientOptions,
  message: {
    envelope: RawMessage["envelope"];
    raw: ReadableStream<Uint8Array>;
  },
  sendOptions: SendOptions,
): Promise<SendResult | undefined> {
  const raw = await readAll(message.raw);
  const queue = async (to: string[]) =>
    await queueMessage(args, host, {
      envelope: { from: message.envelope.from, to },
      raw,
    }, sendOptions);
  let result: SendResult;
  try {
    result = await send(
      options,
      { envelope: message.envelope, raw },
      sendOptions,
    );
  } catch (error) {
    if (exitCodeForError(error) !== ExitCode.TEMPFAIL) throw error;
    const entry = await queue(message.envelope.to);
    if (args.verbose) {
      const reason = error instanceof Error ? error.message : String(error);
      host.err(
        `sending failed for now (${
          printable(reason)
        }): queued as ${entry.id}\n`,
      );
    }
    return undefined;
  }
  const later = result.rejected.filter(({ reply }) =>
    reply.code >= 400 && reply.code < 500
  );
  if (later.length === 0) return result;
  const entry = await queue(later.map((r) => r.recipient));
  if (args.verbose) {
    for (const { recipient, reply } of later) {
      host.err(
        `recipient ${recipient} refused for now (${
          describeReply(reply)
        }): queued as ${entry.id}\n`,
      );
    }
  }
  return {
    ...result,
    rejected: result.rejected.filter((r) => !later.includes(r)),
  };
}

async function readAll(
  stream: ReadableStream<Uint8Array>,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.length;
    if (size > MAX_QUEUED) {
      throw new CliError(
        `The message is larger than the outbox takes (${MAX_QUEUED} octets): it cannot be queued`,
        ExitCode.DATAERR,
      );
    }
    parts.push(chunk);
  }
  return concatBytes(parts, size);
}

/**
 * `-q`: one delivery pass over the outbox, through `options` (or `send`,
 * a stand-in of the tests). Prints a summary with `-v`.
 *
 * @returns 0 once the pass is over, whatever became of the entries.
 */
export async function runQueue(
  args: CliArgs,
  host: QueueHost,
  options: SmtpClientOptions,
  send: SendFunction | undefined,
): Promise<ExitCodeValue> {
  const transport: MailTransport | SmtpClientOptions = send
    ? {
      send: (message, sendOptions) =>
        send(options, message as RawMessage, sendOptions),
      close: () => Promise.resolve(),
    }
    : options;
  await using open = await openOutbox(
    outboxPath(args, host.env),
    transport,
    false,
  );
  if (!open) {
    if (args.verbose) host.err("queue run: the outbox is empty\n");
    return ExitCode.OK;
  }
  const result = await open.outbox.deliver();
  if (args.verbose) {
    host.err(
      `queue run: ${result.attempted} attempted, ${result.sent} sent, ${result.retried} deferred, ${result.failed} failed\n`,
    );
  }
  return ExitCode.OK;
}

/**
 * `--outbox list|show ID|retry ID|cancel ID`.
 *
 * @returns 0, or 64 for an entry that does not exist or cannot be retried
 * or cancelled.
 */
export async function outboxCommand(
  args: CliArgs,
  host: QueueHost,
  command: OutboxCommand,
): Promise<ExitCodeValue> {
  await using open = await openOutbox(
    outboxPath(args, host.env),
    NOT_SENDING,
    false,
  );
  if (command.action === "list") {
    const entries = open ? await open.outbox.list({ limit: 10_000 }) : [];
    host.out(
      ["ID", "STATE", "ATTEMPTS", "NEXT ATTEMPT", "RECIPIENTS", "LAST ERROR"]
        .join("\t") + "\n",
    );
    for (const entry of entries) host.out(listLine(entry));
    return ExitCode.OK;
  }
  const { id } = command;
  const entry = open ? await open.outbox.get(id) : undefined;
  if (!open || !entry) {
    throw new CliError(`No outbox entry ${JSON.stringify(id)}`, ExitCode.USAGE);
  }
  if (command.action === "show") {
    host.out(JSON.stringify(entry, null, 2) + "\n");
    return ExitCode.OK;
  }
  try {
    if (command.action === "retry") await open.outbox.retry(id);
    else await open.outbox.cancel(id);
  } catch (error) {
    if (error instanceof TypeError || !(error instanceof Error)) throw error;
    throw new CliError(error.message, ExitCode.USAGE);
  }
  return ExitCode.OK;
}

function listLine(entry: OutboxEntry): string {
  const recipients = entry.recipients.map((r) =>
    r.state === "pending" ? r.address : `${r.address} (${r.state})`
  ).join(", ");
  return [
    entry.id,
    entry.state,
    String(entry.attempts),
    entry.nextAttemptAt?.toISOString() ?? "-",
    printable(recipients),
    entry.lastError ? printable(entry.lastError.message) : "",
  ].join("\t") + "\n";
}
