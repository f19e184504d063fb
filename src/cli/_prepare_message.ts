/**
 * Turns the message read from standard input into a {@linkcode RawMessage}:
 * the header section is read (bounded) and edited the way sendmail and msmtp
 * do, the body is streamed through untouched.
 *
 * @module
 */

import type { RawMessage } from "../session/raw_message.ts";
import { parseAddressList } from "./_address_list.ts";
import { CliError } from "./cli_error.ts";
import { DotEndStream } from "./_dot_end_stream.ts";
import { formatDate, formatDisplayName, makeMessageId } from "./_format.ts";
import { type HeaderField, readHeaderBlock } from "./_header_block.ts";
import { ExitCode } from "./exit_code.ts";
import { concatBytes } from "../protocol/_bytes.ts";

/** How the message is read and which header fields are changed. */
export interface PrepareOptions {
  /** `-t`: add the recipients of the To, Cc and Bcc fields to the envelope. */
  readRecipients: boolean;
  /** Recipients from the command line (bare addresses). */
  recipients: string[];
  /**
   * The envelope sender (`""` for the null reverse-path); when undefined, the
   * address of the message's From field, else `defaultFrom`.
   */
  envelopeFrom: string | undefined;
  /** The envelope sender when neither `envelopeFrom` nor a From field gives one. */
  defaultFrom: string;
  /** `-F`: the full name for an added From field. */
  fullName?: string | undefined;
  /** `-i`: a line with a single "." does not end the input. */
  ignoreDots: boolean;
  /** The largest header section accepted, in bytes. @default {1048576} */
  maxHeaderBytes?: number;
  /** Add a From field when missing (`auto`), always replace it (`on`), never (`off`). */
  setFromHeader: "auto" | "on" | "off";
  /** Add a Date field when missing. */
  setDateHeader: "auto" | "off";
  /** Add a Message-ID field when missing. */
  setMessageIdHeader: "auto" | "off";
  /** Remove Bcc (and Resent-Bcc) fields. */
  removeBcc: boolean;
  /** Replace To, Cc and Bcc with `To: undisclosed-recipients:;`. */
  undisclosedRecipients: boolean;
  /** This host's name: the domain of generated Message-IDs when the sender has none. */
  hostname: string;
  /** The time for the Date field. */
  now: Date;
  /** Maps a recipient to the addresses it stands for (msmtp `aliases`). */
  expandAlias?: (recipient: string) => string[];
  /** The body of a `Received:` field to put first in the header (`-oR`). */
  received?: string | undefined;
}

/** A message ready to send, and the Message-ID it carries when known. */
export interface PreparedMessage extends RawMessage {
  raw: ReadableStream<Uint8Array>;
  /** The Message-ID field's value, when the message has one. */
  messageId?: string;
}

const encoder = new TextEncoder();
const CRLF = encoder.encode("\r\n");

const lower = (field: HeaderField): string => field.name.toLowerCase();

/**
 * The fields that carry recipients for `-t`: To, Cc and Bcc, or, when the
 * message was resent, those of the first (most recent) block of Resent-
 * fields.
 */
function recipientFields(fields: HeaderField[]): HeaderField[] {
  const first = fields.findIndex((f) => lower(f).startsWith("resent-"));
  if (first === -1) {
    return fields.filter((f) => ["to", "cc", "bcc"].includes(lower(f)));
  }
  // The block ends at the first field that is not a Resent- field, or at a
  // Resent- field it already has (the start of an older block).
  const block: HeaderField[] = [];
  const names = new Set<string>();
  for (const field of fields.slice(first)) {
    const name = lower(field);
    if (!name.startsWith("resent-") || names.has(name)) break;
    names.add(name);
    block.push(field);
  }
  return block.filter((f) =>
    ["resent-to", "resent-cc", "resent-bcc"].includes(lower(f))
  );
}

/**
 * Reads the header section of `input`, edits it and returns the message with
 * its envelope. The body is not read here: it streams when `raw` is read.
 *
 * @throws {CliError} 65 when the header section is too long, 64 when there
 * is no recipient.
 */
export async function prepareMessage(
  input: ReadableStream<Uint8Array>,
  options: PrepareOptions,
): Promise<PreparedMessage> {
  const source = options.ignoreDots
    ? input
    : input.pipeThrough(new DotEndStream());
  const reader = source.getReader();
  let block;
  try {
    block = await readHeaderBlock(reader, options.maxHeaderBytes ?? 1 << 20);
  } catch (error) {
    await reader.cancel().catch(() => {});
    throw error;
  }
  const { fields } = block;

  // Envelope recipients: the command line, then -t's header fields.
  const wanted = [...options.recipients];
  if (options.readRecipients) {
    for (const field of recipientFields(fields)) {
      for (const address of parseAddressList(field.value)) {
        // deno-lint-ignore no-control-regex
        if (/[\x00-\x1f\x7f<>]/.test(address)) {
          await reader.cancel().catch(() => {});
          throw new CliError(
            `Invalid recipient in the ${field.name} field: ${
              JSON.stringify(address)
            }`,
            ExitCode.DATAERR,
          );
        }
        wanted.push(address);
      }
    }
  }
  const to: string[] = [];
  const seen = new Set<string>();
  for (const recipient of wanted) {
    for (const address of options.expandAlias?.(recipient) ?? [recipient]) {
      const key = address.toLowerCase();
      if (!seen.has(key)) {
        seen.add(key);
        to.push(address);
      }
    }
  }
  if (to.length === 0) {
    await reader.cancel().catch(() => {});
    throw new CliError(
      options.readRecipients
        ? "No recipient: the To, Cc and Bcc fields name none, and none was given as an argument"
        : "No recipient: give the recipients as arguments, or use -t to read them from the message",
      ExitCode.USAGE,
    );
  }

  // The envelope sender: as given, else the From field's, else the default.
  let from = options.envelopeFrom;
  if (from === undefined) {
    const field = fields.find((f) => lower(f) === "from");
    const [address, more] = field ? parseAddressList(field.value) : [];
    if (
      address?.includes("@") && more === undefined &&
      // deno-lint-ignore no-control-regex
      !/[\x00-\x20\x7f<>]/.test(address)
    ) {
      from = address;
    }
  }
  from ??= options.defaultFrom;

  // Header fields passed on.
  const has = (name: string) => fields.some((f) => lower(f) === name);
  let kept = fields;
  if (options.removeBcc) {
    kept = kept.filter((f) => !["bcc", "resent-bcc"].includes(lower(f)));
  }
  if (options.undisclosedRecipients) {
    kept = kept.filter((f) => !["to", "cc", "bcc"].includes(lower(f)));
  }
  if (options.setFromHeader === "on") {
    kept = kept.filter((f) => lower(f) !== "from");
  }

  // Header fields added, after the given ones.
  const added: string[] = [];
  if (
    from !== "" &&
    (options.setFromHeader === "on" ||
      (options.setFromHeader === "auto" && !has("from")))
  ) {
    const name = options.fullName;
    added.push(
      name ? `From: ${formatDisplayName(name)} <${from}>` : `From: ${from}`,
    );
  }
  if (options.undisclosedRecipients) {
    added.push("To: undisclosed-recipients:;");
  }
  if (options.setDateHeader === "auto" && !has("date")) {
    added.push(`Date: ${formatDate(options.now)}`);
  }
  let messageId = fields.find((f) => lower(f) === "message-id")?.value.trim();
  if (options.setMessageIdHeader === "auto" && messageId === undefined) {
    const domain = /@([A-Za-z0-9.-]+)$/.exec(from)?.[1] ?? options.hostname;
    messageId = makeMessageId(domain, options.now);
    added.push(`Message-ID: ${messageId}`);
  }

  const head = concatBytes([
    ...(options.received === undefined
      ? []
      : [encoder.encode(`Received: ${options.received}\r\n`)]),
    ...kept.map((f) => f.raw),
    ...added.map((line) => encoder.encode(`${line}\r\n`)),
    // The empty line, as given, or added before a body that began without one.
    ...(block.end === "blank" ? [] : [CRLF]),
    block.rest,
  ]);

  let pending: Uint8Array | undefined = head;
  const raw = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (pending) {
        controller.enqueue(pending);
        pending = undefined;
        return;
      }
      const { value, done } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });

  const message: PreparedMessage = {
    envelope: { from, to },
    raw,
  };
  if (messageId !== undefined) message.messageId = messageId;
  return message;
}
