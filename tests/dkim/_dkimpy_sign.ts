// dkimpy (python3-dkim) as an independent signer, for the verifier's tests.

import { fromBase64, toBase64 } from "../../src/protocol/_base64.ts";
import { PYTHON } from "../_harness/mod.ts";

const SCRIPT = new URL("./_dkimpy_sign.py", import.meta.url).pathname;

/** One message for dkimpy to sign. */
export interface DkimpyJob {
  message: Uint8Array;
  domain: string;
  selector: string;
  /** PKCS#8 PEM (as the test keys have it); converted for dkimpy. */
  pem: string;
  algorithm: "rsa-sha256" | "ed25519-sha256";
  canonicalize: ["relaxed" | "simple", "relaxed" | "simple"];
  identity?: string;
  /** Sign with l= (the body length). */
  length?: boolean;
  /** The h= list; dkimpy's default without it. */
  headers?: string[];
}

/** The DER elements of a SEQUENCE's contents (short and long lengths). */
function elements(der: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < der.length;) {
    let length = der[at + 1]!;
    let start = at + 2;
    if (length & 0x80) {
      const count = length & 0x7f;
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + der[start + i]!;
      start += count;
    }
    out.push(der.subarray(at, start + length));
    at = start + length;
  }
  return out;
}

/** The contents of one DER element. */
function contents(element: Uint8Array): Uint8Array {
  const length = element[1]!;
  return element.subarray(length & 0x80 ? 2 + (length & 0x7f) : 2);
}

/**
 * A PKCS#8 key as dkimpy reads it: RSA as PKCS#1 PEM (the PrivateKeyInfo's
 * OCTET STRING), Ed25519 as the base64 of its 32-octet seed.
 */
function dkimpyKey(pem: string, algorithm: DkimpyJob["algorithm"]): string {
  const der = fromBase64(pem.replace(/-----[^-]+-----|\s+/g, ""));
  const [, , key] = elements(contents(der));
  const inner = contents(key!);
  if (algorithm === "ed25519-sha256") return toBase64(contents(inner));
  const body = toBase64(inner).match(/.{1,64}/g)!.join("\n");
  return `-----BEGIN RSA PRIVATE KEY-----\n${body}\n-----END RSA PRIVATE KEY-----\n`;
}

/** Signs each message with dkimpy's `dkim.sign`; returns the signed bytes. */
export async function dkimpySign(jobs: DkimpyJob[]): Promise<Uint8Array[]> {
  const input = JSON.stringify(jobs.map((job) => ({
    message: toBase64(job.message),
    domain: job.domain,
    selector: job.selector,
    key: dkimpyKey(job.pem, job.algorithm),
    algorithm: job.algorithm,
    canonicalize: job.canonicalize,
    identity: job.identity ?? null,
    length: job.length ?? false,
    headers: job.headers ?? null,
  })));
  const child = new Deno.Command(PYTHON, {
    args: [SCRIPT],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { PYTHONDONTWRITEBYTECODE: "1" },
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  if (code !== 0) {
    throw new Error(`dkimpy failed: ${new TextDecoder().decode(stderr)}`);
  }
  return (JSON.parse(new TextDecoder().decode(stdout)) as string[]).map((m) =>
    fromBase64(m)
  );
}
