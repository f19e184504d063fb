/**
 * The messages of the end-to-end sends, built the same way in the test
 * process (to compose the expected bytes) and inside the Worker (to send
 * them), plus the boundary masking that makes two compositions comparable.
 *
 * @module
 */
import type { Mail } from "../../mod.ts";

const binary = Uint8Array.from({ length: 1024 }, (_, i) => (i * 7) % 256);

/**
 * A Mail with non-ASCII names and subject, a text and an HTML part, and two
 * attachments (one with a non-ASCII file name, one binary).
 *
 * @returns A fresh Mail (streams are not shared between sends).
 */
export function richMail(): Mail {
  return {
    from: { name: "Zoë Müller", address: "zoe@example.com" },
    to: [{ name: "José Ñúñez", address: "jose@example.org" }],
    subject: "Grüße aus Köln – 日本語の件名",
    text: "Hallo José,\r\nanbei die Unterlagen. Ça va ?\r\n",
    html: "<p>Hallo <b>José</b>, anbei die Unterlagen.</p>",
    date: new Date("2025-01-02T03:04:05Z"),
    messageId: "<worker-e2e@example.com>",
    attachments: [
      { filename: "résumé.txt", content: "Zeile 1\nZeile 2 – ü\n" },
      {
        filename: "data.bin",
        content: binary,
        contentType: "application/octet-stream",
      },
    ],
  };
}

/**
 * A small plain-text Mail.
 *
 * @param i Its number, in the subject and the body.
 * @returns The Mail.
 */
export function simpleMail(i: number): Mail {
  return {
    from: "app@example.com",
    to: "user@example.com",
    subject: `Message ${i}`,
    text: `Body ${i}`,
  };
}

/**
 * The message with its MIME boundaries (random per composition) replaced
 * by placeholders, in order of appearance.
 *
 * @param bytes The message.
 * @returns Its text with `BOUNDARY-0`, `BOUNDARY-1` … for the boundaries.
 */
export function maskBoundaries(bytes: Uint8Array): string {
  const text = new TextDecoder().decode(bytes);
  const boundaries = [...text.matchAll(/boundary="?([^";\r\n]+)"?/g)].map(
    (m) => m[1]!,
  );
  let out = text;
  boundaries.forEach((boundary, i) => {
    out = out.split(boundary).join(`BOUNDARY-${i}`);
  });
  return out;
}
