// Copyright the @x/sendmail authors. MIT license.

import type { Reply } from "./reply.ts";
import { ReplyParser } from "./_reply_parser.ts";

/**
 * Options of {@linkcode ReplyStream}: limits that keep memory bounded
 * whatever the server sends (at most `maxLines * (maxLineLength + 2)` bytes
 * are held).
 */
export interface ReplyStreamOptions {
  /**
   * The longest reply line accepted, in bytes, its line ending excluded.
   * RFC 5321 §4.5.3.1.5 caps a reply line at 512 bytes, but real servers
   * send longer banners and EHLO lines, so the default leaves room.
   * @default {8192}
   */
  maxLineLength?: number;
  /**
   * The most lines a single (multiline) reply may have.
   * @default {1000}
   */
  maxLines?: number;
}

/**
 * Parses the bytes an SMTP server sends into {@linkcode Reply} values
 * (RFC 5321 §4.2): multiline replies are joined, enhanced status codes
 * (RFC 3463) are split off, and the text is decoded as UTF-8.
 *
 * Lines may end with CRLF or a bare LF. Every line of a reply must carry the
 * same three-digit code (200 to 599). A line longer than `maxLineLength`
 * bytes, a reply of more than `maxLines` lines, a malformed line, or the
 * input ending in the middle of a reply errors the stream with an
 * {@linkcode SmtpError} of kind `"protocol"`.
 *
 * @example Reading a multiline reply
 * ```ts
 * import { ReplyStream } from "@x/sendmail";
 * import assert from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode(
 *   "250-smtp.example.com\r\n250-SIZE 35882577\r\n250 2.0.0 STARTTLS\r\n",
 * );
 * const replies = ReadableStream.from([bytes]).pipeThrough(new ReplyStream());
 * for await (const reply of replies) {
 *   assert.equal(reply.code, 250);
 *   assert.deepEqual(reply.lines, ["smtp.example.com", "SIZE 35882577", "2.0.0 STARTTLS"]);
 * }
 * ```
 *
 * @example Enhanced status codes
 * ```ts
 * import { ReplyStream } from "@x/sendmail";
 * import assert from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode("550 5.1.1 No such user\r\n");
 * const replies = ReadableStream.from([bytes]).pipeThrough(new ReplyStream());
 * const [reply] = await Array.fromAsync(replies);
 * assert.equal(reply?.code, 550);
 * assert.equal(reply?.enhancedCode, "5.1.1");
 * assert.equal(reply?.text, "No such user");
 * ```
 */
export class ReplyStream extends TransformStream<Uint8Array, Reply> {
  /**
   * Creates a stream.
   *
   * @param options The line length and line count limits.
   * @throws {RangeError} When a limit is not a positive integer.
   */
  constructor(options: ReplyStreamOptions = {}) {
    const parser = new ReplyParser(options);
    super({
      transform(chunk, controller): void {
        for (const reply of parser.push(chunk)) controller.enqueue(reply);
      },
      flush(): void {
        parser.end();
      },
    });
  }
}
