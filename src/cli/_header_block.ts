/**
 * Reads the header section of a message from a byte stream, bounded, and
 * keeps every field's original bytes so that fields passed on are sent
 * exactly as given.
 *
 * @module
 */

import { CliError } from "./cli_error.ts";
import { ExitCode } from "./exit_code.ts";

/** One header field: its name and unfolded value, and its original bytes. */
export interface HeaderField {
  /** The field name as written ("Subject"). */
  name: string;
  /** The unfolded value, decoded as UTF-8, without the leading blank. */
  value: string;
  /** The original bytes, continuation lines and line endings included. */
  raw: Uint8Array;
}

/** The header section and what was read past it. */
export interface HeaderBlock {
  /** The fields, in order. */
  fields: HeaderField[];
  /**
   * What ended the header section: an empty line, a line that is not a
   * header field (the body starts there, and an empty line must be added),
   * or the end of input.
   */
  end: "blank" | "body" | "eof";
  /**
   * What was read past the header fields: the empty line that ended them,
   * if any, and the start of the body.
   */
  rest: Uint8Array;
}

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HT = 0x09;
const COLON = 0x3a;
const FROM_ = [0x46, 0x72, 0x6f, 0x6d, 0x20]; // "From "

const decoder = new TextDecoder();

/** A growable byte buffer. */
class Buffer {
  bytes: Uint8Array = new Uint8Array(16384);
  length = 0;
  push(chunk: Uint8Array): void {
    if (this.length + chunk.length > this.bytes.length) {
      let size = this.bytes.length * 2;
      while (size < this.length + chunk.length) size *= 2;
      const bigger = new Uint8Array(size);
      bigger.set(this.bytes.subarray(0, this.length));
      this.bytes = bigger;
    }
    this.bytes.set(chunk, this.length);
    this.length += chunk.length;
  }
}

/**
 * Whether `line` starts a header field: a name of printable ASCII other than
 * the colon, optional blanks (obsolete syntax), then a colon.
 */
function isFieldStart(line: Uint8Array): boolean {
  let i = 0;
  while (
    i < line.length && line[i]! > SP && line[i]! < 0x7f && line[i] !== COLON
  ) {
    i++;
  }
  if (i === 0) return false;
  while (i < line.length && (line[i] === SP || line[i] === HT)) i++;
  return line[i] === COLON;
}

/**
 * Where the line starting at `from` ends: the index of its LF (also the LF
 * of a CRLF), or of a bare CR, which the wire
 * turns into a line break too (a bare CR inside "Subject: hi\rBcc: x" must
 * not smuggle a Bcc field past its removal). -1: no line break yet; -2: a CR
 * ends the buffer and the next byte decides.
 */
function lineBreak(
  bytes: Uint8Array,
  from: number,
  to: number,
  eof: boolean,
): number {
  for (let i = from; i < to; i++) {
    const b = bytes[i];
    if (b === LF) return i;
    if (b === CR) {
      if (i + 1 < to) return bytes[i + 1] === LF ? i + 1 : i;
      return eof ? i : -2;
    }
  }
  return -1;
}

/**
 * Bytes with every bare CR turned into CRLF, as the wire will send it; a
 * bare LF is left as given (the wire makes it CRLF, and a field passed on
 * keeps its bytes).
 */
function crlf(bytes: Uint8Array): Uint8Array {
  let bare = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === CR && bytes[i + 1] !== LF) bare++;
  }
  if (bare === 0) return bytes.slice();
  const out = new Uint8Array(bytes.length + bare);
  let o = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    out[o++] = b;
    if (b === CR && bytes[i + 1] !== LF) out[o++] = LF;
  }
  return out;
}

function isEmptyLine(line: Uint8Array): boolean {
  return line.length === 0 || (line.length === 1 && line[0] === CR);
}

function toField(raw: Uint8Array): HeaderField {
  const text = decoder.decode(raw);
  const colon = text.indexOf(":");
  return {
    name: text.slice(0, colon).trimEnd(),
    value: text.slice(colon + 1).replace(/\r?\n(?=[ \t])/g, "").replace(
      /\r?\n$/,
      "",
    ).replace(/^[ \t]+/, ""),
    raw,
  };
}

/**
 * Reads the header section from `reader`, up to `maxBytes` bytes.
 *
 * @throws {CliError} With exit status 65 when the header section is longer
 * than `maxBytes`.
 */
export async function readHeaderBlock(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  maxBytes: number,
): Promise<HeaderBlock> {
  const buffer = new Buffer();
  const fields: { start: number; end: number }[] = [];
  let lineStart = 0;
  let first = true;
  let eof = false;
  const finish = (end: HeaderBlock["end"], restStart: number): HeaderBlock => {
    const bytes = buffer.bytes;
    return {
      fields: fields.map(({ start, end }) => {
        // As on the wire: a bare CR is a line break.
        let raw = crlf(bytes.subarray(start, end));
        if (raw[raw.length - 1] !== LF) {
          // The last line of the input had no line ending.
          const ended = new Uint8Array(raw.length + 2);
          ended.set(raw);
          ended.set([CR, LF], raw.length);
          raw = ended;
        }
        return toField(raw);
      }),
      end,
      rest: bytes.slice(restStart, buffer.length),
    };
  };

  while (true) {
    const bytes = buffer.bytes;
    let newline = lineBreak(bytes, lineStart, buffer.length, eof);
    if (newline === -2) {
      // A CR last in the buffer: whether a LF follows is not known yet.
      const { value, done } = await reader.read();
      if (done) eof = true;
      else buffer.push(value);
      continue;
    }
    if (newline === -1 && !eof) {
      if (buffer.length > maxBytes) {
        throw new CliError(
          `Cannot read message: the header section is longer than ${maxBytes} bytes`,
          ExitCode.DATAERR,
        );
      }
      const { value, done } = await reader.read();
      if (done) eof = true;
      else buffer.push(value);
      continue;
    }
    // At the end of input the last line may lack its line ending.
    const lineEnd = newline === -1 ? buffer.length : newline + 1;
    newline = newline === -1 ? buffer.length : newline;
    if (lineStart === buffer.length) return finish("eof", lineStart);
    if (lineStart > maxBytes) {
      throw new CliError(
        `Cannot read message: the header section is longer than ${maxBytes} bytes`,
        ExitCode.DATAERR,
      );
    }
    const line = bytes.subarray(lineStart, newline);
    const wasFirst = first;
    first = false;
    if (wasFirst && FROM_.every((b, i) => line[i] === b)) {
      // An mbox "From " line before the header, as sendmail drops it.
      lineStart = lineEnd;
      continue;
    }
    if (isEmptyLine(line)) return finish("blank", lineStart);
    const last = fields[fields.length - 1];
    if ((line[0] === SP || line[0] === HT) && last) {
      last.end = lineEnd; // a continuation line
    } else if (isFieldStart(line)) {
      fields.push({ start: lineStart, end: lineEnd });
    } else {
      return finish("body", lineStart);
    }
    lineStart = lineEnd;
  }
}
