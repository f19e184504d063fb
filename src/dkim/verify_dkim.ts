import { fromBase64 } from "../protocol/_base64.ts";
import {
  assertBytes,
  concatBytes,
  constantTimeEqual,
  latin1Bytes,
} from "../protocol/_bytes.ts";
import {
  BodyHash,
  type Canon,
  canonicalField,
  type HeaderField,
  HeaderSplitter,
  parseHeader,
  selectFields,
} from "./_canonical.ts";
import { KeyError, type PublicKey, readKeyRecord } from "./_public_key.ts";
import { parseTagList, type Tag } from "./_tag_list.ts";
import type { DkimAlgorithm } from "./dkim_options.ts";

/**
 * The outcome of one signature (RFC 8601 §2.7.1): `pass`; `fail` (the
 * signature or body hash does not match, or it expired); `temperror` (the
 * key could not be looked up now: try later); `permerror` (the signature
 * or its key record is malformed, unsupported, revoked or missing);
 * `none` (the message has no DKIM-Signature field).
 */
export type DkimVerdict = "pass" | "fail" | "temperror" | "permerror" | "none";

/** What {@linkcode verifyDkim} found of one DKIM-Signature field. */
export interface DkimResult {
  /** The outcome. */
  result: DkimVerdict;
  /** Why, for anything but `pass`: `"body hash did not verify"` … */
  reason?: string;
  /** The signing domain (`d=`). */
  domain?: string;
  /** The selector (`s=`). */
  selector?: string;
  /** The agent or user identifier (`i=`, or `@` and `d=` without one). */
  identity?: string;
  /** The algorithm (`a=`), as written. */
  algorithm?: string;
  /** The canonicalization (`c=`), in full: `"relaxed/simple"`. */
  canonicalization?: string;
  /** The signed header fields (`h=`), as written. */
  headerFieldNames?: string[];
  /** The signing time (`t=`). */
  signedAt?: Date;
  /** The expiry (`x=`). */
  expiresAt?: Date;
  /** The body length signed (`l=`): content past it is not covered. */
  bodyLength?: number;
  /** The key size in bits, once the key was read (256 for Ed25519). */
  keyBits?: number;
  /** The key record says the domain is testing DKIM (`t=y`). */
  testing?: boolean;
  /** The first 12 characters of the signature (`b=`), to tell signatures apart. */
  signature?: string;
}

/**
 * Looks up the TXT records of a DNS name: one entry per record, a record
 * given as a string or as its character-strings (joined). Resolve to `[]`
 * when the name has no TXT record or does not exist (the key is then
 * missing: `permerror`); reject on a failure worth retrying (`temperror`).
 * `Deno.resolveDns(name, "TXT")` and Node's `dns.promises.resolveTxt`
 * return this shape, but reject for a missing name: map that to `[]`.
 */
export type TxtResolver = (
  name: string,
) => Promise<readonly (string | readonly string[])[]>;

/** Options of {@linkcode verifyDkim}. */
export interface VerifyDkimOptions {
  /** Looks up the key records (`<s>._domainkey.<d>` TXT). */
  resolveTxt: TxtResolver;
  /** The time against which `x=` is checked. @default {now} */
  now?: Date;
  /**
   * Signatures verified at most; those past it are `permerror`, so a
   * message with hundreds cannot make the verifier look up hundreds of
   * keys. @default {10}
   */
  maxSignatures?: number;
}

/** A header section longer than this is not read (1 MiB). */
const MAX_HEADER = 1024 * 1024;
const ALGORITHMS = new Set<string>(["rsa-sha256", "ed25519-sha256"]);
const DOMAIN =
  /^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)(?:\.(?!-)[A-Za-z0-9_-]{1,63}(?<!-))*\.?$/;

/** A DKIM-Signature field read, ready to verify. */
interface Parsed {
  field: HeaderField;
  algorithm: DkimAlgorithm;
  headerCanon: Canon;
  bodyCanon: Canon;
  domain: string;
  selector: string;
  names: string[];
  signature: Uint8Array<ArrayBuffer>;
  bodyHash: Uint8Array;
  bodyLength?: number;
  /** The field with the b= value removed. */
  unsigned: string;
  strictIdentity: string;
}

class SignatureError extends Error {
  readonly verdict: "fail" | "permerror";
  constructor(verdict: "fail" | "permerror", reason: string) {
    super(reason);
    this.verdict = verdict;
  }
}

function permerror(reason: string): never {
  throw new SignatureError("permerror", reason);
}

function base64Tag(
  tag: Tag | undefined,
  name: string,
): Uint8Array<ArrayBuffer> {
  const text = (tag?.value ?? "").replace(/[ \t\r\n]+/g, "");
  if (text === "") permerror(`the ${name}= tag is empty`);
  try {
    return new Uint8Array(fromBase64(text));
  } catch {
    return permerror(`the ${name}= tag is not base64`);
  }
}

/** dkim-quoted-printable (RFC 6376 §2.11), for `i=`. */
function decodeQuotedPrintable(text: string): string {
  const bytes: number[] = [];
  const clean = text.replace(/[ \t\r\n]+/g, "");
  for (let i = 0; i < clean.length; i++) {
    const hex = clean.slice(i + 1, i + 3);
    if (clean[i] === "=" && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(clean.charCodeAt(i) & 0xff);
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** Seconds since the epoch, as a Date; up to 12 digits are read. */
function timeTag(tag: Tag | undefined, name: string): Date | undefined {
  if (tag === undefined) return undefined;
  if (!/^\d{1,12}$/.test(tag.value)) {
    permerror(`the ${name}= tag is not a number of seconds`);
  }
  return new Date(Number(tag.value) * 1000);
}

/**
 * Reads a DKIM-Signature field (RFC 6376 §3.5, §6.1.1), filling `result`
 * with what it says as it goes.
 */
function parseSignature(field: HeaderField, result: DkimResult): Parsed {
  const colon = field.raw.indexOf(":");
  const list = parseTagList(field.raw.slice(colon + 1), colon + 1);
  if (!list.ok) permerror(`the signature is malformed: ${list.reason}`);
  const { tags } = list;
  const get = (name: string): string | undefined => tags.get(name)?.value;
  const d = get("d");
  const s = get("s");
  if (d !== undefined) result.domain = d;
  if (s !== undefined) result.selector = s;
  const a = get("a");
  if (a !== undefined) result.algorithm = a;
  const b = tags.get("b");
  if (b !== undefined) {
    result.signature = b.value.replace(/[ \t\r\n]+/g, "").slice(0, 12);
  }
  for (const name of ["v", "a", "b", "bh", "d", "h", "s"]) {
    if (!tags.has(name)) permerror(`the signature has no ${name}= tag`);
  }
  if (get("v") !== "1") permerror(`unsupported version v=${get("v")}`);
  if (a === "rsa-sha1") {
    permerror("rsa-sha1 signatures are not accepted (RFC 8301)");
  }
  if (!ALGORITHMS.has(a!)) permerror(`unknown algorithm a=${a}`);
  const c = get("c") ?? "simple/simple";
  const canons = c.split("/");
  const headerCanon = canons[0];
  const bodyCanon = canons[1] ?? "simple";
  if (
    canons.length > 2 ||
    !(headerCanon === "simple" || headerCanon === "relaxed") ||
    !(bodyCanon === "simple" || bodyCanon === "relaxed")
  ) {
    permerror(`unknown canonicalization c=${c}`);
  }
  result.canonicalization = `${headerCanon}/${bodyCanon}`;
  if (!DOMAIN.test(d!)) permerror(`d=${d} is not a domain name`);
  if (!DOMAIN.test(s!) || s!.endsWith(".")) {
    permerror(`s=${s} is not a selector`);
  }
  const names = get("h")!.split(":").map((name) =>
    name.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, "")
  );
  result.headerFieldNames = names;
  if (names.some((name) => !/^[\x21-\x39\x3b-\x7e]+$/.test(name))) {
    permerror("the h= tag has an empty or bad field name");
  }
  if (!names.some((name) => name.toLowerCase() === "from")) {
    permerror("the h= tag does not sign From");
  }
  const domain = d!.toLowerCase().replace(/\.$/, "");
  let identity = `@${d}`;
  const i = tags.get("i");
  if (i !== undefined) {
    identity = decodeQuotedPrintable(i.value);
    const at = identity.lastIndexOf("@");
    const idDomain = identity.slice(at + 1).toLowerCase().replace(/\.$/, "");
    if (at < 0 || (idDomain !== domain && !idDomain.endsWith(`.${domain}`))) {
      permerror(`i=${identity} is not in the d=${d} domain`);
    }
  }
  result.identity = identity;
  const q = get("q");
  if (q !== undefined && !q.split(":").some((m) => m.trim() === "dns/txt")) {
    permerror(`unsupported key query method q=${q}`);
  }
  const signedAt = timeTag(tags.get("t"), "t");
  const expiresAt = timeTag(tags.get("x"), "x");
  if (signedAt) result.signedAt = signedAt;
  if (expiresAt) result.expiresAt = expiresAt;
  if (signedAt && expiresAt && expiresAt < signedAt) {
    permerror("the signature expires (x=) before it was made (t=)");
  }
  let bodyLength: number | undefined;
  const l = get("l");
  if (l !== undefined) {
    if (!/^\d{1,15}$/.test(l)) permerror(`l=${l} is not a length`);
    bodyLength = Number(l);
    result.bodyLength = bodyLength;
  }
  const bodyHash = base64Tag(tags.get("bh"), "bh");
  const signature = base64Tag(b, "b");
  // The field as signed: the b= value (and white space around it) removed.
  const unsigned = field.raw.slice(0, b!.start) + field.raw.slice(b!.end);
  return {
    field,
    algorithm: a as DkimAlgorithm,
    headerCanon: headerCanon as Canon,
    bodyCanon: bodyCanon as Canon,
    domain: d!,
    selector: s!,
    names,
    signature,
    bodyHash,
    ...(bodyLength === undefined ? {} : { bodyLength }),
    unsigned,
    strictIdentity: identity.slice(identity.lastIndexOf("@") + 1)
      .toLowerCase().replace(/\.$/, ""),
  };
}

/** The message as a stream. */
function streamOf(message: unknown): ReadableStream<Uint8Array> {
  if (typeof message === "string") {
    return new Blob([message]).stream();
  }
  if (message instanceof Uint8Array) {
    return new ReadableStream({
      start(controller) {
        controller.enqueue(message);
        controller.close();
      },
    });
  }
  if (message instanceof Blob) return message.stream();
  if (message instanceof ReadableStream) {
    if (message.locked) {
      throw new TypeError(
        "Cannot verify DKIM: the message stream is locked",
      );
    }
    return message;
  }
  throw new TypeError(
    "Cannot verify DKIM: expected a string, Uint8Array, Blob or ReadableStream",
  );
}

interface Read {
  fields: HeaderField[];
  /** Body hashes (and canonical lengths) by `canon:limit`. */
  bodies: Map<string, { hash: Uint8Array; length: number }>;
}

/**
 * Reads the message once: splits off the header, then hashes the body in
 * every way the signatures ask (canonicalization, `l=`).
 */
async function readMessage(
  readable: ReadableStream<Uint8Array>,
  bodyKeys: (fields: HeaderField[]) => Set<string>,
): Promise<Read | undefined> {
  const splitter = new HeaderSplitter();
  const header: Uint8Array[] = [];
  let headerSize = 0;
  let fields: HeaderField[] | undefined;
  let hashes: Map<string, BodyHash> | undefined;
  const newHashes = (afterCr: boolean): Map<string, BodyHash> => {
    const map = new Map<string, BodyHash>();
    for (const key of bodyKeys(fields!)) {
      const [canon, limit] = key.split(":") as [Canon, string];
      map.set(key, new BodyHash(canon, afterCr, Number(limit)));
    }
    return map;
  };
  const reader = readable.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      assertBytes(value, "verify DKIM");
      if (hashes) {
        for (const hash of hashes.values()) hash.update(value);
        continue;
      }
      const end = splitter.scan(value);
      const part = end < 0 ? value : value.subarray(0, end);
      headerSize += part.length;
      if (headerSize > MAX_HEADER) {
        await reader.cancel().catch(() => {});
        return undefined;
      }
      header.push(part.slice());
      if (end >= 0) {
        fields = parseHeader(concatBytes(header, headerSize));
        hashes = newHashes(splitter.endedInCr);
        for (const hash of hashes.values()) hash.update(value, end);
      }
    }
  } finally {
    reader.releaseLock();
  }
  // No blank line: all header, an empty body.
  fields ??= parseHeader(concatBytes(header, headerSize));
  hashes ??= newHashes(false);
  const bodies = new Map<string, { hash: Uint8Array; length: number }>();
  for (const [key, hash] of hashes) {
    bodies.set(key, { hash: hash.digest(), length: hash.length });
  }
  return { fields, bodies };
}

function bodyKey(parsed: Parsed): string {
  return `${parsed.bodyCanon}:${parsed.bodyLength ?? Infinity}`;
}

/** The records of a name, each joined, through the caller's resolver. */
async function lookUp(
  resolveTxt: TxtResolver,
  name: string,
): Promise<string[]> {
  const records = await resolveTxt(name);
  if (!Array.isArray(records)) {
    throw new TypeError("the TXT resolver did not return an array");
  }
  return records.map((record) =>
    typeof record === "string" ? record : [...record].join("")
  );
}

/**
 * Verifies the DKIM signatures of a message (RFC 6376 §6; Ed25519 per
 * RFC 8463): `rsa-sha256` and `ed25519-sha256`, relaxed and simple
 * canonicalization, `l=`, `i=`, `t=`/`x=`, key records with `k=`, `h=`,
 * `s=`, `t=y`/`t=s`. Keys are looked up through `resolveTxt`, so this
 * runs anywhere (no DNS of its own); signatures with `rsa-sha1` or RSA
 * keys under 1024 bits are `permerror` (RFC 8301).
 *
 * The message is read once, the body hashed as it streams (only the header
 * section, up to 1 MiB, is held). Line ends are read as an SMTP client
 * sends them: a bare CR or LF counts as CRLF.
 *
 * @param message The message as received (header, blank line, body).
 * @param options The TXT resolver, and the time to check expiry against.
 * @returns One result per DKIM-Signature field, top to bottom; for a
 * message without any, one result `none`. Never rejects for a bad
 * signature or key: that is a result.
 * @throws {TypeError} When the message is not a string, Uint8Array, Blob
 * or unlocked ReadableStream, or an option is invalid (rejects with it);
 * a read error of the stream rejects as it is.
 *
 * @example Verifying a message signed with a new Ed25519 key
 * ```ts
 * import { signMessage, verifyDkim } from "@x/sendmail/dkim";
 * import assert from "node:assert/strict";
 *
 * const { privateKey, publicKey } = await crypto.subtle.generateKey(
 *   { name: "Ed25519" },
 *   true,
 *   ["sign", "verify"],
 * ) as CryptoKeyPair;
 * const raw = new Uint8Array(await crypto.subtle.exportKey("raw", publicKey));
 * const record = `v=DKIM1; k=ed25519; p=${btoa(String.fromCharCode(...raw))}`;
 * const signed = await new Response(signMessage(
 *   "From: ada@example.com\r\nSubject: Hello\r\n\r\nHi.\r\n",
 *   { domainName: "example.com", keySelector: "mail", privateKey },
 * )).text();
 *
 * const [result] = await verifyDkim(signed, {
 *   resolveTxt: async (name) =>
 *     name === "mail._domainkey.example.com" ? [record] : [],
 * });
 * assert.equal(result?.result, "pass");
 * assert.equal(result?.domain, "example.com");
 *
 * const [tampered] = await verifyDkim(signed.replace("Hi.", "Hi!"), {
 *   resolveTxt: async () => [record],
 * });
 * assert.equal(tampered?.result, "fail");
 * assert.equal(tampered?.reason, "body hash did not verify");
 * ```
 */
export async function verifyDkim(
  message: string | Uint8Array | Blob | ReadableStream<Uint8Array>,
  options: VerifyDkimOptions,
): Promise<DkimResult[]> {
  if (options === null || typeof options !== "object") {
    throw new TypeError("Cannot verify DKIM: options must be an object");
  }
  const { resolveTxt, now = new Date(), maxSignatures = 10 } = options;
  if (typeof resolveTxt !== "function") {
    throw new TypeError("Cannot verify DKIM: resolveTxt must be a function");
  }
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) {
    throw new TypeError("Cannot verify DKIM: now must be a valid Date");
  }
  if (!Number.isInteger(maxSignatures) || maxSignatures < 1) {
    throw new RangeError(
      "Cannot verify DKIM: maxSignatures must be a whole number from 1",
    );
  }
  const readable = streamOf(message);

  const results: DkimResult[] = [];
  const parsed: (Parsed | undefined)[] = [];
  const read = await readMessage(readable, (fields) => {
    const keys = new Set<string>();
    for (const field of fields) {
      if (field.name !== "dkim-signature") continue;
      const result: DkimResult = { result: "permerror" };
      results.push(result);
      if (results.length > maxSignatures) {
        result.reason = `more than ${maxSignatures} signatures`;
        parsed.push(undefined);
        continue;
      }
      try {
        const signature = parseSignature(field, result);
        parsed.push(signature);
        keys.add(bodyKey(signature));
      } catch (error) {
        if (!(error instanceof SignatureError)) throw error;
        result.reason = error.message;
        parsed.push(undefined);
      }
    }
    return keys;
  });
  if (read === undefined) {
    return [{
      result: "permerror",
      reason: `the header section is over ${MAX_HEADER} octets`,
    }];
  }
  if (results.length === 0) {
    return [{
      result: "none",
      reason: "the message has no DKIM-Signature field",
    }];
  }

  const keys = new Map<string, Promise<string[]>>();
  await Promise.all(parsed.map(async (signature, index) => {
    if (signature === undefined) return;
    const result = results[index]!;
    try {
      await check(signature, result);
      result.result = "pass";
    } catch (error) {
      if (error instanceof SignatureError) {
        result.result = error.verdict;
        result.reason = error.message;
      } else if (error instanceof KeyError) {
        result.result = "permerror";
        result.reason = error.message;
      } else if (error instanceof LookupError) {
        result.result = "temperror";
        result.reason = error.message;
      } else throw error;
    }
  }));
  return results;

  async function check(signature: Parsed, result: DkimResult): Promise<void> {
    if (result.expiresAt && result.expiresAt < now) {
      throw new SignatureError(
        "fail",
        `the signature expired at ${result.expiresAt.toISOString()}`,
      );
    }
    const name = `${signature.selector}._domainkey.${signature.domain}`
      .replace(/\.$/, "");
    let lookup = keys.get(name.toLowerCase());
    if (!lookup) {
      lookup = lookUp(resolveTxt, name);
      keys.set(name.toLowerCase(), lookup);
    }
    let records: string[];
    try {
      records = await lookup;
    } catch (error) {
      throw new LookupError(
        `the key lookup of ${name} failed: ${
          error instanceof Error ? error.message : String(error)
        }`,
      );
    }
    if (records.length === 0) {
      throw new KeyError(`no key record at ${name}`);
    }
    // Several records: the first that reads as a key for this signature.
    let key: PublicKey | undefined;
    let first: unknown;
    for (const record of records) {
      try {
        key = await readKeyRecord(record, signature.algorithm);
        break;
      } catch (error) {
        first ??= error;
      }
    }
    if (!key) throw first;
    result.keyBits = key.bits;
    if (key.testing) result.testing = true;
    if (
      key.strict &&
      signature.strictIdentity !==
        signature.domain.toLowerCase().replace(/\.$/, "")
    ) {
      throw new KeyError(
        "the key (t=s) does not allow an i= domain other than d=",
      );
    }
    const body = read!.bodies.get(bodyKey(signature))!;
    if (
      signature.bodyLength !== undefined && signature.bodyLength > body.length
    ) {
      throw new SignatureError(
        "fail",
        `the body is shorter (${body.length} octets) than l=${signature.bodyLength}`,
      );
    }
    if (!constantTimeEqual(body.hash, signature.bodyHash)) {
      throw new SignatureError("fail", "body hash did not verify");
    }
    let data = "";
    for (const field of selectFields(read!.fields, signature.names)) {
      data += canonicalField(field.raw, signature.headerCanon);
    }
    data += canonicalField(signature.unsigned, signature.headerCanon)
      .slice(0, -2);
    const bytes = latin1Bytes(data);
    const ok = signature.algorithm === "rsa-sha256"
      ? await crypto.subtle.verify(
        "RSASSA-PKCS1-v1_5",
        key.key,
        signature.signature,
        bytes,
      )
      : await crypto.subtle.verify(
        "Ed25519",
        key.key,
        signature.signature,
        await crypto.subtle.digest("SHA-256", bytes),
      );
    if (!ok) throw new SignatureError("fail", "signature did not verify");
  }
}

class LookupError extends Error {}
