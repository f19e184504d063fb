// Address parsing, validation and formatting shared by parseAddress,
// parseAddressList, formatAddress and composeMessage.

import { hasControlOrC1 } from "../protocol/_control.ts";
import {
  decodeWords,
  encodeWords,
  MAX_ENCODED_WORD,
  needsEncoding,
} from "./_encoded_words.ts";

/** A mailbox: an optional display name and a bare address. */
export interface Mailbox {
  name?: string;
  address: string;
  group?: string;
}

/** RFC 5322 `atext`. */
const ATEXT = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+$/;
/** RFC 5322 `atext`, plus any non-ASCII character (RFC 6532). */
const UTF8_ATEXT_OR_DOT =
  /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.\u00a0-\u{10ffff}]+$/u;
const DOT_ATOM =
  /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u00a0-\u{10ffff}]+(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u00a0-\u{10ffff}]+)*$/u;
/** The longest address RFC 5321 §4.5.3.1.3 lets a path hold. */
const MAX_ADDRESS_OCTETS = 254;

const encoder = new TextEncoder();

function fail(input: string, reason: string): never {
  throw new TypeError(
    `Cannot parse address ${JSON.stringify(input)}: ${reason}`,
  );
}

/** Rejects control characters (CR, LF, NUL …) in any part of an address. */
export function assertNoControl(input: string, what: string): void {
  // C0 controls except tab, DEL and C1 controls: never accepted anywhere.
  if (hasControlOrC1(input, { allowTab: true })) {
    throw new TypeError(
      `Cannot use ${what} ${
        JSON.stringify(input)
      }: it contains a control character`,
    );
  }
}

type Token =
  | { type: "atom"; value: string }
  | { type: "quoted"; value: string; raw: string }
  | { type: "comment"; value: string }
  | { type: "angle"; value: string }
  | { type: "ws" }
  | { type: "," | ":" | ";" };

/** Splits an address header value into RFC 5322 lexical tokens. */
function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = input.length;
  while (i < n) {
    const c = input[i]!;
    if (c === " " || c === "\t") {
      while (i < n && (input[i] === " " || input[i] === "\t")) i++;
      tokens.push({ type: "ws" });
    } else if (c === '"') {
      const start = i++;
      let value = "";
      while (i < n && input[i] !== '"') {
        if (input[i] === "\\" && i + 1 < n) i++;
        value += input[i++];
      }
      if (i >= n) fail(input, "a quoted string is not closed");
      i++;
      tokens.push({ type: "quoted", value, raw: input.slice(start, i) });
    } else if (c === "(") {
      let depth = 0;
      let value = "";
      do {
        const d = input[i]!;
        if (d === "\\" && i + 1 < n) {
          value += input[i + 1];
          i += 2;
          continue;
        }
        if (d === "(") depth++;
        else if (d === ")") depth--;
        if (depth > 0 && !(d === "(" && depth === 1)) value += d;
        i++;
      } while (i < n && depth > 0);
      if (depth > 0) fail(input, "a comment is not closed");
      tokens.push({ type: "comment", value: value.trim() });
    } else if (c === "<") {
      const start = ++i;
      let quoted = false;
      while (i < n && (quoted || input[i] !== ">")) {
        if (input[i] === "\\" && quoted) i++;
        else if (input[i] === '"') quoted = !quoted;
        i++;
      }
      if (i >= n) fail(input, "an angle bracket is not closed");
      tokens.push({ type: "angle", value: input.slice(start, i) });
      i++;
    } else if (c === "," || c === ":" || c === ";") {
      tokens.push({ type: c });
      i++;
    } else if (c === ">" || c === ")") {
      fail(input, `unexpected "${c}"`);
    } else {
      // An atom, with dots, "@" and domain literals inside it.
      const start = i;
      while (i < n) {
        const d = input[i]!;
        if (d === "[") {
          while (i < n && input[i] !== "]") i++;
          if (i >= n) fail(input, "a domain literal is not closed");
          i++;
          continue;
        }
        if (d === '"' && i > start && input[i - 1] === ".") {
          // obs-local-part: atom."quoted"
          i++;
          while (i < n && input[i] !== '"') i += input[i] === "\\" ? 2 : 1;
          i++;
          continue;
        }
        if (' \t"(),:;<>'.includes(d)) break;
        i++;
      }
      tokens.push({ type: "atom", value: input.slice(start, i) });
    }
  }
  return tokens;
}

/** Joins phrase tokens into a display name, decoding encoded words. */
function phraseOf(tokens: Token[]): string | undefined {
  const words: string[] = [];
  for (const token of tokens) {
    if (token.type === "atom" || token.type === "quoted") {
      words.push(token.value);
    }
  }
  if (words.length === 0) return undefined;
  const name = decodeWords(words.join(" ")).replace(/\s+/g, " ").trim();
  return name === "" ? undefined : name;
}

function mailboxOf(input: string, tokens: Token[]): Mailbox | undefined {
  const meaningful = tokens.filter((t) => t.type !== "ws");
  if (meaningful.length === 0) return undefined;
  const angleAt = tokens.findIndex((t) => t.type === "angle");
  if (angleAt >= 0) {
    const after = tokens.slice(angleAt + 1).filter((t) =>
      t.type !== "ws" && t.type !== "comment"
    );
    if (after.length > 0) {
      fail(input, "text follows the angle-bracketed address");
    }
    // obs-route: "<@a,@b:user@host>" keeps only the address.
    const inner = (tokens[angleAt] as { value: string }).value.trim()
      .replace(/^@[^:]*:/, "");
    const name = phraseOf(tokens.slice(0, angleAt));
    const address = normalizeAddress(inner, input);
    return name === undefined ? { address } : { name, address };
  }
  let spec = "";
  let comment: string | undefined;
  let seenWord = false;
  let spaceBetween = false;
  for (const token of tokens) {
    if (token.type === "comment") comment ??= token.value;
    else if (token.type === "ws") spaceBetween = seenWord;
    else if (token.type === "atom" || token.type === "quoted") {
      if (spaceBetween) fail(input, "an address cannot contain a space");
      spec += token.type === "quoted" ? token.raw : token.value;
      seenWord = true;
    }
  }
  if (spec === "") fail(input, "no address");
  const address = normalizeAddress(spec, input);
  const name = comment ? decodeWords(comment).trim() : "";
  return name === "" ? { address } : { name, address };
}

/**
 * Parses an RFC 5322 address list (mailboxes and groups) into mailboxes;
 * members of a group carry its name.
 */
export function parseList(input: string): Mailbox[] {
  if (typeof input !== "string") {
    throw new TypeError(
      `Cannot parse address: expected a string, got ${typeof input}`,
    );
  }
  assertNoControl(input, "address");
  const tokens = tokenize(input);
  const out: Mailbox[] = [];
  let current: Token[] = [];
  let group: string | undefined;
  let inGroup = false;
  const finish = () => {
    const mailbox = mailboxOf(input, current);
    current = [];
    if (!mailbox) return;
    if (inGroup && group !== undefined) mailbox.group = group;
    out.push(mailbox);
  };
  for (const token of tokens) {
    if (token.type === ",") finish();
    else if (token.type === ":" && !inGroup) {
      group = phraseOf(current) ?? "";
      current = [];
      inGroup = true;
    } else if (token.type === ";" && inGroup) {
      finish();
      inGroup = false;
      group = undefined;
    } else if (token.type === ":" || token.type === ";") {
      fail(input, `unexpected "${token.type}"`);
    } else current.push(token);
  }
  finish();
  return out;
}

function normalizeDomain(domain: string, input: string): string {
  if (domain.startsWith("[")) {
    if (!/^\[[\x21-\x5a\x5e-\x7e]*\]$/.test(domain)) {
      fail(input, "the domain literal is not valid");
    }
    return domain;
  }
  if (domain === "") fail(input, "the domain is empty");
  if (/^[A-Za-z0-9._-]+$/.test(domain)) {
    if (domain.split(".").some((label) => label === "")) {
      fail(input, "the domain has an empty label");
    }
    return domain;
  }
  // Internationalised domain: to A-labels (punycode) through the URL API.
  if (!/^[A-Za-z0-9.\-\u00a0-\u{10ffff}]+$/u.test(domain)) {
    fail(input, "the domain contains a character not allowed in a host name");
  }
  let hostname: string;
  try {
    hostname = new URL(`http://${domain}/`).hostname;
  } catch {
    fail(input, "the domain is not a valid host name");
  }
  if (!/^[a-z0-9.-]+$/.test(hostname)) {
    fail(input, "the domain is not a valid host name");
  }
  return hostname;
}

/**
 * Validates a bare address (`local@domain`) and normalises it: a quoted
 * local part that needs no quotes loses them, an internationalised domain
 * becomes A-labels (punycode). Non-ASCII local parts are kept (SMTPUTF8).
 */
export function normalizeAddress(spec: string, input: string = spec): string {
  assertNoControl(spec, "address");
  const at = spec.lastIndexOf("@");
  if (at < 0) fail(input, 'no "@" in the address');
  let local = spec.slice(0, at);
  const domain = normalizeDomain(spec.slice(at + 1), input);
  if (local === "") fail(input, "the local part is empty");
  if (local.startsWith('"')) {
    if (!/^"(?:[^"\\]|\\.)*"$/u.test(local)) {
      fail(input, "the quoted local part is not valid");
    }
    const value = local.slice(1, -1).replace(/\\(.)/gu, "$1");
    local = DOT_ATOM.test(value)
      ? value
      : `"${value.replace(/(["\\])/g, "\\$1")}"`;
  } else if (!UTF8_ATEXT_OR_DOT.test(local)) {
    fail(input, "the local part contains a character that needs quoting");
  }
  const address = `${local}@${domain}`;
  if (encoder.encode(address).length > MAX_ADDRESS_OCTETS) {
    fail(input, `the address is longer than ${MAX_ADDRESS_OCTETS} octets`);
  }
  return address;
}

/** Whether an address needs SMTPUTF8 (RFC 6531): a non-ASCII local part. */
export function localPartNeedsSmtpUtf8(address: string): boolean {
  const local = address.slice(0, address.lastIndexOf("@"));
  return /[\u0080-\u{10ffff}]/u.test(local);
}

/** Turns an {@linkcode Address} value into a validated mailbox. */
export function toMailboxes(
  value: string | { name?: string; address: string },
): Mailbox[] {
  if (typeof value === "string") return parseList(value);
  if (
    value === null || typeof value !== "object" ||
    typeof value.address !== "string"
  ) {
    throw new TypeError(
      "Cannot use address: expected a string or { name?, address }",
    );
  }
  assertNoControl(value.address, "address");
  const address = normalizeAddress(value.address.trim());
  if (value.name === undefined || value.name === "") return [{ address }];
  if (typeof value.name !== "string") {
    throw new TypeError("Cannot use address: the name is not a string");
  }
  assertNoControl(value.name, "display name");
  const name = value.name.replace(/\t/g, " ");
  return [{ name, address }];
}

/**
 * Formats a display name as an RFC 5322 phrase: atoms as they are, a quoted
 * string when specials appear, encoded words when non-ASCII (the first word
 * at most `firstRoom` characters).
 */
export function formatPhrase(
  name: string,
  firstRoom: number = MAX_ENCODED_WORD,
): string {
  const longRun = /[^ ]{60,}/.test(name);
  if (needsEncoding(name) || longRun) {
    return encodeWords(name, firstRoom).join(" ");
  }
  if (name.split(" ").every((word) => ATEXT.test(word))) return name;
  return `"${name.replace(/(["\\])/g, "\\$1")}"`;
}

/** Formats a mailbox as `Name <address>` or `address`. */
export function formatMailbox(mailbox: Mailbox, firstRoom?: number): string {
  if (mailbox.name === undefined || mailbox.name.trim() === "") {
    return mailbox.address;
  }
  return `${formatPhrase(mailbox.name.trim(), firstRoom)} <${mailbox.address}>`;
}
