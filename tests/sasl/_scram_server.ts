/**
 * The server side of SCRAM for tests, on node:crypto (PBKDF2, HMAC, hash):
 * a computation independent of the client's WebCrypto one.
 *
 * @module
 */

import { createHash, createHmac, pbkdf2Sync } from "node:crypto";
import { fromBase64, toBase64 } from "../../src/protocol/_base64.ts";

/** Options of {@linkcode scramServer}. */
export interface ScramServerOptions {
  /** The password, already prepared (SASLprep). */
  password: string;
  /** "sha256" or "sha1". */
  hash: "sha256" | "sha1";
  /** The salt. @default {16 random bytes} */
  salt?: Uint8Array;
  /** @default {4096} */
  iterations?: number;
  /** The server's part of the nonce. @default {random} */
  serverNonce?: string;
}

/** One server exchange. */
export interface ScramServer {
  /** Answers the client-first-message (text) with the server-first-message. */
  first(clientFirst: string): string;
  /**
   * Checks the client-final-message; returns the server-final-message
   * (`v=…`), or `undefined` when the proof is wrong.
   */
  final(clientFinal: string): string | undefined;
  /**
   * What a client that knows the password answers to this exchange's
   * server-first-message: `withoutProof` with its `p=` (for testing a
   * server).
   */
  clientFinal(withoutProof: string): string;
  /** The user name the client sent (unescaped). */
  readonly user: string | undefined;
}

/**
 * Starts a server exchange.
 *
 * @param options The stored password and parameters.
 * @returns The exchange.
 */
export function scramServer(options: ScramServerOptions): ScramServer {
  const { hash } = options;
  const salt = options.salt ?? crypto.getRandomValues(new Uint8Array(16));
  const iterations = options.iterations ?? 4096;
  const length = hash === "sha256" ? 32 : 20;
  const hmac = (key: Uint8Array, text: string) =>
    new Uint8Array(createHmac(hash, key).update(text).digest());
  const salted = new Uint8Array(
    pbkdf2Sync(options.password, salt, iterations, length, hash),
  );
  let clientFirstBare = "";
  let serverFirst = "";
  let nonce = "";
  let user: string | undefined;
  return {
    get user() {
      return user;
    },
    first(clientFirst) {
      const match = /^n,,(n=([^,]*),r=([^,]+))$/.exec(clientFirst);
      if (!match) throw new Error(`bad client-first ${clientFirst}`);
      clientFirstBare = match[1]!;
      user = match[2]!.replaceAll("=2C", ",").replaceAll("=3D", "=");
      nonce = match[3]! +
        (options.serverNonce ??
          toBase64(crypto.getRandomValues(new Uint8Array(12))));
      serverFirst = `r=${nonce},s=${toBase64(salt)},i=${iterations}`;
      return serverFirst;
    },
    clientFinal(withoutProof) {
      const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
      const clientKey = hmac(salted, "Client Key");
      const storedKey = new Uint8Array(
        createHash(hash).update(clientKey).digest(),
      );
      const signature = hmac(storedKey, authMessage);
      const proof = clientKey.map((byte, i) => byte ^ signature[i]!);
      return `${withoutProof},p=${toBase64(proof)}`;
    },
    final(clientFinal) {
      const match = /^(c=biws,r=([^,]+)),p=([^,]+)$/.exec(clientFinal);
      if (!match || match[2] !== nonce) return undefined;
      const authMessage = `${clientFirstBare},${serverFirst},${match[1]}`;
      const clientKey = hmac(salted, "Client Key");
      const storedKey = new Uint8Array(
        createHash(hash).update(clientKey).digest(),
      );
      const signature = hmac(storedKey, authMessage);
      const proof = fromBase64(match[3]!);
      const recovered = proof.map((byte, i) => byte ^ signature[i]!);
      const check = new Uint8Array(createHash(hash).update(recovered).digest());
      if (toBase64(check) !== toBase64(storedKey)) return undefined;
      const serverKey = hmac(salted, "Server Key");
      return `v=${toBase64(hmac(serverKey, authMessage))}`;
    },
  };
}
