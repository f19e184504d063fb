/** A DKIM signing algorithm: RSA (RFC 6376) or Ed25519 (RFC 8463). */
export type DkimAlgorithm = "rsa-sha256" | "ed25519-sha256";

/**
 * DKIM canonicalization (RFC 6376 §3.4), header then body: `relaxed`
 * survives the re-folding and white-space changes relays make, `simple`
 * tolerates almost none.
 */
export type DkimCanonicalization =
  | "relaxed/relaxed"
  | "relaxed/simple"
  | "simple/relaxed"
  | "simple/simple";

/**
 * How to sign a message with DKIM (RFC 6376): the signing domain, the
 * selector under which the public key is published
 * (`<keySelector>._domainkey.<domainName>` TXT), and the private key.
 *
 * @example An RSA key from a PEM file
 * ```ts ignore
 * import type { DkimOptions } from "@x/sendmail/dkim";
 *
 * const dkim: DkimOptions = {
 *   domainName: "example.com",
 *   keySelector: "mail2025",
 *   privateKey: await Deno.readTextFile("dkim-private.pem"),
 * };
 * ```
 */
export interface DkimOptions {
  /** The signing domain (`d=`), e.g. `"example.com"`; usually the From domain. */
  domainName: string;
  /** The selector (`s=`): the key is published at `<selector>._domainkey.<domain>`. */
  keySelector: string;
  /**
   * The private key: PEM, PKCS#8 (`BEGIN PRIVATE KEY`, RSA or Ed25519) or
   * PKCS#1 (`BEGIN RSA PRIVATE KEY`), unencrypted; or a WebCrypto
   * `CryptoKey` (RSASSA-PKCS1-v1_5 with SHA-256, or Ed25519) that can
   * sign. RSA keys must have at least 1024 bits (RFC 8301); use 2048.
   */
  privateKey: string | CryptoKey;
  /**
   * The algorithm (`a=`). Gmail does not verify `ed25519-sha256` (2025):
   * give an Ed25519 signature beside an RSA one, not alone.
   * @default {the key's: "ed25519-sha256" for an Ed25519 key, else "rsa-sha256"}
   */
  algorithm?: DkimAlgorithm;
  /** Header and body canonicalization (`c=`). @default {"relaxed/relaxed"} */
  canonicalization?: DkimCanonicalization;
  /**
   * The header fields to sign, as the `h=` tag lists them (case does not
   * matter): each name signs one instance of the field, from the bottom of
   * the header up, and a name listed once more than the field occurs
   * ("oversigning") keeps anyone from adding one. Must include `From`.
   * @default {those present of From, Sender, Reply-To, Subject, Date,
   * Message-ID, To, Cc, MIME-Version, Content-Type,
   * Content-Transfer-Encoding, In-Reply-To, References, List-Id,
   * List-Unsubscribe and List-Unsubscribe-Post, every instance, with From
   * and Subject listed once more}
   */
  headerFieldNames?: string[];
  /** The signing time (`t=`). @default {now} */
  timestamp?: Date;
  /** Seconds after the signing time the signature expires (`x=`). @default {no expiry} */
  expiresIn?: number;
  /**
   * A message given as a one-shot `ReadableStream` is held in memory while
   * its body is hashed (the signature precedes the body): at most this many
   * octets, beyond which signing fails with a `RangeError` before anything
   * is sent. Strings, bytes, blobs and composed messages whose attachments
   * are not streams are read twice instead and never held. With several
   * signatures, the smallest value given applies.
   * @default {16777216 (16 MiB)}
   */
  maxBufferSize?: number;
}
