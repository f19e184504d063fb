import { parseIp } from "./_ip.ts";
import { firstDate, lastDate } from "./_scan_date.ts";
import { readTls, type TlsFound } from "./_tls.ts";
import {
  lastTopLevelSemicolon,
  type Token,
  tokenize,
  unfold,
} from "./_tokens.ts";
import type {
  ReceivedBy,
  ReceivedField,
  ReceivedFrom,
} from "./received_field.ts";

const KEYWORDS = new Set(["from", "by", "via", "with", "id", "for"]);

/** One clause: its keyword and the words and comments up to the next one. */
interface Clause {
  keyword: string;
  tokens: Token[];
}

/** Words that sit where a reverse-DNS name goes but are not names. */
const NOT_NAMES = new Set([
  "unknown",
  "unverified",
  "verified",
  "may",
  "forged",
  "softdnserr",
  "account",
  "authenticated",
  "uid",
  "user",
  "local",
  "helo",
  "ehlo",
  "lhlo",
]);

const HOSTNAME = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;

function stripDot(name: string): string {
  return name.endsWith(".") && name.length > 1 ? name.slice(0, -1) : name;
}

/** A reverse-DNS name candidate: a host name that is not an address or a marker word. */
function asName(word: string | undefined): string | undefined {
  if (word === undefined) return undefined;
  let w = word.replace(/^["']|["',;]$/g, "");
  const at = w.lastIndexOf("@");
  if (at !== -1) w = w.slice(at + 1);
  w = stripDot(w);
  if (!HOSTNAME.test(w) || NOT_NAMES.has(w.toLowerCase())) return undefined;
  if (!/[A-Za-z]/.test(w) || parseIp(w) !== undefined) return undefined;
  return w;
}

function words(clause: Clause | undefined): string[] {
  return clause?.tokens.flatMap((t) => t.kind === "word" ? [t.text] : []) ??
    [];
}

function comments(clause: Clause | undefined): string[] {
  return clause?.tokens.flatMap((t) => t.kind === "comment" ? [t.text] : []) ??
    [];
}

/** The words of a clause before its first comment. */
function leadingWords(clause: Clause): string[] {
  const out: string[] = [];
  for (const token of clause.tokens) {
    if (token.kind === "comment") break;
    out.push(token.text);
  }
  return out;
}

function trimPunctuation(word: string): string {
  return word.replace(/[,;]+$/, "");
}

/** The tokens of a comment's text: split at white space and commas, `name[ip]` unglued. */
function commentWords(text: string): string[] {
  return text.replace(/([^\s[])\[/g, "$1 [").split(/[\s,]+/).filter((w) =>
    w !== ""
  );
}

/** An address in a comment word: `[ip]`, `ip`, `ident@ip`, `ip:port`, `"ip"`. */
function wordIp(word: string): string | undefined {
  let w = word.replace(/^["(]+|[")]+$/g, "");
  const at = w.lastIndexOf("@");
  if (at !== -1) w = w.slice(at + 1);
  return parseIp(w);
}

/** What a comment after `from` says about the client. */
interface FromComment {
  helo?: string | undefined;
  name?: string | undefined;
  ip?: string | undefined;
  user?: string | undefined;
}

const HELO =
  /(?:^|[\s(,"])(?:HELO|EHLO|LHLO)(?:\s*=\s*|\s+|$)(\[[^\]]*\]|[^\s()",;\]]+)?/i;

function readFromComment(text: string): FromComment {
  const out: FromComment = {};
  let rest = text;
  const helo = HELO.exec(rest);
  if (helo) {
    // qmail writes "(HELO )" when the client gave an empty name.
    out.helo = helo[1] ?? "";
    rest = rest.slice(0, helo.index) + " " +
      rest.slice(helo.index + helo[0].length);
  }
  const uid = /^\s*(?:uid|userid|user)\s+(\S+)\s*$/i.exec(rest);
  if (uid) {
    out.user = uid[1]!;
    return out;
  }
  const list = commentWords(rest).filter((w) =>
    !/^(?:ident|port|helo)=/i.test(w)
  );
  // "(name [ip])": the word before the first bracketed one is the name.
  const bracket = list.findIndex((w) => w.startsWith("["));
  for (const word of list) {
    const ip = wordIp(word);
    if (ip !== undefined) {
      out.ip = ip;
      break;
    }
  }
  if (bracket > 0 && list[bracket - 2]?.toLowerCase() !== "account") {
    const name = asName(list[bracket - 1]);
    if (name !== undefined) out.name = name;
  } else if (bracket === -1 && out.ip === undefined && list.length === 1) {
    // "(name)" alone, or sendmail's "(ident@name)".
    const name = asName(list[0]);
    if (name !== undefined) out.name = name;
  }
  return out;
}

/** Where the first word of a `from` clause stands. */
type FirstWord =
  | { kind: "ip"; ip: string; literal: boolean }
  | { kind: "name"; text: string }
  | { kind: "user"; text: string }
  | { kind: "none" };

function classify(word: string | undefined): FirstWord {
  const w = word === undefined ? "" : trimPunctuation(word);
  if (w === "") return { kind: "none" };
  if (w.startsWith("[")) {
    const ip = parseIp(w);
    return ip === undefined
      ? { kind: "none" }
      : { kind: "ip", ip, literal: true };
  }
  const ip = parseIp(w);
  if (ip !== undefined) return { kind: "ip", ip, literal: false };
  if (w.includes("@")) return { kind: "user", text: w };
  if (w.toLowerCase() === "unknown" || w.startsWith("<")) {
    return { kind: "none" };
  }
  return { kind: "name", text: stripDot(w) };
}

/** `claiming to be "helo"` (smap, some smtpd proxies). */
function claimedHelo(list: string[]): string | undefined {
  for (let i = 0; i + 3 < list.length; i++) {
    if (
      list[i]!.toLowerCase() === "claiming" &&
      list[i + 1]!.toLowerCase() === "to" &&
      list[i + 2]!.toLowerCase() === "be"
    ) {
      return list[i + 3]!.replace(/^"|"?,?$/g, "");
    }
  }
  return undefined;
}

function readFrom(
  clause: Clause | undefined,
  exim: boolean,
  local: boolean,
): ReceivedFrom {
  const from: ReceivedFrom = {};
  if (!clause) return from;
  const list = words(clause);
  const first = classify(list[0]);
  const found: FromComment = {};
  for (const text of comments(clause)) {
    const c = readFromComment(text);
    found.helo ??= c.helo;
    found.name ??= c.name;
    found.ip ??= c.ip;
    found.user ??= c.user;
  }
  const explicitHelo = found.helo ?? claimedHelo(list);
  // Addresses written outside comments after the first word:
  // "from host [192.0.2.1] by …" (GMX, MDaemon, old Exim).
  const strayIp = list.slice(1).map((w) =>
    parseIp(trimPunctuation(w).replace(/[()]/g, ""))
  ).find((ip) => ip !== undefined);

  // A user rather than a host: Exim's "from root by host with local", and
  // any Exim field whose first word has no address with it (Exim writes
  // "from host ([ip])" for network clients, "from ident" otherwise).
  const localUser = first.kind === "name" && found.user === undefined &&
    ((local && !first.text.includes(".")) ||
      (exim && found.ip === undefined && strayIp === undefined));
  if (first.kind === "user") {
    from.user = first.text;
  } else if (localUser) {
    // "from root (helo=x) by host with local-esmtp".
    from.user = first.text;
    if (explicitHelo) from.helo = explicitHelo;
  } else if (explicitHelo !== undefined) {
    // qmail and Exim: "from rdns (HELO helo) (ip)"; the first word is the
    // reverse-DNS name (or the address, when there is none).
    if (explicitHelo !== "") from.helo = explicitHelo;
    if (first.kind === "name") from.name = first.text;
    if (first.kind === "ip") from.ip = first.ip;
  } else if (exim && found.name === undefined) {
    // Exim writes the verified host name first and the HELO name only
    // when it differs (helo=…), so without helo= they are the same.
    if (first.kind === "name") {
      from.name = first.text;
      from.helo = first.text;
    }
    if (first.kind === "ip") from.ip = first.ip;
  } else {
    // Postfix, sendmail, Exchange, Gmail: "from helo (rdns [ip])".
    const otherIp = found.ip ?? strayIp;
    if (first.kind === "name") from.helo = first.text;
    if (first.kind === "ip") {
      if (otherIp !== undefined && (first.literal || otherIp !== first.ip)) {
        // The client said "HELO [192.0.2.1]" (or a bare address).
        from.helo = trimPunctuation(list[0]!);
      } else {
        from.ip = first.ip;
      }
    }
  }
  if (found.name !== undefined && from.name === undefined) {
    from.name = found.name;
  }
  const ip = from.ip ?? found.ip ?? strayIp;
  if (ip !== undefined) from.ip = ip;
  if (found.user !== undefined) from.user ??= found.user;
  return from;
}

function readBy(clause: Clause | undefined): ReceivedBy {
  const by: ReceivedBy = {};
  if (!clause) return by;
  const list = words(clause);
  const first = list[0] === undefined ? undefined : trimPunctuation(list[0]);
  if (first !== undefined && first !== "" && !first.startsWith("<")) {
    const ip = parseIp(first);
    if (ip !== undefined) by.ip = ip;
    else if (!first.startsWith("[")) by.name = stripDot(first);
  }
  if (by.ip === undefined) {
    for (const text of comments(clause)) {
      const ip = parseIp(text.trim());
      if (ip !== undefined) {
        by.ip = ip;
        break;
      }
    }
  }
  const stray = list.slice(1).map((w) => parseIp(trimPunctuation(w))).find(
    (ip) => ip !== undefined,
  );
  if (by.ip === undefined && stray !== undefined) by.ip = stray;
  return by;
}

/** Recipients after `for`: `<a@b>`, `a@b`, `<a@b>, <c@d>`, `a@b,c@d`. */
function readFor(clauses: Clause[]): string[] {
  const out: string[] = [];
  for (const clause of clauses) {
    let first = true;
    for (const token of clause.tokens) {
      if (token.kind === "comment") break;
      let took = false;
      for (const m of token.text.matchAll(/<([^>]*)>|([^\s,;<>]+)/g)) {
        const address = m[1] ?? m[2]!;
        if (address === "") continue;
        if (m[1] !== undefined || first || address.includes("@")) {
          out.push(address.trim());
          took = true;
        }
      }
      if (!took) break;
      first = false;
    }
  }
  return out;
}

function readId(clause: Clause | undefined): string | undefined {
  const word = clause === undefined ? undefined : leadingWords(clause)[0];
  if (word === undefined) return undefined;
  const id = trimPunctuation(word).replace(/^<(.*)>$/, "$1");
  return id === "" ? undefined : id;
}

/**
 * An id with "for" glued to it, "id 846CF2117for  <a@b>" (seen in the
 * wild): the clause is split into the id and a "for" clause.
 */
function unglueFor(clauses: Clause[]): void {
  const index = clauses.findIndex((c) => c.keyword === "id");
  const clause = clauses[index];
  if (!clause) return;
  const [first, second] = leadingWords(clause);
  if (
    first !== undefined && second?.startsWith("<") &&
    /^[^<>]+for$/i.test(first)
  ) {
    const rest = clause.tokens.slice(1);
    clause.tokens = [{ kind: "word", text: first.slice(0, -3) }];
    clauses.splice(index + 1, 0, { keyword: "for", tokens: rest });
  }
}

/** Local submission stamps that have no `from` clause. */
function readLocalUser(
  lead: Token[],
  byComments: string[],
): string | undefined {
  for (const token of lead) {
    if (token.kind !== "comment") continue;
    const qmail = /^qmail \d+ invoked by uid (\S+)$/i.exec(token.text.trim());
    if (qmail) return qmail[1];
    // sendmail's "(from alice@localhost)", majordomo's "(majordomo@host)".
    const m = /^(?:from\s+)?([^\s@()[\]]+@[^\s()[\]]+)$/i.exec(
      token.text.trim(),
    );
    if (m) return m[1];
  }
  for (const text of byComments) {
    // Postfix: "by host (Postfix, from userid 1000)".
    const m = /\bfrom userid (\S+?)\)?$/i.exec(text.trim());
    if (m) return m[1];
  }
  return undefined;
}

/** A `(from host [ip])` comment standing in for a `from` clause (NAVGW). */
function leadFromComment(lead: Token[]): ReceivedFrom {
  for (const token of lead) {
    if (token.kind !== "comment") continue;
    const m = /^from\s+(.+\[.*)$/i.exec(token.text.trim());
    if (m) {
      const c = readFromComment(m[1]!);
      const from: ReceivedFrom = {};
      if (c.name !== undefined) from.name = c.name;
      if (c.ip !== undefined) from.ip = c.ip;
      return from;
    }
  }
  return {};
}

function readWith(
  clause: Clause | undefined,
  tls: TlsFound,
): string | undefined {
  if (!clause) return undefined;
  const list = leadingWords(clause).map(trimPunctuation).filter((w) =>
    w !== ""
  );
  if (list.length === 0) return undefined;
  // MessageLabs: "with ECDHE-RSA-AES256-GCM-SHA384 encrypted SMTP".
  const encrypted = list.findIndex((w) => w.toLowerCase() === "encrypted");
  if (encrypted > 0 && encrypted + 1 < list.length) {
    tls.cipher ??= list[encrypted - 1];
    tls.stated = true;
    return list.slice(encrypted + 1).join(" ");
  }
  // "with ESMTP/TLS/DHE-RSA-AES256-GCM-SHA384".
  const slash = /^([^/]+)\/TLS\/(.+)$/i.exec(list[0]!);
  if (slash && list.length === 1) {
    tls.cipher ??= slash[2];
    tls.stated = true;
    return slash[1];
  }
  return list.join(" ");
}

/** Protocol names that mean the message came over TLS (RFC 3848 and in use). */
const TLS_PROTOCOLS =
  /^(?:local-)?(?:utf8)?(?:e?smtps|esmtpsa|lmtps|lmtpsa|smtpsa|esmtp-tls)$/i;

function assemble(value: string): ReceivedField {
  const field: ReceivedField = { raw: value };
  const text = unfold(value);

  // The date: after the last ";" outside comments, else a date at the end.
  let clauseText = text;
  let date: Date | undefined;
  const semicolon = lastTopLevelSemicolon(text);
  if (semicolon !== -1) {
    clauseText = text.slice(0, semicolon);
    date = firstDate(text.slice(semicolon + 1))?.date;
  } else {
    const found = lastDate(text);
    if (found) {
      clauseText = text.slice(0, found.start);
      date = found.date;
    } else if (text.includes(";")) {
      // A ";" inside an unclosed comment.
      const last = text.lastIndexOf(";");
      clauseText = text.slice(0, last);
      date = firstDate(text.slice(last + 1))?.date;
    }
  }

  // Clauses: the tokens after each keyword, up to the next one.
  const lead: Token[] = [];
  const clauses: Clause[] = [];
  for (const token of tokenize(clauseText)) {
    const keyword = token.kind === "word" ? token.text.toLowerCase() : "";
    if (KEYWORDS.has(keyword)) {
      clauses.push({ keyword, tokens: [] });
    } else if (clauses.length > 0) {
      clauses.at(-1)!.tokens.push(token);
    } else {
      lead.push(token);
    }
  }
  unglueFor(clauses);
  // The first clause of each keyword counts, and "from" only when it comes
  // first: XMail and smail repeat "from" later for the envelope sender,
  // mailman writes "by outflank-mailman (output) from mailman id …".
  // "for" adds up.
  const first = (keyword: string) => clauses.find((c) => c.keyword === keyword);
  const fromClause = clauses[0]?.keyword === "from" ? clauses[0] : undefined;
  const byClause = first("by");
  const withClause = first("with");

  const allComments = [lead, ...clauses.map((c) => c.tokens)].flatMap((ts) =>
    ts.flatMap((t) => t.kind === "comment" ? [t.text] : [])
  );
  const allWords = clauses.flatMap((c) => words(c));
  const tls = readTls(allComments, allWords);
  const protocol = readWith(withClause, tls);
  if (protocol !== undefined) field.with = protocol;

  const exim = allComments.some((c) => /\bExim\b/.test(c)) ||
    comments(fromClause).some((c) => /\b(?:helo|ident)=/i.test(c));
  const local = protocol !== undefined && /^local\b/i.test(protocol);
  let from = readFrom(fromClause, exim, local);
  if (!fromClause) from = leadFromComment(lead);
  const user = readLocalUser(lead, comments(byClause));
  if (user !== undefined && from.user === undefined && !fromClause) {
    from.user = user;
  }
  if (Object.keys(from).length > 0) field.from = from;

  const by = readBy(byClause);
  if (by.name !== undefined || by.ip !== undefined) field.by = by;
  const via = first("via");
  const viaWords = via
    ? leadingWords(via).map(trimPunctuation).filter((w) => w !== "")
    : [];
  if (viaWords.length > 0) field.via = viaWords.join(" ");
  const id = readId(first("id"));
  if (id !== undefined) field.id = id;
  const recipients = readFor(clauses.filter((c) => c.keyword === "for"));
  if (recipients.length > 0) field.for = recipients;

  if (
    tls.stated || tls.version !== undefined || tls.cipher !== undefined ||
    (protocol !== undefined && TLS_PROTOCOLS.test(protocol))
  ) {
    field.tls = {};
    if (tls.version !== undefined) field.tls.version = tls.version;
    if (tls.cipher !== undefined) field.tls.cipher = tls.cipher;
  }
  if (date !== undefined) field.date = date;
  return field;
}

/**
 * Parses the body of a `Received:` field (the text after `Received:`) as
 * real servers write it, not only as RFC 5321 §4.4 specifies it: Postfix,
 * sendmail, Exim, qmail, OpenSMTPD, Microsoft Exchange and Outlook.com,
 * Gmail, Amazon SES, SendGrid, mailing list software and more. It never
 * throws: what it cannot read stays in `raw` and the fields it could not
 * find are absent.
 *
 * `from` keeps the three names of the client apart: `helo` (what it said
 * in HELO/EHLO), `name` (its reverse-DNS name) and `ip` (its address),
 * following each server's convention (Postfix and sendmail write `from
 * helo (name [ip])`, Exim and qmail `from name ([ip] helo=…)` /
 * `from name (HELO helo) (ip)`). `date` is the date after the last `;`
 * (or at the end when a server omits the `;`); it is absent when missing
 * or unreadable, never an Invalid Date.
 *
 * @param value The field body, folding (CRLF and white space) included.
 * @returns The parts found, and `raw`, exactly `value`.
 * @throws Never: any input gives a result.
 *
 * @example Postfix, over TLS
 * ```ts
 * import { parseReceived } from "@x/sendmail/received";
 * import assert from "node:assert/strict";
 *
 * const field = parseReceived(
 *   "from mail.example.org (mail.example.org [192.0.2.10])\r\n" +
 *     "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))\r\n" +
 *     "\tby mx.example.net (Postfix) with ESMTPS id 4F1B2C3D\r\n" +
 *     "\tfor <ada@example.net>; Thu, 24 Sep 2026 10:00:05 +0200 (CEST)",
 * );
 * assert.deepEqual(field.from, {
 *   helo: "mail.example.org",
 *   name: "mail.example.org",
 *   ip: "192.0.2.10",
 * });
 * assert.deepEqual(field.by, { name: "mx.example.net" });
 * assert.equal(field.with, "ESMTPS");
 * assert.deepEqual(field.tls, { version: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384" });
 * assert.deepEqual(field.for, ["ada@example.net"]);
 * assert.equal(field.date?.toISOString(), "2026-09-24T08:00:05.000Z");
 * ```
 *
 * @example Whatever the input, a result
 * ```ts
 * import { parseReceived } from "@x/sendmail/received";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseReceived("(((garbage; 31 Feb 2024 25:00"), {
 *   raw: "(((garbage; 31 Feb 2024 25:00",
 * });
 * ```
 */
export function parseReceived(value: string): ReceivedField {
  let raw: string;
  try {
    raw = typeof value === "string" ? value : String(value);
  } catch {
    raw = "";
  }
  try {
    return assemble(raw);
  } catch {
    return { raw };
  }
}
