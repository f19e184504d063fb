// Copyright the @x/sendmail authors. MIT license.
// Seeded random helpers for the property tests and the fuzz runner.

/** A small seeded PRNG (mulberry32): the same seed gives the same cases. */
export class Random {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** One of the items. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** Whether an event of probability p happens. */
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** Splits bytes into random chunks (sizes biased toward small ones). */
export function randomChunks(random: Random, bytes: Uint8Array): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let i = 0;
  while (i < bytes.length) {
    const size = random.chance(0.5)
      ? 1 + random.int(4)
      : 1 + random.int(random.chance(0.9) ? 64 : 4096);
    chunks.push(bytes.subarray(i, i + size));
    i += size;
  }
  return chunks;
}

/** Every way of cutting `bytes` in two: [before, after] for each position. */
export function* splitsInTwo(
  bytes: Uint8Array,
): Generator<Uint8Array[]> {
  for (let i = 0; i <= bytes.length; i++) {
    yield [bytes.subarray(0, i), bytes.subarray(i)];
  }
}

/** The bytes in chunks of one byte. */
export function bytewise(bytes: Uint8Array): Uint8Array[] {
  return Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
}

/** Bytes from a string of code units 0-255 (one byte each). */
export function latin1(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/** A string of code units 0-255 from bytes (one per byte). */
export function fromLatin1(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    out += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return out;
}

/** Concatenates chunks (the project's one definition). */
export { concatBytes as concat } from "../../src/protocol/_bytes.ts";
