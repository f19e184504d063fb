import { hasControlOrC1 } from "../protocol/_control.ts";
import { formatDate } from "../mime/_date.ts";
import { FOLD_AT, MAX_LINE } from "../mime/_header.ts";
import { isIpv4, parseIp } from "./_ip.ts";
import type { ReceivedFieldInit } from "./received_field.ts";

const PREFIX = "Received: ".length;

const KEYWORDS = /^(?:from|by|via|with|id|for)$/i;

function fail(what: string, value: unknown, why: string): never {
  throw new TypeError(
    `Cannot format Received field: ${what} ${JSON.stringify(value)} ${why}`,
  );
}

function text(what: string, value: unknown): string {
  if (typeof value !== "string") fail(what, value, "is not a string");
  if (value === "") fail(what, value, "is empty");
  if (hasControlOrC1(value)) {
    fail(what, value, "contains a control character");
  }
  return value;
}

/** A host name as HELO or a reverse lookup gives it: no white space or specials. */
function domain(what: string, value: unknown): string {
  const v = text(what, value);
  if (
    /[\s()<>;"\\[\]]/.test(v) || KEYWORDS.test(v) || parseIp(v) !== undefined
  ) {
    fail(what, value, "is not a host name");
  }
  return v;
}

/** A HELO argument: a host name or an address literal. */
function helo(value: unknown): string {
  const v = text("from.helo", value);
  if (/^\[[^\s[\]\\]+\]$/.test(v)) return v;
  return domain("from.helo", v);
}

function ip(what: string, value: unknown): string {
  const v = text(what, value);
  const parsed = parseIp(v);
  if (parsed === undefined || parsed !== v.toLowerCase()) {
    fail(what, value, "is not an IPv4 or IPv6 address");
  }
  return isIpv4(parsed) ? `[${parsed}]` : `[IPv6:${parsed}]`;
}

/** An atom, or words of atoms for `with` (`Microsoft SMTP Server`). */
function atoms(what: string, value: unknown, spaces: boolean): string {
  const v = text(what, value);
  const words = v.split(" ");
  if (
    (!spaces && words.length > 1) ||
    words.some((w) =>
      w === "" || /[\s()<>;"\\[\],]/.test(w) || KEYWORDS.test(w)
    )
  ) {
    fail(what, value, "is not a word (or words) without specials");
  }
  return v;
}

function address(value: unknown): string {
  const v = text("for", value);
  if (/[<>]/.test(v)) fail("for", value, "holds an angle bracket");
  return `<${v}>`;
}

/**
 * Formats the body of a `Received:` field, as a server prepends it to a
 * message it accepts (RFC 5321 §4.4): `from` with the TCP-info comment
 * (reverse-DNS name and address), `by`, `via`, `with`, `id`, `for`, TLS
 * details as a `(version=… cipher=…)` comment, and the date after `;` in
 * RFC 5322 form (UTC). A local submission (`from.user` alone) is written
 * as sendmail(8) does, `(from user)`. The field is folded before 78
 * characters (counting `Received: `), with CRLF and a tab.
 *
 * {@linkcode parseReceived} reads what this writes back into the same
 * parts (but for an address-literal `from.helo` given without `from.ip`,
 * which reads back as the address, and the date's milliseconds, which are
 * not written).
 *
 * @param fields The parts; `by` is required, `date` defaults to now.
 * @returns The field body, without `Received:` and without a final CRLF.
 * @throws {TypeError} When a value is not a string, is empty, holds a
 * control character (CR, LF, tab, NUL, C1 …), is not a host name, address,
 * atom or address as its place needs, when `by` names no host, or when the
 * date is not a valid `Date`.
 * @throws {RangeError} When the date's year is outside 1900–9999, or a
 * single value is longer than a line may be (998 characters).
 *
 * @example What a server prepends
 * ```ts
 * import { formatReceived, parseReceived } from "@x/sendmail/received";
 * import assert from "node:assert/strict";
 *
 * const body = formatReceived({
 *   from: { helo: "client.example", name: "host.example.org", ip: "192.0.2.7" },
 *   by: { name: "mx.example.net" },
 *   with: "ESMTPS",
 *   id: "4F1B2C3D",
 *   for: ["ada@example.net"],
 *   tls: { version: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384" },
 *   date: new Date("2026-09-24T10:00:05Z"),
 * });
 * assert.equal(
 *   body,
 *   "from client.example (host.example.org [192.0.2.7])\r\n" +
 *     "\tby mx.example.net with ESMTPS id 4F1B2C3D for <ada@example.net>\r\n" +
 *     "\t(version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384);\r\n" +
 *     "\tThu, 24 Sep 2026 10:00:05 +0000",
 * );
 * assert.equal(parseReceived(body).from?.ip, "192.0.2.7");
 * ```
 */
export function formatReceived(fields: ReceivedFieldInit): string {
  if (typeof fields !== "object" || fields === null) {
    throw new TypeError(
      "Cannot format Received field: expected an object of fields",
    );
  }
  // Each part is a unit that stays on one line; the field folds between
  // parts.
  const parts: string[] = [];
  const from = fields.from;
  if (from !== undefined) {
    const network = from.helo !== undefined || from.name !== undefined ||
      from.ip !== undefined;
    if (network) {
      const name = from.name === undefined
        ? undefined
        : domain("from.name", from.name);
      const address = from.ip === undefined
        ? undefined
        : ip("from.ip", from.ip);
      if (from.helo !== undefined) {
        parts.push(`from ${helo(from.helo)}`);
        const info = [name, address].filter((p) => p !== undefined).join(" ");
        if (info !== "") parts.push(`(${info})`);
      } else if (address !== undefined) {
        // No HELO name: the address literal stands in for it.
        parts.push(`from ${address}`);
        if (name !== undefined) parts.push(`(${name})`);
      } else {
        parts.push(`from (${name})`);
      }
      if (from.user !== undefined) {
        parts.push(`(user ${atoms("from.user", from.user, false)})`);
      }
    } else if (from.user !== undefined) {
      // sendmail(8)'s submission stamp: "(from alice@localhost)".
      const user = text("from.user", from.user);
      if (/[\s()\\]/.test(user)) {
        fail("from.user", user, "holds white space or a parenthesis");
      }
      parts.push(`(from ${user})`);
    }
  }
  const by = fields.by;
  if (by?.name === undefined && by?.ip === undefined) {
    throw new TypeError(
      "Cannot format Received field: by.name or by.ip is required",
    );
  }
  // Like Postfix and sendmail, "by" begins a line after "from".
  const byIndex = parts.length;
  if (by.name !== undefined) {
    parts.push(`by ${domain("by.name", by.name)}`);
    if (by.ip !== undefined) parts.push(`(${ip("by.ip", by.ip)})`);
  } else {
    parts.push(`by ${ip("by.ip", by.ip)}`);
  }
  if (fields.via !== undefined) {
    parts.push(`via ${atoms("via", fields.via, true)}`);
  }
  if (fields.with !== undefined) {
    parts.push(`with ${atoms("with", fields.with, true)}`);
  }
  if (fields.id !== undefined) {
    const id = text("id", fields.id);
    if (/[\s()<>;"\\]/.test(id)) {
      fail("id", id, "holds white space or specials");
    }
    parts.push(`id ${id.includes("@") ? `<${id}>` : id}`);
  }
  if (fields.for !== undefined) {
    if (!Array.isArray(fields.for)) fail("for", fields.for, "is not an array");
    const list = fields.for.map(address);
    list.forEach((a, i) => {
      parts.push(
        i === 0
          ? `for ${a}${list.length > 1 ? "," : ""}`
          : i < list.length - 1
          ? `${a},`
          : a,
      );
    });
  }
  const tls = fields.tls;
  if (
    tls !== undefined && (tls.version !== undefined || tls.cipher !== undefined)
  ) {
    const details = [
      tls.version === undefined
        ? undefined
        : `version=${atoms("tls.version", tls.version, false)}`,
      tls.cipher === undefined
        ? undefined
        : `cipher=${atoms("tls.cipher", tls.cipher, false)}`,
    ].filter((d) => d !== undefined);
    parts.push(`(${details.join(" ")})`);
  }
  const date = fields.date ?? new Date();
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
    throw new TypeError(
      "Cannot format Received field: the date is not a valid Date",
    );
  }
  const year = date.getUTCFullYear();
  if (year < 1900 || year > 9999) {
    throw new RangeError(
      `Cannot format Received field: year ${year} is outside 1900 to 9999`,
    );
  }
  parts[parts.length - 1] += ";";
  parts.push(formatDate(date));
  return fold(parts, byIndex);
}

function fold(parts: string[], breakAt: number): string {
  const lines: string[] = [];
  let line = "";
  const width = () => (lines.length === 0 ? PREFIX : 1) + line.length;
  const add = (unit: string, forceBreak: boolean) => {
    if (PREFIX + unit.length > MAX_LINE) {
      throw new RangeError(
        `Cannot format Received field: a value of ${unit.length} characters does not fit on a line`,
      );
    }
    if (line === "") {
      line = unit;
    } else if (forceBreak || width() + 1 + unit.length > FOLD_AT) {
      lines.push(line);
      line = unit;
    } else {
      line += ` ${unit}`;
    }
  };
  for (const [i, part] of parts.entries()) {
    if (PREFIX + part.length <= FOLD_AT || !part.includes(" ")) {
      add(part, i === breakAt);
    } else {
      // Longer than a line: fold between its words (a comment folds inside).
      part.split(" ").forEach((word, j) => add(word, j === 0 && i === breakAt));
    }
  }
  lines.push(line);
  return lines.join("\r\n\t");
}
