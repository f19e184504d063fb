/**
 * The DKIM-Signature field (RFC 6376 §3.5) a signer writes for a message.
 *
 * @module
 */

import { toBase64 } from "../protocol/_base64.ts";
import { latin1Bytes } from "../protocol/_bytes.ts";
import {
  canonicalField,
  type HeaderField,
  selectFields,
} from "./_canonical.ts";
import { sign } from "./_key.ts";
import type { Signer } from "./_signer.ts";

/**
 * The fields signed by default, those present (RFC 6376 §5.4.1's
 * recommendations, plus the list fields RFC 8058 §4 asks to cover).
 */
const DEFAULT_FIELDS = [
  "from",
  "sender",
  "reply-to",
  "subject",
  "date",
  "message-id",
  "to",
  "cc",
  "mime-version",
  "content-type",
  "content-transfer-encoding",
  "in-reply-to",
  "references",
  "list-id",
  "list-unsubscribe",
  "list-unsubscribe-post",
];
/** Signed once more than they occur, so none can be added. */
const OVERSIGNED = new Set(["from", "subject"]);

/** The default `h=` list for a header: see {@linkcode DEFAULT_FIELDS}. */
export function defaultFieldNames(fields: readonly HeaderField[]): string[] {
  const names: string[] = [];
  for (const name of DEFAULT_FIELDS) {
    let count = fields.filter((f) => f.name === name).length;
    if (OVERSIGNED.has(name)) count++;
    for (let i = 0; i < count; i++) names.push(name);
  }
  return names;
}

/** Lines of the DKIM-Signature field stay within this many columns. */
const FOLD_AT = 76;

/**
 * Writes the DKIM-Signature field (without the final CRLF), folded at 76
 * columns: between tags, between `h=` names, and inside the `b=` value
 * (FWS is allowed in all three). The text before the `b=` value does not
 * depend on it, so the field written with an empty `b=` (what is signed)
 * is the signed field with the value removed, as a verifier sees it.
 */
function fieldText(tags: string[], names: string[], b: string): string {
  let text = "DKIM-Signature:";
  let column = text.length;
  const add = (piece: string): void => {
    if (column + piece.length > FOLD_AT && column > 1) {
      const fold = piece.startsWith(" ") ? "\r\n" : "\r\n ";
      text += fold + piece;
      column = fold.length - 2 + piece.length;
    } else {
      text += piece;
      column += piece.length;
    }
  };
  for (const tag of tags) add(` ${tag};`);
  names.forEach((name, i) => {
    const last = i === names.length - 1;
    add((i === 0 ? " h=" : ":") + name + (last ? ";" : ""));
  });
  add(" b=");
  for (let at = 0; at < b.length;) {
    if (FOLD_AT - column < 8) {
      text += "\r\n ";
      column = 1;
    }
    const take = Math.min(FOLD_AT - column, b.length - at);
    text += b.slice(at, at + take);
    column += take;
    at += take;
  }
  return text;
}

/**
 * Signs a message: builds the DKIM-Signature field for its header fields
 * and body hash (RFC 6376 §3.7).
 *
 * @param signer Who signs, how.
 * @param fields The message's header fields.
 * @param bodyHash The body hash for `signer.bodyCanon`.
 * @param now The signing time when the signer gives none.
 * @returns The field with its CRLF.
 * @throws {TypeError} When the message has no From field.
 */
export async function signatureField(
  signer: Signer,
  fields: readonly HeaderField[],
  bodyHash: Uint8Array,
  now: Date,
): Promise<string> {
  if (!fields.some((f) => f.name === "from")) {
    throw new TypeError(
      "Cannot sign with DKIM: the message has no From field, which DKIM must sign",
    );
  }
  const names = signer.headerFieldNames ?? defaultFieldNames(fields);
  const time = Math.floor((signer.timestamp ?? now).getTime() / 1000);
  const tags = [
    "v=1",
    `a=${signer.algorithm}`,
    `c=${signer.headerCanon}/${signer.bodyCanon}`,
    `d=${signer.domain}`,
    `s=${signer.selector}`,
    `t=${time}`,
    ...(signer.expiresIn === undefined ? [] : [`x=${time + signer.expiresIn}`]),
    `bh=${toBase64(bodyHash)}`,
  ];
  const unsigned = fieldText(tags, names, "");
  let data = "";
  for (const field of selectFields(fields, names)) {
    data += canonicalField(field.raw, signer.headerCanon);
  }
  // The field being made is hashed last, b= empty, without its CRLF.
  data += canonicalField(unsigned, signer.headerCanon).slice(0, -2);
  const signature = await sign(
    await signer.cryptoKey(),
    signer.algorithm,
    latin1Bytes(data),
  );
  return fieldText(tags, names, toBase64(signature)) + "\r\n";
}
