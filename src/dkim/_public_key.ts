/**
 * DKIM key records (RFC 6376 §3.6.1; Ed25519 per RFC 8463 §4): the TXT
 * record at `<selector>._domainkey.<domain>` read into a WebCrypto key
 * that verifies.
 *
 * @module
 */

import { fromBase64 } from "../protocol/_base64.ts";
import type { DkimAlgorithm } from "./dkim_options.ts";
import { parseTagList } from "./_tag_list.ts";
import { derLength, derSequence, MIN_RSA_BITS, RSA_ALGORITHM } from "./_der.ts";

/** A key record read and imported. */
export interface PublicKey {
  /** The key, for `crypto.subtle.verify`. */
  key: CryptoKey;
  /** The key type (`k=`). */
  type: "rsa" | "ed25519";
  /** The RSA modulus length in bits; 256 for Ed25519. */
  bits: number;
  /** `t=y`: the domain is testing DKIM. */
  testing: boolean;
  /** `t=s`: the `i=` domain must be `d=` itself, not a subdomain. */
  strict: boolean;
}

/** Why a key record cannot verify a signature: a permanent error. */
export class KeyError extends Error {
  override name = "KeyError";
}

function fail(reason: string): never {
  throw new KeyError(reason);
}

function list(value: string): string[] {
  return value.split(":").map((item) => item.replace(/^\s+|\s+$/g, ""));
}

/**
 * Wraps a PKCS#1 RSAPublicKey (which some publish in `p=`, and dkimpy
 * reads) into a SubjectPublicKeyInfo, which WebCrypto imports.
 */
function wrapRsaPublicKey(pkcs1: Uint8Array): Uint8Array<ArrayBuffer> {
  return derSequence([
    RSA_ALGORITHM,
    [0x03, ...derLength(pkcs1.length + 1), 0x00],
    pkcs1,
  ]);
}

async function importRsa(der: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  const algorithm = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  try {
    return await crypto.subtle.importKey("spki", der, algorithm, false, [
      "verify",
    ]);
  } catch {
    try {
      return await crypto.subtle.importKey(
        "spki",
        wrapRsaPublicKey(der),
        algorithm,
        false,
        ["verify"],
      );
    } catch {
      fail("the p= value is not an RSA public key");
    }
  }
}

/**
 * Reads one key record and imports its key.
 *
 * @param record The TXT record, its strings joined.
 * @param algorithm The signature's algorithm, which the key must match.
 * @returns The key.
 * @throws {KeyError} When the record is malformed, revoked (`p=` empty),
 * not for email, not for this algorithm, or holds a key WebCrypto refuses
 * or an RSA key under 1024 bits.
 */
export async function readKeyRecord(
  record: string,
  algorithm: DkimAlgorithm,
): Promise<PublicKey> {
  const parsed = parseTagList(record);
  if (!parsed.ok) fail(`the key record is malformed: ${parsed.reason}`);
  const { tags, order } = parsed;
  const v = tags.get("v")?.value;
  if (v !== undefined && (v !== "DKIM1" || order[0] !== "v")) {
    fail(`the key record has v=${v}, not DKIM1 as its first tag`);
  }
  const h = tags.get("h")?.value;
  if (h !== undefined && !list(h).includes("sha256")) {
    fail(`the key allows h=${h}, not sha256`);
  }
  const k = tags.get("k")?.value ?? "rsa";
  if (k !== "rsa" && k !== "ed25519") fail(`unknown key type k=${k}`);
  const wanted = algorithm === "rsa-sha256" ? "rsa" : "ed25519";
  if (k !== wanted) fail(`the key is k=${k}, the signature a=${algorithm}`);
  const s = tags.get("s")?.value;
  if (s !== undefined && !list(s).some((t) => t === "*" || t === "email")) {
    fail(`the key is for s=${s}, not email`);
  }
  const flags = list(tags.get("t")?.value ?? "");
  const p = tags.get("p");
  if (p === undefined) fail("the key record has no p= tag");
  const base64 = p.value.replace(/\s+/g, "");
  if (base64 === "") fail("the key is revoked (p= is empty)");
  let der: Uint8Array<ArrayBuffer>;
  try {
    der = new Uint8Array(fromBase64(base64));
  } catch {
    fail("the p= value is not base64");
  }
  let key: CryptoKey;
  let bits: number;
  if (k === "rsa") {
    key = await importRsa(der);
    bits = (key.algorithm as RsaHashedKeyAlgorithm).modulusLength;
    if (bits < MIN_RSA_BITS) {
      fail(
        `the RSA key has ${bits} bits; at least ${MIN_RSA_BITS} are needed (RFC 8301)`,
      );
    }
  } else {
    if (der.length !== 32) {
      fail(`the Ed25519 key is ${der.length} octets, not 32`);
    }
    try {
      key = await crypto.subtle.importKey(
        "raw",
        der,
        { name: "Ed25519" },
        false,
        ["verify"],
      );
    } catch {
      fail("the p= value is not an Ed25519 public key");
    }
    bits = 256;
  }
  return {
    key,
    type: k,
    bits,
    testing: flags.includes("y"),
    strict: flags.includes("s"),
  };
}
