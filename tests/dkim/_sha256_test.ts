import assert from "node:assert/strict";
import { Sha256 } from "../../src/dkim/_sha256.ts";
import { toHex } from "../../src/protocol/_base64.ts";

async function reference(data: Uint8Array<ArrayBuffer>): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", data)));
}

function bytes(length: number, seed: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

Deno.test("Sha256 matches WebCrypto for every length around the block and padding boundaries", async () => {
  for (let length = 0; length <= 200; length++) {
    const data = bytes(length, length + 1);
    assert.equal(
      toHex(new Sha256().update(data).digest()),
      await reference(data),
      `length ${length}`,
    );
  }
});

Deno.test("Sha256 gives the same digest however the input is split", async () => {
  const data = bytes(5000, 7);
  const expected = await reference(data);
  for (const size of [1, 3, 63, 64, 65, 127, 1000, 4999]) {
    const hash = new Sha256();
    for (let i = 0; i < data.length; i += size) {
      hash.update(data.subarray(i, i + size));
    }
    assert.equal(toHex(hash.digest()), expected, `chunks of ${size}`);
  }
  // Splits at every offset of the first two blocks.
  for (let at = 0; at <= 130; at++) {
    const hash = new Sha256();
    hash.update(data.subarray(0, at)).update(data.subarray(at));
    assert.equal(toHex(hash.digest()), expected, `split at ${at}`);
  }
});

Deno.test("Sha256 hashes the FIPS 180-4 examples and a megabyte", async () => {
  const text = (s: string) => new TextEncoder().encode(s);
  assert.equal(
    toHex(new Sha256().update(text("abc")).digest()),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(
    toHex(
      new Sha256().update(
        text("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
      ).digest(),
    ),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
  const mega = bytes(1 << 20, 99);
  assert.equal(
    toHex(new Sha256().update(mega).digest()),
    await reference(mega),
  );
});

Deno.test("Sha256 refuses to be used after its digest", () => {
  const hash = new Sha256();
  hash.digest();
  assert.throws(() => hash.update(new Uint8Array(1)));
  assert.throws(() => hash.digest());
});
