// Throughput of DKIM signing, beside its parts: the pure-JS SHA-256 that
// hashes bodies as they stream (WebCrypto's digest, one-shot, for
// comparison), body canonicalization, and signMessage on 32 MiB of base64
// lines (a composed attachment's body). deno bench reports the time per
// iteration; throughput = 33.55 MB (32 MiB) / that time.
//
//   deno bench -A bench/dkim_bench.ts

import { signMessage } from "../dkim.ts";
import { BodyHash } from "../src/dkim/_canonical.ts";
import { Sha256 } from "../src/dkim/_sha256.ts";
import { toBase64 } from "../src/protocol/_base64.ts";

const SIZE = 32 * 1024 * 1024;
const random = crypto.getRandomValues(new Uint8Array(57 * 1024));
/** 32 MiB of 76-column base64 lines, CRLF-terminated. */
const lines = (() => {
  const text = toBase64(random).match(/.{1,76}/g)!.join("\r\n") + "\r\n";
  const block = new TextEncoder().encode(text);
  const out = new Uint8Array(SIZE);
  for (let at = 0; at < SIZE; at += block.length) {
    out.set(block.subarray(0, Math.min(block.length, SIZE - at)), at);
  }
  return out;
})();
const message = new Uint8Array(SIZE + 64);
message.set(
  new TextEncoder().encode("From: ada@example.com\r\nSubject: x\r\n\r\n"),
);
message.set(lines.subarray(0, SIZE + 64 - 38), 38);

const { privateKey } = await crypto.subtle.generateKey(
  {
    name: "RSASSA-PKCS1-v1_5",
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: "SHA-256",
  },
  false,
  ["sign"],
) as CryptoKeyPair;

function chunks(bytes: Uint8Array, size = 65536): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) {
    out.push(bytes.subarray(i, i + size));
  }
  return out;
}
const pieces = chunks(lines);

Deno.bench(
  "baseline: WebCrypto SHA-256 digest, one shot",
  { group: "hash" },
  async () => {
    await crypto.subtle.digest("SHA-256", lines);
  },
);

Deno.bench("Sha256 (pure JS, incremental), 64 KiB updates", {
  group: "hash",
  baseline: true,
}, () => {
  const hash = new Sha256();
  for (const piece of pieces) hash.update(piece);
  hash.digest();
});

Deno.bench("BodyHash relaxed: base64 lines", { group: "body" }, () => {
  const hash = new BodyHash("relaxed");
  for (const piece of pieces) hash.update(piece);
  hash.digest();
});

Deno.bench("BodyHash simple: base64 lines", { group: "body" }, () => {
  const hash = new BodyHash("simple");
  for (const piece of pieces) hash.update(piece);
  hash.digest();
});

async function drain(readable: ReadableStream<Uint8Array>): Promise<void> {
  for await (const _ of readable) { /* read */ }
}

Deno.bench("signMessage rsa-sha256 relaxed/relaxed, 32 MiB Uint8Array", {
  group: "sign",
}, async () => {
  await drain(
    signMessage(message, {
      domainName: "example.com",
      keySelector: "s",
      privateKey,
    }),
  );
});

Deno.bench("signMessage rsa-sha256 simple/simple, 32 MiB Uint8Array", {
  group: "sign",
}, async () => {
  await drain(
    signMessage(message, {
      domainName: "example.com",
      keySelector: "s",
      privateKey,
      canonicalization: "simple/simple",
    }),
  );
});
