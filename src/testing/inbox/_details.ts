/**
 * What the message view shows of an entry, as JSON and as the documents
 * the page loads: the HTML body as a sandboxed document (under its own
 * Content-Security-Policy, `cid:` images inlined as `data:` URLs), parts
 * to download, the raw source, and the `Received:` hops as SVG.
 *
 * @module
 */

import { hasControlOrC1 } from "../../protocol/_control.ts";
import { toBase64 } from "../../protocol/_base64.ts";
import type { DkimResult, TxtResolver } from "../../dkim/verify_dkim.ts";
import { verifyDkim } from "../../dkim/verify_dkim.ts";
import { hopsToSvg } from "../../received/hops_to_svg.ts";
import { type Hop, traceHops } from "../../received/trace_hops.ts";
import type { TranscriptLine } from "../received_message.ts";
import {
  bodyText,
  decodeBody,
  decodeHeader,
  type MimePart,
  viewOf,
} from "./_mime.ts";
import type { Entry, Summary } from "./_store.ts";

/** The policy of an HTML body: no script, nothing remote, inline styles. */
export const BODY_CSP =
  "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; base-uri 'none'; form-action 'none'";
/** The policy once the user asks for remote content: still no script. */
export const REMOTE_BODY_CSP =
  "default-src 'none'; img-src data: http: https:; style-src 'unsafe-inline' http: https:; font-src data: http: https:; media-src data: http: https:; base-uri 'none'; form-action 'none'";

/** Headers of anything the inbox serves that came in a message. */
export const UNTRUSTED_HEADERS: Record<string, string> = {
  "content-security-policy": "sandbox; default-src 'none'",
  "x-content-type-options": "nosniff",
  "cache-control": "no-store",
};

/** A part as the MIME tree shows it. */
export interface PartNode {
  index: number;
  type: string;
  size: number;
  filename?: string;
  contentId?: string;
  disposition?: string;
  encoding: string;
  charset?: string;
  children: PartNode[];
}

/** A file of a message: an attachment or an inline image. */
export interface FileInfo {
  index: number;
  filename: string;
  type: string;
  size: number;
  contentId?: string;
  inline: boolean;
  url: string;
}

/** A hop as the trace table shows it. */
export interface HopInfo {
  index: number;
  from?: string;
  by?: string;
  with?: string;
  tls?: string;
  date?: string;
  delayMs?: number;
}

/** The message view's data: `GET /api/messages/:id`. */
export interface Details extends Summary {
  headers: { name: string; value: string }[];
  envelope: {
    from: string;
    to: string[];
    mailParams: Record<string, string | true>;
    rcptParams: Record<string, string | true>[];
  };
  helo: string;
  esmtp: boolean;
  transfer: "DATA" | "BDAT";
  connection: number;
  authMechanism?: string;
  transcript: TranscriptLine[];
  text: string | null;
  html: boolean;
  remoteResources: number;
  parts: PartNode;
  files: FileInfo[];
  hops: HopInfo[];
  dkim: DkimResult[];
}

const IMAGE =
  /^image\/(?:png|jpeg|gif|webp|bmp|avif|x-icon|vnd\.microsoft\.icon|svg\+xml)$/;
/** Raster images, which may be shown inline from the inbox's origin. */
const RASTER = /^image\/(?:png|jpeg|gif|webp|bmp|avif)$/;
const REMOTE_PATTERNS = [
  /\b(?:src|background|poster|srcset|data)\s*=\s*["']?\s*(?:https?:)?\/\//gi,
  /url\(\s*["']?\s*(?:https?:)?\/\//gi,
  /<link\b[^>]*?\bhref\s*=\s*["']?\s*(?:https?:)?\/\//gi,
  /@import\s+["']?\s*(?:https?:)?\/\//gi,
];

function hopsOf(entry: Entry): Hop[] {
  let hops = entry.cache.get("hops") as Hop[] | undefined;
  if (!hops) {
    hops = traceHops(entry.message.raw);
    entry.cache.set("hops", hops);
  }
  return hops;
}

/** A name to save a part under, never empty, without path or controls. */
export function fileName(entry: Entry, part: MimePart): string {
  // Control characters and path separators become "_".
  const given = [...(part.filename ?? "")].map((c) =>
    hasControlOrC1(c) || c === "/" || c === "\\" ? "_" : c
  ).join("").trim();
  if (given !== "" && given !== "." && given !== "..") return given;
  const extension = part.type === "message/rfc822"
    ? "eml"
    : part.type.split("/")[1]!.replace(/[^a-z0-9]/g, "").slice(0, 8) ||
      "bin";
  return `message-${entry.id}-part-${part.index}.${extension}`;
}

function partNode(entry: Entry, part: MimePart): PartNode {
  const node: PartNode = {
    index: part.index,
    type: part.type,
    size: part.bodyEnd - part.bodyStart,
    encoding: part.encoding,
    children: part.children.map((child) => partNode(entry, child)),
  };
  if (part.filename !== undefined) node.filename = part.filename;
  if (part.contentId !== undefined) node.contentId = part.contentId;
  if (part.disposition !== undefined) node.disposition = part.disposition;
  if (part.params["charset"] !== undefined) {
    node.charset = part.params["charset"];
  }
  return node;
}

/** The HTML body's text, decoded, if the message has one. */
function htmlText(entry: Entry): string | undefined {
  const part = viewOf(entry.mime).html;
  return part ? bodyText(entry.message.raw, part) : undefined;
}

/** How many remote resources an HTML body would load. */
export function countRemote(html: string): number {
  let count = 0;
  for (const pattern of REMOTE_PATTERNS) {
    count += html.match(pattern)?.length ?? 0;
  }
  return count;
}

/**
 * The message view's data.
 *
 * @param entry The message.
 * @param resolveTxt DKIM key lookups.
 * @param base The inbox's URL path for this message's parts.
 * @returns The details.
 */
export async function detailsOf(
  entry: Entry,
  resolveTxt: TxtResolver,
): Promise<Details> {
  const { message, mime } = entry;
  const view = viewOf(mime);
  const html = htmlText(entry);
  const files = view.files.map((part): FileInfo => {
    const info: FileInfo = {
      index: part.index,
      filename: fileName(entry, part),
      type: part.type,
      size: decodeBody(message.raw, part).length,
      inline: part.contentId !== undefined && part.disposition !== "attachment",
      url: `/api/messages/${entry.id}/parts/${part.index}`,
    };
    if (part.contentId !== undefined) info.contentId = part.contentId;
    return info;
  });
  const hops = hopsOf(entry).map((hop): HopInfo => {
    const f = hop.field;
    const info: HopInfo = { index: hop.index };
    const from = f.from?.helo ?? f.from?.name ?? f.from?.ip;
    if (from !== undefined) {
      info.from = f.from?.ip && f.from.ip !== from
        ? `${from} [${f.from.ip}]`
        : from;
    }
    const by = f.by?.name ?? f.by?.ip;
    if (by !== undefined) info.by = by;
    if (f.with !== undefined) info.with = f.with;
    if (f.tls) info.tls = f.tls.version ?? "TLS";
    if (f.date) info.date = f.date.toISOString();
    if (hop.delayMs !== undefined) info.delayMs = hop.delayMs;
    return info;
  });
  let dkim = entry.cache.get("dkim") as Promise<DkimResult[]> | undefined;
  if (!dkim) {
    dkim = verifyDkim(message.raw, { resolveTxt }).catch((error) => [{
      result: "temperror" as const,
      reason: error instanceof Error ? error.message : String(error),
    }]);
    entry.cache.set("dkim", dkim);
  }
  const details: Details = {
    ...entry.summary,
    headers: mime.root.fields.map((f) => ({
      name: f.name,
      value: decodeHeader(f.value),
    })),
    envelope: {
      from: message.envelope.from,
      to: [...message.envelope.to],
      mailParams: { ...message.envelope.mailParams },
      rcptParams: message.envelope.rcptParams.map((p) => ({ ...p })),
    },
    helo: message.helo,
    esmtp: message.esmtp,
    transfer: message.transfer,
    connection: message.connection,
    transcript: message.transcript.map((line) => ({ ...line })),
    text: view.text ? bodyText(message.raw, view.text) : null,
    html: html !== undefined,
    remoteResources: html === undefined ? 0 : countRemote(html),
    parts: partNode(entry, mime.root),
    files,
    hops,
    dkim: await dkim,
  };
  if (message.authMechanism !== undefined) {
    details.authMechanism = message.authMechanism;
  }
  return details;
}

/**
 * The HTML body as a document for `<iframe sandbox srcdoc>`: a
 * Content-Security-Policy first (no script; remote loads only when
 * `remote`), links opening outside, `cid:` images as `data:` URLs.
 *
 * @param entry The message.
 * @param remote Whether remote images, styles and fonts may load.
 * @returns The document, or `undefined` when the message has no HTML body.
 */
export function htmlDocument(
  entry: Entry,
  remote: boolean,
): string | undefined {
  const html = htmlText(entry);
  if (html === undefined) return undefined;
  const images = new Map<string, MimePart>();
  for (const part of entry.mime.parts) {
    if (part.contentId !== undefined && IMAGE.test(part.type)) {
      images.set(part.contentId.toLowerCase(), part);
    }
  }
  const body = html.replace(/\bcid:([^"'\s)>]+)/gi, (whole, id: string) => {
    let key = id;
    try {
      key = decodeURIComponent(id);
    } catch {
      // kept as written
    }
    const part = images.get(key.toLowerCase());
    if (!part) return whole;
    return `data:${part.type};base64,${
      toBase64(decodeBody(entry.message.raw, part))
    }`;
  });
  const csp = remote ? REMOTE_BODY_CSP : BODY_CSP;
  return `<!DOCTYPE html><html><head><meta charset="utf-8">` +
    `<meta http-equiv="Content-Security-Policy" content="${csp}">` +
    `<meta name="referrer" content="no-referrer"><base target="_blank">` +
    `</head>${body}`;
}

/** `filename="…"` for old agents and `filename*=UTF-8''…` (RFC 6266). */
function disposition(kind: "attachment" | "inline", name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, "_");
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/**
 * A part, decoded, to download (or to show, for a raster image asked for
 * `inline`). Served under a sandboxing policy, never sniffed.
 *
 * @param entry The message.
 * @param part The part.
 * @param inline Whether to show rather than download (raster images only).
 * @returns The response.
 */
export function partResponse(
  entry: Entry,
  part: MimePart,
  inline: boolean,
): Response {
  const body = decodeBody(entry.message.raw, part);
  let type = part.type;
  const charset = part.params["charset"];
  if (
    type.startsWith("text/") && charset && /^[A-Za-z0-9_.:-]+$/.test(charset)
  ) {
    type += `; charset=${charset}`;
  }
  const show = inline && RASTER.test(part.type);
  return new Response(body.slice(), {
    headers: {
      ...UNTRUSTED_HEADERS,
      "content-type": type,
      "content-disposition": disposition(
        show ? "inline" : "attachment",
        fileName(entry, part),
      ),
    },
  });
}

/**
 * The message as received: as text to read, or as a `.eml` to download.
 *
 * @param entry The message.
 * @param download Whether to download it.
 * @returns The response.
 */
export function rawResponse(entry: Entry, download: boolean): Response {
  return new Response(entry.message.raw.slice(), {
    headers: {
      ...UNTRUSTED_HEADERS,
      "content-type": download ? "message/rfc822" : "text/plain; charset=utf-8",
      ...(download
        ? {
          "content-disposition": disposition(
            "attachment",
            `message-${entry.id}.eml`,
          ),
        }
        : {}),
    },
  });
}

/**
 * The `Received:` hops as an SVG picture.
 *
 * @param entry The message.
 * @returns The SVG, or `undefined` when the message has no Received field.
 */
export function hopsPicture(entry: Entry): string | undefined {
  const hops = hopsOf(entry);
  return hops.length === 0 ? undefined : hopsToSvg(hops);
}
