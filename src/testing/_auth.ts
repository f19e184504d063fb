/**
 * The server side of SMTP AUTH (RFC 4954) for the capture server: PLAIN
 * (RFC 4616), LOGIN, CRAM-MD5 (RFC 2195), SCRAM-SHA-256 and SCRAM-SHA-1
 * (RFC 7677, RFC 5802; in `_auth_scram.ts`), XOAUTH2 (Google's) and
 * OAUTHBEARER (RFC 7628).
 *
 * @module
 */

import * as base64 from "../protocol/_base64.ts";
import { hmacMd5 } from "../sasl/_md5.ts";
import { authenticateScram } from "./_auth_scram.ts";
import type { TestServerAuthMechanism } from "./test_server_options.ts";

/** Sends a `334` challenge (base64 text) and returns the client's answer line. */
export type Challenge = (base64: string) => Promise<string | null>;

/** How an AUTH exchange ended. */
export type AuthOutcome =
  | { ok: true; user: string }
  | {
    ok: false;
    /** Reply code, enhanced code and text. */
    reply: [number, string, string];
    /** The connection closed during the exchange. */
    closed?: boolean;
  };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

class Cancelled extends Error {}
class Closed extends Error {}
class BadBase64 extends Error {}

function fromBase64(text: string): string {
  if (text === "=") return "";
  try {
    return decoder.decode(base64.fromBase64(text));
  } catch {
    throw new BadBase64();
  }
}

function toBase64(text: string): string {
  return base64.toBase64(encoder.encode(text));
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const INVALID: AuthOutcome = {
  ok: false,
  reply: [535, "5.7.8", "Authentication credentials invalid"],
};

/**
 * Runs one AUTH exchange.
 *
 * @param mechanism The mechanism the client named (upper-cased, offered).
 * @param initial The initial response, if the AUTH line had one.
 * @param challenge Sends a 334 and reads the answer.
 * @param users User name → password or token.
 * @param serverName Used in the CRAM-MD5 challenge.
 * @returns Who logged in, or the reply to send.
 */
export async function authenticate(
  mechanism: TestServerAuthMechanism,
  initial: string | undefined,
  challenge: Challenge,
  users: Readonly<Record<string, string>>,
  serverName: string,
): Promise<AuthOutcome> {
  const ask = async (base64: string): Promise<string> => {
    const line = await challenge(base64);
    if (line === null) throw new Closed();
    if (line === "*") throw new Cancelled();
    return line;
  };
  const secretOf = (user: string): string | undefined =>
    Object.hasOwn(users, user) ? users[user] : undefined;
  try {
    switch (mechanism) {
      case "PLAIN": {
        const response = fromBase64(initial ?? await ask(""));
        const parts = response.split("\0");
        if (parts.length !== 3) return INVALID;
        const [authzid, user, password] = parts as [string, string, string];
        if (authzid !== "" && authzid !== user) return INVALID;
        return secretOf(user) === password && password !== ""
          ? { ok: true, user }
          : INVALID;
      }
      case "LOGIN": {
        const user = fromBase64(initial ?? await ask(toBase64("Username:")));
        const password = fromBase64(await ask(toBase64("Password:")));
        return secretOf(user) === password && password !== ""
          ? { ok: true, user }
          : INVALID;
      }
      case "CRAM-MD5": {
        if (initial !== undefined) {
          return { ok: false, reply: [501, "5.5.2", "No initial response"] };
        }
        const nonce = hex(crypto.getRandomValues(new Uint8Array(8)));
        const text = `<${nonce}.${Date.now()}@${serverName}>`;
        const response = fromBase64(await ask(toBase64(text)));
        const space = response.lastIndexOf(" ");
        const user = response.slice(0, space);
        const secret = secretOf(user);
        if (space < 0 || secret === undefined) return INVALID;
        const expected = hex(
          hmacMd5(encoder.encode(secret), encoder.encode(text)),
        );
        return response.slice(space + 1).toLowerCase() === expected
          ? { ok: true, user }
          : INVALID;
      }
      case "SCRAM-SHA-256":
      case "SCRAM-SHA-1":
        return await authenticateScram(mechanism, initial, ask, users);
      case "XOAUTH2": {
        const response = fromBase64(initial ?? await ask(""));
        // deno-lint-ignore no-control-regex
        const match = /^user=([^\x01]*)\x01auth=Bearer ([^\x01]+)\x01\x01$/
          .exec(response);
        if (match && secretOf(match[1]!) === match[2]) {
          return { ok: true, user: match[1]! };
        }
        // Google's failure: a 334 with a JSON error, an empty answer, 535.
        await ask(toBase64(
          '{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}',
        ));
        return INVALID;
      }
      case "OAUTHBEARER": {
        const response = fromBase64(initial ?? await ask(""));
        // gs2 header "n,a=user," then key=value pairs separated by ^A.
        // deno-lint-ignore no-control-regex
        const match = /^[ny],(?:a=([^,]*))?,\x01(.*)\x01\x01$/s.exec(response);
        const fields = new Map<string, string>();
        for (const pair of match?.[2]?.split("\x01") ?? []) {
          const eq = pair.indexOf("=");
          if (eq > 0) fields.set(pair.slice(0, eq), pair.slice(eq + 1));
        }
        const user = match?.[1]?.replaceAll("=2C", ",").replaceAll("=3D", "=");
        const token = /^Bearer (.+)$/.exec(fields.get("auth") ?? "")?.[1];
        if (
          user !== undefined && token !== undefined && secretOf(user) === token
        ) {
          return { ok: true, user };
        }
        // RFC 7628 §3.2.2: an error challenge, the client answers ^A, then 535.
        await ask(toBase64(
          '{"status":"invalid_token","schemes":"bearer","scope":"email"}',
        ));
        return INVALID;
      }
    }
  } catch (error) {
    if (error instanceof Cancelled) {
      return { ok: false, reply: [501, "5.0.0", "Authentication cancelled"] };
    }
    if (error instanceof BadBase64) {
      return { ok: false, reply: [501, "5.5.2", "Cannot decode base64"] };
    }
    if (error instanceof Closed) {
      return { ok: false, reply: [421, "4.4.2", "Closed"], closed: true };
    }
    throw error;
  }
}
