// Copyright the @x/sendmail authors. MIT license.
// This module is private: the client and ReplyStream use it.

import type { Reply } from "./reply.ts";
import type { ReplyStreamOptions } from "./reply_stream.ts";
import { SmtpError } from "./smtp_error.ts";

/** Options of {@linkcode ReplyParser}: those of `ReplyStream`. */
export type ReplyParserOptions = ReplyStreamOptions;

/** The default of {@linkcode ReplyParserOptions.maxLineLength}. */
export const DEFAULT_MAX_LINE_LENGTH = 8192;
/** The default of {@linkcode ReplyParserOptions.maxLines}. */
export const DEFAULT_MAX_LINES = 1000;
/**
 * How much text of one reply is kept, in UTF-16 code units: later lines are
 * read (and checked) but dropped, and the reply is marked `truncated`. A
 * server sending thousand-line replies to every RCPT cannot make the client
 * hold megabytes per recipient.
 */
export const MAX_KEPT_TEXT = 16 * 1024;

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HYPHEN = 0x2d;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

// Control characters other than HTAB (C0, DEL, C1): they have no place in
// reply text and could forge log lines or drive a terminal when a reply is
// printed, so they are replaced by U+FFFD.
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g;
// An RFC 3463 enhanced status code at the start of a line's text, followed
// by a space or the end of the line: class.subject.detail.
const ENHANCED = /^([245])\.(\d{1,3})\.(\d{1,3})(?: |$)/;

interface Line {
  /** The text after the code and separator. */
  readonly text: string;
  /** The enhanced code at the start of `text`, if any (class matching). */
  readonly enhanced: string | undefined;
}

/**
 * An incremental push parser for SMTP replies (RFC 5321 §4.2, enhanced status
 * codes of RFC 2034 / RFC 3463): push the bytes as they arrive, get the
 * complete replies out.
 *
 * Rules:
 * - a line is a three-digit code (first digit 2 to 5), then `"-"` (more lines
 *   follow), `" "` or the end of the line, then optional text; every line of
 *   a reply must carry the same code;
 * - lines end with CRLF; a bare LF is accepted too (some servers send it) and
 *   counted in {@linkcode ReplyParser.bareLineFeeds};
 * - when every line's text starts with the same enhanced status code whose
 *   class matches the reply's first digit (`"2.1.5"`), it becomes
 *   `enhancedCode` and is removed from the lines;
 * - text is decoded as UTF-8 leniently (invalid bytes become U+FFFD, also when
 *   a sequence is split across chunks), and control characters other than
 *   HTAB are replaced by U+FFFD;
 * - memory is bounded whatever the server sends: a line longer than
 *   `maxLineLength` or a reply with more than `maxLines` lines fails as soon
 *   as the excess is seen, so {@linkcode ReplyParser.buffered} never exceeds
 *   `maxLines * (maxLineLength + 2)` bytes.
 *
 * Anything malformed throws an {@linkcode SmtpError} of kind `"protocol"`;
 * after that the parser is failed and every later call throws the same error.
 */
export class ReplyParser {
  readonly #maxLineLength: number;
  readonly #maxLines: number;
  readonly #decoder: TextDecoder = new TextDecoder("utf-8", {
    ignoreBOM: true,
  });
  /** The bytes of an incomplete line (never more than maxLineLength + 1). */
  #partial: Uint8Array = new Uint8Array(0);
  #partialLength = 0;
  /** The complete lines of the reply being read (the kept ones). */
  #lines: Line[] = [];
  /** Lines of the reply being read, kept or not. */
  #lineCount = 0;
  /** Text kept of the reply being read. */
  #keptText = 0;
  /** Whether a line was dropped from the reply being read. */
  #truncated = false;
  /** The enhanced code every line so far carried, or null when they differ. */
  #sharedEnhanced: string | undefined | null = undefined;
  /** The code of the reply being read (valid when #lines is not empty). */
  #code = 0;
  /** The raw bytes (line endings included) of #lines. */
  #linesBytes = 0;
  #bareLineFeeds = 0;
  #error: SmtpError | undefined;

  /**
   * Creates a parser.
   *
   * @param options The line length and line count limits.
   * @throws {RangeError} When a limit is not a positive integer.
   */
  constructor(options: ReplyParserOptions = {}) {
    const {
      maxLineLength = DEFAULT_MAX_LINE_LENGTH,
      maxLines = DEFAULT_MAX_LINES,
    } = options;
    if (!Number.isSafeInteger(maxLineLength) || maxLineLength < 3) {
      throw new RangeError(
        `Cannot create reply parser: maxLineLength must be an integer of at least 3, got ${maxLineLength}`,
      );
    }
    if (!Number.isSafeInteger(maxLines) || maxLines < 1) {
      throw new RangeError(
        `Cannot create reply parser: maxLines must be a positive integer, got ${maxLines}`,
      );
    }
    this.#maxLineLength = maxLineLength;
    this.#maxLines = maxLines;
  }

  /**
   * The number of bytes held that are not yet part of a complete reply: the
   * complete lines of an unfinished multiline reply plus an incomplete line.
   * Zero right after a reply means the server sent nothing beyond it: after
   * STARTTLS, the `push` that completes the `220` must return that one reply
   * and leave `buffered === 0`, or the server injected bytes meant to be read
   * as if they came over TLS (RFC 3207 §6).
   */
  get buffered(): number {
    return this.#linesBytes + this.#partialLength;
  }

  /** How many lines so far ended with a bare LF instead of CRLF. */
  get bareLineFeeds(): number {
    return this.#bareLineFeeds;
  }

  /**
   * Parses a chunk of bytes from the server. The chunk is not kept: bytes of
   * an incomplete line are copied.
   *
   * @param chunk The bytes, in the order received.
   * @returns The replies completed by this chunk, oldest first (often none
   *   or one; several when the server pipelines).
   * @throws {SmtpError} Of kind `"protocol"` when the bytes are not a valid
   *   reply or exceed a limit; replies completed earlier in the same chunk
   *   are then not returned (the session is over anyway).
   */
  push(chunk: Uint8Array): Reply[] {
    if (this.#error) throw this.#error;
    try {
      return this.#push(chunk);
    } catch (error) {
      this.#fail(error);
    }
  }

  /**
   * Declares the end of the input (the connection closed).
   *
   * @throws {SmtpError} Of kind `"protocol"` when part of a reply is pending.
   */
  end(): void {
    if (this.#error) throw this.#error;
    if (this.buffered > 0) {
      this.#fail(
        protocolError(
          `connection closed mid-reply with ${this.buffered} bytes pending`,
        ),
      );
    }
  }

  #fail(error: unknown): never {
    const smtpError = error instanceof SmtpError
      ? error
      : protocolError("unexpected failure", error);
    this.#error = smtpError;
    this.#partial = new Uint8Array(0);
    this.#partialLength = 0;
    this.#lines = [];
    this.#lineCount = 0;
    this.#linesBytes = 0;
    throw smtpError;
  }

  #push(chunk: Uint8Array): Reply[] {
    const replies: Reply[] = [];
    const n = chunk.length;
    let start = 0;
    while (start < n) {
      const lf = chunk.indexOf(LF, start);
      if (lf === -1) {
        this.#appendPartial(chunk, start, n);
        break;
      }
      let reply: Reply | undefined;
      if (this.#partialLength === 0) {
        reply = this.#line(chunk, start, lf, lf + 1 - start);
      } else {
        this.#appendPartial(chunk, start, lf);
        const length = this.#partialLength;
        this.#partialLength = 0;
        reply = this.#line(this.#partial, 0, length, length + 1);
      }
      start = lf + 1;
      if (reply) replies.push(reply);
    }
    return replies;
  }

  /** Keeps chunk[from, to) as part of an incomplete line, within the cap. */
  #appendPartial(chunk: Uint8Array, from: number, to: number): void {
    const length = this.#partialLength + (to - from);
    // A complete line may hold maxLineLength bytes plus its CR.
    const cap = this.#maxLineLength + 1;
    const last = to > from ? chunk[to - 1] : this.#partial[length - 1];
    if (length > cap || (length === cap && last !== CR)) {
      throw protocolError(
        `line longer than ${this.#maxLineLength} bytes`,
      );
    }
    if (length > this.#partial.length) {
      const grown = new Uint8Array(
        Math.min(cap, Math.max(256, length, this.#partial.length * 2)),
      );
      grown.set(this.#partial.subarray(0, this.#partialLength));
      this.#partial = grown;
    }
    this.#partial.set(chunk.subarray(from, to), this.#partialLength);
    this.#partialLength = length;
  }

  /** Decodes bytes[from, to) as reply text. */
  #text(bytes: Uint8Array, from: number, to: number): string {
    // Fast path for printable ASCII (and HTAB), the usual case: no decoder
    // call, nothing to replace.
    let ascii = to - from <= 256;
    for (let i = from; ascii && i < to; i++) {
      const b = bytes[i]!;
      ascii = (b >= SP && b < 0x7f) || b === 0x09;
    }
    if (ascii) {
      return String.fromCharCode.apply(
        null,
        bytes.subarray(from, to) as unknown as number[],
      );
    }
    return this.#decoder.decode(bytes.subarray(from, to)).replace(
      CONTROL,
      "\uFFFD",
    );
  }

  /**
   * Parses the line bytes[start, lineFeed) and returns the reply it
   * completes; rawLength counts the line's bytes with its line ending.
   */
  #line(
    bytes: Uint8Array,
    start: number,
    lineFeed: number,
    rawLength: number,
  ): Reply | undefined {
    let end = lineFeed;
    if (end > start && bytes[end - 1] === CR) end--;
    else this.#bareLineFeeds++;
    if (end - start > this.#maxLineLength) {
      throw protocolError(`line longer than ${this.#maxLineLength} bytes`);
    }
    const d0 = bytes[start]!, d1 = bytes[start + 1]!, d2 = bytes[start + 2]!;
    if (
      end - start < 3 || d0 < 0x32 || d0 > 0x35 || d1 < DIGIT_0 ||
      d1 > DIGIT_9 ||
      d2 < DIGIT_0 || d2 > DIGIT_9
    ) {
      throw protocolError(
        `expected a three-digit code from 200 to 599, got ${
          excerpt(this.#decoder.decode(bytes.subarray(start, end)))
        }`,
      );
    }
    const separator = end - start === 3 ? SP : bytes[start + 3];
    if (separator !== SP && separator !== HYPHEN) {
      throw protocolError(
        `expected a space or "-" after the code, got ${
          excerpt(this.#decoder.decode(bytes.subarray(start, end)))
        }`,
      );
    }
    const code = (d0 - DIGIT_0) * 100 + (d1 - DIGIT_0) * 10 + (d2 - DIGIT_0);
    if (this.#lineCount > 0 && code !== this.#code) {
      throw protocolError(
        `line ${this.#lineCount + 1} has code ${code}, expected ${this.#code}`,
      );
    }
    const text = end - start > 4 ? this.#text(bytes, start + 4, end) : "";
    const match = text.charCodeAt(0) === d0 ? ENHANCED.exec(text) : null;
    const enhanced = match && match[1]!.charCodeAt(0) === d0
      ? text.slice(
        0,
        match[1]!.length + match[2]!.length + match[3]!.length + 2,
      )
      : undefined;
    this.#code = code;
    if (this.#lineCount === 0) this.#sharedEnhanced = enhanced;
    else if (this.#sharedEnhanced !== enhanced) this.#sharedEnhanced = null;
    this.#lineCount++;
    if (
      this.#lines.length === 0 ||
      (!this.#truncated && this.#keptText + text.length <= MAX_KEPT_TEXT)
    ) {
      this.#lines.push({ text, enhanced });
      this.#keptText += text.length;
    } else {
      this.#truncated = true;
    }
    this.#linesBytes += rawLength;
    if (separator === HYPHEN) {
      if (this.#lineCount >= this.#maxLines) {
        throw protocolError(`reply longer than ${this.#maxLines} lines`);
      }
      return undefined;
    }
    const lines = this.#lines;
    const shared = this.#sharedEnhanced ?? undefined;
    const truncated = this.#truncated;
    this.#lines = [];
    this.#lineCount = 0;
    this.#keptText = 0;
    this.#truncated = false;
    this.#linesBytes = 0;
    return makeReply(code, lines, shared, truncated);
  }
}

function makeReply(
  code: number,
  parsed: readonly Line[],
  enhancedCode: string | undefined,
  truncated: boolean,
): Reply {
  // The first line is always kept.
  const split = enhancedCode !== undefined;
  let lines: string[];
  let text: string;
  if (parsed.length === 1) {
    // The usual reply, one line: no map, no join.
    const only = parsed[0]!.text;
    text = split ? only.slice(enhancedCode.length + 1) : only;
    lines = [text];
  } else {
    lines = split
      ? parsed.map(({ text }) => text.slice(enhancedCode.length + 1))
      : parsed.map(({ text }) => text);
    text = lines.join("\n");
  }
  Object.freeze(lines);
  const reply: Reply = split
    ? { code, enhancedCode, lines, text }
    : { code, lines, text };
  return Object.freeze(truncated ? { ...reply, truncated: true } : reply);
}

function excerpt(text: string): string {
  const cut = text.length > 40 ? `${text.slice(0, 40)}…` : text;
  return JSON.stringify(cut.replace(CONTROL, "\uFFFD"));
}

function protocolError(detail: string, cause?: unknown): SmtpError {
  return new SmtpError(
    `Cannot parse reply: ${detail}`,
    cause === undefined ? { kind: "protocol" } : { kind: "protocol", cause },
  );
}
