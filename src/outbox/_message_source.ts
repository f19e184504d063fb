/**
 * What `enqueue()` makes of a `Mail` or a `RawMessage` before anything is
 * stored: a checked envelope, the Message-ID, and the bytes as a stream.
 * Every check that can refuse the message runs here, synchronously.
 *
 * @module
 */
import { concatBytes } from "../protocol/_bytes.ts";
import { checkMailbox } from "../protocol/_command.ts";
import { hasControlOrC1 } from "../protocol/_control.ts";
import { composeMessage } from "../mime/compose_message.ts";
import type { Mail } from "../mime/mail.ts";
import { bytesStream } from "../session/_outgoing_message.ts";
import type { RawMessage } from "../session/raw_message.ts";

/** The most recipients one entry holds (RFC 5321 §4.5.3.1.8's minimum). */
export const MAX_RECIPIENTS = 100;
/** How much of a raw message is searched for its Message-ID field. */
const HEADER_SCAN = 64 * 1024;

/** A message ready to be stored. */
export interface MessageSource {
  from: string;
  to: string[];
  /** The Message-ID, when known before the bytes are read. */
  messageId: string | undefined;
  /** The size, when known before the bytes are read. */
  size: number | undefined;
  readable: ReadableStream<Uint8Array>;
}

function isRawMessage(message: unknown): message is RawMessage {
  return typeof message === "object" && message !== null &&
    "envelope" in message && "raw" in message;
}

/**
 * Checks a message and opens its bytes.
 *
 * @param message A `Mail` (composed now, so its Message-ID is fixed) or a
 * `RawMessage` (stored as given).
 * @returns The envelope and the bytes.
 * @throws {TypeError} No recipient, a bad address, a malformed message.
 * @throws {RangeError} More than {@linkcode MAX_RECIPIENTS} recipients, an
 * address over 254 octets.
 */
export function openMessage(message: Mail | RawMessage): MessageSource {
  if (typeof message !== "object" || message === null) {
    throw new TypeError(
      "Cannot enqueue message: expected a Mail or a RawMessage",
    );
  }
  if (isRawMessage(message)) return openRaw(message);
  const composed = composeMessage(message);
  const { from, to } = checkEnvelope(
    composed.envelope.from,
    composed.envelope.to,
  );
  return {
    from,
    to,
    messageId: composed.messageId,
    size: undefined,
    readable: composed.readable,
  };
}

function openRaw(message: RawMessage): MessageSource {
  const { envelope, raw } = message;
  if (
    typeof envelope !== "object" || envelope === null ||
    typeof envelope.from !== "string" || !Array.isArray(envelope.to)
  ) {
    throw new TypeError(
      "Cannot enqueue message: expected envelope { from: string, to: string[] }",
    );
  }
  const { from, to } = checkEnvelope(envelope.from, envelope.to);
  if (typeof raw === "string" || raw instanceof Uint8Array) {
    const bytes = typeof raw === "string" ? new TextEncoder().encode(raw) : raw;
    return {
      from,
      to,
      messageId: findMessageId(bytes.subarray(0, HEADER_SCAN)),
      size: bytes.length,
      readable: bytesStream(bytes),
    };
  }
  if (raw instanceof Blob) {
    return {
      from,
      to,
      messageId: undefined,
      size: raw.size,
      readable: raw.stream(),
    };
  }
  if (raw instanceof ReadableStream) {
    return { from, to, messageId: undefined, size: undefined, readable: raw };
  }
  throw new TypeError(
    "Cannot enqueue message: raw must be a string, Uint8Array, Blob or ReadableStream",
  );
}

function checkEnvelope(
  from: string,
  to: readonly string[],
): { from: string; to: string[] } {
  checkMailbox(from, "sender");
  const recipients = [...new Set(to)];
  if (recipients.length === 0) {
    throw new TypeError("Cannot enqueue message: no recipient");
  }
  if (recipients.length > MAX_RECIPIENTS) {
    throw new RangeError(
      `Cannot enqueue message: ${recipients.length} recipients, at most ${MAX_RECIPIENTS} per entry`,
    );
  }
  for (const recipient of recipients) checkMailbox(recipient, "recipient");
  return { from, to: recipients };
}

/**
 * A stream that passes `readable` through and, once it has seen the end of
 * the header section (or {@linkcode HEADER_SCAN} octets), tells `found`
 * the Message-ID field's value.
 */
export function tapMessageId(
  readable: ReadableStream<Uint8Array>,
  found: (messageId: string | undefined) => void,
): ReadableStream<Uint8Array> {
  const head: Uint8Array[] = [];
  let seen = 0;
  let done = false;
  /** The last two octets seen, for an empty line split across chunks. */
  let before = 0;
  let last = 0;
  const finish = () => {
    if (done) return;
    done = true;
    const bytes = concatBytes(head, seen);
    head.length = 0;
    found(findMessageId(bytes));
  };
  /** Whether `part` completes an empty line ("\n\n" or "\n\r\n"). */
  const endsHeader = (part: Uint8Array): boolean => {
    for (const octet of part) {
      if (
        octet === 0x0a && (last === 0x0a || (last === 0x0d && before === 0x0a))
      ) {
        return true;
      }
      before = last;
      last = octet;
    }
    return false;
  };
  return readable.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        if (!done) {
          const part = chunk.subarray(0, HEADER_SCAN - seen);
          head.push(part.slice());
          seen += part.length;
          if (endsHeader(part) || seen >= HEADER_SCAN) finish();
        }
        controller.enqueue(chunk);
      },
      flush() {
        finish();
      },
    }),
  );
}

/**
 * The value of the Message-ID field in the header section at the start of
 * `bytes` (unfolded, trimmed, with its angle brackets), if there is one.
 */
export function findMessageId(bytes: Uint8Array): string | undefined {
  const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes);
  const lines = text.split(/\r?\n/);
  let field: string | undefined;
  const take = (): string | undefined => {
    if (field === undefined) return undefined;
    const match = /^message-id[ \t]*:(.*)$/is.exec(field);
    if (!match) return undefined;
    const value = match[1]!.replace(/\s+/g, " ").trim();
    const id = /<[^<>\s]+>/.exec(value)?.[0];
    return id !== undefined && id.length <= 998 && !hasControlOrC1(id)
      ? id
      : undefined;
  };
  for (const line of lines) {
    if (line === "") break;
    if (line.startsWith(" ") || line.startsWith("\t")) {
      if (field !== undefined) field += line;
      continue;
    }
    const id = take();
    if (id !== undefined) return id;
    field = line;
  }
  return take();
}
