/**
 * DKIM canonicalization (RFC 6376 §3.4) over a message as it streams by:
 * the header is split off and kept, the body is canonicalized and hashed
 * chunk by chunk, so neither the body hash nor the header fields depend on
 * where the chunks split.
 *
 * Line ends are read the way the SMTP client sends them: CRLF, and a bare
 * CR or bare LF each as one CRLF (the session normalises them so on the
 * wire), so the signature covers the bytes the server receives.
 *
 * @module
 */

import { latin1 } from "../protocol/_bytes.ts";
import { Sha256 } from "./_sha256.ts";

/** A canonicalization algorithm, for the header or the body. */
export type Canon = "simple" | "relaxed";

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const TAB = 0x09;
/** Canonical output is hashed in blocks of this size. */
const OUT_SIZE = 64 * 1024;

/**
 * Canonicalizes and hashes a body, incrementally (RFC 6376 §3.4.3, §3.4.4).
 *
 * The state between two bytes (and two chunks):
 * - `#afterCr`: the last byte was a CR, so a LF now belongs to the same
 *   line end;
 * - `#content`: the current line has content (for relaxed: a byte other
 *   than white space); a line end then writes its CRLF at once;
 * - `#space` (relaxed): white space was met since the last content of the
 *   line: one SP is written before the next content, none at the line end;
 * - `#emptyLines`: empty lines not written yet. Empty lines at the end of
 *   the body are dropped, so their CRLFs wait until content follows.
 */
export class BodyHash {
  readonly #relaxed: boolean;
  readonly #hash: Sha256 = new Sha256();
  readonly #out: Uint8Array = new Uint8Array(OUT_SIZE);
  #used = 0;
  #written = 0;
  /** Canonical octets hashed beyond this are only counted (the `l=` tag). */
  readonly #limit: number;
  /** Canonical octets produced so far, counted past `#limit` too. */
  #length = 0;
  #afterCr: boolean;
  #content = false;
  #space = false;
  #emptyLines = 0;

  /**
   * @param canon The body canonicalization.
   * @param afterCr Whether the header's blank line ended in a CR, whose LF
   * may begin the body's first chunk.
   * @param limit How many canonical octets to hash (a verifier's `l=`);
   * the rest are only counted.
   */
  constructor(canon: Canon, afterCr = false, limit = Infinity) {
    this.#relaxed = canon === "relaxed";
    this.#afterCr = afterCr;
    this.#limit = limit;
  }

  /** The canonical body's length in octets, once {@linkcode digest} ran. */
  get length(): number {
    return this.#length;
  }

  /** Hashes canonical output, up to the limit. */
  #hashUpdate(bytes: Uint8Array): void {
    const room = this.#limit - this.#length;
    this.#length += bytes.length;
    if (room >= bytes.length) this.#hash.update(bytes);
    else if (room > 0) this.#hash.update(bytes.subarray(0, room));
  }

  /** Feeds input[from, to). */
  update(input: Uint8Array, from = 0, to = input.length): void {
    if (!this.#afterCr && !this.#space) {
      // Most of a body is lines canonicalization leaves as they are (base64,
      // quoted-printable): hash those straight from the input.
      const end = this.#verbatimEnd(input, from, to);
      if (end > from) {
        this.#flush();
        // Empty lines held back are followed by content: they are written.
        for (; this.#emptyLines > 0; this.#emptyLines--) this.#crlf();
        this.#flush();
        this.#hashUpdate(input.subarray(from, end));
        this.#written += end - from;
        this.#content = false;
        from = end;
      }
    }
    this.#slow(input, from, to);
  }

  /**
   * How far input[from, to) is its own canonical form: up to the CRLF of
   * its last line with content, when every line end before it is CRLF and
   * (relaxed) no tab, no run of two spaces and no space before a line end
   * occurs. Empty lines after that are left to the state machine, which
   * holds them back. Returns `from` when there is no such prefix.
   */
  #verbatimEnd(input: Uint8Array, from: number, to: number): number {
    const relaxed = this.#relaxed;
    // The end of the last line with content: a CRLF after a byte that is
    // not a line end (and, relaxed, not white space).
    let end = to;
    for (;;) {
      while (
        end - 2 >= from && !(input[end - 2] === CR && input[end - 1] === LF)
      ) {
        end--;
      }
      if (end - 2 < from) return from;
      const before = end - 3 >= from ? input[end - 3]! : -1;
      if (before === -1) {
        // The prefix is one line end: content only when the line has some.
        if (!this.#content) {
          end -= 2;
          continue;
        }
        break;
      }
      if (before === LF || before === CR) {
        end -= 2;
        continue;
      }
      break;
    }
    // Every byte up to `end` must need no change.
    let previous = -1;
    for (let i = from; i < end; i++) {
      const b = input[i]!;
      if (b <= SP) {
        if (b === CR) {
          if (input[i + 1] !== LF) return from;
          if (relaxed && previous === SP) return from;
        } else if (b === LF) {
          if (previous !== CR) return from;
        } else if (relaxed && (b === TAB || (b === SP && previous === SP))) {
          return from;
        }
      }
      previous = b;
    }
    return end;
  }

  /** The state machine, byte by byte (runs copied). */
  #slow(input: Uint8Array, from: number, to: number): void {
    const relaxed = this.#relaxed;
    let i = from;
    while (i < to) {
      let byte = input[i]!;
      if (this.#afterCr) {
        this.#afterCr = false;
        if (byte === LF) {
          if (++i === to) break;
          byte = input[i]!;
        }
      }
      if (byte === CR || byte === LF) {
        if (this.#content) {
          this.#crlf();
          this.#content = false;
        } else this.#emptyLines++;
        this.#space = false;
        this.#afterCr = byte === CR;
        i++;
        continue;
      }
      if (relaxed && (byte === SP || byte === TAB)) {
        this.#space = true;
        i++;
        continue;
      }
      // A run of content: up to the next line end (or white space, relaxed).
      let j = i + 1;
      if (relaxed) {
        while (j < to) {
          const b = input[j]!;
          if (b <= SP && (b === SP || b === TAB || b === CR || b === LF)) break;
          j++;
        }
      } else {
        while (j < to) {
          const b = input[j]!;
          if (b <= CR && (b === CR || b === LF)) break;
          j++;
        }
      }
      if (!this.#content) {
        for (; this.#emptyLines > 0; this.#emptyLines--) this.#crlf();
        this.#content = true;
      }
      if (this.#space) {
        this.#byte(SP);
        this.#space = false;
      }
      this.#run(input, i, j);
      i = j;
    }
  }

  /**
   * Ends the body and returns its hash: a last line without a line end
   * gets a CRLF; an empty body is "" (relaxed) or a CRLF (simple).
   */
  digest(): Uint8Array<ArrayBuffer> {
    if (this.#content) this.#crlf();
    if (!this.#relaxed && this.#written + this.#used === 0) this.#crlf();
    this.#hashUpdate(this.#out.subarray(0, this.#used));
    return this.#hash.digest();
  }

  #crlf(): void {
    if (this.#used + 2 > OUT_SIZE) this.#flush();
    this.#out[this.#used++] = CR;
    this.#out[this.#used++] = LF;
  }

  #byte(byte: number): void {
    if (this.#used === OUT_SIZE) this.#flush();
    this.#out[this.#used++] = byte;
  }

  #run(input: Uint8Array, from: number, to: number): void {
    const length = to - from;
    if (length >= OUT_SIZE) {
      // A long run goes to the hash as it is, no copy.
      this.#flush();
      this.#hashUpdate(input.subarray(from, to));
      this.#written += length;
      return;
    }
    if (this.#used + length > OUT_SIZE) this.#flush();
    if (length < 16) {
      for (let k = from; k < to; k++) this.#out[this.#used++] = input[k]!;
    } else {
      this.#out.set(input.subarray(from, to), this.#used);
      this.#used += length;
    }
  }

  #flush(): void {
    if (this.#used === 0) return;
    this.#hashUpdate(this.#out.subarray(0, this.#used));
    this.#written += this.#used;
    this.#used = 0;
  }
}

/** One header field: its name (lowercase, for matching) and its text. */
export interface HeaderField {
  /** The field name, lowercase; `""` for a line that is not a field. */
  name: string;
  /**
   * The field as the server receives it, one octet per character
   * (latin1): its lines joined by CRLF, without the final CRLF.
   */
  raw: string;
}

/**
 * Splits the header section (everything before the blank line, as bytes)
 * into fields: a line starting with white space continues the field above.
 */
export function parseHeader(bytes: Uint8Array): HeaderField[] {
  const lines: string[] = [];
  let start = 0;
  let i = 0;
  const n = bytes.length;
  while (i < n) {
    const b = bytes[i]!;
    if (b === CR || b === LF) {
      lines.push(latin1(bytes.subarray(start, i)));
      i += b === CR && bytes[i + 1] === LF ? 2 : 1;
      start = i;
    } else i++;
  }
  if (start < n) lines.push(latin1(bytes.subarray(start, n)));
  const fields: HeaderField[] = [];
  for (const line of lines) {
    if (line === "") break; // the blank line that ends the header
    const last = fields[fields.length - 1];
    if (last && /^[ \t]/.test(line)) last.raw += "\r\n" + line;
    else {
      const colon = line.indexOf(":");
      const name = colon < 0 ? "" : line.slice(0, colon).replace(/[ \t]+$/, "");
      fields.push({ name: name.toLowerCase(), raw: line });
    }
  }
  return fields;
}

/**
 * A header field canonicalized (RFC 6376 §3.4.1, §3.4.2), with its CRLF.
 * Relaxed: the name lowercased, the value unfolded, runs of white space as
 * one SP, white space around the colon and at the end removed.
 */
export function canonicalField(raw: string, canon: Canon): string {
  if (canon === "simple") return raw + "\r\n";
  const colon = raw.indexOf(":");
  const name = raw.slice(0, colon).replace(/[ \t]+$/, "").toLowerCase();
  const value = raw.slice(colon + 1).replace(/\r\n/g, "")
    .replace(/[ \t]+/g, " ").replace(/^ | $/g, "");
  return `${name}:${value}\r\n`;
}

/**
 * The header fields `names` select (RFC 6376 §5.4.2): for each name, the
 * last instance not yet selected, from the bottom up; a name with no
 * instance left selects nothing.
 */
export function selectFields(
  fields: readonly HeaderField[],
  names: readonly string[],
): HeaderField[] {
  const used = new Set<number>();
  const selected: HeaderField[] = [];
  for (const name of names) {
    const lower = name.toLowerCase();
    for (let i = fields.length - 1; i >= 0; i--) {
      if (!used.has(i) && fields[i]!.name === lower) {
        used.add(i);
        selected.push(fields[i]!);
        break;
      }
    }
  }
  return selected;
}

/**
 * Finds where the header section ends, across chunks: the first empty line
 * (with line ends read as CRLF, bare CR or bare LF).
 */
export class HeaderSplitter {
  #afterCr = false;
  #lineEmpty = true;
  /** Whether the blank line ended in a CR (a LF may follow in the body). */
  endedInCr = false;

  /**
   * Scans input[from, to) for the blank line.
   *
   * @returns The index just after the blank line's line end, or -1.
   */
  scan(input: Uint8Array, from = 0, to = input.length): number {
    for (let i = from; i < to; i++) {
      const b = input[i]!;
      if (this.#afterCr) {
        this.#afterCr = false;
        if (b === LF) continue;
      }
      if (b === CR || b === LF) {
        if (this.#lineEmpty) {
          this.endedInCr = b === CR;
          return i + 1;
        }
        this.#lineEmpty = true;
        this.#afterCr = b === CR;
      } else this.#lineEmpty = false;
    }
    return -1;
  }
}
