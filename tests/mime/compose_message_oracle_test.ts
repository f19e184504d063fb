// composeMessage output checked against an independent parser (mailparser)
// on random messages: subjects, names, bodies and attachment bytes.

import assert from "node:assert/strict";
import { simpleParser } from "npm:mailparser@3";
import { composeMessage } from "../../mime.ts";
import type { Attachment, Mail } from "../../mime.ts";
import {
  assertWellFormed,
  prng,
  randomBytes,
  randomText,
  readAll,
} from "./_util.ts";

/** What a reader sees of header text: line breaks folded, ends trimmed. */
function headerText(value: string): string {
  return value.replace(/[ \t]*[\r\n][\r\n \t]*/g, " ").trim();
}

function randomName(random: () => number): string {
  return headerText(randomText(random, 90)).replace(/\s+/g, " ");
}

interface AddressObject {
  value: { name: string; address?: string }[];
}

function addresses(field: unknown): { name: string; address: string }[] {
  const list = Array.isArray(field) ? field : [field];
  return list.flatMap((f: AddressObject) =>
    f.value.map((v) => ({ name: v.name, address: v.address ?? "" }))
  );
}

const SEED = Number(Deno.env.get("MIME_SEED") ?? 20241129);
const CASES = 150;

Deno.test(`composeMessage round-trips through mailparser for ${CASES} random messages (seed ${SEED})`, async () => {
  const random = prng(SEED);
  for (let n = 0; n < CASES; n++) {
    const subject = randomText(random, 300);
    const fromName = randomName(random);
    const toNames = Array.from(
      { length: 1 + Math.floor(random() * 3) },
      () => randomName(random),
    );
    const text = random() < 0.8
      ? randomText(random, 3000).replace(/ {3}/g, "\n")
      : undefined;
    const html = random() < 0.6
      ? `<p>${randomText(random, 3000).replace(/[<>&]/g, "")}</p>`
      : undefined;
    const attachments: (Attachment & { bytes: Uint8Array })[] = [];
    const count = Math.floor(random() * 4);
    for (let i = 0; i < count; i++) {
      const bytes = randomBytes(random, 200_000);
      const kind = Math.floor(random() * 3);
      const content = kind === 0
        ? bytes
        : kind === 1
        ? new Blob([bytes])
        : ReadableStream.from((function* () {
          for (let at = 0; at < bytes.length;) {
            const size = 1 + Math.floor(random() * 5000);
            yield bytes.slice(at, at + size);
            at += size;
          }
        })());
      const attachment: Attachment & { bytes: Uint8Array } = {
        filename: (randomName(random) || "file") + ".bin",
        content,
        bytes,
      };
      if (html && random() < 0.3) {
        attachment.contentId = `part${i}.${n}@example.com`;
      }
      attachments.push(attachment);
    }
    const mail: Mail = {
      from: { name: fromName, address: "sender@example.com" },
      to: toNames.map((name, i) => ({ name, address: `to${i}@example.org` })),
      subject,
      attachments: attachments.map(({ bytes: _, ...a }) => a),
    };
    if (text !== undefined) mail.text = text;
    if (html !== undefined) mail.html = html;
    const composed = composeMessage(mail);
    const raw = await readAll(composed.readable);
    const context = `case ${n} (seed ${SEED})`;
    try {
      assertWellFormed(raw);
      assert.ok(raw.every((b) => b < 128), "7-bit output");
      const parsed = await simpleParser(new TextDecoder().decode(raw));
      // The subject comes back exactly, spaces at either end included
      // (random subjects hold no line break).
      assert.equal(parsed.subject ?? "", subject);
      assert.deepEqual(addresses(parsed.from), [
        { name: fromName.trim(), address: "sender@example.com" },
      ]);
      assert.deepEqual(
        addresses(parsed.to),
        toNames.map((name, i) => ({
          name: name.trim(),
          address: `to${i}@example.org`,
        })),
      );
      assert.equal(parsed.messageId, composed.messageId);
      // A single-part message ends with the CRLF that ends its last line.
      const single = (text === undefined || html === undefined) &&
        attachments.length === 0;
      const body = (value: string) => {
        const lf = value.replace(/\r\n|\r/g, "\n");
        return single && lf !== "" && !lf.endsWith("\n") ? lf + "\n" : lf;
      };
      // mailparser reads an empty text part as "\n" or nothing.
      if (text === "") assert.equal((parsed.text ?? "").trim(), "");
      else if (text !== undefined) assert.equal(parsed.text, body(text));
      if (html !== undefined) assert.equal(parsed.html || "", body(html));
      assert.equal(parsed.attachments.length, attachments.length);
      // In tree order: inline parts sit with the html, before the others.
      const ordered = [
        ...attachments.filter((a) => a.contentId !== undefined),
        ...attachments.filter((a) => a.contentId === undefined),
      ];
      for (const [i, expected] of ordered.entries()) {
        const actual = parsed.attachments[i]!;
        assert.equal(actual.filename, expected.filename);
        assert.deepEqual(new Uint8Array(actual.content), expected.bytes);
        if (expected.contentId) {
          assert.equal(actual.contentId, `<${expected.contentId}>`);
        }
      }
    } catch (error) {
      throw new Error(`${context}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
});
