/**
 * SMTP commands as small values that serialise to one wire line. Every
 * argument is checked where it is written: a CR, LF or other control character
 * never reaches the wire (a `TypeError` is thrown before anything is sent).
 *
 * @module
 */

import { hasControl, hasControlOrC1 } from "./_control.ts";
import { REDACTED } from "./_redacted.ts";

/** One command line, with its verb and the text the transcript may show. */
export interface Command {
  /** The verb, for errors ("MAIL", "RCPT", "AUTH" …). */
  readonly verb: string;
  /** The line without CRLF. */
  readonly line: string;
  /** What the transcript shows instead of `line` (credentials redacted). */
  readonly logged: string;
}

/**
 * Throws a `TypeError` when a value holds a CR, LF or other control character.
 *
 * @param value The value to check.
 * @param what What it is, for the message ("EHLO name", "recipient" …).
 * @param secret Whether the value must not appear in the message.
 */
export function assertPrintable(
  value: string,
  what: string,
  secret = false,
): void {
  if (hasControl(value)) {
    throw new TypeError(
      secret
        ? `Cannot use ${what}: it contains a control character`
        : `Cannot use ${what} ${
          JSON.stringify(value)
        }: it contains a control character`,
    );
  }
}

/** Whether an address needs SMTPUTF8 (RFC 6531): any non-ASCII character. */
export function needsSmtpUtf8(address: string): boolean {
  for (let i = 0; i < address.length; i++) {
    if (address.charCodeAt(i) > 0x7f) return true;
  }
  return false;
}

/**
 * Checks an envelope address (a bare mailbox, no angle brackets): a
 * dot-string or a quoted-string local part (RFC 5321 §4.1.2: `"john
 * doe"@example.com`, sent as given), `@`, a domain. No control character
 * (C0, DEL, C1) anywhere, quoted or not.
 *
 * @param address The address.
 * @param what "sender" or "recipient".
 * @returns The address.
 * @throws {TypeError} A malformed address or a control character.
 * @throws {RangeError} An address longer than 254 octets.
 */
export function checkMailbox(address: string, what: string): string {
  if (typeof address !== "string") {
    throw new TypeError(`Cannot use ${what}: expected a string`);
  }
  if (hasControlOrC1(address)) {
    throw new TypeError(
      `Cannot use ${what} ${
        JSON.stringify(address)
      }: it contains a control character`,
    );
  }
  if (address === "" && what === "sender") return address; // null reverse-path
  const at = address.lastIndexOf("@");
  const postmaster = what === "recipient" && address.length === 10 &&
    address.toLowerCase() === "postmaster";
  if (!postmaster && (at <= 0 || at === address.length - 1)) {
    throw new TypeError(
      `Cannot use ${what} ${JSON.stringify(address)}: expected local@domain`,
    );
  }
  const local = postmaster ? address : address.slice(0, at);
  const domain = postmaster ? "" : address.slice(at + 1);
  const quoted = local.startsWith('"');
  if (quoted ? !QUOTED_LOCAL.test(local) : /[\s<>"\\]/.test(local)) {
    throw new TypeError(
      `Cannot use ${what} ${
        JSON.stringify(address)
      }: expected a bare address without spaces or angle brackets (quote a local part that has them: "john doe"@example.com)`,
    );
  }
  if (/[\s<>"\\]/.test(domain)) {
    throw new TypeError(
      `Cannot use ${what} ${
        JSON.stringify(address)
      }: the domain holds a space, quote or angle bracket`,
    );
  }
  if (longerInUtf8(address, 254)) {
    throw new RangeError(
      `Cannot use ${what} ${JSON.stringify(address)}: longer than 254 octets`,
    );
  }
  return address;
}

/** Whether `text` takes more than `limit` octets in UTF-8 (not encoded). */
function longerInUtf8(text: string, limit: number): boolean {
  // No UTF-16 code unit takes more than 3 octets.
  if (text.length * 3 <= limit) return false;
  let octets = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) octets += 1;
    else if (unit < 0x800) octets += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      // A surrogate pair: one code point of 4 octets.
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        octets += 4;
        i++;
      } else octets += 3;
    } else octets += 3;
  }
  return octets > limit;
}

/**
 * RFC 5321 §4.1.2 Quoted-string: qtextSMTP (printable ASCII but `"` and
 * `\`, or any non-ASCII character under SMTPUTF8) or a quoted-pair of `\`
 * and a printable character.
 */
const QUOTED_LOCAL =
  /^"(?:[\x20\x21\x23-\x5b\x5d-\x7e\u00a0-\u{10ffff}]|\\[\x20-\x7e])*"$/u;

/**
 * Checks the EHLO/HELO argument: a domain or an address literal.
 *
 * @param name The client's name.
 * @returns The name.
 */
export function checkClientName(name: string): string {
  assertPrintable(name, "EHLO name");
  if (name === "" || /\s/.test(name) || name.length > 255) {
    throw new TypeError(
      `Cannot use EHLO name ${
        JSON.stringify(name)
      }: expected a domain or an address literal`,
    );
  }
  return name;
}

/**
 * Encodes a value as RFC 3461 xtext: printable ASCII but "+" and "=" as is,
 * every other octet as "+HH".
 *
 * @param value The value (UTF-8 encoded first).
 * @returns The xtext.
 */
export function xtext(value: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(value)) {
    out += byte >= 33 && byte <= 126 && byte !== 0x2b && byte !== 0x3d
      ? String.fromCharCode(byte)
      : "+" + byte.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

function command(verb: string, line: string, logged = line): Command {
  // The last line of defence: arguments were checked already.
  if (hasControl(line)) {
    throw new TypeError(
      `Cannot send ${verb}: the command contains a control character`,
    );
  }
  return { verb, line, logged };
}

/** `EHLO name`. */
export function ehlo(name: string): Command {
  return command("EHLO", `EHLO ${checkClientName(name)}`);
}
/** `HELO name`. */
export function helo(name: string): Command {
  return command("HELO", `HELO ${checkClientName(name)}`);
}
/** `LHLO name` (LMTP, RFC 2033 §4.1). */
export function lhlo(name: string): Command {
  return command("LHLO", `LHLO ${checkClientName(name)}`);
}

/** ESMTP parameters: keyword → value, or `true` for a bare keyword. */
export type Params = [string, string | true][];

function params(list: Params): string {
  let out = "";
  for (const [keyword, value] of list) {
    if (!/^[A-Za-z0-9][A-Za-z0-9-]*$/.test(keyword)) {
      throw new TypeError(
        `Cannot use ESMTP parameter ${JSON.stringify(keyword)}`,
      );
    }
    if (value === true) {
      out += ` ${keyword}`;
    } else {
      // esmtp-value: %d33-60 / %d62-126 (RFC 5321 §4.1.2), UTF-8 under SMTPUTF8.
      // deno-lint-ignore no-control-regex
      if (value === "" || /[\x00-\x20=\x7f]/.test(value)) {
        throw new TypeError(
          `Cannot use ESMTP parameter ${keyword}=${JSON.stringify(value)}`,
        );
      }
      out += ` ${keyword}=${value}`;
    }
  }
  return out;
}

/** `MAIL FROM:<address> params`. */
export function mailFrom(address: string, list: Params = []): Command {
  return command(
    "MAIL",
    `MAIL FROM:<${checkMailbox(address, "sender")}>${params(list)}`,
  );
}
/** `RCPT TO:<address> params`. */
export function rcptTo(address: string, list: Params = []): Command {
  return command(
    "RCPT",
    `RCPT TO:<${checkMailbox(address, "recipient")}>${params(list)}`,
  );
}

/** `AUTH mechanism [initial-response]`, logged with the response redacted. */
export function auth(mechanism: string, initial?: string): Command {
  assertPrintable(mechanism, "SASL mechanism");
  if (initial === undefined) {
    return command("AUTH", `AUTH ${mechanism}`);
  }
  assertPrintable(initial, "SASL response", true);
  return command(
    "AUTH",
    `AUTH ${mechanism} ${initial === "" ? "=" : initial}`,
    `AUTH ${mechanism} ${REDACTED}`,
  );
}
/** A SASL response line, logged as `[redacted]`. */
export function saslResponse(response: string): Command {
  assertPrintable(response, "SASL response", true);
  return command("AUTH", response, REDACTED);
}

/** `BDAT size [LAST]` (RFC 3030); the chunk follows in the same write. */
export function bdat(size: number, last: boolean): Command {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new RangeError(`Cannot send BDAT: bad chunk size ${size}`);
  }
  return command("BDAT", `BDAT ${size}${last ? " LAST" : ""}`);
}

/** A command without arguments: DATA, RSET, NOOP, QUIT, STARTTLS. */
export function simple(
  verb: "DATA" | "RSET" | "NOOP" | "QUIT" | "STARTTLS",
): Command {
  return command(verb, verb);
}
