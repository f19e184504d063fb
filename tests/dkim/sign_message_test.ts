// signMessage: signatures checked by an independent verifier (dkimpy,
// Debian's python3-dkim, with DNS answered from the test keys), tampering
// caught, chunking invariance, the fields signed, and every misuse refused
// before anything is produced.

import assert from "node:assert/strict";
import { signMessage } from "../../dkim.ts";
import type { DkimCanonicalization, DkimOptions } from "../../dkim.ts";
import { composeMessage } from "../../mime.ts";
import { interop } from "../_harness/mod.ts";
import { dkimpyVerify } from "./_dkimpy.ts";
import { ed25519Key, rsaKey, type TestKey } from "./_keys.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const DKIMPY = ["python3", "dkimverify"];
const CANONS: DkimCanonicalization[] = [
  "relaxed/relaxed",
  "relaxed/simple",
  "simple/relaxed",
  "simple/simple",
];

let keys: Promise<{ rsa: TestKey; ed: TestKey }> | undefined;
/** One RSA and one Ed25519 key for the whole file. */
function testKeys(): Promise<{ rsa: TestKey; ed: TestKey }> {
  keys ??= Promise.all([rsaKey(), ed25519Key()]).then(([rsa, ed]) => ({
    rsa,
    ed,
  }));
  return keys;
}

async function records(): Promise<Record<string, string>> {
  const { rsa, ed } = await testKeys();
  return {
    "rsa._domainkey.example.com": rsa.record,
    "ed._domainkey.example.com": ed.record,
  };
}

async function options(
  canonicalization: DkimCanonicalization = "relaxed/relaxed",
  extra: Partial<DkimOptions> = {},
): Promise<DkimOptions[]> {
  const { rsa, ed } = await testKeys();
  return [
    {
      domainName: "example.com",
      keySelector: "rsa",
      privateKey: rsa.pem,
      canonicalization,
      ...extra,
    },
    {
      domainName: "example.com",
      keySelector: "ed",
      privateKey: ed.pem,
      canonicalization,
      ...extra,
    },
  ];
}

async function bytesOf(
  stream: ReadableStream<Uint8Array>,
): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The message as the SMTP client puts it on the wire: every line end CRLF. */
function crlf(bytes: Uint8Array): Uint8Array {
  return encoder.encode(
    decoder.decode(bytes).replace(/\r\n|\r|\n/g, "\r\n"),
  );
}

const MESSAGES: Record<string, string> = {
  plain: "From: Ada <ada@example.com>\r\nTo: bob@example.org\r\n" +
    "Subject: Hello\r\nDate: Fri, 29 Nov 2024 08:05:09 +0000\r\n" +
    "Message-ID: <1@example.com>\r\n\r\nHi Bob.\r\n",
  whitespace: "From: ada@example.com\r\nSubject:  lots   of \t space \r\n" +
    "\tand folding\r\nTo:\tbob@example.org\r\n\r\n  indented\r\n" +
    "trailing  \t\r\ninner   runs\r\n\r\n\r\n",
  "empty body": "From: ada@example.com\r\nSubject: empty\r\n\r\n",
  "no body": "From: ada@example.com\r\nSubject: no blank line\r\n",
  "no final CRLF": "From: ada@example.com\r\nSubject: x\r\n\r\nlast line",
  "only empty lines": "From: ada@example.com\r\n\r\n\r\n\r\n\r\n",
  "utf-8 header": "From: =?UTF-8?Q?Zo=C3=AB?= <zoe@example.com>\r\n" +
    "Subject: Grüße 日本\r\n\r\nnon-ASCII body é\r\n",
  "several fields": "Received: from x\r\nFrom: a@example.com\r\n" +
    "To: one@example.org\r\nTo: two@example.org\r\nCc: c@example.org\r\n" +
    "Reply-To: r@example.com\r\nIn-Reply-To: <p@example.com>\r\n" +
    "References: <p@example.com>\r\nList-Id: <news.example.com>\r\n" +
    "X-Other: not signed\r\n\r\nbody\r\n",
};

Deno.test(interop({
  name:
    "signMessage signatures verify with dkimpy for rsa-sha256 and ed25519-sha256 in every canonicalization",
  requires: DKIMPY,
  async fn() {
    const inputs: Uint8Array[] = [];
    const names: string[] = [];
    let kind = 0;
    for (const canon of CANONS) {
      for (const [name, text] of Object.entries(MESSAGES)) {
        const bytes = encoder.encode(text);
        // Every input type in turn.
        const input = [
          text,
          bytes,
          new Blob([bytes]),
          ReadableStream.from([bytes.subarray(0, 7), bytes.subarray(7)]),
        ][kind++ % 4]!;
        inputs.push(await bytesOf(signMessage(input, await options(canon))));
        names.push(
          `${name} (${canon}, ${
            typeof input === "string" ? "string" : input.constructor.name
          })`,
        );
      }
    }
    const verdicts = await dkimpyVerify(await records(), inputs);
    for (const [i, message] of verdicts.entries()) {
      assert.equal(message.length, 2, names[i]);
      for (const verdict of message) {
        assert.ok(
          verdict.ok,
          `${names[i]} ${verdict.selector}: ${verdict.log}`,
        );
      }
    }
  },
}));

Deno.test(interop({
  name:
    "signMessage signatures verify with dkimpy once bare LF and CR are sent as CRLF",
  requires: DKIMPY,
  async fn() {
    const text =
      "From: ada@example.com\nSubject: LF\n\nline one\nline two\rCR\n\n";
    const messages: Uint8Array[] = [];
    for (const canon of CANONS) {
      messages.push(
        crlf(await bytesOf(signMessage(text, await options(canon)))),
      );
    }
    for (const message of await dkimpyVerify(await records(), messages)) {
      for (const verdict of message) assert.ok(verdict.ok, verdict.log);
    }
  },
}));

Deno.test(interop({
  name:
    "signMessage signatures fail dkimpy verification after a body byte or a signed header is changed",
  requires: DKIMPY,
  async fn() {
    const base = MESSAGES.plain!;
    const tamper: Record<string, (signed: string) => string> = {
      "body byte": (s) => s.replace("Hi Bob.", "Hi Bib."),
      "body line added": (s) => s + "P.S.\r\n",
      "subject": (s) => s.replace("Subject: Hello", "Subject: Hellp"),
      "from": (s) => s.replace("ada@example.com>", "eve@example.com>"),
      "from added": (s) => "From: eve@example.com\r\n" + s,
      "subject added": (s) =>
        s.replace("\r\n\r\n", "\r\nSubject: urgent\r\n\r\n"),
      "to": (s) => s.replace("bob@example.org", "bob@example.net"),
    };
    const harmless: Record<string, (signed: string) => string> = {
      "unsigned field added": (s) => "X-Added: yes\r\n" + s,
      "received added": (s) => "Received: from relay\r\n" + s,
    };
    for (const canon of CANONS) {
      const signed = decoder.decode(
        await bytesOf(signMessage(base, await options(canon))),
      );
      const cases = [
        ...Object.entries(tamper).map(([n, f]) => [n, f, false] as const),
        ...Object.entries(harmless).map(([n, f]) => [n, f, true] as const),
        // Relaxed body canonicalization ignores trailing white space; simple does not.
        [
          "trailing space in the body",
          (s: string) => s.replace("Hi Bob.", "Hi Bob. "),
          canon.endsWith("/relaxed"),
        ] as const,
        // Relaxed header canonicalization ignores refolding; simple does not.
        [
          "refolded subject",
          (s: string) => s.replace("Subject: Hello", "Subject:\r\n  Hello"),
          canon.startsWith("relaxed/"),
        ] as const,
      ];
      const verdicts = await dkimpyVerify(
        await records(),
        [
          encoder.encode(signed),
          ...cases.map(([, f]) => encoder.encode(f(signed))),
        ],
      );
      for (const verdict of verdicts[0]!) {
        assert.ok(verdict.ok, `${canon} untouched: ${verdict.log}`);
      }
      for (const [i, [name, , expected]] of cases.entries()) {
        for (const verdict of verdicts[i + 1]!) {
          assert.equal(
            verdict.ok,
            expected,
            `${canon}, ${name}, ${verdict.selector}`,
          );
        }
      }
    }
  },
}));

Deno.test("signMessage writes the DKIM-Signature fields, then the input unchanged", async () => {
  for (const text of Object.values(MESSAGES)) {
    const signed = await bytesOf(signMessage(text, await options()));
    const input = encoder.encode(text);
    const tail = signed.subarray(signed.length - input.length);
    assert.deepEqual(tail, input);
    const head = decoder.decode(
      signed.subarray(0, signed.length - input.length),
    );
    const fields = head.split(/\r\n(?![ \t])/).filter(Boolean);
    assert.equal(fields.length, 2);
    assert.match(
      fields[0]!,
      /^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=example\.com;\s+s=rsa;/,
    );
    assert.match(fields[1]!, /^DKIM-Signature: v=1; a=ed25519-sha256;/);
    // Folded within 76 columns, never with l=.
    for (const line of head.split("\r\n")) assert.ok(line.length <= 76, line);
    assert.doesNotMatch(head, /[;\s]l=/);
  }
});

/** The tags of a DKIM-Signature field, unfolded. */
function tags(field: string): Record<string, string> {
  const value = field.slice(field.indexOf(":") + 1).replace(/\r\n/g, "");
  const out: Record<string, string> = {};
  for (const tag of value.split(";")) {
    const at = tag.indexOf("=");
    if (at < 0) continue;
    out[tag.slice(0, at).trim()] = tag.slice(at + 1).replace(/\s+/g, "");
  }
  return out;
}

async function firstField(
  message: string | Uint8Array,
  option: DkimOptions,
): Promise<string> {
  const text = decoder.decode(await bytesOf(signMessage(message, option)));
  return text.split(/\r\n(?![ \t])/)[0]!;
}

Deno.test("signMessage signs the fields present of the default list, From and Subject once more", async () => {
  const [rsa] = await options();
  const h = tags(await firstField(MESSAGES["several fields"]!, rsa!)).h;
  // No Subject in this message: it is signed once all the same, as absent.
  assert.equal(
    h,
    "from:from:reply-to:subject:to:to:cc:in-reply-to:references:list-id",
  );
  // A composed message with one-click unsubscribe: both List fields signed.
  const composed = composeMessage({
    from: "News <news@example.com>",
    to: "reader@example.org",
    subject: "This week",
    text: "…",
    date: new Date(Date.UTC(2025, 0, 1)),
    listUnsubscribe: {
      url: "https://example.com/u?1",
      mailto: "u@example.com",
    },
  });
  const raw = await bytesOf(composed.readable);
  const names = tags(await firstField(raw, rsa!)).h!.split(":");
  assert.deepEqual(names, [
    "from",
    "from",
    "subject",
    "subject",
    "date",
    "message-id",
    "to",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "list-unsubscribe",
    "list-unsubscribe-post",
  ]);
});

Deno.test("signMessage writes t= and x= from timestamp and expiresIn, and the h= list given", async () => {
  const [rsa, ed] = await options("simple/relaxed", {
    timestamp: new Date(Date.UTC(2025, 0, 1)),
    expiresIn: 86400,
    headerFieldNames: ["From", "To", "Subject", "X-Missing"],
  });
  for (const option of [rsa!, ed!]) {
    const t = tags(await firstField(MESSAGES.plain!, option));
    assert.equal(t.t, String(Date.UTC(2025, 0, 1) / 1000));
    assert.equal(t.x, String(Date.UTC(2025, 0, 1) / 1000 + 86400));
    assert.equal(t.h, "from:to:subject:x-missing");
    assert.equal(t.c, "simple/relaxed");
    assert.equal(t.d, "example.com");
    assert.equal(t.bh!.length, 44);
  }
  // Without a timestamp, t= is now.
  const before = Math.floor(Date.now() / 1000);
  const t = Number(
    tags(await firstField(MESSAGES.plain!, (await options())[0]!)).t,
  );
  assert.ok(t >= before && t <= Math.floor(Date.now() / 1000));
});

Deno.test(interop({
  name:
    "signMessage signatures verify with dkimpy with x=, a custom h= list and a CryptoKey",
  requires: DKIMPY,
  async fn() {
    const { rsa, ed } = await testKeys();
    const signed = await bytesOf(signMessage(MESSAGES["several fields"]!, [
      {
        domainName: "example.com",
        keySelector: "rsa",
        privateKey: rsa.privateKey,
        expiresIn: 3600,
        headerFieldNames: ["from", "to", "to", "to", "x-other", "received"],
      },
      {
        domainName: "example.com",
        keySelector: "ed",
        privateKey: ed.privateKey,
        algorithm: "ed25519-sha256",
      },
    ]));
    const [verdicts] = await dkimpyVerify(await records(), [signed]);
    for (const verdict of verdicts!) assert.ok(verdict.ok, verdict.log);
  },
}));

/** A composed message with parts and an attachment: many boundaries and line ends. */
async function composedBytes(): Promise<Uint8Array<ArrayBuffer>> {
  const message = composeMessage({
    from: "Ada <ada@example.com>",
    to: "bob@example.org",
    subject: "Parts  and  spaces ",
    date: new Date(Date.UTC(2025, 0, 1)),
    messageId: "fixed@example.com",
    text: "line one  \nline two\n\n\n",
    html: "<p>hi</p>",
    attachments: [{ filename: "a.bin", content: new Uint8Array(200).fill(7) }],
  });
  return await bytesOf(message.readable);
}

Deno.test("signMessage gives the same signatures however the input stream is split", async () => {
  const bytes = await composedBytes();
  const timestamp = new Date(Date.UTC(2025, 0, 1));
  const [rsa, ed] = await options("relaxed/relaxed", { timestamp });
  const [rsaSimple, edSimple] = await options("simple/simple", { timestamp });
  const all = [rsa!, ed!, rsaSimple!, edSimple!];
  const expected = decoder.decode(await bytesOf(signMessage(bytes, all)));
  const sign = async (chunks: Uint8Array[], list: DkimOptions[]) =>
    decoder.decode(
      await bytesOf(signMessage(ReadableStream.from(chunks), list)),
    );
  // Ed25519 (fast) split at every offset.
  const edOnly = [ed!, edSimple!];
  const edExpected = decoder.decode(await bytesOf(signMessage(bytes, edOnly)));
  for (let at = 0; at <= bytes.length; at++) {
    const split = await sign(
      [bytes.subarray(0, at), bytes.subarray(at)],
      edOnly,
    );
    assert.equal(split, edExpected, `split at ${at}`);
  }
  // All four around every line end and boundary delimiter, cut twice.
  const text = decoder.decode(bytes);
  const marks = new Set<number>();
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 10 || text.startsWith("\r\n--", i)) marks.add(i);
  }
  for (const i of marks) {
    for (
      const [a, b] of [[i - 1, i], [i, i + 1], [i - 1, i + 2], [i + 1, i + 3]]
    ) {
      if (a! < 0 || b! > bytes.length) continue;
      const cut = await sign([
        bytes.subarray(0, a),
        bytes.subarray(a, b),
        bytes.subarray(b),
      ], all);
      assert.equal(cut, expected, `cut at ${a}, ${b}`);
    }
  }
  // One byte at a time, and as a Blob.
  assert.equal(
    await sign([...bytes].map((b) => new Uint8Array([b])), all),
    expected,
  );
  assert.equal(
    decoder.decode(await bytesOf(signMessage(new Blob([bytes]), all))),
    expected,
  );
});

Deno.test("signMessage reads a Blob twice and a stream once, holding only the stream", async () => {
  let opened = 0;
  class CountingBlob extends Blob {
    override stream(): ReadableStream<Uint8Array<ArrayBuffer>> {
      opened++;
      return super.stream();
    }
  }
  const blob = new CountingBlob([MESSAGES.plain!]);
  const signed = await bytesOf(signMessage(blob, await options()));
  assert.equal(opened, 2);
  assert.ok(decoder.decode(signed).endsWith(MESSAGES.plain!));
  let pulls = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulls++ === 0) controller.enqueue(encoder.encode(MESSAGES.plain!));
      else controller.close();
    },
  });
  const fromStream = await bytesOf(signMessage(stream, await options()));
  assert.equal(pulls, 2);
  assert.ok(decoder.decode(fromStream).endsWith(MESSAGES.plain!));
});

Deno.test("signMessage fails with RangeError before any byte when a stream is over maxBufferSize", async () => {
  let cancelled: unknown;
  let sent = 0;
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      sent += 1000;
      controller.enqueue(
        encoder.encode(
          sent === 1000 ? "From: a@example.com\r\n\r\n" : "x".repeat(1000),
        ),
      );
    },
    cancel(reason) {
      cancelled = reason;
    },
  });
  const reader = signMessage(
    source,
    await options("relaxed/relaxed", { maxBufferSize: 5000 }),
  ).getReader();
  await assert.rejects(reader.read(), {
    name: "RangeError",
    message:
      /longer than maxBufferSize \(5000 octets\).*give a string, Uint8Array or Blob/,
  });
  assert.ok(cancelled instanceof RangeError, "the source is cancelled");
  // The source never ends: reading stopped at the limit.
  assert.ok(sent < 10_000, `read ${sent} octets`);
  // Under the limit, the same stream signs.
  const small = ReadableStream.from([encoder.encode(MESSAGES.plain!)]);
  const signed = await bytesOf(
    signMessage(
      small,
      await options("relaxed/relaxed", { maxBufferSize: 5000 }),
    ),
  );
  assert.ok(decoder.decode(signed).endsWith(MESSAGES.plain!));
});

Deno.test("signMessage fails with TypeError before any byte when the message has no From field", async () => {
  const reader = signMessage(
    "To: bob@example.org\r\n\r\nbody\r\n",
    await options(),
  ).getReader();
  await assert.rejects(reader.read(), {
    name: "TypeError",
    message: /no From field/,
  });
});

Deno.test("signMessage passes on the source's error, and cancelling cancels the source", async () => {
  const failing = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.error(new Error("disk gone"));
    },
  });
  await assert.rejects(bytesOf(signMessage(failing, await options())), {
    message: "disk gone",
  });
  let cancelled: unknown;
  const idle = new ReadableStream<Uint8Array>({
    cancel(reason) {
      cancelled = reason;
    },
  });
  await signMessage(idle, await options()).cancel("stop");
  assert.equal(cancelled, "stop");
});

Deno.test("signMessage throws TypeError at once on bad options and inputs", async () => {
  const { rsa } = await testKeys();
  const good: DkimOptions = {
    domainName: "example.com",
    keySelector: "s1",
    privateKey: rsa.pem,
  };
  const bad: [unknown, RegExp][] = [
    [
      { ...good, domainName: "exa;mple.com" },
      /domainName "exa;mple\.com" contains ";", "="/,
    ],
    [{ ...good, domainName: "example.com; s=evil" }, /domainName/],
    [{ ...good, domainName: "a=b.com" }, /domainName/],
    [{ ...good, domainName: "example .com" }, /domainName/],
    [{ ...good, domainName: "example.com\r\n" }, /domainName/],
    [{ ...good, domainName: "-bad-.com" }, /is not a domain name/],
    [{ ...good, domainName: "" }, /domainName must be a non-empty string/],
    [{ ...good, keySelector: "s;1" }, /keySelector/],
    [{ ...good, keySelector: "s=1" }, /keySelector/],
    [{ ...good, keySelector: "s 1" }, /keySelector/],
    [
      { ...good, keySelector: undefined },
      /keySelector must be a non-empty string/,
    ],
    [{ ...good, algorithm: "rsa-sha1" }, /algorithm "rsa-sha1" is not/],
    [
      { ...good, algorithm: "ed25519-sha256" },
      /a key for rsa-sha256, not ed25519-sha256/,
    ],
    [
      { ...good, canonicalization: "relaxed" },
      /canonicalization "relaxed" is not one of/,
    ],
    [{ ...good, canonicalization: "nofws/simple" }, /canonicalization/],
    [{
      ...good,
      privateKey:
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
    }, /privateKey/],
    [
      { ...good, privateKey: undefined },
      /privateKey: .*expected a PEM string or a CryptoKey/,
    ],
    [{ ...good, headerFieldNames: ["To", "Subject"] }, /must include From/],
    [{ ...good, headerFieldNames: ["From", "Bad Name"] }, /not a field name/],
    [{ ...good, headerFieldNames: "From" }, /must be an array/],
    [{ ...good, expiresIn: 0 }, /expiresIn/],
    [{ ...good, expiresIn: 1.5 }, /expiresIn/],
    [{ ...good, timestamp: new Date(NaN) }, /timestamp/],
    [{ ...good, maxBufferSize: -1 }, /maxBufferSize/],
    [{ ...good, bodyLength: 10 }, /unknown option bodyLength/],
    [[], /empty list/],
    [[good, { ...good, domainName: "x;y" }], /options\[1\]\.domainName/],
    [null, /must be an object/],
  ];
  for (const [option, message] of bad) {
    assert.throws(
      () => signMessage(MESSAGES.plain!, option as DkimOptions),
      { name: "TypeError", message },
      JSON.stringify(
        option,
        (_, v) => typeof v === "string" && v.length > 50 ? "…" : v,
      ),
    );
  }
  const locked = new ReadableStream<Uint8Array>();
  locked.getReader();
  for (const input of [42, null, { raw: "x" }, locked]) {
    assert.throws(
      () => signMessage(input as unknown as string, good),
      TypeError,
    );
  }
  // An internationalised domain is signed with its A-labels.
  const field = await firstField(MESSAGES.plain!, {
    ...good,
    domainName: "bücher.example",
  });
  assert.equal(tags(field).d, "xn--bcher-kva.example");
});
