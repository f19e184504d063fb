/**
 * Signing in two passes, in bounded memory: the DKIM-Signature field must
 * precede the message, but it holds the body's hash, so the message is
 * read once to hash it and once more to send it. A source that can be read
 * again (a string, bytes, a Blob, a composed message without stream
 * attachments) is read twice; a one-shot stream is held in memory between
 * the passes, up to a limit.
 *
 * @module
 */

import { assertBytes, concatBytes } from "../protocol/_bytes.ts";
import {
  BodyHash,
  type Canon,
  type HeaderField,
  HeaderSplitter,
  parseHeader,
} from "./_canonical.ts";
import { signatureField } from "./_signature_field.ts";
import type { Signers } from "./_signer.ts";

/** What can be signed: a message as a string, bytes, a Blob or a stream. */
export type MessageInput =
  | string
  | Uint8Array
  | Blob
  | ReadableStream<Uint8Array>;

/** A message to sign, with how it is read a second time. */
export interface Source {
  /** The message, for the first pass. */
  readable: ReadableStream<Uint8Array>;
  /** The message again, for the second pass; absent for a one-shot stream. */
  again?: () => ReadableStream<Uint8Array>;
}

/** The signed message: the fields to put first, then the message. */
export interface Signed {
  /** The DKIM-Signature field(s), CRLF-terminated. */
  fields: Uint8Array;
  /** The message, read the second time (or from memory). */
  message: ReadableStream<Uint8Array>;
  /** The size of the signed message in octets: fields plus message. */
  size: number;
}

const CHUNK = 64 * 1024;
const encoder = new TextEncoder();

/** A stream of `bytes` in 64 KiB subarrays (no copies). */
function bytesStream(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.subarray(offset, offset + CHUNK));
      offset += CHUNK;
    },
  }, { highWaterMark: 0 });
}

/**
 * The source for a message input.
 *
 * @param input The message.
 * @returns How to read it.
 * @throws {TypeError} When the input is not a string, Uint8Array, Blob or
 * unlocked ReadableStream.
 */
export function sourceOf(input: unknown): Source {
  if (typeof input === "string" || input instanceof Uint8Array) {
    const bytes = typeof input === "string" ? encoder.encode(input) : input;
    return { readable: bytesStream(bytes), again: () => bytesStream(bytes) };
  }
  if (input instanceof Blob) {
    return { readable: input.stream(), again: () => input.stream() };
  }
  if (input instanceof ReadableStream) {
    if (input.locked) {
      throw new TypeError("Cannot sign message: the message stream is locked");
    }
    return { readable: input };
  }
  throw new TypeError(
    "Cannot sign message: expected a string, Uint8Array, Blob or ReadableStream",
  );
}

/** What the first pass learns of a message. */
export interface FirstPass {
  /** The header fields. */
  fields: HeaderField[];
  /** The body hash for each canonicalization asked for. */
  bodyHashes: Map<Canon, Uint8Array>;
  /** The chunks read, when kept (a one-shot stream). */
  kept: Uint8Array[];
  /** The message size in octets. */
  size: number;
}

/**
 * The first pass: reads the message once, splitting off the header fields
 * and hashing the body for each canonicalization.
 *
 * @param readable The message.
 * @param canons The body canonicalizations to hash.
 * @param keep Whether to keep the chunks (a one-shot stream).
 * @param limit The most octets kept, or held of the header.
 * @returns The fields, the hashes, the kept chunks and the size.
 * @throws {RangeError} Over the limit (the source is cancelled).
 */
export async function firstPass(
  readable: ReadableStream<Uint8Array>,
  canons: ReadonlySet<Canon>,
  keep: boolean,
  limit: number,
): Promise<FirstPass> {
  const splitter = new HeaderSplitter();
  const header: Uint8Array[] = [];
  let headerSize = 0;
  let hashes: Map<Canon, BodyHash> | undefined;
  const kept: Uint8Array[] = [];
  let size = 0;
  const reader = readable.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      assertBytes(value, "sign message");
      size += value.length;
      if (keep) {
        if (size > limit) {
          throw new RangeError(
            `Cannot sign message: the message stream is longer than maxBufferSize (${limit} octets); a one-shot ReadableStream is held in memory while its body is hashed: give a string, Uint8Array or Blob, which are read twice, or raise maxBufferSize`,
          );
        }
        kept.push(value);
      }
      if (hashes) {
        for (const hash of hashes.values()) hash.update(value);
        continue;
      }
      const end = splitter.scan(value);
      const part = end < 0 ? value : value.subarray(0, end);
      headerSize += part.length;
      if (headerSize > limit) {
        throw new RangeError(
          `Cannot sign message: its header is longer than maxBufferSize (${limit} octets)`,
        );
      }
      // Kept chunks are not copied; others may be reused by their source.
      header.push(keep ? part : part.slice());
      if (end >= 0) {
        hashes = new Map();
        for (const canon of canons) {
          const hash = new BodyHash(canon, splitter.endedInCr);
          hash.update(value, end);
          hashes.set(canon, hash);
        }
      }
    }
  } catch (error) {
    await reader.cancel(error).catch(() => {});
    throw error;
  } finally {
    reader.releaseLock();
  }
  const bodyHashes = new Map<Canon, Uint8Array>();
  for (const canon of canons) {
    // No blank line: the whole message is header, the body is empty.
    bodyHashes.set(canon, (hashes?.get(canon) ?? new BodyHash(canon)).digest());
  }
  return {
    fields: parseHeader(concatBytes(header, headerSize)),
    bodyHashes,
    kept,
    size,
  };
}

/** A stream of chunks held in memory, each let go once read. */
function chunksStream(kept: Uint8Array[]): ReadableStream<Uint8Array> {
  const chunks: (Uint8Array | undefined)[] = kept;
  let index = 0;
  return new ReadableStream({
    pull(controller) {
      if (index >= chunks.length) return controller.close();
      controller.enqueue(chunks[index]!);
      chunks[index++] = undefined;
    },
    cancel() {
      chunks.length = 0;
    },
  }, { highWaterMark: 0 });
}

/**
 * Reads the message once, hashing its body, signs it with every signer,
 * and opens it for the second read.
 *
 * @param source The message.
 * @param signers The signatures to add.
 * @param now The signing time for signers that give none.
 * @returns The DKIM-Signature fields and the message to send after them.
 * @throws {RangeError} When a one-shot stream is longer than
 * `maxBufferSize`, or the header is.
 * @throws {TypeError} When the message has no From field, or the key is
 * refused.
 */
export async function signSource(
  source: Source,
  { signers, maxBufferSize }: Signers,
  now: Date = new Date(),
): Promise<Signed> {
  const canons = new Set(signers.map((s) => s.bodyCanon));
  const keep = source.again === undefined;
  const pass = await firstPass(source.readable, canons, keep, maxBufferSize);
  let text = "";
  try {
    for (const signer of signers) {
      text += await signatureField(
        signer,
        pass.fields,
        pass.bodyHashes.get(signer.bodyCanon)!,
        now,
      );
    }
  } catch (error) {
    pass.kept.length = 0;
    throw error;
  }
  const fields = encoder.encode(text);
  return {
    fields,
    message: keep ? chunksStream(pass.kept) : source.again!(),
    size: fields.length + pass.size,
  };
}

/**
 * The signed message as one stream: the fields, then the message.
 * Cancelling it cancels the message stream.
 *
 * @param fields The DKIM-Signature fields.
 * @param message The message.
 * @returns The stream.
 */
export function prefixed(
  fields: Uint8Array,
  message: ReadableStream<Uint8Array>,
): ReadableStream<Uint8Array> {
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!reader) {
        reader = message.getReader();
        controller.enqueue(fields);
        return;
      }
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel(reason) {
      await (reader ?? message).cancel(reason);
    },
  }, { highWaterMark: 0 });
}
