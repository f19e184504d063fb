/**
 * The `Received:` fields of a message: the header section is found (up to
 * the first empty line) and split into fields; each field's body is kept
 * as it is, folding included. Only the header section is decoded, and a
 * stream is read only up to its end.
 *
 * @module
 */

import { concatBytes } from "../protocol/_bytes.ts";

const decoder = new TextDecoder();

/**
 * Finds the empty line that ends a header section, byte by byte, across
 * chunks: state 1 is the start of a line (the message starts there), 2 the
 * start of a line after a CR, 0 the middle of a line.
 */
class HeaderEnd {
  #state = 1;

  /** The index in `bytes` just past the empty line, or -1 when not in it. */
  scan(bytes: Uint8Array): number {
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (b === 0x0a) {
        if (this.#state !== 0) return i + 1;
        this.#state = 1;
      } else if (b === 0x0d && this.#state === 1) {
        this.#state = 2;
      } else if (b !== 0x0d || this.#state === 2) {
        this.#state = 0;
      }
    }
    return -1;
  }
}

/** The header section of a message held in a string. */
export function headerOfText(text: string): string {
  if (/^\r?\n/.test(text)) return "";
  const m = /\n\r?\n/.exec(text);
  return m ? text.slice(0, m.index + 1) : text;
}

/** The header section of a message held in bytes, decoded as UTF-8. */
export function headerOfBytes(bytes: Uint8Array): string {
  const end = new HeaderEnd().scan(bytes);
  return decoder.decode(end === -1 ? bytes : bytes.subarray(0, end));
}

/**
 * Reads a stream up to the end of the header section, then cancels it.
 *
 * @returns The header section, decoded as UTF-8.
 */
export async function headerOfStream(
  stream: ReadableStream<Uint8Array>,
): Promise<string> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  const finder = new HeaderEnd();
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      if (!(value instanceof Uint8Array)) {
        throw new TypeError(
          "Cannot trace hops: the stream gave a chunk that is not a Uint8Array",
        );
      }
      const end = finder.scan(value);
      if (end !== -1) {
        chunks.push(value.subarray(0, end));
        await reader.cancel().catch(() => {});
        break;
      }
      chunks.push(value);
    }
    return decoder.decode(concatBytes(chunks));
  } catch (error) {
    await reader.cancel(error).catch(() => {});
    throw error;
  } finally {
    reader.releaseLock();
  }
}

/**
 * The bodies of the `Received:` fields of a header section, in the order
 * they appear (newest first), folding kept, without the final line break.
 * An mbox `From ` line and lines that are not fields are skipped.
 */
export function receivedValues(header: string): string[] {
  const values: string[] = [];
  const lines = header.split(/(?<=\n)/);
  let current: string | undefined;
  const flush = () => {
    if (current !== undefined) values.push(current.replace(/\r?\n$/, ""));
    current = undefined;
  };
  for (const line of lines) {
    if (line === "" || /^\r?\n$/.test(line)) {
      flush();
      continue;
    }
    if (/^[ \t]/.test(line)) {
      if (current !== undefined) current += line;
      continue;
    }
    flush();
    const m = /^received[ \t]*:/i.exec(line);
    if (m) current = line.slice(m[0].length);
  }
  flush();
  return values;
}
