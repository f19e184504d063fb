/**
 * The messages every peer sends, made once by the harness and written to a
 * file each client reads, so all of them send the same bytes.
 *
 * @module
 */

/** The envelope of the throughput messages. */
export const FROM = "bench@example.com";
/** The envelope recipient of the throughput messages. */
export const TO = "sink@example.org";

/**
 * A message like the ones `smtp-source -l 1024` sends: a few header fields,
 * then a body of `bodySize` octets in 80-octet lines (78 + CRLF).
 *
 * @param bodySize The body size in octets, line ends included.
 * @returns The message, CRLF line ends.
 */
export function smallMessage(bodySize = 1024): Uint8Array {
  const head = `From: <${FROM}>\r\nTo: <${TO}>\r\n` +
    `Date: Sun, 29 Nov 2026 09:08:42 +0000\r\n` +
    `Message-Id: <bench.0001@example.com>\r\nSubject: bench\r\n\r\n`;
  let body = "";
  for (let line = 1; body.length < bodySize; line++) {
    const text = `${line}`.padEnd(78, "X") + "\r\n";
    body += text.slice(0, Math.max(2, bodySize - body.length));
  }
  if (!body.endsWith("\r\n")) body = body.slice(0, -2) + "\r\n";
  return new TextEncoder().encode(head + body);
}

/** A 64 KiB block of 78-column text lines, none starting with a dot. */
export function textBlock(): Uint8Array {
  const line = "The quick brown fox jumps over the lazy dog 0123456789 " +
    "abcdefghijklmnopqrstu\r\n";
  const bytes = new TextEncoder().encode(
    line.repeat(Math.ceil(65536 / line.length)),
  );
  return bytes.subarray(0, 65536 - (65536 % line.length));
}
