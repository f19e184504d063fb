import assert from "node:assert/strict";
import libmime from "npm:libmime@5";
import { simpleParser } from "npm:mailparser@3";
import { composeMessage, type Mail } from "../../mime.ts";
import { assertWellFormed, readAll } from "./_util.ts";

const base: Mail = {
  from: "Ada <ada@example.com>",
  to: "grace@example.org",
  date: new Date(Date.UTC(2024, 10, 29, 8, 5, 9)),
};

async function compose(
  mail: Partial<Mail>,
  headerLimit?: number,
): Promise<string> {
  const bytes = await readAll(composeMessage({ ...base, ...mail }).readable);
  assertWellFormed(bytes, headerLimit);
  return new TextDecoder().decode(bytes);
}

/** The header block (unfolded field lines) and body of a message or part. */
function split(raw: string): { header: string[]; body: string } {
  const end = raw.indexOf("\r\n\r\n");
  const header = raw.slice(0, end).replace(/\r\n(?=[ \t])/g, "").split("\r\n");
  return { header, body: raw.slice(end + 4) };
}

function field(raw: string, name: string): string | undefined {
  const prefix = name.toLowerCase() + ":";
  return split(raw).header.find((l) => l.toLowerCase().startsWith(prefix))
    ?.slice(prefix.length).trim();
}

Deno.test("composeMessage writes the header fields in RFC 5322 form", async () => {
  const raw = await compose({
    cc: ["Bob <bob@example.net>", { address: "carol@example.net" }],
    replyTo: "help@example.com",
    subject: "Hello",
    text: "Hi",
    inReplyTo: "<parent@example.com>",
    references: ["root@example.com", "<parent@example.com>"],
    messageId: "fixed@example.com",
  });
  const { header } = split(raw);
  assert.deepEqual(header, [
    "Date: Fri, 29 Nov 2024 08:05:09 +0000",
    "From: Ada <ada@example.com>",
    "Reply-To: help@example.com",
    "To: grace@example.org",
    "Cc: Bob <bob@example.net>, carol@example.net",
    "Subject: Hello",
    "Message-ID: <fixed@example.com>",
    "In-Reply-To: <parent@example.com>",
    "References: <root@example.com> <parent@example.com>",
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: 7bit",
  ]);
});

Deno.test("composeMessage generates a random Message-ID at the From domain", () => {
  const a = composeMessage({ ...base, from: "ada@Bücher.example", text: "x" });
  const b = composeMessage({ ...base, text: "x" });
  assert.match(a.messageId, /^<[0-9a-z]{32}@xn--bcher-kva\.example>$/);
  assert.match(b.messageId, /^<[0-9a-z]{32}@example\.com>$/);
  assert.notEqual(
    b.messageId,
    composeMessage({ ...base, text: "x" }).messageId,
  );
  for (const message of [a, b]) message.readable.cancel();
});

Deno.test("composeMessage keeps Bcc out of the header and puts it in the envelope", async () => {
  const message = composeMessage({
    ...base,
    to: ["grace@example.org", "Grace <grace@EXAMPLE.org>"],
    cc: "bob@example.net",
    bcc: ["secret@example.com", "bob@example.net"],
    text: "x",
  });
  assert.deepEqual(message.envelope, {
    from: "ada@example.com",
    to: ["grace@example.org", "bob@example.net", "secret@example.com"],
    smtputf8: false,
  });
  const raw = new TextDecoder().decode(await readAll(message.readable));
  assert.ok(!raw.includes("secret"));
  assert.ok(!/^bcc:/im.test(raw));
});

Deno.test("composeMessage marks the envelope smtputf8 when a local part is not ASCII", () => {
  const message = composeMessage({
    ...base,
    to: "δοκιμή@παράδειγμα.example",
    text: "x",
  });
  assert.deepEqual(message.envelope, {
    from: "ada@example.com",
    to: ["δοκιμή@xn--hxajbheg2az3al.example"],
    smtputf8: true,
  });
  assert.equal(message.eightBit, false);
  message.readable.cancel();
});

Deno.test("composeMessage adds Sender when From lists several mailboxes", async () => {
  const raw = await compose({
    from: "ada@example.com, Bob <bob@example.com>",
    text: "x",
  });
  assert.equal(field(raw, "From"), "ada@example.com, Bob <bob@example.com>");
  assert.equal(field(raw, "Sender"), "ada@example.com");
  const custom = await compose({
    from: "ada@example.com, bob@example.com",
    headers: { Sender: "bob@example.com" },
    text: "x",
  });
  assert.deepEqual(
    split(custom).header.filter((l) => l.startsWith("Sender:")),
    ["Sender: bob@example.com"],
  );
});

Deno.test("composeMessage folds line breaks in header values instead of starting a field", async () => {
  const raw = await compose({
    subject: "Hello\r\nBcc: victim@example.com\n\nbody",
    headers: [["X-Note", "one\r\nTo: victim@example.com"], ["X-Bare", "a\rb"]],
    text: "x",
  });
  const { header } = split(raw);
  assert.ok(header.includes("Subject: Hello Bcc: victim@example.com body"));
  assert.ok(header.includes("X-Note: one To: victim@example.com"));
  assert.ok(header.includes("X-Bare: a b"));
  assert.equal(header.filter((l) => /^(bcc|to):/i.test(l)).length, 1);
  const parsed = await simpleParser(raw);
  assert.equal(parsed.bcc, undefined);
});

Deno.test("composeMessage keeps line breaks in file names and content types out of the header", async () => {
  const raw = await compose({
    text: "x",
    attachments: [{
      filename: "evil\r\nBcc: victim@example.com\r\n.txt",
      content: "x",
    }],
  });
  assert.ok(!/^bcc:/im.test(raw));
  const parsed = await simpleParser(raw);
  assert.equal(
    parsed.attachments[0]!.filename,
    "evil\r\nBcc: victim@example.com\r\n.txt",
  );
  assert.throws(
    () =>
      composeMessage({
        ...base,
        attachments: [{
          filename: "a",
          content: "x",
          contentType: "text/plain;\r\nBcc: v@example.com",
        }],
      }),
    TypeError,
  );
});

Deno.test("composeMessage encodes non-ASCII and control characters in header values", async () => {
  const raw = await compose({
    subject: "Prix: 10 € \u0007",
    headers: { "X-Label": "Ünïcödé" },
    text: "x",
  });
  assert.match(field(raw, "Subject")!, /^=\?UTF-8\?[BQ]\?/);
  assert.match(field(raw, "X-Label")!, /^=\?UTF-8\?[BQ]\?/);
  const parsed = await simpleParser(raw);
  assert.equal(parsed.subject, "Prix: 10 € \u0007");
  // mailparser leaves unknown fields encoded; libmime decodes them.
  assert.equal(libmime.decodeWords(parsed.headers.get("x-label")), "Ünïcödé");
});

Deno.test("composeMessage keeps custom headers in order, duplicates included", async () => {
  const raw = await compose({
    headers: [["X-A", "1"], [
      "List-Unsubscribe",
      "<https://example.com/u?id=1>",
    ], ["X-A", "2"]],
    text: "x",
  });
  assert.deepEqual(
    split(raw).header.filter((l) => /^(x-a|list-unsubscribe):/i.test(l)),
    ["X-A: 1", "List-Unsubscribe: <https://example.com/u?id=1>", "X-A: 2"],
  );
});

Deno.test("composeMessage throws TypeError on a header name outside ftext", () => {
  for (
    const name of [
      "X Bad",
      "X:Bad",
      "X-\r\nBad",
      "",
      "X-Ü",
      "X-" + "a".repeat(80),
    ]
  ) {
    assert.throws(
      () => composeMessage({ ...base, headers: [[name, "v"]] }),
      TypeError,
      JSON.stringify(name),
    );
  }
});

Deno.test("composeMessage throws TypeError on custom headers the composer writes", () => {
  for (
    const name of [
      "bcc",
      "From",
      "Subject",
      "Message-ID",
      "MIME-Version",
      "Content-Type",
      "content-transfer-encoding",
    ]
  ) {
    assert.throws(
      () => composeMessage({ ...base, headers: { [name]: "x" } }),
      TypeError,
      name,
    );
  }
});

Deno.test("composeMessage throws TypeError without a From address or a recipient", () => {
  assert.throws(
    () => composeMessage({ from: "a@example.com", text: "x" }),
    { name: "TypeError", message: "Cannot compose message: no recipient" },
  );
  assert.throws(
    () =>
      composeMessage({ from: "a@example.com", to: "undisclosed-recipients:;" }),
    TypeError,
  );
  assert.throws(() => composeMessage({ ...base, from: "" }), TypeError);
  assert.throws(
    () =>
      composeMessage({ ...base, to: "victim@example.com\r\nRCPT TO:<x@y>" }),
    TypeError,
  );
});

Deno.test("composeMessage throws TypeError on bad message IDs, dates and attachments", () => {
  const bad: Partial<Mail>[] = [
    { messageId: "no-at-sign" },
    { messageId: "<a@b>\r\nX: y" },
    { inReplyTo: "<a b@c>" },
    { date: new Date(NaN) },
    { attachments: [{ filename: "a", content: 42 as unknown as string }] },
    {
      attachments: [{
        filename: "a",
        content: "x",
        contentType: "text/plain\r\nX: y",
      }],
    },
    { attachments: [{ filename: "a", content: "x", contentId: "a b" }] },
  ];
  for (const mail of bad) {
    assert.throws(
      () => composeMessage({ ...base, ...mail }),
      TypeError,
      JSON.stringify(mail),
    );
  }
  const stream = new ReadableStream<Uint8Array>();
  stream.getReader();
  assert.throws(
    () =>
      composeMessage({
        ...base,
        attachments: [{ filename: "a", content: stream }],
      }),
    TypeError,
  );
});

Deno.test("composeMessage writes ASCII text with short lines as 7bit, other text as quoted-printable", async () => {
  const ascii = await compose({ text: "line one\nline two\r\n" });
  assert.equal(field(ascii, "Content-Transfer-Encoding"), "7bit");
  assert.equal(split(ascii).body, "line one\r\nline two\r\n");

  const accented = await compose({
    text: "Crème brûlée " + "à la carte ".repeat(20),
  });
  assert.equal(
    field(accented, "Content-Transfer-Encoding"),
    "quoted-printable",
  );
  for (const line of split(accented).body.split("\r\n")) {
    assert.ok(line.length <= 76, line);
  }

  const long = await compose({ text: "x".repeat(1200) });
  assert.equal(field(long, "Content-Transfer-Encoding"), "quoted-printable");
  assert.equal((await simpleParser(long)).text, "x".repeat(1200) + "\n");
});

Deno.test("composeMessage nests alternative, related and mixed parts", async () => {
  const raw = await compose({
    text: "plain",
    html: '<img src="cid:logo@example.com">',
    attachments: [
      {
        filename: "logo.png",
        content: new Uint8Array([1, 2, 3]),
        contentId: "<logo@example.com>",
      },
      { filename: "report.pdf", content: new Uint8Array([4, 5]) },
    ],
  });
  const types = [...raw.matchAll(/^Content-Type: ([^;\r]+)/gm)].map((m) =>
    m[1]
  );
  assert.deepEqual(types, [
    "multipart/mixed",
    "multipart/alternative",
    "text/plain",
    "multipart/related",
    "text/html",
    "image/png",
    "application/pdf",
  ]);
  assert.match(raw, /multipart\/related; type="text\/html";/);
  assert.match(
    raw,
    /Content-Disposition: inline; filename="logo.png"\r\nContent-ID: <logo@example.com>/,
  );
  assert.match(raw, /Content-Disposition: attachment; filename="report.pdf"/);
  const parsed = await simpleParser(raw);
  assert.equal(parsed.text, "plain");
  assert.deepEqual(
    parsed.attachments.map((
      a,
    ) => [a.filename, a.contentId, a.related ?? false]),
    [
      ["logo.png", "<logo@example.com>", true],
      ["report.pdf", undefined, false],
    ],
  );
});

Deno.test("composeMessage writes an html-only message as text/html and attachments-only as mixed", async () => {
  const html = await compose({ html: "<b>hi</b>" });
  assert.equal(field(html, "Content-Type"), "text/html; charset=utf-8");
  const only = await compose({
    attachments: [{ filename: "a.txt", content: "hello" }],
  });
  assert.match(
    field(only, "Content-Type")!,
    /^multipart\/mixed; boundary="=_[0-9a-z]{28}"$/,
  );
  const parsed = await simpleParser(only);
  assert.equal(parsed.attachments[0]!.content.toString(), "hello");
  assert.equal(parsed.attachments[0]!.contentType, "text/plain");
});

Deno.test("composeMessage names attachments with RFC 2231 and an ASCII fallback", async () => {
  const name = "Résumé – 履歴書 " + "très long ".repeat(8) + ".pdf";
  const raw = await compose({
    text: "x",
    attachments: [{ filename: name, content: "%PDF" }, {
      filename: "data",
      content: "z",
    }],
  });
  assert.match(
    raw,
    /filename="Resume _ ___ [^"]*\.pdf";\r\n filename\*0\*=UTF-8''R%C3%A9sum%C3%A9/,
  );
  assert.match(raw, /Content-Type: application\/pdf;/);
  assert.match(raw, /Content-Type: application\/octet-stream; name="data"/);
  const parsed = await simpleParser(raw);
  assert.deepEqual(parsed.attachments.map((a) => a.filename), [name, "data"]);
});

Deno.test("composeMessage picks boundaries that occur nowhere in the content", async () => {
  const raw = await compose({
    text: "--=_ looks like a boundary\r\n--",
    html: "<p>=_</p>",
    attachments: [{
      filename: "a.bin",
      content: new Uint8Array(5000).fill(0xfb),
    }],
  });
  const boundaries = [...raw.matchAll(/boundary="([^"]+)"/g)].map((m) => m[1]!);
  assert.equal(boundaries.length, 2);
  for (const boundary of boundaries) {
    const uses = raw.split("\r\n").filter((l) => l.includes(boundary));
    // The Content-Type parameter plus the delimiter lines, and nothing else.
    assert.ok(
      uses.every((l) =>
        l.includes(`boundary="${boundary}"`) || l.startsWith(`--${boundary}`)
      ),
    );
  }
});

Deno.test("composeMessage keeps every line within 998 octets for long unbreakable values", async () => {
  const token = "x".repeat(5000);
  const raw = await compose({
    subject: token,
    headers: {
      "X-Long": token,
      "X-Url": "<https://example.com/" + "a".repeat(300) + ">",
    },
    text: token,
    attachments: [{ filename: token + ".txt", content: token }],
  }, 998);
  const parsed = await simpleParser(raw);
  assert.equal(parsed.subject, token);
  assert.equal(libmime.decodeWords(parsed.headers.get("x-long")), token);
  assert.equal(parsed.attachments[0]!.filename, token + ".txt");
  // A structured value that fits in 998 octets is left as it is.
  assert.equal(
    field(raw, "X-Url"),
    "<https://example.com/" + "a".repeat(300) + ">",
  );
});
