// Shared helpers for the mime tests: a seeded PRNG, random text, and the
// structural checks every composed message must pass.

import assert from "node:assert/strict";

/** A small seeded PRNG (mulberry32), so a failing case can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const POOLS = [
  "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789",
  " .,;:!?'\"()<>@[]\\/=_-+*%&#$~^`{}|",
  "éèàüößçñÆøÅ œ Ωλ",
  "日本語中文漢字한국어テスト",
  "😀🎉👍🏽👨‍👩‍👧🚀",
  "=?UTF-8?B?",
];

/** Random text mixing ASCII, specials, accents, CJK and emoji. */
export function randomText(random: () => number, maxLength: number): string {
  const length = Math.floor(random() ** 2 * maxLength);
  let out = "";
  let pool = POOLS[0]!;
  while (out.length < length) {
    if (random() < 0.1) pool = POOLS[Math.floor(random() * POOLS.length)]!;
    const chars = [...pool];
    out += chars[Math.floor(random() * chars.length)];
  }
  return out;
}

/** Random bytes of a random size (mostly small, some over many lines). */
export function randomBytes(
  random: () => number,
  maxLength: number,
): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(Math.floor(random() ** 3 * maxLength));
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
  return bytes;
}

/** Reads a whole stream. */
export async function readAll(
  readable: ReadableStream<Uint8Array>,
): Promise<Uint8Array> {
  return new Uint8Array(await new Response(readable).arrayBuffer());
}

/**
 * Asserts the wire rules: CRLF only, no line over 998 octets, header lines
 * (up to the first blank line, and in every part) within `headerLimit`
 * characters (78 unless custom fields hold long structured values; 76 for
 * a line holding an encoded word, RFC 2047 §2), every encoded word within 75 characters.
 */
export function assertWellFormed(
  bytes: Uint8Array,
  headerLimit: number = 78,
): void {
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 13) assert.equal(bytes[i + 1], 10, `bare CR at ${i}`);
    if (bytes[i] === 10) assert.equal(bytes[i - 1], 13, `bare LF at ${i}`);
  }
  assert.equal(bytes.at(-2), 13, "the message ends with CRLF");
  assert.equal(bytes.at(-1), 10, "the message ends with CRLF");
  const text = new TextDecoder().decode(bytes);
  const lines = text.split("\r\n");
  let inHeader = true;
  for (const line of lines) {
    assert.ok(
      new TextEncoder().encode(line).length <= 998,
      `line over 998 octets: ${line.slice(0, 80)}…`,
    );
    if (line === "") inHeader = false;
    if (line.startsWith("--=_")) inHeader = true;
    if (inHeader) {
      assert.ok(
        line.length <= headerLimit,
        `header line over ${headerLimit}: ${line}`,
      );
      const words = [...line.matchAll(/=\?[^?\s]+\?[BQ]\?[^?\s]*\?=/g)];
      for (const word of words) {
        assert.ok(word[0].length <= 75, `encoded word over 75: ${word[0]}`);
      }
      if (words.length > 0) {
        assert.ok(line.length <= 76, `encoded-word line over 76: ${line}`);
      }
    }
  }
}
