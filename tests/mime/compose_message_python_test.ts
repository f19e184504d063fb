// composeMessage output read back by Python's email package (policy.default,
// the standard library's modern parser): headers, addresses, the part tree
// and attachment bytes must come back exactly as given. Python is a second,
// independent reader beside mailparser (compose_message_oracle_test.ts); it
// is the one that takes the first `filename` parameter it meets.

import assert from "node:assert/strict";
import { composeMessage } from "../../mime.ts";
import type { Attachment, Mail } from "../../mime.ts";
import { interop, PYTHON } from "../_harness/mod.ts";
import { prng, randomBytes, randomText, readAll } from "./_util.ts";

const SCRIPT = new URL("./_python_email.py", import.meta.url).pathname;

interface PyAddress {
  name: string;
  address: string;
}

interface PyPart {
  contentType: string;
  params: Record<string, string>;
  disposition: string | null;
  filename: string | null;
  contentId: string | null;
  defects: string[];
  children?: PyPart[];
  bytes?: string;
  text?: string;
}

interface PyMessage {
  headers: Record<string, string | null>;
  fieldNames: string[];
  from: PyAddress[] | null;
  sender: PyAddress[] | null;
  to: PyAddress[] | null;
  cc: PyAddress[] | null;
  replyTo: PyAddress[] | null;
  text: string | null;
  html: string | null;
  attachments: {
    filename: string | null;
    contentType: string;
    contentId: string | null;
    disposition: string | null;
    bytes: string;
  }[];
  root: PyPart;
  defects: string[];
}

/** Reads messages with Python's email package, in one process. */
async function pythonRead(messages: Uint8Array[]): Promise<PyMessage[]> {
  const dir = await Deno.makeTempDir({ prefix: "sendmail_pyemail_" });
  try {
    for (const [i, bytes] of messages.entries()) {
      await Deno.writeFile(`${dir}/${i}.eml`, bytes);
    }
    const { code, stdout, stderr } = await new Deno.Command(PYTHON, {
      args: [SCRIPT, dir],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { PYTHONDONTWRITEBYTECODE: "1" },
    }).output();
    if (code !== 0) {
      throw new Error(
        `python email failed: ${new TextDecoder().decode(stderr)}`,
      );
    }
    return JSON.parse(new TextDecoder().decode(stdout));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * The defects Python registers for what the composer writes on purpose: an
 * extended name is given twice (RFC 2231, then RFC 2047 in the quoted
 * value, for Outlook), which Python reports and reads anyway, the first
 * value winning. Anything else is a bug.
 */
const EXPECTED_DEFECT =
  /^Content-(Type|Disposition): InvalidHeaderDefect: (duplicate parameter name; duplicate(\(s\))? ignored|encoded word inside quoted string|missing trailing whitespace after encoded-word)$/;

function assertNoDefects(part: PyPart, where: string): void {
  const unexpected = part.defects.filter((d) => !EXPECTED_DEFECT.test(d));
  assert.deepEqual(unexpected, [], where);
  for (const child of part.children ?? []) assertNoDefects(child, where);
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/** Python returns text parts with the message's CRLF read as "\n". */
function lf(text: string): string {
  return text.replace(/\r\n|\r/g, "\n");
}

/** What a reader should see of a text body: lines end in "\n", and a non-empty last line gets one. */
function expectedBody(value: string, single: boolean): string {
  const text = lf(value);
  return single && text !== "" && !text.endsWith("\n") ? text + "\n" : text;
}

/** The parts of the tree as `type` or `type(children…)`. */
function shape(part: PyPart): string {
  return part.children
    ? `${part.contentType}(${part.children.map(shape).join(",")})`
    : part.contentType;
}

const date = new Date(Date.UTC(2024, 10, 29, 8, 5, 9));

async function composeAll(mails: Mail[]): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (const mail of mails) {
    out.push(await readAll(composeMessage(mail).readable));
  }
  return out;
}

Deno.test(interop({
  name:
    "composeMessage header fields and addresses read back exactly by Python's email package",
  requires: ["python3"],
  async fn() {
    const mails: Mail[] = [{
      from: { name: "Zoë Ærøskøbing", address: "zoe@example.com" },
      to: [
        "plain@example.org",
        { name: 'Doe, "J" \\ Jane', address: "jane@example.org" },
        { name: "日本語の名前", address: "taro@example.jp" },
      ],
      cc: "Bob <bob@bücher.example>",
      replyTo: { name: "Help desk", address: "help@example.com" },
      subject: "  Café ☕ — spaces kept  ",
      date,
      messageId: "fixed.1@example.com",
      inReplyTo: "<parent@example.com>",
      references: ["<root@example.com>", "parent@example.com"],
      headers: [["X-Campaign", "spring-2025"], ["X-Note", "Ünïcödé"]],
      listUnsubscribe: {
        url: "https://example.com/unsubscribe?u=42",
        mailto: "unsubscribe@example.com",
      },
      text: "Hi",
    }, {
      from: "first@example.com, Second <second@example.com>",
      to: "to@example.org",
      subject: "=?UTF-8?B?bG9vaw==?= like an encoded word " +
        "long ".repeat(30),
      date,
      text: "x",
    }, {
      from: "a@example.com",
      to: "b@example.org",
      subject: "trailing tab\t",
      date,
      text: "x",
    }];
    const py = await pythonRead(await composeAll(mails));

    const [first, second, third] = py as [PyMessage, PyMessage, PyMessage];
    assert.deepEqual(first.from, [
      { name: "Zoë Ærøskøbing", address: "zoe@example.com" },
    ]);
    assert.deepEqual(first.to, [
      { name: "", address: "plain@example.org" },
      { name: 'Doe, "J" \\ Jane', address: "jane@example.org" },
      { name: "日本語の名前", address: "taro@example.jp" },
    ]);
    assert.deepEqual(first.cc, [
      { name: "Bob", address: "bob@xn--bcher-kva.example" },
    ]);
    assert.deepEqual(first.replyTo, [
      { name: "Help desk", address: "help@example.com" },
    ]);
    assert.equal(first.headers.subject, "  Café ☕ — spaces kept  ");
    assert.equal(first.headers["message-id"], "<fixed.1@example.com>");
    assert.equal(first.headers["in-reply-to"], "<parent@example.com>");
    assert.equal(
      first.headers.references,
      "<root@example.com> <parent@example.com>",
    );
    assert.equal(first.headers.date, "Fri, 29 Nov 2024 08:05:09 +0000");
    assert.equal(
      first.headers["list-unsubscribe"],
      "<https://example.com/unsubscribe?u=42>, <mailto:unsubscribe@example.com>",
    );
    assert.equal(
      first.headers["list-unsubscribe-post"],
      "List-Unsubscribe=One-Click",
    );
    assert.deepEqual(first.fieldNames, [
      "Date",
      "From",
      "Reply-To",
      "To",
      "Cc",
      "Subject",
      "Message-ID",
      "In-Reply-To",
      "References",
      "List-Unsubscribe",
      "List-Unsubscribe-Post",
      "X-Campaign",
      "X-Note",
      "MIME-Version",
      "Content-Type",
      "Content-Transfer-Encoding",
    ]);
    assert.deepEqual(second.from, [
      { name: "", address: "first@example.com" },
      { name: "Second", address: "second@example.com" },
    ]);
    assert.deepEqual(second.sender, [
      { name: "", address: "first@example.com" },
    ]);
    assert.equal(
      second.headers.subject,
      "=?UTF-8?B?bG9vaw==?= like an encoded word " + "long ".repeat(30),
    );
    assert.equal(third.headers.subject, "trailing tab\t");
    for (const [i, message] of py.entries()) {
      assert.deepEqual(message.defects, [], `message ${i}`);
      assertNoDefects(message.root, `message ${i}`);
    }
  },
}));

Deno.test(interop({
  name:
    "composeMessage attachment names and bytes read back exactly by Python's email package",
  requires: ["python3"],
  async fn() {
    const names = [
      "report.pdf",
      "données été.bin",
      "Résumé – 履歴書 " + "très long ".repeat(8) + ".pdf",
      "emoji 🎉👨‍👩‍👧.png",
      'quote " and \\ backslash.txt',
      "=?UTF-8?Q?not_encoded?=.txt",
      "a".repeat(100) + ".txt",
      "x".repeat(5000) + ".bin",
      "   spaced name  .csv",
    ];
    const bytes = (n: number) =>
      new Uint8Array(1000 + n * 777).map((_, i) => (i * 31 + n) & 0xff);
    const attachments: Attachment[] = names.map((filename, n) => ({
      filename,
      content: n % 3 === 0
        ? bytes(n)
        : n % 3 === 1
        ? new Blob([bytes(n)])
        : ReadableStream.from([
          bytes(n).subarray(0, 500),
          bytes(n).subarray(500),
        ]),
    }));
    attachments.push({
      filename: "notes.txt",
      content: "plain text attachment, é\n",
    });
    const [raw] = await composeAll([{
      from: "a@example.com",
      to: "b@example.org",
      date,
      text: "See attached.",
      attachments,
    }]);
    const [message] = await pythonRead([raw!]) as [PyMessage];
    // get_filename() strips white space at the ends (CPython's
    // Message.get_filename calls .strip()); the parameter itself is exact.
    assert.deepEqual(
      message.attachments.map((a) => a.filename),
      [...names, "notes.txt"].map((name) => name.trim()),
    );
    for (const [n, attachment] of message.attachments.entries()) {
      const expected = n < names.length
        ? bytes(n)
        : new TextEncoder().encode("plain text attachment, é\n");
      assert.deepEqual(fromBase64(attachment.bytes), expected, names[n]);
      assert.equal(attachment.disposition, "attachment");
    }
    // The Content-Type name parameter reads back too (older readers use it).
    const parts = message.root.children!.slice(1);
    assert.deepEqual(parts.map((p) => p.params.name), [...names, "notes.txt"]);
    assert.equal(parts.at(-1)!.contentType, "text/plain");
    assert.equal(parts.at(-1)!.params.charset, "utf-8");
    assert.equal(parts[0]!.contentType, "application/pdf");
    assertNoDefects(message.root, "attachments");
  },
}));

Deno.test(interop({
  name:
    "composeMessage part trees read back by Python's email package: alternative, related, mixed",
  requires: ["python3"],
  async fn() {
    const png = new Uint8Array([
      0x89,
      0x50,
      0x4e,
      0x47,
      0x0d,
      0x0a,
      0x1a,
      0x0a,
    ]);
    const base = { from: "a@example.com", to: "b@example.org", date };
    const text = "Ligne un\nligne deux, accentuée: é à ü\r\n" +
      "long ".repeat(300);
    const html = '<p>Voir l\'image: <img src="cid:logo@x"></p>';
    const mails: Mail[] = [
      { ...base, text },
      { ...base, html },
      { ...base, text, html },
      {
        ...base,
        text,
        html,
        attachments: [{
          filename: "logo.png",
          content: png,
          contentId: "logo@x",
        }],
      },
      {
        ...base,
        text,
        html,
        attachments: [
          { filename: "logo.png", content: png, contentId: "logo@x" },
          { filename: "data.bin", content: new Uint8Array([0, 1, 2, 255]) },
        ],
      },
      { ...base, attachments: [{ filename: "only.bin", content: png }] },
      { ...base },
      { ...base, text: "" },
    ];
    const py = await pythonRead(await composeAll(mails));
    assert.deepEqual(py.map((m) => shape(m.root)), [
      "text/plain",
      "text/html",
      "multipart/alternative(text/plain,text/html)",
      "multipart/alternative(text/plain,multipart/related(text/html,image/png))",
      "multipart/mixed(multipart/alternative(text/plain,multipart/related(text/html,image/png)),application/octet-stream)",
      "multipart/mixed(application/octet-stream)",
      "text/plain",
      "text/plain",
    ]);
    for (const [i, message] of py.entries()) {
      const mail = mails[i]!;
      const single = mail.attachments === undefined &&
        (mail.text === undefined || mail.html === undefined);
      if (mail.text !== undefined) {
        assert.equal(
          message.text,
          expectedBody(mail.text, single),
          `text ${i}`,
        );
      }
      if (mail.html !== undefined) {
        assert.equal(
          message.html,
          expectedBody(mail.html, single),
          `html ${i}`,
        );
      }
      assert.deepEqual(message.defects, [], `message ${i}`);
      assertNoDefects(message.root, `message ${i}`);
    }
    // The inline image: its Content-ID and bytes.
    const related = py[3]!.root.children![1]!;
    assert.equal(related.params.type, "text/html");
    const image = related.children![1]!;
    assert.equal(image.contentId, "<logo@x>");
    assert.equal(image.disposition, "inline");
    assert.deepEqual(fromBase64(image.bytes!), png);
  },
}));

const SEED = Number(Deno.env.get("MIME_SEED") ?? 20250301);
const CASES = 120;

/** Display names as the composer promises them: tabs as spaces, ends trimmed. */
function nameText(value: string): string {
  return value.replace(/\s+/g, " ").trim();
}

/** The encoded words of the display name of each mailbox in a field. */
function encodedWordCounts(raw: Uint8Array, field: string): number[] {
  const text = new TextDecoder().decode(raw);
  const header = text.slice(0, text.indexOf("\r\n\r\n")).replace(
    /\r\n(?=[ \t])/g,
    "",
  );
  const line = header.split("\r\n").find((l) => l.startsWith(`${field}: `))!;
  // Mailboxes are separated by commas outside quotes and angle brackets.
  const mailboxes: string[] = [""];
  let quoted = false;
  let angle = false;
  const value = line.slice(field.length + 2);
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (quoted && c === "\\") {
      mailboxes[mailboxes.length - 1] += c + value[++i];
      continue;
    }
    if (c === '"') quoted = !quoted;
    else if (!quoted && c === "<") angle = true;
    else if (!quoted && c === ">") angle = false;
    else if (!quoted && !angle && c === ",") {
      mailboxes.push("");
      continue;
    }
    mailboxes[mailboxes.length - 1] += c;
  }
  return mailboxes.map((m) =>
    m.replace(/<[^>]*>/, "").match(/=\?UTF-8\?[BQ]\?[^?]*\?=/g)?.length ?? 0
  );
}

/**
 * Python's reading of a display name the composer wrote as `words`
 * encoded words. CPython's phrase parser (policy.default) joins the atoms
 * of a display name with a space, so where a long name is split across
 * encoded words it reads one space more than RFC 2047 §6.2 (which drops
 * the white space between adjacent encoded words) and than mailparser
 * does: compared exactly but for those spaces, which must number one per
 * split.
 */
function assertPythonName(
  actual: string,
  expected: string,
  words: number,
  context: string,
): void {
  if (words <= 1) return assert.equal(actual, expected, context);
  assert.equal(
    actual.replace(/ /g, ""),
    expected.replace(/ /g, ""),
    context,
  );
  assert.equal(actual.length - expected.length, words - 1, context);
}

Deno.test(interop({
  name:
    `composeMessage round-trips through Python's email package for ${CASES} random messages (seed ${SEED})`,
  requires: ["python3"],
  async fn() {
    const random = prng(SEED);
    const mails: Mail[] = [];
    const expected: {
      fromName: string;
      toNames: string[];
      attachments: { filename: string; bytes: Uint8Array }[];
    }[] = [];
    for (let n = 0; n < CASES; n++) {
      const fromName = nameText(randomText(random, 90));
      const toNames = Array.from(
        { length: 1 + Math.floor(random() * 3) },
        () => nameText(randomText(random, 90)),
      );
      const attachments: {
        filename: string;
        bytes: Uint8Array<ArrayBuffer>;
      }[] = [];
      const count = Math.floor(random() * 4);
      for (let i = 0; i < count; i++) {
        attachments.push({
          filename: (nameText(randomText(random, 120)) || "file") + ".bin",
          bytes: randomBytes(random, 100_000),
        });
      }
      const mail: Mail = {
        from: { name: fromName, address: "sender@example.com" },
        to: toNames.map((name, i) => ({ name, address: `to${i}@example.org` })),
        subject: randomText(random, 300),
        date,
        attachments: attachments.map(({ filename, bytes }, i) => ({
          filename,
          content: i % 2 ? new Blob([bytes]) : bytes,
        })),
      };
      if (random() < 0.8) {
        mail.text = randomText(random, 3000).replace(/ {3}/g, "\n");
      }
      if (random() < 0.5) {
        mail.html = `<p>${randomText(random, 2000).replace(/[<>&]/g, "")}</p>`;
      }
      mails.push(mail);
      expected.push({ fromName, toNames, attachments });
    }
    const raws = await composeAll(mails);
    const py = await pythonRead(raws);
    for (const [n, message] of py.entries()) {
      const mail = mails[n]!;
      const want = expected[n]!;
      const context = `case ${n} (seed ${SEED})`;
      assert.equal(message.headers.subject ?? "", mail.subject, context);
      assert.deepEqual(
        message.from?.map((a) => a.address),
        ["sender@example.com"],
        context,
      );
      assertPythonName(
        message.from![0]!.name,
        want.fromName,
        encodedWordCounts(raws[n]!, "From")[0]!,
        `${context}: From`,
      );
      assert.deepEqual(
        message.to?.map((a) => a.address),
        want.toNames.map((_, i) => `to${i}@example.org`),
        context,
      );
      const toWords = encodedWordCounts(raws[n]!, "To");
      for (const [i, name] of want.toNames.entries()) {
        assertPythonName(
          message.to![i]!.name,
          name,
          toWords[i]!,
          `${context}: To ${i}`,
        );
      }
      const single = want.attachments.length === 0 &&
        (mail.text === undefined || mail.html === undefined);
      if (mail.text !== undefined) {
        assert.equal(
          message.text ?? "",
          expectedBody(mail.text, single),
          `${context}: text`,
        );
      }
      if (mail.html !== undefined) {
        assert.equal(message.html, expectedBody(mail.html, single), context);
      }
      assert.deepEqual(
        message.attachments.map((a) => a.filename),
        want.attachments.map((a) => a.filename),
        context,
      );
      for (const [i, attachment] of message.attachments.entries()) {
        assert.deepEqual(
          fromBase64(attachment.bytes),
          want.attachments[i]!.bytes,
          `${context}: attachment ${i}`,
        );
      }
      assert.deepEqual(message.defects, [], context);
      assertNoDefects(message.root, context);
    }
  },
}));
