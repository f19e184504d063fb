import assert from "node:assert/strict";
import {
  fallbacks,
  fromBase64,
  toBase64,
  toHex,
} from "../../src/protocol/_base64.ts";
import { Random } from "../_harness/random.ts";

type Native = {
  toBase64(): string;
  toHex(): string;
};
const nativeFrom = (Uint8Array as unknown as {
  fromBase64(text: string): Uint8Array;
}).fromBase64;

Deno.test("toBase64, toHex and their fallbacks agree with the native methods on random bytes", () => {
  const random = new Random(7);
  for (let n = 0; n < 300; n++) {
    const bytes = new Uint8Array(n % 67);
    for (let i = 0; i < bytes.length; i++) {
      bytes[i] = random.int(256);
    }
    const native = (bytes as unknown as Native).toBase64();
    assert.equal(toBase64(bytes), native);
    assert.equal(fallbacks.toBase64(bytes), native);
    assert.deepEqual(fallbacks.fromBase64(native), bytes);
    assert.deepEqual(fromBase64(native), bytes);
    assert.equal(fallbacks.toHex(bytes), (bytes as unknown as Native).toHex());
    assert.equal(toHex(bytes), (bytes as unknown as Native).toHex());
  }
});

Deno.test("fromBase64's fallback accepts and refuses what the native decoder does", () => {
  const cases = [
    "QQ==",
    "QQ",
    "QR==",
    "Q Q = =",
    "QQ=",
    "Q",
    "QUJD",
    "QUJ",
    "QU",
    "",
    "!!!!",
    "QQ==QQ==",
    "=QQ",
    "\u00e9",
    "QUJD\r\nREVG",
    "Zm9v YmFy",
  ];
  for (const text of cases) {
    let expected: number[] | "error";
    try {
      expected = Array.from(nativeFrom(text));
    } catch (error) {
      assert.ok(error instanceof SyntaxError);
      expected = "error";
    }
    let actual: number[] | "error";
    try {
      actual = Array.from(fallbacks.fromBase64(text));
    } catch (error) {
      assert.ok(error instanceof SyntaxError, String(error));
      actual = "error";
    }
    assert.deepEqual(actual, expected, JSON.stringify(text));
  }
});
