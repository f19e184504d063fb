// Copyright the @x/sendmail authors. MIT license.
// A deliberately simple reference parser of SMTP replies working on the whole
// input at once, and generators of valid and mutated reply bytes, for the
// differential tests of ReplyParser and the fuzz runner.

import assert from "node:assert/strict";
import type { Reply } from "../../src/protocol/reply.ts";
import { fromLatin1, latin1, type Random } from "./random.ts";

/** What the reference makes of a whole input. */
export interface ReferenceResult {
  /** The replies before the first error, or all of them. */
  replies: Reply[];
  /** Whether the input is malformed or over a limit. */
  error: boolean;
  /** When no error: the bytes of the incomplete reply at the end. */
  pending: number;
}

const decoder = new TextDecoder();

function clean(text: string): string {
  let out = "";
  for (const char of text) {
    const c = char.codePointAt(0)!;
    out += (c < 0x20 && c !== 0x09) || (c >= 0x7f && c <= 0x9f)
      ? "\uFFFD"
      : char;
  }
  return out;
}

function toReply(code: number, texts: string[]): Reply {
  const firstDigit = String(code)[0];
  const codes = texts.map((text) => {
    const token = text.split(" ", 1)[0]!;
    const parts = token.split(".");
    const ok = parts.length === 3 && parts[0] === firstDigit &&
      "245".includes(parts[0]!) &&
      parts.slice(1).every((p) => /^[0-9]{1,3}$/.test(p));
    return ok ? token : undefined;
  });
  const first = codes[0];
  if (first !== undefined && codes.every((c) => c === first)) {
    const lines = texts.map((t) => t.slice(first.length + 1));
    return { code, enhancedCode: first, lines, text: lines.join("\n") };
  }
  return { code, lines: texts, text: texts.join("\n") };
}

/** Parses a whole input the simple way. */
export function referenceParse(
  input: Uint8Array,
  maxLineLength: number,
  maxLines: number,
): ReferenceResult {
  const replies: Reply[] = [];
  let texts: string[] = [];
  let code = 0;
  let pending = 0;
  let pos = 0;
  for (;;) {
    const lf = input.indexOf(0x0a, pos);
    if (lf === -1) {
      const tail = input.length - pos;
      const over = tail > maxLineLength + 1 ||
        (tail === maxLineLength + 1 && input[input.length - 1] !== 0x0d);
      return { replies, error: over, pending: over ? 0 : pending + tail };
    }
    let line = input.subarray(pos, lf);
    pending += lf + 1 - pos;
    pos = lf + 1;
    if (line[line.length - 1] === 0x0d) line = line.subarray(0, -1);
    if (line.length > maxLineLength) return { replies, error: true, pending };
    const head = fromLatin1(line.subarray(0, 4));
    const match = /^([2-5][0-9][0-9])([ -]|$)/.exec(head);
    if (!match) return { replies, error: true, pending };
    const lineCode = Number(match[1]);
    if (texts.length > 0 && lineCode !== code) {
      return { replies, error: true, pending };
    }
    code = lineCode;
    texts.push(clean(decoder.decode(line.subarray(4))));
    if (match[2] === "-") {
      if (texts.length >= maxLines) return { replies, error: true, pending };
    } else {
      replies.push(toReply(code, texts));
      texts = [];
      pending = 0;
    }
  }
}

const WORDS = [
  "OK",
  "smtp.example.com",
  "ESMTP",
  "Postfix",
  "PIPELINING",
  "SIZE 35882577",
  "8BITMIME",
  "STARTTLS",
  "AUTH PLAIN LOGIN",
  "ENHANCEDSTATUSCODES",
  "héllo",
  "✓",
  "😀",
  "\t",
  "",
  " ",
  "2.0.0",
  "5.1.1",
  "No such user",
];

/** A valid reply (sometimes multiline, enhanced, odd spacing, bare LF). */
export function randomReply(random: Random): string {
  const code = random.pick([
    220,
    221,
    235,
    250,
    251,
    334,
    354,
    421,
    450,
    451,
    500,
    530,
    535,
    550,
    554,
    200 + random.int(400),
  ]);
  const lineCount = random.chance(0.5) ? 1 : 1 + random.int(12);
  const enhanced = random.chance(0.4)
    ? `${String(code)[0]}.${random.int(8)}.${random.int(30)}`
    : undefined;
  let out = "";
  for (let i = 0; i < lineCount; i++) {
    const last = i === lineCount - 1;
    const words = Array.from(
      { length: random.int(5) },
      () => random.pick(WORDS),
    );
    let text = words.join(" ");
    if (enhanced && random.chance(0.97)) text = `${enhanced} ${text}`;
    const sep = last ? (text === "" && random.chance(0.5) ? "" : " ") : "-";
    const end = random.chance(0.1) ? "\n" : "\r\n";
    out += `${code}${sep}${text}${end}`;
  }
  return out;
}

/** Valid replies, UTF-8 encoded. */
export function randomReplies(random: Random, count: number): Uint8Array {
  let text = "";
  for (let i = 0; i < count; i++) text += randomReply(random);
  return new TextEncoder().encode(text);
}

const INTERESTING = latin1("\r\n -.0123456789\xff\xe2\x9c\x93\x00\x1b");

/** Bytes mutated at random: flips, insertions, deletions, repeats, cuts. */
export function mutate(random: Random, input: Uint8Array): Uint8Array {
  const bytes = Array.from(input);
  const count = 1 + random.int(4);
  for (let m = 0; m < count; m++) {
    const at = random.int(bytes.length + 1);
    switch (random.int(6)) {
      case 0:
        if (at < bytes.length) bytes[at] = random.int(256);
        break;
      case 1:
        bytes.splice(at, 0, random.pick([...INTERESTING]));
        break;
      case 2:
        bytes.splice(at, 1 + random.int(3));
        break;
      case 3: {
        // Repeat a slice many times: long lines, many continuation lines.
        const slice = bytes.slice(at, at + 1 + random.int(16));
        const times = random.pick([2, 10, 100, 1000]);
        const repeated: number[] = [];
        for (let t = 0; t < times; t++) repeated.push(...slice);
        bytes.splice(at, 0, ...repeated);
        break;
      }
      case 4:
        bytes.length = at;
        break;
      default:
        if (at < bytes.length) bytes[at] = random.pick([...INTERESTING]);
    }
  }
  return Uint8Array.from(bytes);
}

/** Random bytes biased toward the bytes that matter to the grammar. */
export function randomBytes(random: Random, length: number): Uint8Array {
  return Uint8Array.from(
    { length },
    () => random.chance(0.6) ? random.pick([...INTERESTING]) : random.int(256),
  );
}

/** Compares long lists of replies, reporting only the first difference. */
export function assertSameReplies(actual: Reply[], expected: Reply[]): void {
  const n = Math.min(actual.length, expected.length);
  for (let i = 0; i < n; i++) {
    assert.deepEqual(actual[i], expected[i], `reply ${i}`);
  }
  assert.equal(actual.length, expected.length, "number of replies");
}
