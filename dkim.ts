/**
 * DKIM signing and verifying (RFC 6376), with RSA (`rsa-sha256`) and Ed25519
 * (`ed25519-sha256`, RFC 8463) keys through WebCrypto, in bounded memory.
 *
 * `signMessage` signs a message given as a string, bytes, a Blob or a
 * stream; `SmtpClientOptions.dkim` (in `@x/sendmail`) takes the same
 * {@linkcode DkimOptions} and signs every message a client sends.
 *
 * `verifyDkim` checks the signatures of a message as a receiver does
 * (RFC 6376 §6), looking keys up through a TXT resolver you pass
 * (`Deno.resolveDns`, Node's `dns`, or a fixed answer in tests).
 *
 * Publish the public key as a TXT record at
 * `<keySelector>._domainkey.<domainName>`: `v=DKIM1; k=rsa; p=<base64 of
 * the SubjectPublicKeyInfo DER>` for RSA, `v=DKIM1; k=ed25519; p=<base64
 * of the 32-octet key>` for Ed25519.
 *
 * @example Signing every message a client sends, with RSA and Ed25519
 * ```ts ignore
 * import { sendmail } from "@x/sendmail";
 *
 * await sendmail({
 *   hostname: "smtp.example.com",
 *   auth: { username: "news@example.com", password: Deno.env.get("SMTP_PASSWORD")! },
 *   dkim: [
 *     { domainName: "example.com", keySelector: "rsa2025", privateKey: await Deno.readTextFile("rsa.pem") },
 *     { domainName: "example.com", keySelector: "ed2025", privateKey: await Deno.readTextFile("ed25519.pem") },
 *   ],
 * }, {
 *   from: "News <news@example.com>",
 *   to: "reader@example.org",
 *   subject: "This week",
 *   text: "…",
 *   listUnsubscribe: { url: "https://example.com/unsubscribe?u=42", mailto: "unsubscribe@example.com" },
 * });
 * ```
 *
 * @module
 */
export type {
  DkimAlgorithm,
  DkimCanonicalization,
  DkimOptions,
} from "./src/dkim/dkim_options.ts";
export { signMessage } from "./src/dkim/sign_message.ts";
export {
  type DkimResult,
  type DkimVerdict,
  type TxtResolver,
  verifyDkim,
  type VerifyDkimOptions,
} from "./src/dkim/verify_dkim.ts";
