/**
 * DKIM options checked into signers (the DKIM-Signature field each writes
 * is made in `_signature_field.ts`).
 *
 * @module
 */

import { hasControlOrC1 } from "../protocol/_control.ts";
import type { Canon } from "./_canonical.ts";
import { importKey, inspectKey, type KeyInfo } from "./_key.ts";
import type { DkimAlgorithm, DkimOptions } from "./dkim_options.ts";

/** One signature to add: checked options and the key. */
export interface Signer {
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  headerCanon: Canon;
  bodyCanon: Canon;
  /** The `h=` list as given, lowercase; default list when absent. */
  headerFieldNames?: string[];
  timestamp?: Date;
  expiresIn?: number;
  /** The imported key (imported once, on first use). */
  cryptoKey(): Promise<CryptoKey>;
}

/** Signers for one message, or every message of a session. */
export interface Signers {
  signers: Signer[];
  /** How much of a one-shot stream may be held while the body is hashed. */
  maxBufferSize: number;
}

/** @default 16 MiB */
export const DEFAULT_MAX_BUFFER_SIZE = 16 * 1024 * 1024;

const OPTIONS = new Set([
  "domainName",
  "keySelector",
  "privateKey",
  "algorithm",
  "canonicalization",
  "headerFieldNames",
  "timestamp",
  "expiresIn",
  "maxBufferSize",
]);
const CANONICALIZATIONS = new Set([
  "relaxed/relaxed",
  "relaxed/simple",
  "simple/relaxed",
  "simple/simple",
]);
const LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;
const SELECTOR_LABEL = /^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$/;

function fail(reason: string): never {
  throw new TypeError(`Cannot sign with DKIM: ${reason}`);
}

/** A d= domain or s= selector: dot-separated labels, IDNs as A-labels. */
function checkName(value: unknown, what: string, label: RegExp): string {
  if (typeof value !== "string" || value === "") {
    fail(`${what} must be a non-empty string`);
  }
  if (/[;=\s]/u.test(value) || hasControlOrC1(value)) {
    fail(
      `${what} ${
        JSON.stringify(value)
      } contains ";", "=", white space or a control character`,
    );
  }
  let ascii = value;
  if (/[^\x20-\x7e]/.test(value)) {
    try {
      ascii = new URL(`http://${value}/`).hostname;
    } catch {
      fail(`${what} ${JSON.stringify(value)} is not a domain name`);
    }
  }
  if (ascii.length > 253 || !ascii.split(".").every((l) => label.test(l))) {
    fail(`${what} ${JSON.stringify(value)} is not a domain name`);
  }
  return ascii;
}

function checkOne(options: unknown, what: string): {
  signer: Signer;
  maxBufferSize?: number;
} {
  if (options === null || typeof options !== "object") {
    fail(`${what} must be an object`);
  }
  for (const key of Object.keys(options)) {
    if (!OPTIONS.has(key)) fail(`${what} has an unknown option ${key}`);
  }
  const o = options as Partial<DkimOptions>;
  const domain = checkName(o.domainName, `${what}.domainName`, LABEL);
  const selector = checkName(
    o.keySelector,
    `${what}.keySelector`,
    SELECTOR_LABEL,
  );
  if (
    o.algorithm !== undefined && o.algorithm !== "rsa-sha256" &&
    o.algorithm !== "ed25519-sha256"
  ) {
    fail(
      `${what}.algorithm ${
        JSON.stringify(o.algorithm)
      } is not "rsa-sha256" or "ed25519-sha256"`,
    );
  }
  const canonicalization = o.canonicalization ?? "relaxed/relaxed";
  if (!CANONICALIZATIONS.has(canonicalization)) {
    fail(
      `${what}.canonicalization ${
        JSON.stringify(o.canonicalization)
      } is not one of ${[...CANONICALIZATIONS].join(", ")}`,
    );
  }
  const [headerCanon, bodyCanon] = canonicalization.split("/") as [
    Canon,
    Canon,
  ];
  let headerFieldNames: string[] | undefined;
  if (o.headerFieldNames !== undefined) {
    if (!Array.isArray(o.headerFieldNames)) {
      fail(`${what}.headerFieldNames must be an array of field names`);
    }
    headerFieldNames = o.headerFieldNames.map((name) => {
      if (typeof name !== "string" || !/^[\x21-\x39\x3b-\x7e]+$/.test(name)) {
        fail(
          `${what}.headerFieldNames has ${
            JSON.stringify(name)
          }, which is not a field name`,
        );
      }
      return name.toLowerCase();
    });
    if (!headerFieldNames.includes("from")) {
      fail(`${what}.headerFieldNames must include From (RFC 6376 §5.4)`);
    }
  }
  if (
    o.timestamp !== undefined &&
    (!(o.timestamp instanceof Date) || Number.isNaN(o.timestamp.getTime()) ||
      o.timestamp.getTime() < 0)
  ) {
    fail(`${what}.timestamp must be a valid Date after 1970`);
  }
  if (
    o.expiresIn !== undefined &&
    (!Number.isSafeInteger(o.expiresIn) || o.expiresIn <= 0)
  ) {
    fail(`${what}.expiresIn must be a positive whole number of seconds`);
  }
  if (
    o.maxBufferSize !== undefined &&
    (!Number.isSafeInteger(o.maxBufferSize) || o.maxBufferSize < 0)
  ) {
    fail(`${what}.maxBufferSize must be a whole number of octets`);
  }
  let key: KeyInfo;
  try {
    key = inspectKey(o.privateKey, o.algorithm);
  } catch (error) {
    fail(`${what}.privateKey: ${(error as Error).message}`);
  }
  let imported: Promise<CryptoKey> | undefined;
  const signer: Signer = {
    domain,
    selector,
    algorithm: key.algorithm,
    headerCanon,
    bodyCanon,
    cryptoKey: () => (imported ??= importKey(key)),
  };
  if (headerFieldNames) signer.headerFieldNames = headerFieldNames;
  if (o.timestamp) signer.timestamp = o.timestamp;
  if (o.expiresIn !== undefined) signer.expiresIn = o.expiresIn;
  return {
    signer,
    ...(o.maxBufferSize === undefined
      ? {}
      : { maxBufferSize: o.maxBufferSize }),
  };
}

/**
 * Checks DKIM options, synchronously: every mistake is a `TypeError` here,
 * before a message is read or anything is sent.
 *
 * @param options One or several signatures' options.
 * @param what How the options are named in errors (`"dkim"`).
 * @returns The signers.
 * @throws {TypeError} On a bad option or key.
 */
export function resolveSigners(options: unknown, what: string): Signers {
  const list = Array.isArray(options) ? options : [options];
  if (list.length === 0) fail(`${what} is an empty list`);
  let maxBufferSize = Infinity;
  const signers = list.map((item, i) => {
    const checked = checkOne(
      item,
      Array.isArray(options) ? `${what}[${i}]` : what,
    );
    if (checked.maxBufferSize !== undefined) {
      maxBufferSize = Math.min(maxBufferSize, checked.maxBufferSize);
    }
    return checked.signer;
  });
  return {
    signers,
    maxBufferSize: maxBufferSize === Infinity
      ? DEFAULT_MAX_BUFFER_SIZE
      : maxBufferSize,
  };
}
