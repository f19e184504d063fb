/**
 * Turns what a caller hands `send()` into an envelope and a byte stream.
 *
 * @module
 */
import { needsSmtpUtf8 } from "../protocol/_command.ts";
import type { RawMessage } from "./raw_message.ts";

/** A message ready for a transaction. */
export interface OutgoingMessage {
  /** The envelope sender. */
  from: string;
  /** The envelope recipients. */
  to: string[];
  /** Whether an envelope address needs SMTPUTF8. */
  smtputf8: boolean;
  /** Whether the content may hold 8-bit data (unknown counts as yes). */
  eightBit: boolean;
  /** The size in octets, when known before sending. */
  size?: number;
  /** The Message-ID of a composed message. */
  messageId?: string;
  /**
   * The message: the bytes themselves when the caller gave them (a string or
   * a `Uint8Array`: sent without a stream in between), else a stream.
   */
  body: Uint8Array | ReadableStream<Uint8Array>;
}

const CHUNK = 64 * 1024;

/** Whether a message is a {@linkcode RawMessage}. */
export function isRawMessage(message: unknown): message is RawMessage {
  return typeof message === "object" && message !== null &&
    "envelope" in message && "raw" in message;
}

/**
 * Checks a raw message's envelope and opens its bytes as a stream.
 *
 * @param message The raw message.
 * @returns The prepared message.
 */
export function prepareRaw(message: RawMessage): OutgoingMessage {
  const { envelope, raw } = message;
  if (typeof envelope?.from !== "string" || !Array.isArray(envelope.to)) {
    throw new TypeError(
      "Cannot send message: expected envelope { from: string, to: string[] }",
    );
  }
  const to = [...envelope.to];
  const smtputf8 = needsSmtpUtf8(envelope.from) || to.some(needsSmtpUtf8);
  if (typeof raw === "string") {
    const bytes = new TextEncoder().encode(raw);
    return base(envelope.from, to, smtputf8, bytes, bytes.length);
  }
  if (raw instanceof Uint8Array) {
    return base(envelope.from, to, smtputf8, raw, raw.length);
  }
  if (raw instanceof Blob) {
    return base(envelope.from, to, smtputf8, raw.stream(), raw.size);
  }
  if (raw instanceof ReadableStream) {
    return base(envelope.from, to, smtputf8, raw);
  }
  throw new TypeError(
    "Cannot send message: raw must be a string, Uint8Array, Blob or ReadableStream",
  );
}

function base(
  from: string,
  to: string[],
  smtputf8: boolean,
  body: Uint8Array | ReadableStream<Uint8Array>,
  size?: number,
): OutgoingMessage {
  return {
    from,
    to,
    smtputf8,
    eightBit: true,
    body,
    ...(size === undefined ? {} : { size }),
  };
}

/** A stream of `bytes` in 64 KiB subarrays (no copies). */
export function bytesStream(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) {
        controller.close();
        return;
      }
      controller.enqueue(bytes.subarray(offset, offset + CHUNK));
      offset += CHUNK;
    },
  }, { highWaterMark: 0 });
}
