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

Deno.test("composeMessage names attachments with RFC 2231 first, then RFC 2047 in the quoted value", async () => {
  const name = "Résumé – 履歴書 " + "très long ".repeat(8) + ".pdf";
  const raw = await compose({
    text: "x",
    attachments: [{ filename: name, content: "%PDF" }, {
      filename: "data",
      content: "z",
    }],
  });
  // RFC 2231 sections first (readers that take the first filename meet
  // the standard form), then the whole name as encoded words in quotes.
  assert.match(
    raw,
    /Content-Disposition: attachment;\r\n filename\*0\*=UTF-8''R%C3%A9sum%C3%A9/,
  );
  const unfolded = raw.replace(/\r\n(?=[ \t])/g, "");
  const quoted = /filename\*3\*=[^;]*; filename="(=\?UTF-8\?[^"]*)"/.exec(
    unfolded,
  );
  assert.ok(quoted, "a quoted filename follows the RFC 2231 sections");
  assert.equal(libmime.decodeWords(quoted[1]!), name);
  assert.doesNotMatch(raw, /Resume _/);
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

Deno.test("composeMessage keeps spaces at either end of the subject", async () => {
  for (
    const subject of ["  Hello", "Hello ", " both ends\t", "   ", "a  b  "]
  ) {
    const raw = await compose({ subject, text: "x" });
    assert.match(field(raw, "Subject")!, /^=\?UTF-8\?[BQ]\?/, subject);
    const parsed = await simpleParser(raw);
    assert.equal(parsed.subject, subject);
  }
  // Inner runs need no encoding: folding keeps them.
  const inner = await compose({ subject: "a   b", text: "x" });
  assert.equal(field(inner, "Subject"), "a   b");
  // A line break at either end goes, with the white space around it.
  const broken = await compose({ subject: "\r\n Hello\n", text: "x" });
  assert.equal(field(broken, "Subject"), "Hello");
});

Deno.test("composeMessage writes List-Unsubscribe and List-Unsubscribe-Post for listUnsubscribe", async () => {
  const raw = await compose({
    text: "x",
    listUnsubscribe: {
      mailto: "unsubscribe+42@example.com",
      url: "https://example.com/unsubscribe?user=42&list=news",
    },
  });
  const { header } = split(raw);
  assert.deepEqual(
    header.filter((l) => /^list-/i.test(l)),
    [
      "List-Unsubscribe: <https://example.com/unsubscribe?user=42&list=news>, <mailto:unsubscribe+42@example.com>",
      "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
    ],
  );
  // Written after References, before MIME-Version.
  const names = header.map((l) => l.slice(0, l.indexOf(":")));
  assert.ok(
    names.indexOf("List-Unsubscribe-Post") < names.indexOf("MIME-Version"),
  );
  // Folded between the two URIs, never inside the angle brackets.
  assert.match(
    raw,
    /\r\nList-Unsubscribe: <https:\/\/example\.com\/unsubscribe\?user=42&list=news>,\r\n <mailto:unsubscribe\+42@example\.com>\r\n/,
  );
  const parsed = await simpleParser(raw);
  assert.deepEqual(
    (parsed.headers.get("list") as Record<string, unknown>)
      .unsubscribe,
    {
      url: "https://example.com/unsubscribe?user=42&list=news",
      mail: "unsubscribe+42@example.com",
    },
  );
});

Deno.test("composeMessage writes no List-Unsubscribe-Post without a url", async () => {
  const raw = await compose({
    text: "x",
    listUnsubscribe: { mailto: "off@example.com" },
  });
  assert.deepEqual(split(raw).header.filter((l) => /^list-/i.test(l)), [
    "List-Unsubscribe: <mailto:off@example.com>",
  ]);
  const onlyUrl = await compose({
    text: "x",
    listUnsubscribe: { url: "https://example.com/u/1" },
  });
  assert.deepEqual(split(onlyUrl).header.filter((l) => /^list-/i.test(l)), [
    "List-Unsubscribe: <https://example.com/u/1>",
    "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
  ]);
});

Deno.test("composeMessage keeps a long unsubscribe URL whole on one line", async () => {
  const url = "https://example.com/u/" + "a1b2c3".repeat(30);
  const raw = await compose({
    text: "x",
    listUnsubscribe: { url, mailto: "u@example.com" },
  }, 998);
  assert.ok(raw.includes(`\r\nList-Unsubscribe: <${url}>,\r\n`));
  assert.throws(
    () =>
      composeMessage({
        ...base,
        listUnsubscribe: { url: "https://example.com/" + "a".repeat(1000) },
      }),
    TypeError,
  );
});

Deno.test("composeMessage percent-encodes the mailto address and normalises the URL", async () => {
  const raw = await compose({
    text: "x",
    listUnsubscribe: {
      url: "https://bücher.example/abmelden/ü",
      mailto: '"odd name"@example.com',
    },
  });
  assert.equal(
    field(raw, "List-Unsubscribe"),
    "<https://xn--bcher-kva.example/abmelden/%C3%BC>, <mailto:%22odd%20name%22@example.com>",
  );
});

Deno.test("composeMessage throws TypeError on a listUnsubscribe that is not https, has controls or is not bare", () => {
  const bad: unknown[] = [
    {},
    { url: "http://example.com/u" },
    { url: "mailto:u@example.com" },
    { url: "https://example.com/u\r\nBcc: v@example.com" },
    { url: "https://example.com/u\tx" },
    { url: "https://example.com/\u0085" },
    { url: "https://example.com/a b" },
    { url: "https://example.com/a>b" },
    { url: "not a url" },
    { url: 42 },
    { mailto: "Name <u@example.com>" },
    { mailto: "mailto:u@example.com" },
    { mailto: "u@example.com\r\nBcc: v@example.com" },
    { mailto: "no-at-sign" },
    { url: "https://example.com/u", extra: true },
    "https://example.com/u",
    null,
  ];
  for (const listUnsubscribe of bad) {
    assert.throws(
      () =>
        composeMessage({
          ...base,
          listUnsubscribe: listUnsubscribe as NonNullable<
            Mail["listUnsubscribe"]
          >,
        }),
      TypeError,
      JSON.stringify(listUnsubscribe),
    );
  }
  assert.throws(
    () =>
      composeMessage({
        ...base,
        headers: { "list-unsubscribe": "<https://example.com/x>" },
        listUnsubscribe: { url: "https://example.com/u" },
      }),
    { name: "TypeError", message: /set by mail\.listUnsubscribe/ },
  );
});

Deno.test("ComposedMessage.stream gives the same bytes again when every attachment is re-readable", async () => {
  const bytes = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff);
  const message = composeMessage({
    ...base,
    subject: "twice",
    text: "plain",
    html: '<p><img src="cid:pic"></p>',
    attachments: [
      { filename: "a.bin", content: bytes },
      { filename: "b.bin", content: new Blob([bytes, bytes]) },
      { filename: "c.txt", content: "text attachment" },
      {
        filename: "pic.png",
        content: bytes.subarray(0, 100),
        contentId: "pic",
      },
    ],
  });
  assert.equal(message.rereadable, true);
  const first = await readAll(message.stream());
  const second = await readAll(message.stream());
  const original = await readAll(message.readable);
  assert.deepEqual(second, first);
  assert.deepEqual(original, first);
  // Same Message-ID, Date and boundaries: nothing is drawn again.
  assert.ok(new TextDecoder().decode(first).includes(message.messageId));
});

Deno.test("ComposedMessage.stream throws TypeError when an attachment is a ReadableStream", async () => {
  const message = composeMessage({
    ...base,
    text: "x",
    attachments: [
      { filename: "ok.bin", content: new Uint8Array([1]) },
      {
        filename: "once.bin",
        content: ReadableStream.from([new Uint8Array([2])]),
      },
    ],
  });
  assert.equal(message.rereadable, false);
  assert.throws(() => message.stream(), {
    name: "TypeError",
    message: /"once\.bin" is a ReadableStream/,
  });
  // The one-shot stream still works once.
  const parsed = await simpleParser(
    new TextDecoder().decode(await readAll(message.readable)),
  );
  assert.deepEqual([...parsed.attachments[1]!.content], [2]);
});
