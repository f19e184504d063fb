// The inbox's MIME reader: composed messages read back part by part, and
// the malformed shapes real mail has (LF line ends, no close delimiter,
// RFC 2231 continuations, encoded-word file names, boundary look-alikes).

import assert from "node:assert/strict";
import { composeMessage } from "../../../mime.ts";
import {
  bodyText,
  decodeBody,
  parseMime,
  parseParameters,
  viewOf,
} from "../../../src/testing/inbox/_mime.ts";

const encoder = new TextEncoder();

Deno.test("parseMime reads a composed message back: bodies, attachments, inline images", async () => {
  const png = new Uint8Array(300).map((_, i) => (i * 7) & 0xff);
  const composed = composeMessage({
    from: "Ada <ada@example.com>",
    to: "bob@example.org",
    subject: "Report ☕",
    text: "Plain body, naïve café.\nSecond line.",
    html: '<p>Logo: <img src="cid:logo@x"></p>',
    attachments: [
      { filename: "logo.png", content: png, contentId: "logo@x" },
      { filename: "Résumé année.pdf", content: "pdf bytes" },
      {
        filename: "<script>alert(1)</script>.txt",
        content: "text file",
        contentType: "text/plain",
      },
    ],
  });
  const raw = new Uint8Array(
    await new Response(composed.readable).arrayBuffer(),
  );
  const message = parseMime(raw);
  assert.match(message.root.type, /^multipart\//);
  const view = viewOf(message);
  assert.equal(
    bodyText(raw, view.text!),
    "Plain body, naïve café.\r\nSecond line.",
  );
  assert.equal(
    bodyText(raw, view.html!),
    '<p>Logo: <img src="cid:logo@x"></p>',
  );
  assert.deepEqual(
    view.files.map((p) => [p.filename, p.type, p.contentId]),
    [
      ["logo.png", "image/png", "logo@x"],
      ["Résumé année.pdf", "application/pdf", undefined],
      ["<script>alert(1)</script>.txt", "text/plain", undefined],
    ],
  );
  assert.deepEqual(decodeBody(raw, view.files[0]!), png);
  assert.equal(bodyText(raw, view.files[1]!), "pdf bytes");
  assert.equal(bodyText(raw, view.files[2]!), "text file");
  // Indexes are depth-first, the message itself 0.
  assert.deepEqual(
    message.parts.map((p) => p.index),
    message.parts.map((_, i) => i),
  );
  assert.equal(message.parts[0], message.root);
});

Deno.test("parseMime reads LF line ends, a missing close delimiter and a boundary look-alike", () => {
  const raw = encoder.encode(
    "Subject: lf\nContent-Type: multipart/mixed; boundary=ab\n\n" +
      "preamble\n--ab\nContent-Type: text/plain\n\none\n--abc not a delimiter\n" +
      "--ab\nContent-Type: text/html; charset=utf-8\n\n<b>two</b>\n",
  );
  const message = parseMime(raw);
  assert.equal(message.root.children.length, 2);
  const [one, two] = message.root.children;
  assert.equal(bodyText(raw, one!), "one\n--abc not a delimiter");
  assert.equal(bodyText(raw, two!), "<b>two</b>\n");
  assert.equal(two!.type, "text/html");
});

Deno.test("parseMime nests multiparts and ignores preamble and epilogue", () => {
  const raw = encoder.encode([
    'Content-Type: multipart/mixed; boundary="outer"',
    "",
    "This is a multi-part message.",
    "--outer",
    "Content-Type: multipart/alternative; boundary=inner",
    "",
    "--inner",
    "Content-Type: text/plain; charset=iso-8859-1",
    "Content-Transfer-Encoding: quoted-printable",
    "",
    "caf=E9 soft=",
    "break =3D",
    "--inner",
    "Content-Type: text/html",
    "",
    "<p>hi</p>",
    "--inner--",
    "--outer",
    "Content-Type: message/rfc822",
    "",
    "Subject: inside",
    "",
    "body",
    "--outer--",
    "epilogue",
  ].join("\r\n"));
  const message = parseMime(raw);
  assert.deepEqual(
    message.parts.map((p) => p.type),
    [
      "multipart/mixed",
      "multipart/alternative",
      "text/plain",
      "text/html",
      "message/rfc822",
    ],
  );
  const view = viewOf(message);
  assert.equal(bodyText(raw, view.text!), "café softbreak =");
  assert.equal(bodyText(raw, view.html!), "<p>hi</p>");
  assert.deepEqual(view.files.map((p) => p.type), ["message/rfc822"]);
  assert.equal(bodyText(raw, view.files[0]!), "Subject: inside\r\n\r\nbody");
});

Deno.test("parseParameters unquotes, skips comments and joins RFC 2231 continuations", () => {
  assert.deepEqual(
    parseParameters('text/plain (a comment); charset="utf-8"; format=flowed'),
    { value: "text/plain", params: { charset: "utf-8", format: "flowed" } },
  );
  assert.deepEqual(
    parseParameters(
      "attachment; filename*0*=UTF-8''R%C3%A9sum; filename*1*=%C3%A9.pdf; size=3",
    ),
    { value: "attachment", params: { filename: "Résumé.pdf", size: "3" } },
  );
  assert.deepEqual(
    parseParameters('inline; filename="a \\"quoted\\" name;.txt"'),
    { value: "inline", params: { filename: 'a "quoted" name;.txt' } },
  );
  assert.deepEqual(
    parseParameters("x; filename=plain.txt; filename*=utf-8''%E2%9C%93.txt"),
    { value: "x", params: { filename: "✓.txt" } },
  );
});

Deno.test("parseMime decodes encoded-word file names and Content-IDs, and base64 with junk", () => {
  const raw = encoder.encode([
    "Content-Type: multipart/related; boundary=b",
    "",
    "--b",
    'Content-Type: image/gif; name="=?UTF-8?B?w6l0w6kuZ2lm?="',
    "Content-ID: < pic >",
    "Content-Transfer-Encoding: base64",
    "",
    "R0lG\r\nOD lh*",
    "--b--",
  ].join("\r\n"));
  const [part] = parseMime(raw).root.children;
  assert.equal(part!.filename, "été.gif");
  assert.equal(part!.contentId, "pic");
  assert.equal(new TextDecoder().decode(decodeBody(raw, part!)), "GIF89a");
});

Deno.test("parseMime treats a message without a Content-Type or header as text/plain", () => {
  const raw = encoder.encode("\r\njust a body");
  const message = parseMime(raw);
  assert.equal(message.root.type, "text/plain");
  assert.deepEqual(message.root.fields, []);
  assert.equal(bodyText(raw, viewOf(message).text!), "just a body");
  const headerOnly = encoder.encode("Subject: x\r\nContent-Type: bogus\r\n");
  const parsed = parseMime(headerOnly);
  assert.equal(parsed.root.type, "text/plain");
  assert.equal(parsed.root.bodyStart, parsed.root.bodyEnd);
});

Deno.test("parseMime stops at MAX_DEPTH nested multiparts", () => {
  let text = "leaf";
  for (let i = 0; i < 40; i++) {
    text =
      `Content-Type: multipart/mixed; boundary=b${i}\r\n\r\n--b${i}\r\n${text}\r\n--b${i}--`;
  }
  const message = parseMime(encoder.encode(text));
  assert.equal(message.parts.length, 17);
});

Deno.test("parseMime reads raw UTF-8 header values and 8-bit bodies whose octets fall in 0x80–0x9F", () => {
  // "€" is E2 82 AC: its 0x82 is where windows-1252 (what TextDecoder
  // calls "latin1") and Latin-1 differ.
  const raw = encoder.encode(
    "Subject: Price €5\r\nContent-Type: text/plain; charset=utf-8\r\n" +
      "Content-Transfer-Encoding: 8bit\r\n\r\nNow €4, “quoted”\r\n",
  );
  const message = parseMime(raw);
  const subject = message.root.fields.find((f) =>
    f.name.toLowerCase() === "subject"
  );
  assert.equal(subject?.value, "Price €5");
  assert.equal(bodyText(raw, viewOf(message).text!), "Now €4, “quoted”\r\n");
});
