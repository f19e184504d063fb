/**
 * TLS details as servers write them in `Received:` comments:
 *
 * - Postfix: `(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) …)`
 * - sendmail, Gmail, Exchange: `(version=TLS1_2, cipher=TLS_ECDHE_RSA_…)`,
 *   `(version=TLSv1.3 cipher=TLS_AES_128_GCM_SHA256 bits=128 verify=NOT)`
 * - Exim 4.9x: `(TLS1.3) tls TLS_AES_256_GCM_SHA384`; older Exim and
 *   OpenSMTPD: `(TLS1.2:ECDHE-RSA-AES256-GCM-SHA384:256)`,
 *   `(TLSv1.3:TLS_AES_256_GCM_SHA384:256:NO)`, `(Cipher TLSv1:DES-CBC3-SHA:168)`
 * - Courier and others: `(TLS: TLSv1/SSLv3, 168bits,DES-CBC3-SHA)`,
 *   `(TLS_AES_256_GCM_SHA384 encrypted, authenticated)`
 *
 * @module
 */

/** What was found; `stated` when the field says TLS even without details. */
export interface TlsFound {
  version?: string | undefined;
  cipher?: string | undefined;
  stated: boolean;
}

const VERSION = String.raw`(?:TLS|SSL)[-_v]?\d?(?:[._]\d)?(?:\/SSLv3)?`;
const CIPHER = String.raw`[A-Za-z0-9_+-]+`;

const POSTFIX = new RegExp(
  String.raw`\busing\s+(${VERSION})(?:\s+with\s+cipher\s+(${CIPHER}))?`,
  "i",
);
const VERSION_EQ = new RegExp(String.raw`\bversion=(${VERSION})`, "i");
const CIPHER_EQ = new RegExp(String.raw`\bcipher=(${CIPHER})`, "i");
const COLONS = new RegExp(
  String.raw`^(?:Cipher\s+|tls_cipher\s+)?(${VERSION}):(${CIPHER})(?::|$)`,
  "i",
);
const VERSION_ONLY = new RegExp(String.raw`^(${VERSION})$`, "i");
const TLS_COLON = new RegExp(
  String.raw`\bTLS:\s*(${VERSION})\s*,\s*\d+\s*bits\s*,\s*(${CIPHER})`,
  "i",
);
const ENCRYPTED = new RegExp(String.raw`^(${CIPHER})\s+encrypted\b`, "i");

/**
 * `TLS1_3`, `TLSv1.3`, `TLS1.3`, `TLS-1.3` → `TLSv1.3`; `TLSv1` stays;
 * anything else as given.
 */
export function normalizeVersion(version: string): string {
  const m = /^TLS[-_v]?(\d)[._](\d)$/i.exec(version);
  if (m) return `TLSv${m[1]}.${m[2]}`;
  const major = /^TLS[-_v]?(\d)$/i.exec(version);
  if (major) return `TLSv${major[1]}`;
  return version;
}

/**
 * Reads TLS details from a field's comments and words.
 *
 * @param comments Every comment's inner text, in order.
 * @param words Every word after the first keyword, in order (for Exim's
 * `tls CIPHER`).
 */
export function readTls(comments: string[], words: string[]): TlsFound {
  const found: TlsFound = { stated: false };
  const take = (version: string | undefined, cipher: string | undefined) => {
    if (version !== undefined && /^(?:TLS|SSL)$/i.test(version)) {
      // "(TLS)" (Exchange 2013): TLS, no version.
      found.stated = true;
    } else if (version !== undefined && version !== "") {
      found.version ??= normalizeVersion(version);
    }
    if (cipher !== undefined && cipher !== "") found.cipher ??= cipher;
  };
  for (const raw of comments) {
    const text = raw.trim();
    let m = POSTFIX.exec(text);
    if (m) take(m[1], m[2]);
    const version = VERSION_EQ.exec(text);
    const cipher = CIPHER_EQ.exec(text);
    if (version || cipher) take(version?.[1], cipher?.[1]);
    if ((m = COLONS.exec(text))) take(m[1], m[2]);
    if ((m = VERSION_ONLY.exec(text))) take(m[1], undefined);
    if ((m = TLS_COLON.exec(text))) take(m[1], m[2]);
    if ((m = ENCRYPTED.exec(text))) take(undefined, m[1]);
  }
  for (let i = 0; i + 1 < words.length; i++) {
    if (
      words[i]!.toLowerCase() === "tls" &&
      /^[A-Za-z0-9_+-]+$/.test(words[i + 1]!)
    ) {
      take(undefined, words[i + 1]);
      break;
    }
  }
  if (found.version !== undefined || found.cipher !== undefined) {
    found.stated = true;
  }
  return found;
}
