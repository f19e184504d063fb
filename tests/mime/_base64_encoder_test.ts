import assert from "node:assert/strict";
import { Base64LineEncoder } from "../../src/mime/_base64_encoder.ts";
import { prng, randomBytes } from "./_util.ts";

function encodeInChunks(bytes: Uint8Array, sizes: () => number): string {
  const encoder = new Base64LineEncoder();
  const parts: Uint8Array[] = [];
  for (let at = 0; at < bytes.length;) {
    const size = sizes();
    parts.push(encoder.push(bytes.subarray(at, at + size)));
    at += size;
  }
  parts.push(encoder.flush());
  return parts.map((p) => new TextDecoder().decode(p)).join("");
}

Deno.test("Base64LineEncoder matches toBase64 in 76-column lines at every chunk split", () => {
  const random = prng(3);
  for (let n = 0; n < 300; n++) {
    const bytes = randomBytes(random, 2000);
    const expected = (bytes.toBase64().match(/.{1,76}/g) ?? []).join("\r\n");
    const fixed = 1 + Math.floor(random() * 120);
    assert.equal(
      encodeInChunks(bytes, () => fixed),
      expected,
      `size ${bytes.length}, chunk ${fixed}`,
    );
    assert.equal(
      encodeInChunks(bytes, () => Math.floor(random() * 200)),
      expected,
      `size ${bytes.length}, random chunks`,
    );
  }
});

Deno.test("Base64LineEncoder pads the last 1 or 2 bytes and writes nothing for no input", () => {
  const encoder = new Base64LineEncoder();
  assert.equal(encoder.push(new Uint8Array([0xff])).length, 0);
  assert.equal(new TextDecoder().decode(encoder.flush()), "/w==");
  assert.equal(new Base64LineEncoder().flush().length, 0);
  assert.equal(encodeInChunks(new Uint8Array([1, 2]), () => 1), "AQI=");
});
