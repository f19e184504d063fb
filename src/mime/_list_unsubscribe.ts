// List-Unsubscribe (RFC 2369) and one-click unsubscribe (RFC 8058).

import { hasControlOrC1 } from "../protocol/_control.ts";
import { normalizeAddress } from "./_address.ts";
import { foldTokens } from "./_header.ts";
import type { Mail } from "./mail.ts";

const encoder = new TextEncoder();
/** RFC 6068 `qchar` minus `pct-encoded`: unreserved and some-delims. */
const QCHAR = /^[A-Za-z0-9\-._~!$'()*+,;:@]$/;

function fail(reason: string): never {
  throw new TypeError(`Cannot compose message: mail.listUnsubscribe ${reason}`);
}

/** An https URL, checked before parsing (the URL parser drops tabs and line breaks). */
function httpsUrl(value: unknown): string {
  if (typeof value !== "string") fail("url is not a string");
  if (hasControlOrC1(value)) fail("url contains a control character");
  if (/[\s<>"]/u.test(value)) {
    fail(`url ${JSON.stringify(value)} contains white space, "<", ">" or '"'`);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    fail(`url ${JSON.stringify(value)} is not a URL`);
  }
  // RFC 8058 §3.1: the one-click URI must be https.
  if (url.protocol !== "https:") {
    fail(`url ${JSON.stringify(value)} is not https`);
  }
  // href is ASCII: non-ASCII path bytes percent-encoded, the host punycode.
  return url.href;
}

/** A bare address as a mailto: URI (RFC 6068 §2: other characters percent-encoded). */
function mailtoUri(value: unknown): string {
  if (typeof value !== "string") fail("mailto is not a string");
  if (hasControlOrC1(value)) fail("mailto contains a control character");
  if (/^mailto:/i.test(value) || /[<>]/.test(value)) {
    fail(
      `mailto ${
        JSON.stringify(value)
      } is not a bare address (write "list@example.com")`,
    );
  }
  const address = normalizeAddress(value);
  let uri = "mailto:";
  for (const char of address) {
    if (QCHAR.test(char)) uri += char;
    else {
      for (const byte of encoder.encode(char)) {
        uri += "%" + byte.toString(16).toUpperCase().padStart(2, "0");
      }
    }
  }
  return uri;
}

/**
 * The `List-Unsubscribe` field (the https URL first, then the mailto URI,
 * each in angle brackets and never folded inside them: Gmail's DKIM check
 * fails on a field folded within a URI) and, when there is a URL,
 * `List-Unsubscribe-Post: List-Unsubscribe=One-Click`.
 */
export function listUnsubscribeFields(
  value: NonNullable<Mail["listUnsubscribe"]>,
): string {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    fail("is not an object { url?, mailto? }");
  }
  for (const key of Object.keys(value)) {
    if (key !== "url" && key !== "mailto") {
      fail(`has an unknown property ${JSON.stringify(key)}`);
    }
  }
  const uris: string[] = [];
  if (value.url !== undefined) uris.push(httpsUrl(value.url));
  if (value.mailto !== undefined) uris.push(mailtoUri(value.mailto));
  if (uris.length === 0) fail("has neither a url nor a mailto address");
  const tokens = uris.map((uri, i) =>
    (i > 0 ? " " : "") + `<${uri}>` + (i < uris.length - 1 ? "," : "")
  );
  let fields = foldTokens("List-Unsubscribe", tokens);
  if (value.url !== undefined) {
    fields += "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n";
  }
  return fields;
}
