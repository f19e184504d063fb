/**
 * SCRAM-SHA-256 (RFC 7677) and SCRAM-SHA-1 (RFC 5802), without channel
 * binding (no `-PLUS`: the runtimes give no TLS channel binding data).
 *
 * The exchange, with the server's lines as `334` challenges:
 *
 * ```
 * C: AUTH SCRAM-SHA-256 base64("n,,n=user,r=<client nonce>")
 * S: 334 base64("r=<client nonce><server nonce>,s=<salt>,i=<iterations>")
 * C: base64("c=biws,r=<nonce>,p=<client proof>")
 * S: 334 base64("v=<server signature>")
 * C: (empty line)
 * S: 235 2.7.0 Authentication successful
 * ```
 *
 * The client checks that the server's nonce extends its own, bounds the
 * iteration count, and verifies the server signature in constant time: a
 * server that cannot produce it does not know the password, so it is not
 * the server it claims to be, and a `235` without it fails the session
 * ({@linkcode SaslSession.finish}). PBKDF2, HMAC and the hash are
 * WebCrypto's.
 *
 * @module
 */

import { fromBase64, toBase64 } from "../protocol/_base64.ts";
import { constantTimeEqual } from "../protocol/_bytes.ts";
import { escapeSaslName } from "./_sasl_name.ts";
import { Exchange, quote, type SaslSession } from "./_sasl_session.ts";
import { prepareScramCredentials } from "./_scram_credentials.ts";
import type { PasswordAuth } from "./credentials.ts";

/** The SCRAM mechanisms this client implements. */
export type ScramMechanism = "SCRAM-SHA-256" | "SCRAM-SHA-1";

/**
 * The fewest PBKDF2 iterations accepted: RFC 7677 §4 and RFC 5802 §5.1
 * require at least 4096.
 */
export const MIN_ITERATIONS = 4096;

/**
 * The most PBKDF2 iterations computed. A hostile (or impersonating) server
 * chooses the count, so an unbounded one would let it burn the client's
 * CPU. One million covers OWASP's 600,000 for PBKDF2-HMAC-SHA256 and every
 * server default known to us (Dovecot and PostgreSQL 4096, MongoDB 15,000);
 * at the ceiling, PBKDF2 took 0.28 to 0.42 s of CPU (either hash) on the
 * project's shared 2-core build machine, against 1 to 2 ms at 4096.
 */
export const MAX_ITERATIONS = 1_000_000;

/** Internal options, for tests. */
export interface ScramOptions {
  /**
   * The client nonce, printable ASCII without `,` (RFC 5802 §5.1): only for
   * test vectors. @default {24 base64 characters of
   * `crypto.getRandomValues`}
   */
  nonce?: string;
}

const HASHES = {
  "SCRAM-SHA-256": { hash: "SHA-256", bits: 256 },
  "SCRAM-SHA-1": { hash: "SHA-1", bits: 160 },
} as const;

/** The GS2 header: no channel binding, no authorization identity. */
const GS2_HEADER = "n,,";
/** `c=`: the GS2 header, base64 ("biws"). */
const CHANNEL_BINDING = "biws";

/** RFC 5802 `printable`: %x21-2B / %x2D-7E. */
const PRINTABLE = /^[\x21-\x2b\x2d-\x7e]+$/;
const BASE64 =
  /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const POSITIVE_NUMBER = /^[1-9][0-9]*$/;
/** An extension attribute (RFC 5802 §7 `attr-val`), ignored when it follows the known ones. */
const EXTENSION = /^[A-Za-z]=/;
/**
 * An `e=` value quoted in an error message: RFC 5802 §7's
 * `server-error-value` names are lowercase words with hyphens. Anything
 * else is not quoted: it answers the client proof and may echo it.
 */
const ERROR_VALUE = /^[a-z][a-z0-9-]{0,63}$/;

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

class Scram extends Exchange {
  readonly #hash: "SHA-256" | "SHA-1";
  readonly #bits: number;
  readonly #password: string;
  readonly #nonce: string;
  readonly #clientFirstBare: string;
  #serverSignature: Uint8Array | undefined;
  #verified = false;

  constructor(
    mechanism: ScramMechanism,
    username: string,
    password: string,
    nonce: string,
  ) {
    const bare = `n=${escapeSaslName(username)},r=${nonce}`;
    super(mechanism, GS2_HEADER + bare);
    this.#hash = HASHES[mechanism].hash;
    this.#bits = HASHES[mechanism].bits;
    this.#password = password;
    this.#nonce = nonce;
    this.#clientFirstBare = bare;
  }

  protected step(
    challenge: Uint8Array,
    round: number,
  ): Promise<string | undefined> | string | undefined {
    if (round === 0) return this.#clientFinal(challenge);
    if (round === 1) return this.#verify(challenge);
    return undefined;
  }

  override finish(): void {
    if (!this.#verified) {
      throw this.error(
        `Cannot authenticate with ${this.mechanism}: server answered 235 without proving it knows the password (no server signature): it is not the server it claims to be`,
        "auth",
      );
    }
  }

  /** Reads the server-first-message, returns the client-final-message. */
  async #clientFinal(challenge: Uint8Array): Promise<string> {
    const serverFirst = this.#text(challenge, "first");
    const attributes = serverFirst.split(",");
    const [nonce, salt, iterations] = attributes;
    if (serverFirst.startsWith("e=")) throw this.#serverFailed(serverFirst);
    if (serverFirst.startsWith("m=")) {
      throw this.error(
        `Cannot authenticate with ${this.mechanism}: server requires an extension this client does not know (m=)`,
      );
    }
    if (
      !nonce?.startsWith("r=") || !salt?.startsWith("s=") ||
      !iterations?.startsWith("i=") ||
      !attributes.slice(3).every((attribute) => EXTENSION.test(attribute))
    ) {
      throw this.error(
        `Cannot authenticate with ${this.mechanism}: server sent unexpected attributes ${
          quote(attributes.map((a) => a.slice(0, 2)).join(","))
        } (expected r=,s=,i=)`,
      );
    }
    const combined = nonce.slice(2);
    if (
      !combined.startsWith(this.#nonce) ||
      combined.length === this.#nonce.length || !PRINTABLE.test(combined)
    ) {
      throw this.error(
        `Cannot authenticate with ${this.mechanism}: the server's nonce does not extend the client's (RFC 5802 §5.1)`,
      );
    }
    const saltText = salt.slice(2);
    if (saltText === "" || !BASE64.test(saltText)) {
      throw this.error(
        `Cannot authenticate with ${this.mechanism}: server sent a salt that is not base64 ${
          quote(saltText)
        }`,
      );
    }
    const count = iterations.slice(2);
    if (!POSITIVE_NUMBER.test(count) || count.length > 15) {
      throw this.error(
        `Cannot authenticate with ${this.mechanism}: server sent an iteration count that is not a number ${
          quote(count)
        }`,
      );
    }
    const rounds = Number(count);
    if (rounds < MIN_ITERATIONS) {
      throw this.error(
        `Cannot authenticate with ${this.mechanism}: server asks for ${rounds} iterations, fewer than the ${MIN_ITERATIONS} RFC 7677 requires`,
        "auth",
      );
    }
    if (rounds > MAX_ITERATIONS) {
      throw this.error(
        `Cannot authenticate with ${this.mechanism}: server asks for ${rounds} iterations, more than the ${MAX_ITERATIONS} this client computes`,
        "auth",
      );
    }

    const subtle = crypto.subtle;
    const hash = this.#hash;
    const passwordKey = await subtle.importKey(
      "raw",
      encoder.encode(this.#password),
      "PBKDF2",
      false,
      ["deriveBits"],
    );
    const saltedPassword = new Uint8Array(
      await subtle.deriveBits(
        {
          name: "PBKDF2",
          hash,
          salt: fromBase64(saltText) as Uint8Array<ArrayBuffer>,
          iterations: rounds,
        },
        passwordKey,
        this.#bits,
      ),
    );
    const hmac = async (
      key: Uint8Array,
      data: string,
    ): Promise<Uint8Array> => {
      const hmacKey = await subtle.importKey(
        "raw",
        key as Uint8Array<ArrayBuffer>,
        { name: "HMAC", hash },
        false,
        ["sign"],
      );
      return new Uint8Array(
        await subtle.sign("HMAC", hmacKey, encoder.encode(data)),
      );
    };
    const clientKey = await hmac(saltedPassword, "Client Key");
    const storedKey = new Uint8Array(
      await subtle.digest(hash, clientKey as Uint8Array<ArrayBuffer>),
    );
    const withoutProof = `c=${CHANNEL_BINDING},r=${combined}`;
    const authMessage =
      `${this.#clientFirstBare},${serverFirst},${withoutProof}`;
    const clientSignature = await hmac(storedKey, authMessage);
    const proof = clientKey.map((byte, i) => byte ^ clientSignature[i]!);
    const serverKey = await hmac(saltedPassword, "Server Key");
    this.#serverSignature = await hmac(serverKey, authMessage);
    this.sentSecret("the client proof");
    return `${withoutProof},p=${toBase64(proof)}`;
  }

  /** Reads the server-final-message: `v=` verified, or `e=`. */
  #verify(challenge: Uint8Array): string | undefined {
    const serverFinal = this.#text(challenge, "final");
    if (serverFinal.startsWith("e=")) throw this.#serverFailed(serverFinal);
    const [verifier = "", ...extensions] = serverFinal.split(",");
    if (
      !verifier.startsWith("v=") ||
      !extensions.every((attribute) => EXTENSION.test(attribute))
    ) {
      return undefined; // unexpected: not quoted, it follows the proof
    }
    const signature = verifier.slice(2);
    if (signature === "" || !BASE64.test(signature)) {
      throw this.error(
        `Cannot authenticate with ${this.mechanism}: server sent a signature that is not base64`,
      );
    }
    if (!constantTimeEqual(fromBase64(signature), this.#serverSignature!)) {
      throw this.error(
        `Cannot authenticate with ${this.mechanism}: the server's signature is wrong, so it does not know the password: it is not the server it claims to be`,
        "auth",
      );
    }
    this.#verified = true;
    return "";
  }

  /** A server message as text (UTF-8, or a protocol error). */
  #text(challenge: Uint8Array, which: "first" | "final"): string {
    try {
      return strictDecoder.decode(challenge);
    } catch (cause) {
      throw this.error(
        `Cannot authenticate with ${this.mechanism}: the server-${which}-message is not UTF-8`,
        "protocol",
        cause,
      );
    }
  }

  /** The error for `e=` (RFC 5802 §7 `server-error`). */
  #serverFailed(message: string): Error {
    const value = message.slice(2).split(",")[0]!;
    const shown = ERROR_VALUE.test(value)
      ? `: ${quote(value)}`
      : " (with an error value that is not quoted)";
    return this.error(
      `Cannot authenticate with ${this.mechanism}: server failed the exchange${shown}`,
      "auth",
    );
  }
}

/**
 * A client nonce: 18 random bytes, 24 base64 characters (no `,`).
 *
 * @returns The nonce.
 */
function randomNonce(): string {
  return toBase64(crypto.getRandomValues(new Uint8Array(18)));
}

/**
 * Starts a SCRAM exchange.
 *
 * @param auth Password credentials, already checked by `checkAuth`.
 * @param mechanism SCRAM-SHA-256 or SCRAM-SHA-1.
 * @param options The client nonce, for test vectors.
 * @returns The exchange; its initial response (the client-first-message)
 * holds the user name and the nonce, no secret.
 * @throws {TypeError} when SASLprep refuses the user name or the password,
 * or the nonce given is not printable ASCII without `,`.
 */
export function startScram(
  auth: PasswordAuth,
  mechanism: ScramMechanism,
  options: ScramOptions = {},
): SaslSession {
  const prepared = prepareScramCredentials(auth);
  if (!prepared.ok) throw new TypeError(prepared.problem);
  const nonce = options.nonce ?? randomNonce();
  if (!PRINTABLE.test(nonce)) {
    throw new TypeError(
      "Cannot use the SCRAM nonce: expected printable ASCII without ','",
    );
  }
  return new Scram(mechanism, prepared.username, prepared.password, nonce);
}
