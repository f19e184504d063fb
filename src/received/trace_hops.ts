import {
  headerOfBytes,
  headerOfStream,
  headerOfText,
  receivedValues,
} from "./_header_section.ts";
import { isLoopback, parseIp } from "./_ip.ts";
import { parseReceived } from "./parse_received.ts";
import type { ReceivedField } from "./received_field.ts";

/**
 * How a hop's sender relates to the host that wrote the field before it:
 * - `"first"`: the oldest hop, with nothing before it;
 * - `"linked"`: its `from` names the previous hop's `by` (its HELO name,
 *   reverse-DNS name or address), or it came over loopback within the same
 *   host;
 * - `"broken"`: both are named, and they differ: a hop is missing, or a
 *   field was forged or rewritten;
 * - `"unknown"`: one of them is not named (a local submission, a field
 *   without `from`).
 */
export type HopLink = "first" | "linked" | "broken" | "unknown";

/** One hop of a message's path: one `Received:` field. */
export interface Hop {
  /** Its position, from 1 for the oldest field (the last in the header). */
  index: number;
  /** The parsed field. */
  field: ReceivedField;
  /**
   * Milliseconds from the previous hop's date to this one's; negative when
   * this hop is dated earlier (see `clockSkew`). Absent for the first hop
   * and when either date is missing.
   */
  delayMs?: number;
  /**
   * Milliseconds from the first dated hop to this one: the last hop's
   * `elapsedMs` is the total time in transit. Absent when this hop has no
   * date, and for the first dated hop itself.
   */
  elapsedMs?: number;
  /** Whether this hop is dated before the previous one: some clock is wrong. */
  clockSkew: boolean;
  /** Whether the `from → by` chain holds here; see {@linkcode HopLink}. */
  link: HopLink;
}

function normalize(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  let n = name.trim().toLowerCase().replace(/\.$/, "");
  const ip = parseIp(n);
  if (ip !== undefined) n = ip;
  return n === "" ? undefined : n;
}

function sameHost(a: string, b: string): boolean {
  if (a === b) return true;
  // A short name and a full one: "mailhost" and "mailhost.example.com".
  if (parseIp(a) !== undefined || parseIp(b) !== undefined) return false;
  const [short, long] = a.length < b.length ? [a, b] : [b, a];
  return !short.includes(".") && long.startsWith(`${short}.`);
}

function isLocal(name: string): boolean {
  return name === "localhost" || name === "localhost.localdomain" ||
    (parseIp(name) !== undefined && isLoopback(parseIp(name)!));
}

function link(previous: ReceivedField, current: ReceivedField): HopLink {
  const senders = [current.from?.helo, current.from?.name, current.from?.ip]
    .map(normalize).filter((n) => n !== undefined);
  const receivers = [previous.by?.name, previous.by?.ip].map(normalize)
    .filter((n) => n !== undefined);
  if (senders.length === 0 || receivers.length === 0) return "unknown";
  if (senders.some((s) => receivers.some((r) => sameHost(s, r)))) {
    return "linked";
  }
  // Over loopback within one host (a content filter, a list manager).
  const here = [current.by?.name, current.by?.ip].map(normalize).filter((n) =>
    n !== undefined
  );
  if (
    senders.some(isLocal) &&
    here.some((h) => receivers.some((r) => sameHost(h, r)))
  ) {
    return "linked";
  }
  return "broken";
}

function hops(values: readonly string[]): Hop[] {
  // The newest field comes first in a message; hops go oldest first.
  const fields = [...values].reverse().map(parseReceived);
  const out: Hop[] = [];
  let firstDate: number | undefined;
  fields.forEach((field, i) => {
    const hop: Hop = {
      index: i + 1,
      field,
      clockSkew: false,
      link: i === 0 ? "first" : link(fields[i - 1]!, field),
    };
    const time = field.date?.getTime();
    const previous = fields[i - 1]?.date?.getTime();
    if (time !== undefined && previous !== undefined) {
      hop.delayMs = time - previous;
      hop.clockSkew = hop.delayMs < 0;
    }
    if (time !== undefined) {
      if (firstDate === undefined) firstDate = time;
      else hop.elapsedMs = time - firstDate;
    }
    out.push(hop);
  });
  return out;
}

function valuesOf(list: readonly unknown[]): string[] {
  return list.map((value, i) => {
    if (typeof value !== "string") {
      throw new TypeError(
        `Cannot trace hops: field ${i + 1} of the list is not a string`,
      );
    }
    // A whole line, "Received: …", is taken too.
    return value.replace(/^received[ \t]*:/i, "");
  });
}

/**
 * Traces the path of a message: one {@linkcode Hop} per `Received:` field,
 * oldest first, each with the parsed field, the delay from the previous
 * hop, whether the clocks disagree, and whether the `from → by` chain
 * holds.
 *
 * The message may be its text, its bytes, or the bodies of its `Received:`
 * fields in the order they appear in the message (newest first; a whole
 * `Received: …` line is taken too). Only the header section is read (up to
 * the first empty line). For a stream or a `Blob`, see the overload that
 * returns a promise.
 *
 * @param message The message, or its `Received:` field bodies.
 * @returns The hops, oldest first; empty when there is no `Received:` field.
 * @throws {TypeError} When `message` is none of these, or a list holds
 * something other than strings.
 *
 * @example The path of a message, oldest hop first
 * ```ts
 * import { traceHops } from "@x/sendmail/received";
 * import assert from "node:assert/strict";
 *
 * const hops = traceHops(
 *   "Received: from relay.example.net (relay.example.net [192.0.2.5])\r\n" +
 *     "\tby mx.example.com (Postfix) with ESMTPS id B2; Mon, 2 Mar 2026 10:00:07 +0000\r\n" +
 *     "Received: from laptop.local (home.example.org [198.51.100.7])\r\n" +
 *     "\tby relay.example.net (Postfix) with ESMTPSA id A1; Mon, 2 Mar 2026 10:00:05 +0000\r\n" +
 *     "Subject: hello\r\n\r\nbody\r\n",
 * );
 * assert.deepEqual(hops.map((h) => h.field.by?.name), ["relay.example.net", "mx.example.com"]);
 * assert.equal(hops[1]!.delayMs, 2000);
 * assert.equal(hops[1]!.link, "linked");
 * ```
 */
export function traceHops(
  message: string | Uint8Array | readonly string[],
): Hop[];
/**
 * Traces the path of a message read from a stream or a `Blob`: the same as
 * the synchronous form, reading only the header section; the stream is
 * cancelled once the empty line that ends it has been read.
 *
 * @param message The message as a stream of bytes, or a `Blob`.
 * @returns A promise of the hops, oldest first.
 * @throws {TypeError} When the stream gives something other than bytes (the
 * promise rejects).
 *
 * @example Tracing a message file without reading its body
 * ```ts ignore
 * import { traceHops } from "@x/sendmail/received";
 *
 * const file = await Deno.open("message.eml");
 * const hops = await traceHops(file.readable);
 * ```
 */
export function traceHops(
  message: ReadableStream<Uint8Array> | Blob,
): Promise<Hop[]>;
export function traceHops(
  message:
    | string
    | Uint8Array
    | readonly string[]
    | ReadableStream<Uint8Array>
    | Blob,
): Hop[] | Promise<Hop[]> {
  if (typeof message === "string") {
    return hops(receivedValues(headerOfText(message)));
  }
  if (message instanceof Uint8Array) {
    return hops(receivedValues(headerOfBytes(message)));
  }
  if (Array.isArray(message)) return hops(valuesOf(message));
  if (typeof Blob !== "undefined" && message instanceof Blob) {
    return headerOfStream(message.stream()).then((h) =>
      hops(receivedValues(h))
    );
  }
  if (message instanceof ReadableStream) {
    return headerOfStream(message).then((h) => hops(receivedValues(h)));
  }
  throw new TypeError(
    "Cannot trace hops: expected a string, bytes, a stream, a Blob or a list of field bodies",
  );
}
