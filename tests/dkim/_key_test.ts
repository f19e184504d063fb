import assert from "node:assert/strict";
import { importKey, inspectKey, sign } from "../../src/dkim/_key.ts";
import { fromBase64, toBase64 } from "../../src/protocol/_base64.ts";
import { interop } from "../_harness/mod.ts";
import { ed25519Key, rsaKey } from "./_keys.ts";

/** Runs openssl with input, returning its output text. */
async function openssl(args: string[], input = ""): Promise<string> {
  const child = new Deno.Command("openssl", {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  if (code !== 0) {
    throw new Error(`openssl ${args[0]}: ${new TextDecoder().decode(stderr)}`);
  }
  return new TextDecoder().decode(stdout);
}

function der(pem: string): Uint8Array {
  return fromBase64(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""));
}

Deno.test("inspectKey reads PKCS#8 RSA and Ed25519 keys and CryptoKeys", async () => {
  const rsa = await rsaKey();
  const ed = await ed25519Key();
  assert.deepEqual(
    [
      inspectKey(rsa.pem, undefined).algorithm,
      inspectKey(rsa.pem, undefined).signatureLength,
    ],
    ["rsa-sha256", 256],
  );
  assert.deepEqual(
    [
      inspectKey(ed.pem, undefined).algorithm,
      inspectKey(ed.pem, undefined).signatureLength,
    ],
    ["ed25519-sha256", 64],
  );
  assert.equal(
    inspectKey(rsa.privateKey, "rsa-sha256").algorithm,
    "rsa-sha256",
  );
  assert.equal(
    inspectKey(ed.privateKey, undefined).algorithm,
    "ed25519-sha256",
  );
  // PEM with CRLF line ends and text around it.
  const framed = "key:\r\n" + rsa.pem.replace(/\n/g, "\r\n") + "\r\n";
  assert.equal(inspectKey(framed, undefined).algorithm, "rsa-sha256");
});

Deno.test(interop({
  name: "inspectKey wraps a PKCS#1 key into the PKCS#8 openssl writes for it",
  requires: ["openssl"],
  async fn() {
    const pkcs8 = await openssl([
      "genpkey",
      "-algorithm",
      "RSA",
      "-pkeyopt",
      "rsa_keygen_bits:2048",
    ]);
    const pkcs1 = await openssl(["rsa", "-traditional"], pkcs8);
    assert.match(pkcs1, /^-----BEGIN RSA PRIVATE KEY-----/);
    const info = inspectKey(pkcs1, undefined);
    assert.equal(info.algorithm, "rsa-sha256");
    assert.equal(info.signatureLength, 256);
    const reference = await openssl(["pkcs8", "-topk8", "-nocrypt"], pkcs1);
    assert.equal(toBase64(info.pkcs8!), toBase64(der(reference)));
    // And WebCrypto signs with it.
    const key = await importKey(info);
    const signature = await sign(
      key,
      "rsa-sha256",
      new TextEncoder().encode("x"),
    );
    assert.equal(signature.length, 256);
  },
}));

Deno.test(interop({
  name:
    "inspectKey throws TypeError on encrypted, short, EC and public keys from openssl",
  requires: ["openssl"],
  async fn() {
    const rsa = await openssl([
      "genpkey",
      "-algorithm",
      "RSA",
      "-pkeyopt",
      "rsa_keygen_bits:2048",
    ]);
    const cases: [string, RegExp][] = [
      [
        await openssl([
          "pkcs8",
          "-topk8",
          "-v2",
          "aes256",
          "-passout",
          "pass:x",
        ], rsa),
        /encrypted/,
      ],
      [
        await openssl(
          ["rsa", "-traditional", "-aes256", "-passout", "pass:x"],
          rsa,
        ),
        /encrypted/,
      ],
      [
        await openssl([
          "genpkey",
          "-algorithm",
          "RSA",
          "-pkeyopt",
          "rsa_keygen_bits:512",
        ]),
        /512 bits; DKIM needs at least 1024/,
      ],
      [
        await openssl([
          "genpkey",
          "-algorithm",
          "EC",
          "-pkeyopt",
          "ec_paramgen_curve:P-256",
        ]),
        /EC keys cannot sign DKIM/,
      ],
      [
        await openssl(["genpkey", "-algorithm", "ed448"]),
        /Ed448 keys cannot sign DKIM/,
      ],
      [
        await openssl([
          "genpkey",
          "-algorithm",
          "RSA-PSS",
          "-pkeyopt",
          "rsa_keygen_bits:2048",
        ]),
        /RSASSA-PSS keys cannot sign DKIM/,
      ],
      [await openssl(["pkey", "-pubout"], rsa), /expected a private key/],
      [
        await openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout"]),
        /EC PRIVATE KEY is not supported/,
      ],
    ];
    for (const [pem, message] of cases) {
      assert.throws(() => inspectKey(pem, undefined), {
        name: "TypeError",
        message,
      }, pem.slice(0, 40));
    }
  },
}));

Deno.test("inspectKey throws TypeError on text that is not a usable key", async () => {
  const rsa = await rsaKey();
  const body = rsa.pem.split("\n").slice(1, -2).join("");
  const truncated = rsa.pem.replace(body.slice(0, 64), body.slice(0, 32));
  const cases: [unknown, RegExp][] = [
    ["", /expected a PEM key/],
    ["not a key", /expected a PEM key/],
    [body, /expected a PEM key/],
    [42, /expected a PEM string or a CryptoKey/],
    [undefined, /expected a PEM string or a CryptoKey/],
    [
      "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----",
      /not base64/,
    ],
    [
      "-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----",
      /not a PKCS#8/,
    ],
    [truncated, /truncated|bad length|not a DER|incomplete|not a PKCS#8/],
    [rsa.pem + rsa.pem, /more than one private key/],
    [
      "-----BEGIN PRIVATE KEY-----\nMAA=\n-----END RSA PRIVATE KEY-----",
      /ends as/,
    ],
  ];
  for (const [key, message] of cases) {
    assert.throws(() => inspectKey(key, undefined), {
      name: "TypeError",
      message,
    }, String(key).slice(0, 40));
  }
  assert.throws(() => inspectKey(rsa.pem, "ed25519-sha256"), {
    name: "TypeError",
    message: /a key for rsa-sha256, not ed25519-sha256/,
  });
});

Deno.test("inspectKey throws TypeError on CryptoKeys that cannot sign DKIM", async () => {
  const rsa = await rsaKey();
  const publicKey = await crypto.subtle.importKey(
    "spki",
    fromBase64(rsa.record.split("p=")[1]!) as Uint8Array<ArrayBuffer>,
    { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    true,
    ["verify"],
  );
  const sha1 = await crypto.subtle.importKey(
    "pkcs8",
    der(rsa.pem) as Uint8Array<ArrayBuffer>,
    { name: "RSASSA-PKCS1-v1_5", hash: "SHA-1" },
    false,
    ["sign"],
  );
  const pss = await crypto.subtle.importKey(
    "pkcs8",
    der(rsa.pem) as Uint8Array<ArrayBuffer>,
    { name: "RSA-PSS", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const hmac = await crypto.subtle.generateKey(
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const cases: [CryptoKey, RegExp][] = [
    [publicKey, /is a public key/],
    [sha1, /hashes with SHA-1/],
    [pss, /"RSA-PSS"/],
    [hmac, /is a secret key/],
  ];
  for (const [key, message] of cases) {
    assert.throws(() => inspectKey(key, undefined), {
      name: "TypeError",
      message,
    });
  }
});

Deno.test("sign makes signatures WebCrypto verifies: RSA over the data, Ed25519 over its SHA-256", async () => {
  const data = new TextEncoder().encode(
    "from:a@example.com\r\ndkim-signature:v=1; b=",
  );
  const rsa = await rsaKey();
  const rsaSignature = await sign(
    await importKey(inspectKey(rsa.pem, undefined)),
    "rsa-sha256",
    data,
  );
  const rsaPublic = await crypto.subtle.importKey(
    "spki",
    fromBase64(rsa.record.split("p=")[1]!) as Uint8Array<ArrayBuffer>,
    { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    false,
    ["verify"],
  );
  assert.ok(
    await crypto.subtle.verify(
      "RSASSA-PKCS1-v1_5",
      rsaPublic,
      rsaSignature as Uint8Array<ArrayBuffer>,
      data,
    ),
  );
  const ed = await ed25519Key();
  const edSignature = await sign(
    await importKey(inspectKey(ed.pem, undefined)),
    "ed25519-sha256",
    data,
  );
  const edPublic = await crypto.subtle.importKey(
    "raw",
    fromBase64(ed.record.split("p=")[1]!) as Uint8Array<ArrayBuffer>,
    { name: "Ed25519" },
    false,
    ["verify"],
  );
  const hash = await crypto.subtle.digest("SHA-256", data);
  assert.ok(
    await crypto.subtle.verify(
      "Ed25519",
      edPublic,
      edSignature as Uint8Array<ArrayBuffer>,
      hash,
    ),
  );
  assert.ok(
    !await crypto.subtle.verify(
      "Ed25519",
      edPublic,
      edSignature as Uint8Array<ArrayBuffer>,
      data,
    ),
  );
});
