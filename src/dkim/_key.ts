/**
 * DKIM private keys: PEM (PKCS#8, or PKCS#1 wrapped into PKCS#8) read and
 * checked synchronously, so a bad key is a `TypeError` before anything is
 * sent; WebCrypto imports and signs.
 *
 * @module
 */

import { fromBase64, toHex } from "../protocol/_base64.ts";
import type { DkimAlgorithm } from "./dkim_options.ts";
import { derLength, derSequence, MIN_RSA_BITS, RSA_ALGORITHM } from "./_der.ts";

/** A key checked and ready to import. */
export interface KeyInfo {
  /** The algorithm the key signs with. */
  algorithm: DkimAlgorithm;
  /** The signature length in octets (the RSA modulus, or 64 for Ed25519). */
  signatureLength: number;
  /** PKCS#8 DER, for a PEM key. */
  pkcs8?: Uint8Array<ArrayBuffer>;
  /** The caller's key. */
  cryptoKey?: CryptoKey;
}

const RSA_ENCRYPTION = "2a864886f70d010101"; // 1.2.840.113549.1.1.1
const ED25519 = "2b6570"; // 1.3.101.112
const OID_NAMES: Record<string, string> = {
  "2a864886f70d01010a": "RSASSA-PSS",
  "2a8648ce3d0201": "EC",
  "2b6571": "Ed448",
  "2b656e": "X25519",
  "2b656f": "X448",
};

function fail(reason: string): never {
  throw new TypeError(`Cannot use DKIM private key: ${reason}`);
}

/** One DER element: its tag and where its contents lie. */
interface Tlv {
  tag: number;
  start: number;
  end: number;
}

/** Reads the DER element at `offset` (definite lengths only). */
function readTlv(der: Uint8Array, offset: number, limit: number): Tlv {
  if (offset + 2 > limit) fail("the DER data is truncated");
  const tag = der[offset]!;
  let length = der[offset + 1]!;
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4 || start + count > limit) {
      fail("the DER data has a bad length");
    }
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[start + i]!;
    start += count;
  }
  const end = start + length;
  if (end > limit) fail("the DER data is truncated");
  return { tag, start, end };
}

/** The elements of a SEQUENCE, which must fill it exactly. */
function sequence(der: Uint8Array, tlv: Tlv, what: string): Tlv[] {
  if (tlv.tag !== 0x30) fail(`${what} is not a DER SEQUENCE`);
  const items: Tlv[] = [];
  for (let at = tlv.start; at < tlv.end;) {
    const item = readTlv(der, at, tlv.end);
    items.push(item);
    at = item.end;
  }
  return items;
}

function hex(der: Uint8Array, tlv: Tlv): string {
  return toHex(der.subarray(tlv.start, tlv.end));
}

/** The bit length of a DER INTEGER (a positive one: leading zeros skipped). */
function integerBits(der: Uint8Array, tlv: Tlv): number {
  if (tlv.tag !== 0x02) fail("the RSA key holds a non-INTEGER");
  let i = tlv.start;
  while (i < tlv.end && der[i] === 0) i++;
  if (i === tlv.end) return 0;
  return (tlv.end - i - 1) * 8 + (32 - Math.clz32(der[i]!));
}

/**
 * Wraps a PKCS#1 RSAPrivateKey into a PKCS#8 PrivateKeyInfo: version 0,
 * the rsaEncryption algorithm (NULL parameters), the key as an OCTET STRING.
 */
function wrapPkcs1(pkcs1: Uint8Array): Uint8Array<ArrayBuffer> {
  return derSequence([
    [0x02, 0x01, 0x00],
    RSA_ALGORITHM,
    [0x04, ...derLength(pkcs1.length)],
    pkcs1,
  ]);
}

/** Checks a PKCS#1 RSAPrivateKey and returns its modulus length in bits. */
function rsaModulusBits(der: Uint8Array, tlv: Tlv): number {
  const items = sequence(der, tlv, "the RSA key");
  // version, n, e, d, p, q, dp, dq, qinv (and, for multi-prime, more).
  if (items.length < 9) fail("the RSA key is incomplete");
  if (hex(der, items[0]!) !== "00") {
    fail("multi-prime RSA keys are not supported");
  }
  return integerBits(der, items[1]!);
}

/** Checks PKCS#8 DER and tells what key it holds. */
function inspectPkcs8(der: Uint8Array<ArrayBuffer>): KeyInfo {
  const top = readTlv(der, 0, der.length);
  if (top.end !== der.length) fail("data follows the key");
  const items = sequence(der, top, "the key");
  const [version, algorithm, key] = items;
  if (!version || !algorithm || !key || version.tag !== 0x02) {
    fail("it is not a PKCS#8 private key");
  }
  const [oid] = sequence(der, algorithm, "the key algorithm");
  if (!oid || oid.tag !== 0x06) fail("it names no algorithm");
  if (key.tag !== 0x04) fail("it holds no key octets");
  const id = hex(der, oid);
  if (id === RSA_ENCRYPTION) {
    const bits = rsaModulusBits(der, readTlv(der, key.start, key.end));
    if (bits < MIN_RSA_BITS) {
      fail(
        `the RSA key has ${bits} bits; DKIM needs at least ${MIN_RSA_BITS} (RFC 8301), 2048 is usual`,
      );
    }
    return {
      algorithm: "rsa-sha256",
      signatureLength: Math.ceil(bits / 8),
      pkcs8: der,
    };
  }
  if (id === ED25519) {
    const inner = readTlv(der, key.start, key.end);
    if (inner.tag !== 0x04 || inner.end - inner.start !== 32) {
      fail("the Ed25519 key is not 32 octets");
    }
    return { algorithm: "ed25519-sha256", signatureLength: 64, pkcs8: der };
  }
  fail(
    `${
      OID_NAMES[id] ?? `algorithm ${id}`
    } keys cannot sign DKIM (use RSA or Ed25519)`,
  );
}

const PEM =
  /-----BEGIN ([A-Z0-9 ]+)-----\r?\n?([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;

/** Reads a PEM private key (PKCS#8 or PKCS#1). */
function readPem(pem: string): KeyInfo {
  const blocks = [...pem.matchAll(PEM)];
  if (blocks.length === 0) {
    fail(
      'expected a PEM key ("-----BEGIN PRIVATE KEY-----" or "-----BEGIN RSA PRIVATE KEY-----")',
    );
  }
  const keys = blocks.filter((b) => b[1]!.includes("PRIVATE KEY"));
  if (keys.length !== 1) {
    fail(
      keys.length === 0
        ? `expected a private key, got ${JSON.stringify(blocks[0]![1])}`
        : "the PEM text holds more than one private key",
    );
  }
  const [, label, body, endLabel] = keys[0]!;
  if (label !== endLabel) fail(`the PEM block ${label} ends as ${endLabel}`);
  if (
    label === "ENCRYPTED PRIVATE KEY" || /Proc-Type:.*ENCRYPTED/.test(body!)
  ) {
    fail("the key is encrypted; decrypt it first (openssl pkey -in key.pem)");
  }
  if (label !== "PRIVATE KEY" && label !== "RSA PRIVATE KEY") {
    fail(
      `${label} is not supported (convert with openssl pkcs8 -topk8 -nocrypt)`,
    );
  }
  if (/:/.test(body!)) fail("the PEM block has headers");
  let der: Uint8Array;
  try {
    der = fromBase64(body!.replace(/\s+/g, ""));
  } catch {
    fail("the PEM body is not base64");
  }
  if (label === "PRIVATE KEY") {
    return inspectPkcs8(new Uint8Array(der));
  }
  // PKCS#1: check it, then give WebCrypto (which reads PKCS#8 only) the
  // same key wrapped.
  const top = readTlv(der, 0, der.length);
  if (top.end !== der.length) fail("data follows the key");
  rsaModulusBits(der, top);
  return inspectPkcs8(wrapPkcs1(der));
}

/** Checks a caller's CryptoKey. */
function checkCryptoKey(key: CryptoKey): KeyInfo {
  if (key.type !== "private") fail(`the CryptoKey is a ${key.type} key`);
  if (!key.usages.includes("sign")) {
    fail('the CryptoKey lacks the "sign" usage');
  }
  const algorithm = key.algorithm as RsaHashedKeyAlgorithm;
  if (algorithm.name === "Ed25519") {
    return { algorithm: "ed25519-sha256", signatureLength: 64, cryptoKey: key };
  }
  if (algorithm.name === "RSASSA-PKCS1-v1_5") {
    if (algorithm.hash?.name !== "SHA-256") {
      fail(
        `the CryptoKey hashes with ${algorithm.hash?.name}; DKIM needs SHA-256`,
      );
    }
    if (!(algorithm.modulusLength >= MIN_RSA_BITS)) {
      fail(
        `the RSA key has ${algorithm.modulusLength} bits; DKIM needs at least ${MIN_RSA_BITS} (RFC 8301)`,
      );
    }
    return {
      algorithm: "rsa-sha256",
      signatureLength: Math.ceil(algorithm.modulusLength / 8),
      cryptoKey: key,
    };
  }
  fail(
    `the CryptoKey is ${
      JSON.stringify(algorithm.name)
    }; DKIM signs with RSASSA-PKCS1-v1_5 (SHA-256) or Ed25519`,
  );
}

/**
 * Checks a private key, synchronously: PEM structure, algorithm, RSA size.
 *
 * @param key A PEM string or a CryptoKey.
 * @param algorithm The algorithm asked for, if any.
 * @returns What the key is.
 * @throws {TypeError} When the key cannot sign DKIM, or not with `algorithm`.
 */
export function inspectKey(
  key: unknown,
  algorithm: DkimAlgorithm | undefined,
): KeyInfo {
  let info: KeyInfo;
  if (typeof key === "string") info = readPem(key);
  else if (typeof CryptoKey !== "undefined" && key instanceof CryptoKey) {
    info = checkCryptoKey(key);
  } else fail("expected a PEM string or a CryptoKey");
  if (algorithm !== undefined && algorithm !== info.algorithm) {
    fail(`it is a key for ${info.algorithm}, not ${algorithm}`);
  }
  return info;
}

/**
 * The WebCrypto key to sign with.
 *
 * @param info A checked key.
 * @returns The signing key.
 * @throws {TypeError} When WebCrypto refuses the key.
 */
export async function importKey(info: KeyInfo): Promise<CryptoKey> {
  if (info.cryptoKey) return info.cryptoKey;
  const algorithm = info.algorithm === "rsa-sha256"
    ? { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }
    : { name: "Ed25519" };
  try {
    return await crypto.subtle.importKey(
      "pkcs8",
      info.pkcs8!,
      algorithm,
      false,
      ["sign"],
    );
  } catch (error) {
    throw new TypeError(
      `Cannot use DKIM private key: WebCrypto refused it: ${
        error instanceof Error ? error.message : String(error)
      }`,
      { cause: error },
    );
  }
}

/**
 * Signs the hash input of a DKIM signature (RFC 6376 §3.7): RSASSA-PKCS1-v1_5
 * over SHA-256 of the data, or Ed25519 over the SHA-256 hash of the data
 * (RFC 8463 §3: PureEdDSA of the hash).
 *
 * @param key The signing key.
 * @param algorithm The algorithm.
 * @param data The canonicalized header fields and DKIM-Signature field.
 * @returns The signature.
 */
export async function sign(
  key: CryptoKey,
  algorithm: DkimAlgorithm,
  data: Uint8Array<ArrayBuffer>,
): Promise<Uint8Array> {
  if (algorithm === "rsa-sha256") {
    return new Uint8Array(
      await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, data),
    );
  }
  const hash = await crypto.subtle.digest("SHA-256", data);
  return new Uint8Array(await crypto.subtle.sign("Ed25519", key, hash));
}
