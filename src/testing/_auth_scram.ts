/**
 * The server side of SCRAM-SHA-256 (RFC 7677) and SCRAM-SHA-1 (RFC 5802)
 * for the capture server: the account's password (SASLprep'd) with a fresh
 * random salt and 4096 iterations per exchange, no channel binding.
 *
 * @module
 */

import { fromBase64, toBase64 } from "../protocol/_base64.ts";
import { saslprep } from "../sasl/_saslprep.ts";
import type { AuthOutcome } from "./_auth.ts";

/** The iteration count the capture server asks for (RFC 7677's minimum). */
const ITERATIONS = 4096;

const INVALID: AuthOutcome = {
  ok: false,
  reply: [535, "5.7.8", "Authentication credentials invalid"],
};
const MALFORMED: AuthOutcome = {
  ok: false,
  reply: [501, "5.5.2", "Malformed SCRAM message"],
};

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Base64 to text, or `undefined` when it is not base64 or not UTF-8. */
function decode(base64: string): string | undefined {
  try {
    return decoder.decode(fromBase64(base64));
  } catch {
    return undefined;
  }
}

/** `saslname` to the user name: `=2C` and `=3D`, and no other `=`. */
function unescapeName(name: string): string | undefined {
  if (/=(?!2C|3D)/.test(name)) return undefined;
  return name.replaceAll("=2C", ",").replaceAll("=3D", "=");
}

/**
 * Runs a SCRAM exchange.
 *
 * @param mechanism SCRAM-SHA-256 or SCRAM-SHA-1.
 * @param initial The initial response of the AUTH line, if any.
 * @param ask Sends a 334 challenge, returns the answer (throws on `*` or a
 * closed connection, as `authenticate` handles).
 * @param users User name → password. A client sends the user name after
 * SASLprep: an account matches when its name, or its name after SASLprep,
 * is the one sent.
 * @returns Who logged in (the account's name), or the reply to send.
 */
export async function authenticateScram(
  mechanism: "SCRAM-SHA-256" | "SCRAM-SHA-1",
  initial: string | undefined,
  ask: (base64: string) => Promise<string>,
  users: Readonly<Record<string, string>>,
): Promise<AuthOutcome> {
  const hash = mechanism === "SCRAM-SHA-256" ? "SHA-256" : "SHA-1";
  const bits = mechanism === "SCRAM-SHA-256" ? 256 : 160;
  const clientFirst = decode(initial ?? await ask(""));
  if (clientFirst === undefined) return MALFORMED;
  // gs2-header (no channel binding: "n" or "y", an optional authzid), then
  // client-first-message-bare: n=<user>,r=<nonce>[,extensions].
  const match =
    /^([ny]),(?:a=([^,]*))?,(n=([^,]*),r=([\x21-\x2b\x2d-\x7e]+)(?:,[A-Za-z]=[^,]*)*)$/
      .exec(clientFirst);
  if (clientFirst.startsWith("p=")) {
    return {
      ok: false,
      reply: [535, "5.7.8", "Channel binding is not supported"],
    };
  }
  if (!match) return MALFORMED;
  const [, , authzid, bare, name, clientNonce] = match as unknown as string[];
  const user = unescapeName(name!);
  if (user === undefined || user === "") return MALFORMED;
  if (authzid !== undefined && unescapeName(authzid) !== user) return INVALID;
  const gs2Header = clientFirst.slice(0, clientFirst.length - bare!.length);

  const salt = crypto.getRandomValues(new Uint8Array(16));
  const nonce = clientNonce! +
    toBase64(crypto.getRandomValues(new Uint8Array(18)));
  const serverFirst = `r=${nonce},s=${toBase64(salt)},i=${ITERATIONS}`;
  const clientFinal = decode(
    await ask(toBase64(encoder.encode(serverFirst))),
  );
  if (clientFinal === undefined) return MALFORMED;
  const final = /^(c=([^,]*),r=([^,]*)(?:,[A-Za-z]=[^,]*)*),p=([^,]+)$/.exec(
    clientFinal,
  );
  if (!final) return MALFORMED;
  const [, withoutProof, binding, finalNonce, proofText] = final as unknown as [
    string,
    string,
    string,
    string,
    string,
  ];
  if (
    binding !== toBase64(encoder.encode(gs2Header)) || finalNonce !== nonce
  ) {
    return INVALID;
  }

  // An unknown user goes through the same computation, with no password
  // that can match, so the reply does not tell users apart.
  const account = Object.hasOwn(users, user) ? user : Object.keys(users).find(
    (name) => {
      const prepared = saslprep(name);
      return prepared.ok && prepared.value === user;
    },
  );
  const secret = account === undefined ? undefined : users[account];
  const prepared = secret === undefined ? undefined : saslprep(secret);
  const password = prepared?.ok ? prepared.value : crypto.randomUUID();
  const subtle = crypto.subtle;
  const key = await subtle.importKey(
    "raw",
    encoder.encode(password),
    "PBKDF2",
    false,
    ["deriveBits"],
  );
  const salted = new Uint8Array(
    await subtle.deriveBits(
      { name: "PBKDF2", hash, salt, iterations: ITERATIONS },
      key,
      bits,
    ),
  );
  const hmac = async (keyBytes: Uint8Array, text: string) =>
    new Uint8Array(
      await subtle.sign(
        "HMAC",
        await subtle.importKey(
          "raw",
          keyBytes as Uint8Array<ArrayBuffer>,
          { name: "HMAC", hash },
          false,
          ["sign"],
        ),
        encoder.encode(text),
      ),
    );
  const authMessage = `${bare},${serverFirst},${withoutProof}`;
  const clientKey = await hmac(salted, "Client Key");
  const storedKey = new Uint8Array(
    await subtle.digest(hash, clientKey as Uint8Array<ArrayBuffer>),
  );
  const signature = await hmac(storedKey, authMessage);
  let proof: Uint8Array;
  try {
    proof = fromBase64(proofText);
  } catch {
    return MALFORMED;
  }
  if (proof.length !== signature.length) return INVALID;
  const recovered = proof.map((byte, i) => byte ^ signature[i]!);
  const check = new Uint8Array(
    await subtle.digest(hash, recovered as Uint8Array<ArrayBuffer>),
  );
  let difference = 0;
  for (let i = 0; i < check.length; i++) {
    difference |= check[i]! ^ storedKey[i]!;
  }
  if (difference !== 0 || secret === undefined || !prepared?.ok) {
    return INVALID;
  }
  const serverKey = await hmac(salted, "Server Key");
  const verifier = `v=${toBase64(await hmac(serverKey, authMessage))}`;
  // RFC 4954 §4: the server-final-message goes in a 334, answered empty.
  const answer = await ask(toBase64(encoder.encode(verifier)));
  if (answer !== "") return MALFORMED;
  return { ok: true, user: account! };
}
