// Random identifiers from the Web Crypto API.

const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";

/** `length` random characters from [0-9a-z] (crypto.getRandomValues). */
export function randomToken(length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let out = "";
  // 252 = 7 * 36: reject the tail so every character is equally likely.
  for (const byte of bytes) {
    out += byte < 252 ? ALPHABET[byte % 36] : randomToken(1);
  }
  return out;
}
