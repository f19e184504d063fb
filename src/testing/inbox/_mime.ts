/**
 * A small MIME reader for the inbox's message view (RFC 2045, 2046, 2047,
 * 2183, 2231, 2392): the structure of a message as a tree of parts, each
 * with its header fields, media type, parameters, disposition, file name
 * and Content-ID, and where its body lies in the raw bytes; bodies decoded
 * (base64, quoted-printable) and text decoded by charset on demand.
 *
 * Lenient as a mail reader must be: LF line ends, missing close
 * delimiters, unknown charsets and bad encodings never throw. Bounded:
 * at most {@linkcode MAX_PARTS} parts and {@linkcode MAX_DEPTH} levels.
 *
 * @module
 */

import { fromBase64 } from "../../protocol/_base64.ts";
import { latin1, latin1Bytes } from "../../protocol/_bytes.ts";
import { decodeWords } from "../../mime/_encoded_words.ts";

/** Parts read at most; the rest of a message stays inside its last part. */
export const MAX_PARTS = 1000;
/** Multipart nesting read at most. */
export const MAX_DEPTH = 16;

/** One header field: its name as written and its value, unfolded. */
export interface MimeField {
  /** The name, as written (`Content-Type`). */
  name: string;
  /** The value, unfolded, white space around it removed, undecoded. */
  value: string;
}

/** One part of a message (the message itself is part 0). */
export interface MimePart {
  /** The part's number: depth-first order, the message itself 0. */
  index: number;
  /** Its header fields, in order. */
  fields: MimeField[];
  /** The media type, lowercase (`text/plain` when none is given). */
  type: string;
  /** The Content-Type parameters, names lowercase, RFC 2231 decoded. */
  params: Record<string, string>;
  /** The Content-Disposition type, lowercase, when given. */
  disposition?: string;
  /** The file name (disposition `filename`, else Content-Type `name`), decoded. */
  filename?: string;
  /** The Content-ID, without its angle brackets. */
  contentId?: string;
  /** The Content-Transfer-Encoding, lowercase (`7bit` when none is given). */
  encoding: string;
  /** Where the body starts in the raw message. */
  bodyStart: number;
  /** Where the body ends (exclusive). */
  bodyEnd: number;
  /** The parts of a multipart, in order. */
  children: MimePart[];
}

/** A message read into parts. */
export interface MimeMessage {
  /** The message itself, the root of the tree. */
  root: MimePart;
  /** Every part, by index. */
  parts: MimePart[];
}

/** The raw bytes as a string of one character per octet. */
const octets = latin1;
/** A string of octets as bytes. */
const bytesOf = latin1Bytes;

/** Where the header section starting at `start` ends, and the body starts. */
function headerEnd(
  text: string,
  start: number,
  end: number,
): { header: number; body: number } {
  // A part that starts with an empty line has no header fields.
  if (text.startsWith("\r\n", start)) return { header: start, body: start + 2 };
  if (text[start] === "\n") return { header: start, body: start + 1 };
  const crlf = text.indexOf("\r\n\r\n", start);
  const lf = text.indexOf("\n\n", start);
  const candidates: { header: number; body: number }[] = [];
  if (crlf >= 0 && crlf < end) {
    candidates.push({ header: crlf + 2, body: crlf + 4 });
  }
  if (lf >= 0 && lf < end) candidates.push({ header: lf + 1, body: lf + 2 });
  if (candidates.length === 0) return { header: end, body: end };
  return candidates.reduce((a, b) => (a.header <= b.header ? a : b));
}

/** Header fields of text[start, end), unfolded. */
export function parseFields(text: string): MimeField[] {
  const fields: MimeField[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line === "") continue;
    if (/^[ \t]/.test(line)) {
      const last = fields.at(-1);
      if (last) last.value += " " + line.replace(/^[ \t]+/, "");
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    fields.push({
      name: line.slice(0, colon).trim(),
      value: line.slice(colon + 1).trim(),
    });
  }
  for (const field of fields) field.value = field.value.trim();
  return fields;
}

/** The value of the first field of that name. */
export function fieldValue(
  fields: readonly MimeField[],
  name: string,
): string | undefined {
  const lower = name.toLowerCase();
  return fields.find((f) => f.name.toLowerCase() === lower)?.value;
}

/**
 * A structured value (`type/sub; a=b; c="d"`): its first token and its
 * parameters (names lowercase, quoted strings unquoted, RFC 2231 decoded).
 */
export function parseParameters(
  value: string,
): { value: string; params: Record<string, string> } {
  const n = value.length;
  let i = 0;
  const skipComment = (): void => {
    let depth = 0;
    for (; i < n; i++) {
      const c = value[i];
      if (c === "\\") i++;
      else if (c === "(") depth++;
      else if (c === ")" && --depth === 0) {
        i++;
        return;
      }
    }
  };
  const skipSpace = (): void => {
    while (i < n) {
      const c = value[i];
      if (c === " " || c === "\t" || c === "\r" || c === "\n") i++;
      else if (c === "(") skipComment();
      else break;
    }
  };
  let first = "";
  while (i < n && value[i] !== ";") {
    if (value[i] === "(") skipComment();
    else first += value[i++];
  }
  const raw: Record<string, string> = {};
  while (i < n) {
    i++; // the ";"
    skipSpace();
    let name = "";
    while (i < n && value[i] !== "=" && value[i] !== ";") name += value[i++];
    name = name.trim().toLowerCase();
    if (value[i] !== "=") continue;
    i++;
    skipSpace();
    let v = "";
    if (value[i] === '"') {
      for (i++; i < n && value[i] !== '"'; i++) {
        if (value[i] === "\\" && i + 1 < n) i++;
        v += value[i];
      }
      while (i < n && value[i] !== ";") i++;
    } else {
      while (i < n && value[i] !== ";") v += value[i++];
      v = v.trim();
    }
    if (name !== "" && !(name in raw)) raw[name] = v;
  }
  return { value: first.trim(), params: rfc2231(raw) };
}

/** Percent-decodes RFC 2231 `charset'lang'value`, or a continuation. */
function percentDecode(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const hex = text.slice(i + 1, i + 3);
    if (text[i] === "%" && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      out.push(parseInt(hex, 16));
      i += 2;
    } else out.push(text.charCodeAt(i) & 0xff);
  }
  return new Uint8Array(out);
}

/** Joins RFC 2231 continuations and decodes extended values. */
function rfc2231(raw: Record<string, string>): Record<string, string> {
  const params: Record<string, string> = {};
  const pieces = new Map<
    string,
    { index: number; value: string; extended: boolean }[]
  >();
  for (const [key, value] of Object.entries(raw)) {
    const match = /^([^*]+)(?:\*(\d+))?(\*)?$/.exec(key);
    if (!match || (match[2] === undefined && match[3] === undefined)) {
      params[key] = value;
      continue;
    }
    const name = match[1]!;
    const list = pieces.get(name) ?? [];
    list.push({
      index: Number(match[2] ?? 0),
      value,
      extended: match[3] !== undefined,
    });
    pieces.set(name, list);
  }
  for (const [name, list] of pieces) {
    list.sort((a, b) => a.index - b.index);
    let charset = "utf-8";
    const bytes: number[] = [];
    list.forEach((piece, i) => {
      let value = piece.value;
      if (piece.extended && i === 0) {
        const parts = value.split("'");
        if (parts.length >= 3) {
          charset = parts[0] || "utf-8";
          value = parts.slice(2).join("'");
        }
      }
      const decoded = piece.extended
        ? percentDecode(value)
        : bytesOf(unescape8(value));
      bytes.push(...decoded);
    });
    params[name] = decodeText(new Uint8Array(bytes), charset);
  }
  return params;
}

/** A JS string as UTF-8 octets, as a string of octets. */
function unescape8(value: string): string {
  return octets(new TextEncoder().encode(value));
}

/**
 * Decodes text in a charset, falling back to UTF-8 for a label the
 * platform does not know. Never throws.
 */
export function decodeText(bytes: Uint8Array, charset = "utf-8"): string {
  let label = charset.trim().toLowerCase();
  if (label === "" || label === "us-ascii" || label === "ascii") {
    label = "utf-8";
  }
  try {
    return new TextDecoder(label).decode(bytes);
  } catch {
    return new TextDecoder().decode(bytes);
  }
}

/** Decodes RFC 2047 encoded words, never throwing. */
export function decodeHeader(value: string): string {
  try {
    return decodeWords(value);
  } catch {
    return value;
  }
}

/**
 * Header values arrive as octets; UTF-8 ones (RFC 6532) are read as
 * UTF-8, others kept as Latin-1.
 */
function headerText(text: string): string {
  if (!/[\x80-\xff]/.test(text)) return text;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytesOf(text));
  } catch {
    return text;
  }
}

/** Finds the delimiter lines of a multipart body in text[start, end). */
function splitMultipart(
  text: string,
  boundary: string,
  start: number,
  end: number,
): { start: number; end: number }[] {
  const delimiter = "--" + boundary;
  const parts: { start: number; end: number }[] = [];
  let partStart = -1;
  let at = start;
  for (;;) {
    // A delimiter starts a line: at the body's start or after a LF.
    let found = text.indexOf(delimiter, at);
    while (
      found >= 0 && found < end && found !== start && text[found - 1] !== "\n"
    ) {
      found = text.indexOf(delimiter, found + 1);
    }
    if (found < 0 || found >= end) break;
    const after = found + delimiter.length;
    const closing = text.startsWith("--", after);
    // "--abc" is not a delimiter of the boundary "ab".
    if (!closing && !/^[ \t]*(?:\r?\n|$)/.test(text.slice(after, after + 80))) {
      at = after;
      continue;
    }
    // The line end before the delimiter belongs to it.
    let contentEnd = found;
    if (text[contentEnd - 1] === "\n") contentEnd--;
    if (text[contentEnd - 1] === "\r") contentEnd--;
    if (partStart >= 0) {
      parts.push({ start: partStart, end: Math.max(partStart, contentEnd) });
    }
    if (closing) return parts;
    let lineEnd = text.indexOf("\n", after);
    if (lineEnd < 0 || lineEnd >= end) lineEnd = end - 1;
    partStart = lineEnd + 1;
    at = partStart;
    if (partStart >= end) break;
  }
  // No close delimiter: the last part runs to the end.
  if (partStart >= 0 && partStart <= end) parts.push({ start: partStart, end });
  return parts;
}

/**
 * Reads the structure of a message.
 *
 * @param raw The message as received.
 * @returns The tree of parts and the parts by index.
 */
export function parseMime(raw: Uint8Array): MimeMessage {
  const text = octets(raw);
  const parts: MimePart[] = [];
  const read = (
    start: number,
    end: number,
    depth: number,
    defaultType: string,
  ): MimePart => {
    const { header, body } = headerEnd(text, start, end);
    const fields = parseFields(text.slice(start, header)).map((f) => ({
      name: f.name,
      value: headerText(f.value),
    }));
    const contentType = parseParameters(
      fieldValue(fields, "content-type") ?? "",
    );
    let type = contentType.value.toLowerCase();
    if (!/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(type)) {
      type = defaultType;
    }
    const part: MimePart = {
      index: parts.length,
      fields,
      type,
      params: contentType.params,
      encoding: (fieldValue(fields, "content-transfer-encoding") ?? "7bit")
        .trim().toLowerCase(),
      bodyStart: Math.min(body, end),
      bodyEnd: end,
      children: [],
    };
    parts.push(part);
    const disposition = fieldValue(fields, "content-disposition");
    let filename: string | undefined;
    if (disposition !== undefined) {
      const parsed = parseParameters(disposition);
      if (parsed.value !== "") part.disposition = parsed.value.toLowerCase();
      filename = parsed.params["filename"];
    }
    filename ??= contentType.params["name"];
    if (filename !== undefined && filename !== "") {
      part.filename = decodeHeader(filename);
    }
    const id = fieldValue(fields, "content-id");
    if (id !== undefined) {
      const bare = id.trim().replace(/^<|>$/g, "").trim();
      if (bare !== "") part.contentId = bare;
    }
    const boundary = part.params["boundary"];
    if (
      type.startsWith("multipart/") && boundary && depth < MAX_DEPTH
    ) {
      const childType = type === "multipart/digest"
        ? "message/rfc822"
        : "text/plain";
      for (const range of splitMultipart(text, boundary, part.bodyStart, end)) {
        if (parts.length >= MAX_PARTS) break;
        part.children.push(read(range.start, range.end, depth + 1, childType));
      }
    }
    return part;
  };
  const root = read(0, text.length, 0, "text/plain");
  return { root, parts };
}

/** Quoted-printable (RFC 2045 §6.7), leniently: a bad `=` stays as it is. */
function decodeQuotedPrintable(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  let o = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x3d) {
      out[o++] = c & 0xff;
      continue;
    }
    const next = text.slice(i + 1, i + 3);
    if (/^[0-9A-Fa-f]{2}$/.test(next)) {
      out[o++] = parseInt(next, 16);
      i += 2;
      continue;
    }
    // A soft line break: "=", maybe white space, then the line end.
    const soft = /^[ \t]*\r?\n/.exec(text.slice(i + 1, i + 80));
    if (soft) {
      i += soft[0].length;
      continue;
    }
    out[o++] = c;
  }
  return out.subarray(0, o);
}

/** Base64, leniently: characters outside the alphabet are skipped. */
function decodeBase64(text: string): Uint8Array {
  let clean = text.replace(/[^A-Za-z0-9+/]/g, "");
  clean = clean.slice(0, clean.length - (clean.length % 4 === 1 ? 1 : 0));
  try {
    return fromBase64(clean + "=".repeat((4 - (clean.length % 4)) % 4));
  } catch {
    return new Uint8Array();
  }
}

/**
 * A part's body, its transfer encoding undone.
 *
 * @param raw The message.
 * @param part The part.
 * @returns The decoded octets.
 */
export function decodeBody(raw: Uint8Array, part: MimePart): Uint8Array {
  const body = raw.subarray(part.bodyStart, part.bodyEnd);
  if (part.encoding === "base64") return decodeBase64(octets(body));
  if (part.encoding === "quoted-printable") {
    return decodeQuotedPrintable(octets(body));
  }
  return body;
}

/**
 * A text part's content, decoded by its charset.
 *
 * @param raw The message.
 * @param part The part.
 * @returns The text.
 */
export function bodyText(raw: Uint8Array, part: MimePart): string {
  return decodeText(decodeBody(raw, part), part.params["charset"] ?? "utf-8");
}

/** Whether a part is a body meant to be read rather than a file. */
function isAttachment(part: MimePart): boolean {
  return part.disposition === "attachment" ||
    (part.filename !== undefined && part.disposition !== "inline");
}

/** The parts a reader sees: the HTML body, the text body, and the files. */
export interface MimeView {
  /** The HTML body, if any. */
  html?: MimePart;
  /** The plain-text body, if any. */
  text?: MimePart;
  /** Every other leaf part: attachments and inline images. */
  files: MimePart[];
}

/**
 * Picks the bodies and the files of a message: the first `text/html` and
 * the first `text/plain` leaf that are not attachments, and every other
 * leaf.
 *
 * @param message The parsed message.
 * @returns The view.
 */
export function viewOf(message: MimeMessage): MimeView {
  const view: MimeView = { files: [] };
  for (const part of message.parts) {
    if (part.children.length > 0 || part.type.startsWith("multipart/")) {
      continue;
    }
    if (!isAttachment(part)) {
      if (part.type === "text/html" && !view.html) {
        view.html = part;
        continue;
      }
      if (part.type === "text/plain" && !view.text) {
        view.text = part;
        continue;
      }
    }
    view.files.push(part);
  }
  return view;
}
