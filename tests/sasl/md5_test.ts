import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { toHex } from "../../src/protocol/_base64.ts";
import { hmacMd5, md5 } from "../../src/sasl/_md5.ts";

const encoder = new TextEncoder();
const hex = (bytes: Uint8Array): string => toHex(bytes);
const repeat = (byte: number, count: number): Uint8Array =>
  new Uint8Array(count).fill(byte);

Deno.test("md5() matches the RFC 1321 test suite", () => {
  const suite: [string, string][] = [
    ["", "d41d8cd98f00b204e9800998ecf8427e"],
    ["a", "0cc175b9c0f1b6a831c399e269772661"],
    ["abc", "900150983cd24fb0d6963f7d28e17f72"],
    ["message digest", "f96b697d7cb7938d525a2f31aaf161d0"],
    ["abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"],
    [
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
      "d174ab98d277d9f5a5611c2c9f419d9f",
    ],
    ["1234567890".repeat(8), "57edf4a22be3c955ac49da2e2107b67a"],
  ];
  for (const [input, expected] of suite) {
    assert.equal(hex(md5(encoder.encode(input))), expected, `md5("${input}")`);
  }
});

Deno.test("md5() matches node:crypto at every padding boundary and random lengths", () => {
  const lengths = [55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129];
  for (let length = 0; length <= 300; length++) lengths.push(length);
  for (const length of lengths) {
    const data = crypto.getRandomValues(new Uint8Array(length));
    const expected = createHash("md5").update(data).digest("hex");
    assert.equal(hex(md5(data)), expected, `length ${length}`);
  }
});

Deno.test("md5() matches node:crypto on a multi-megabyte input", () => {
  const data = new Uint8Array(3 * 1024 * 1024 + 17);
  for (let i = 0; i < data.length; i += 65536) {
    crypto.getRandomValues(data.subarray(i, i + 65536));
  }
  assert.equal(hex(md5(data)), createHash("md5").update(data).digest("hex"));
});

Deno.test("md5() hashes the viewed bytes of a subarray only", () => {
  const whole = encoder.encode("xxabcxx");
  assert.equal(
    hex(md5(whole.subarray(2, 5))),
    "900150983cd24fb0d6963f7d28e17f72",
  );
});

Deno.test("hmacMd5() matches the RFC 2104 and RFC 2202 test cases", () => {
  const cases: [Uint8Array, Uint8Array, string][] = [
    [
      repeat(0x0b, 16),
      encoder.encode("Hi There"),
      "9294727a3638bb1c13f48ef8158bfc9d",
    ],
    [
      encoder.encode("Jefe"),
      encoder.encode("what do ya want for nothing?"),
      "750c783e6ab0b503eaa86e310a5db738",
    ],
    [repeat(0xaa, 16), repeat(0xdd, 50), "56be34521d144c88dbb8c733f0e8b3f6"],
    [
      Uint8Array.from({ length: 25 }, (_, i) => i + 1),
      repeat(0xcd, 50),
      "697eaf0aca3a3aea3a75164746ffaa79",
    ],
    [
      repeat(0x0c, 16),
      encoder.encode("Test With Truncation"),
      "56461ef2342edc00f9bab995690efd4c",
    ],
    [
      repeat(0xaa, 80),
      encoder.encode("Test Using Larger Than Block-Size Key - Hash Key First"),
      "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd",
    ],
    [
      repeat(0xaa, 80),
      encoder.encode(
        "Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data",
      ),
      "6f630fad67cda0ee1fb1f562db3aa53e",
    ],
  ];
  for (const [index, [key, data, expected]] of cases.entries()) {
    assert.equal(
      hex(hmacMd5(key, data)),
      expected,
      `RFC 2202 case ${index + 1}`,
    );
  }
});

Deno.test("hmacMd5() matches node:crypto for keys around the block size", () => {
  for (const keyLength of [0, 1, 16, 63, 64, 65, 200]) {
    for (const dataLength of [0, 1, 55, 56, 64, 300]) {
      const key = crypto.getRandomValues(new Uint8Array(keyLength));
      const data = crypto.getRandomValues(new Uint8Array(dataLength));
      const expected = createHmac("md5", key).update(data).digest("hex");
      assert.equal(
        hex(hmacMd5(key, data)),
        expected,
        `key ${keyLength} bytes, data ${dataLength} bytes`,
      );
    }
  }
});
