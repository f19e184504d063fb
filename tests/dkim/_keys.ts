// Test keys, made fresh for each test run (never committed), and the DNS
// TXT records that publish them.

import { toBase64 } from "../../src/protocol/_base64.ts";

/** A key pair for tests, with the PEM and the TXT record. */
export interface TestKey {
  /** The private key, PEM PKCS#8. */
  pem: string;
  /** The private key as a CryptoKey. */
  privateKey: CryptoKey;
  /** The DKIM key record: `v=DKIM1; k=…; p=…`. */
  record: string;
}

function pem(label: string, der: ArrayBuffer): string {
  const body = toBase64(new Uint8Array(der)).match(/.{1,64}/g)!.join("\n");
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}

/** A new RSA key (2048 bits unless said otherwise). */
export async function rsaKey(bits = 2048): Promise<TestKey> {
  const pair = await crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: bits,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  ) as CryptoKeyPair;
  const spki = await crypto.subtle.exportKey("spki", pair.publicKey);
  return {
    pem: pem(
      "PRIVATE KEY",
      await crypto.subtle.exportKey("pkcs8", pair.privateKey),
    ),
    privateKey: pair.privateKey,
    record: `v=DKIM1; k=rsa; p=${toBase64(new Uint8Array(spki))}`,
  };
}

/** A new Ed25519 key; its record holds the raw 32-octet key (RFC 8463). */
export async function ed25519Key(): Promise<TestKey> {
  const pair = await crypto.subtle.generateKey(
    { name: "Ed25519" },
    true,
    ["sign", "verify"],
  ) as CryptoKeyPair;
  const raw = await crypto.subtle.exportKey("raw", pair.publicKey);
  return {
    pem: pem(
      "PRIVATE KEY",
      await crypto.subtle.exportKey("pkcs8", pair.privateKey),
    ),
    privateKey: pair.privateKey,
    record: `v=DKIM1; k=ed25519; p=${toBase64(new Uint8Array(raw))}`,
  };
}
