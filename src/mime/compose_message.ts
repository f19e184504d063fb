import type { Address, Attachment, Mail } from "./mail.ts";
import {
  formatMailbox,
  localPartNeedsSmtpUtf8,
  type Mailbox,
  toMailboxes,
} from "./_address.ts";
import { Base64LineEncoder, BYTES_PER_LINE } from "./_base64_encoder.ts";
import { formatDate } from "./_date.ts";
import { MAX_ENCODED_WORD } from "./_encoded_words.ts";
import {
  assertHeaderName,
  firstRoom,
  foldTokens,
  MAX_LINE,
  unstructured,
  withParameters,
  wordTokens,
} from "./_header.ts";
import { listUnsubscribeFields } from "./_list_unsubscribe.ts";
import { assertMediaType, mediaTypeOf } from "./_media_type.ts";
import { encodeQuotedPrintable } from "./_quoted_printable.ts";
import { randomToken } from "./_random.ts";

/** A message composed by {@linkcode composeMessage}, ready to send. */
export interface ComposedMessage {
  /** The Message-ID, with angle brackets: `"<…@example.com>"`. */
  readonly messageId: string;
  /** The SMTP envelope, bare addresses. */
  readonly envelope: {
    /** The envelope sender (MAIL FROM): the first From mailbox. */
    from: string;
    /** The recipients (RCPT TO): To, Cc and Bcc, without duplicates. */
    to: string[];
    /**
     * Whether the message needs the SMTPUTF8 extension (RFC 6531): an
     * address of the envelope or of the header has a non-ASCII local part.
     */
    smtputf8: boolean;
  };
  /**
   * The whole message, CRLF line endings, produced as it is read (pull
   * based): attachments given as streams or blobs are read and encoded
   * only as fast as this stream is consumed. It can be read once;
   * cancelling it cancels the attachment streams not yet read.
   */
  readonly readable: ReadableStream<Uint8Array>;
  /**
   * Whether the body holds 8-bit data (and needs 8BITMIME). Every part is
   * encoded as 7bit, quoted-printable or base64, so this is `false`.
   */
  readonly eightBit: boolean;
  /**
   * Whether {@linkcode ComposedMessage.stream} can produce the message
   * again: no attachment is a `ReadableStream` (strings, bytes and blobs can
   * be read any number of times). A DKIM signer uses it to hash the body in
   * a first pass and send it in a second, in bounded memory.
   */
  readonly rereadable: boolean;
  /**
   * A new stream of the same message, byte for byte: the same Message-ID,
   * Date and boundaries, the attachments read again. Independent of
   * {@linkcode ComposedMessage.readable} and of other calls. The bytes of a
   * `Uint8Array` attachment are read at each call: change them in between
   * and the copies differ.
   *
   * @returns The message stream, read as it is pulled.
   * @throws {TypeError} If an attachment is a `ReadableStream`, which can
   * be read only once (see {@linkcode ComposedMessage.rereadable}).
   */
  stream(): ReadableStream<Uint8Array>;
}

type Source = Uint8Array | Blob | ReadableStream<Uint8Array>;
type Part =
  | { headers: string; text: string }
  | { headers: string; source: Source }
  | { headers: string; boundary: string; children: Part[] };

const encoder = new TextEncoder();
/** Output is produced in chunks of about this size. */
const CHUNK = 64 * 1024;
/** Input slice encoded per output chunk: whole base64 lines. */
const BASE64_SLICE = BYTES_PER_LINE * 1024;

/** Fields the composer writes itself, and where a user sets them instead. */
const RESERVED: Record<string, string> = {
  "from": "mail.from",
  "to": "mail.to",
  "cc": "mail.cc",
  "bcc": "mail.bcc (it never appears in the header)",
  "reply-to": "mail.replyTo",
  "subject": "mail.subject",
  "date": "mail.date",
  "message-id": "mail.messageId",
  "in-reply-to": "mail.inReplyTo",
  "references": "mail.references",
  "mime-version": "the composer",
  "content-type": "the composer",
  "content-transfer-encoding": "the composer",
  "content-disposition": "the composer",
  "content-id": "the composer",
};

function fail(reason: string): never {
  throw new TypeError(`Cannot compose message: ${reason}`);
}

function listOf(value: Address | Address[] | undefined): Mailbox[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).flatMap(toMailboxes);
}

function addressField(name: string, mailboxes: Mailbox[]): string {
  const tokens: string[] = [];
  mailboxes.forEach((mailbox, index) => {
    const room = index === 0 ? firstRoom(name) : MAX_ENCODED_WORD;
    const words = wordTokens(formatMailbox(mailbox, room));
    if (index > 0) {
      tokens[tokens.length - 1] += ",";
      words[0] = " " + words[0];
    }
    tokens.push(...words);
  });
  return foldTokens(name, tokens);
}

/** Validates a msg-id (RFC 5322 §3.6.4), returning it without brackets. */
function messageIdOf(value: string, what: string, needAt: boolean): string {
  if (typeof value !== "string") fail(`${what} is not a string`);
  const id = value.trim().replace(/^<(.*)>$/, "$1");
  const valid = needAt
    ? /^[\x21-\x3b\x3d\x3f-\x7e]+@[\x21-\x3b\x3d\x3f-\x7e]+$/
    : /^[\x21-\x3b\x3d\x3f-\x7e]+$/;
  if (!valid.test(id) || id.length > 250) {
    fail(`${what} ${JSON.stringify(value)} is not a valid message identifier`);
  }
  return id;
}

function messageIdsOf(value: string | string[], what: string): string[] {
  const values = Array.isArray(value) ? value : [value];
  const ids: string[] = [];
  for (const item of values) {
    if (typeof item !== "string") fail(`${what} is not a string`);
    for (const match of item.matchAll(/<[^<>]*>|[^\s<>,]+/g)) {
      ids.push(messageIdOf(match[0], what, true));
    }
  }
  return ids;
}

function textPart(text: string, subtype: "plain" | "html"): Part {
  if (typeof text !== "string") {
    fail(`mail.${subtype === "plain" ? "text" : "html"} is not a string`);
  }
  const normalized = text.replace(/\r\n|\r|\n/g, "\r\n");
  const sevenBit = /^[\t\x20-\x7e\r\n]*$/.test(normalized) &&
    normalized.split("\r\n").every((line) => line.length <= MAX_LINE);
  return {
    headers: `Content-Type: text/${subtype}; charset=utf-8\r\n` +
      `Content-Transfer-Encoding: ${
        sevenBit ? "7bit" : "quoted-printable"
      }\r\n`,
    text: sevenBit ? normalized : encodeQuotedPrintable(normalized),
  };
}

function attachmentPart(attachment: Attachment, index: number): Part {
  if (attachment === null || typeof attachment !== "object") {
    fail(`attachment ${index} is not an object`);
  }
  const { filename, content, contentId } = attachment;
  if (typeof filename !== "string") fail(`attachment ${index} has no filename`);
  let source: Source;
  if (typeof content === "string") source = encoder.encode(content);
  else if (
    content instanceof Uint8Array || content instanceof Blob ||
    content instanceof ReadableStream
  ) source = content;
  else {
    fail(
      `attachment ${
        JSON.stringify(filename)
      } content is not a string, Uint8Array, Blob or ReadableStream`,
    );
  }
  if (source instanceof ReadableStream && source.locked) {
    fail(`attachment ${JSON.stringify(filename)} content stream is locked`);
  }
  let type = attachment.contentType;
  if (type === undefined) {
    type = mediaTypeOf(filename);
    if (typeof content === "string" && type.startsWith("text/")) {
      type += "; charset=utf-8";
    }
  } else assertMediaType(type);
  let headers =
    withParameters("Content-Type", type.trim(), [["name", filename]]) +
    "Content-Transfer-Encoding: base64\r\n" +
    withParameters(
      "Content-Disposition",
      contentId === undefined ? "attachment" : "inline",
      [["filename", filename]],
    );
  if (contentId !== undefined) {
    const id = messageIdOf(contentId, "attachment content ID", false);
    headers += foldTokens("Content-ID", [`<${id}>`]);
  }
  return { headers, source };
}

/** A boundary that cannot occur in the content: see {@linkcode multipart}. */
function newBoundary(
  taken: readonly string[],
  texts: readonly string[],
): string {
  for (;;) {
    // "=_" never appears in quoted-printable or base64 output ("=" is
    // followed by hex digits, a line break or nothing); 7bit texts are
    // checked, and equal-length random boundaries never prefix each other.
    const boundary = "=_" + randomToken(28);
    if (
      !taken.includes(boundary) && !texts.some((t) => t.includes(boundary))
    ) return boundary;
  }
}

function multipart(
  subtype: string,
  children: Part[],
  parameters: [string, string][],
  taken: string[],
  texts: readonly string[],
): Part {
  const boundary = newBoundary(taken, texts);
  taken.push(boundary);
  return {
    headers: withParameters("Content-Type", `multipart/${subtype}`, [
      ...parameters,
      ["boundary", boundary],
    ]),
    boundary,
    children,
  };
}

function customHeaders(headers: Mail["headers"]): [string, string][] {
  if (headers === undefined) return [];
  if (headers === null || typeof headers !== "object") {
    fail("mail.headers is not a record or a list of pairs");
  }
  const pairs = Array.isArray(headers) ? headers : Object.entries(headers);
  for (const pair of pairs) {
    if (!Array.isArray(pair) || pair.length !== 2) {
      fail("mail.headers has an entry that is not a [name, value] pair");
    }
    const [name, value] = pair;
    assertHeaderName(name);
    if (typeof value !== "string") {
      fail(`header ${JSON.stringify(name)} value is not a string`);
    }
    const owner = RESERVED[name.toLowerCase()];
    if (owner !== undefined) {
      fail(`header ${JSON.stringify(name)} is set by ${owner}`);
    }
  }
  return pairs;
}

/**
 * Composes an RFC 5322 / MIME message from a {@linkcode Mail}: the header
 * (From, Sender when From lists several mailboxes, To, Cc, Reply-To,
 * Subject, Date, Message-ID, In-Reply-To, References, List-Unsubscribe,
 * custom fields, MIME-Version), the body (text/plain, text/html, multipart/alternative when
 * both, multipart/related around the html for attachments with a
 * `contentId`, multipart/mixed for the other attachments), and the SMTP
 * envelope. Bcc goes into the envelope only.
 *
 * Everything is validated before this returns; the message is produced as
 * the returned stream is read, attachments encoded on the fly (base64, 76
 * columns) in bounded memory. Text parts are 7bit when ASCII with lines of
 * at most 998 octets, else quoted-printable. Output lines end in CRLF and
 * never exceed 998 octets; header fields are folded at 78 columns.
 *
 * Header values cannot inject fields: a line break in a value is folded
 * into a space, and non-ASCII text or control characters become RFC 2047
 * encoded words. Custom header values are unstructured text: pass ASCII for
 * a structured field. A subject is read back exactly, spaces at either end
 * included; a non-ASCII attachment name is written in RFC 2231 form, then
 * again as RFC 2047 words in the quoted value, so that every common reader
 * shows it (Python's `email`, Thunderbird, mutt, Outlook, Gmail).
 *
 * `mail.listUnsubscribe` writes `List-Unsubscribe` (the https URL first,
 * then the mailto address) and, with a URL, `List-Unsubscribe-Post:
 * List-Unsubscribe=One-Click` (RFC 8058).
 *
 * @param mail The message.
 * @returns The Message-ID, the envelope and the message stream.
 * @throws {TypeError} If there is no From address or no recipient, an
 * address is not valid or holds a control character, a header name is not
 * RFC 5322 `ftext` (or longer than 76 characters), a custom header would
 * replace one the composer writes (From, To, Cc, Bcc, Reply-To, Subject,
 * Date, Message-ID, In-Reply-To, References, MIME-Version, Content-Type,
 * Content-Transfer-Encoding, Content-Disposition, Content-ID, and
 * List-Unsubscribe or List-Unsubscribe-Post beside `listUnsubscribe`), an
 * attachment is malformed, or `listUnsubscribe` has neither a url nor a
 * mailto, a url that is not https, a control character, or a mailto that
 * is not a bare address.
 * @throws {RangeError} If the date's year is outside 1900 to 9999.
 *
 * @example Composing a message with an inline image
 * ```ts
 * import { composeMessage } from "@x/sendmail/mime";
 * import assert from "node:assert/strict";
 *
 * const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
 * const message = composeMessage({
 *   from: "Ada <ada@example.com>",
 *   to: "grace@example.org",
 *   bcc: "archive@example.com",
 *   subject: "Café ☕",
 *   text: "See the logo.",
 *   html: '<p>See the logo: <img src="cid:logo"></p>',
 *   attachments: [{ filename: "logo.png", content: png, contentId: "logo" }],
 * });
 * assert.deepEqual(message.envelope.to, ["grace@example.org", "archive@example.com"]);
 * const raw = await new Response(message.readable).text();
 * assert.deepEqual(raw.includes("archive@example.com"), false);
 * ```
 */
export function composeMessage(mail: Mail): ComposedMessage {
  if (mail === null || typeof mail !== "object") fail("mail is not an object");
  if (mail.from === undefined) fail("no From address");
  const from = listOf(mail.from);
  if (from.length === 0) fail("no From address");
  const to = listOf(mail.to);
  const cc = listOf(mail.cc);
  const bcc = listOf(mail.bcc);
  const replyTo = listOf(mail.replyTo);

  // The envelope: bare addresses, duplicates removed (domains compare
  // without case, local parts with it, RFC 5321 §2.4).
  const seen = new Set<string>();
  const recipients: string[] = [];
  for (const { address } of [...to, ...cc, ...bcc]) {
    const at = address.lastIndexOf("@");
    const key = address.slice(0, at) + address.slice(at).toLowerCase();
    if (!seen.has(key)) {
      seen.add(key);
      recipients.push(address);
    }
  }
  if (recipients.length === 0) fail("no recipient");
  const sender = from[0]!.address;
  const smtputf8 = [...from, ...to, ...cc, ...bcc, ...replyTo].some((m) =>
    localPartNeedsSmtpUtf8(m.address)
  );

  const custom = customHeaders(mail.headers);
  const domain = sender.slice(sender.lastIndexOf("@") + 1);
  const messageId = mail.messageId === undefined
    ? `<${randomToken(32)}@${domain}>`
    : `<${messageIdOf(mail.messageId, "mail.messageId", true)}>`;

  let head = foldTokens("Date", [formatDate(mail.date ?? new Date())]);
  head += addressField("From", from);
  if (
    from.length > 1 && !custom.some(([name]) => name.toLowerCase() === "sender")
  ) head += addressField("Sender", [from[0]!]);
  if (replyTo.length > 0) head += addressField("Reply-To", replyTo);
  if (to.length > 0) head += addressField("To", to);
  if (cc.length > 0) head += addressField("Cc", cc);
  if (mail.subject !== undefined) {
    if (typeof mail.subject !== "string") fail("mail.subject is not a string");
    head += unstructured("Subject", mail.subject, true);
  }
  head += foldTokens("Message-ID", [messageId]);
  if (mail.inReplyTo !== undefined) {
    const ids = messageIdsOf(mail.inReplyTo, "mail.inReplyTo");
    if (ids.length > 0) {
      head += foldTokens(
        "In-Reply-To",
        ids.map((id, i) => `${i ? " " : ""}<${id}>`),
      );
    }
  }
  if (mail.references !== undefined) {
    const ids = messageIdsOf(mail.references, "mail.references");
    if (ids.length > 0) {
      head += foldTokens(
        "References",
        ids.map((id, i) => `${i ? " " : ""}<${id}>`),
      );
    }
  }
  if (mail.listUnsubscribe !== undefined) {
    const taken = custom.find(([name]) =>
      /^list-unsubscribe(-post)?$/i.test(name)
    );
    if (taken) {
      fail(
        `header ${JSON.stringify(taken[0])} is set by mail.listUnsubscribe`,
      );
    }
    head += listUnsubscribeFields(mail.listUnsubscribe);
  }
  for (const [name, value] of custom) head += unstructured(name, value, false);
  head += "MIME-Version: 1.0\r\n";

  // The body tree.
  const attachments = mail.attachments ?? [];
  if (!Array.isArray(attachments)) fail("mail.attachments is not an array");
  const text = mail.text === undefined
    ? undefined
    : textPart(mail.text, "plain");
  const html = mail.html === undefined
    ? undefined
    : textPart(mail.html, "html");
  const texts = [text, html].flatMap((p) => p && "text" in p ? [p.text] : []);
  const boundaries: string[] = [];
  const inline: Part[] = [];
  const attached: Part[] = [];
  attachments.forEach((attachment, index) => {
    const part = attachmentPart(attachment, index);
    if (html && attachment.contentId !== undefined) inline.push(part);
    else attached.push(part);
  });
  let htmlRoot: Part | undefined = html;
  if (html && inline.length > 0) {
    htmlRoot = multipart(
      "related",
      [html, ...inline],
      [["type", "text/html"]],
      boundaries,
      texts,
    );
  }
  let root: Part | undefined = text && htmlRoot
    ? multipart("alternative", [text, htmlRoot], [], boundaries, texts)
    : text ?? htmlRoot;
  if (attached.length > 0) {
    root = multipart(
      "mixed",
      root ? [root, ...attached] : attached,
      [],
      boundaries,
      texts,
    );
  }
  root ??= textPart("", "plain");
  head += root.headers;

  const message: Part = { ...root, headers: head };
  const once = streamsOf(message)[0];
  return {
    messageId,
    envelope: { from: sender, to: recipients, smtputf8 },
    readable: streamOf(message),
    eightBit: false,
    rereadable: once === undefined,
    stream(): ReadableStream<Uint8Array> {
      if (once !== undefined) {
        const index = attachments.findIndex((a) => a.content === once);
        throw new TypeError(
          `Cannot read message again: attachment ${
            JSON.stringify(attachments[index]?.filename)
          } is a ReadableStream, which can be read once`,
        );
      }
      return streamOf(message);
    },
  };
}

/** The attachment streams of a part tree, to cancel when the output ends early. */
function streamsOf(part: Part): ReadableStream<Uint8Array>[] {
  if ("children" in part) return part.children.flatMap(streamsOf);
  return "source" in part && part.source instanceof ReadableStream
    ? [part.source]
    : [];
}

/**
 * The message as a pull-based byte stream. When it is cancelled or fails,
 * every attachment stream not yet read to the end is cancelled too, so the
 * files or sockets behind them are released.
 */
function streamOf(root: Part): ReadableStream<Uint8Array> {
  const state: { reader?: ReadableStreamDefaultReader<Uint8Array> } = {};
  const chunks = emitMessage(root, state);
  const release = async (reason: unknown) => {
    await state.reader?.cancel(reason).catch(() => {});
    await chunks.return(undefined).catch(() => {});
    for (const stream of streamsOf(root)) {
      if (!stream.locked) await stream.cancel(reason).catch(() => {});
    }
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await chunks.next();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (error) {
        controller.error(error);
        await release(error);
      }
    },
    cancel: release,
  }, { highWaterMark: 0 });
}

async function* emitMessage(
  root: Part,
  state: { reader?: ReadableStreamDefaultReader<Uint8Array> },
): AsyncGenerator<Uint8Array, void, undefined> {
  let last = 0;
  for await (const chunk of emitPart(root, state)) {
    if (chunk.length === 0) continue;
    last = chunk[chunk.length - 1]!;
    yield chunk;
  }
  // The message ends with a line break.
  if (last !== 10) yield encoder.encode("\r\n");
}

async function* emitPart(
  part: Part,
  state: { reader?: ReadableStreamDefaultReader<Uint8Array> },
): AsyncGenerator<Uint8Array, void, undefined> {
  if ("children" in part) {
    yield encoder.encode(`${part.headers}\r\n--${part.boundary}\r\n`);
    for (const [index, child] of part.children.entries()) {
      if (index > 0) yield encoder.encode(`\r\n--${part.boundary}\r\n`);
      yield* emitPart(child, state);
    }
    yield encoder.encode(`\r\n--${part.boundary}--`);
    return;
  }
  yield encoder.encode(part.headers + "\r\n");
  if ("text" in part) {
    const bytes = encoder.encode(part.text);
    for (let i = 0; i < bytes.length; i += CHUNK) {
      yield bytes.subarray(i, i + CHUNK);
    }
    return;
  }
  const base64 = new Base64LineEncoder();
  const { source } = part;
  if (source instanceof Uint8Array) {
    for (let i = 0; i < source.length; i += BASE64_SLICE) {
      yield base64.push(source.subarray(i, i + BASE64_SLICE));
    }
  } else {
    const reader = (source instanceof Blob ? source.stream() : source)
      .getReader();
    state.reader = reader;
    let finished = false;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (!(value instanceof Uint8Array)) {
          throw new TypeError(
            "Cannot compose message: an attachment stream gave a chunk that is not a Uint8Array",
          );
        }
        for (let i = 0; i < value.length; i += BASE64_SLICE) {
          yield base64.push(value.subarray(i, i + BASE64_SLICE));
        }
      }
      finished = true;
    } finally {
      delete state.reader;
      if (!finished) await reader.cancel().catch(() => {});
      reader.releaseLock();
    }
  }
  yield base64.flush();
}
