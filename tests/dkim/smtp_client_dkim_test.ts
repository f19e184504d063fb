// SmtpClientOptions.dkim: every message a client sends is signed, and the
// signature verifies (dkimpy) on the bytes real servers stored: aiosmtpd
// (DATA, dot-stuffed) and Postfix (BDAT, which adds its Received field).
// Bad options fail at connect; a one-shot stream over the limit fails
// before MAIL; SIZE counts the DKIM-Signature fields.

import assert from "node:assert/strict";
import { type Mail, type RawMessage, SmtpClient } from "../../mod.ts";
import type { DkimCanonicalization, DkimOptions } from "../../dkim.ts";
import { startTestServer } from "../../testing.ts";
import type { Connect } from "../../src/transport/connection.ts";
import { interop, startAiosmtpd, startPostfix } from "../_harness/mod.ts";
import { dkimpyVerify } from "./_dkimpy.ts";
import { ed25519Key, rsaKey, type TestKey } from "./_keys.ts";

const encoder = new TextEncoder();
const DKIMPY = ["python3", "dkimverify"];

let keys: Promise<{ rsa: TestKey; ed: TestKey }> | undefined;
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

async function dkim(
  canonicalization: DkimCanonicalization,
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
      privateKey: ed.privateKey,
      canonicalization,
      ...extra,
    },
  ];
}

function pattern(length: number, seed: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 131 + seed) & 0xff;
  return out;
}

/** Messages of every kind a client sends: composed and raw, each source type. */
function messages(): { name: string; message: Mail | RawMessage }[] {
  const envelope = { from: "ada@example.com", to: ["bob@example.org"] };
  const raw = "From: Ada <ada@example.com>\r\nTo: bob@example.org\r\n" +
    "Subject: raw\r\n\r\n.leading dot\r\n..two\r\nend\r\n";
  return [{
    name: "composed, Blob and bytes attachments",
    message: {
      from: "Ada <ada@example.com>",
      to: "bob@example.org",
      subject: "  Report — été ",
      text: "Hello,\n.\nA line with a dot.\n",
      html: "<p>Hello</p>",
      attachments: [
        {
          filename: "données été.bin",
          content: new Blob([pattern(300_000, 1)]),
        },
        { filename: "b.bin", content: pattern(1000, 2) },
      ],
      listUnsubscribe: {
        url: "https://example.com/unsubscribe?u=1",
        mailto: "unsubscribe@example.com",
      },
    },
  }, {
    name: "composed, stream attachment",
    message: {
      from: "ada@example.com",
      to: "bob@example.org",
      subject: "streamed",
      text: "x",
      attachments: [{
        filename: "s.bin",
        content: ReadableStream.from([pattern(70_001, 3), pattern(5, 4)]),
      }],
    },
  }, {
    name: "raw string",
    message: { envelope, raw },
  }, {
    name: "raw bytes",
    message: { envelope, raw: encoder.encode(raw) },
  }, {
    name: "raw Blob",
    message: { envelope, raw: new Blob([raw]) },
  }, {
    name: "raw stream",
    message: {
      envelope,
      raw: ReadableStream.from([
        encoder.encode(raw.slice(0, 50)),
        encoder.encode(raw.slice(50)),
      ]),
    },
  }, {
    name: "raw string with LF line ends",
    message: { envelope, raw: raw.replace(/\r\n/g, "\n") },
  }];
}

for (const canon of ["relaxed/relaxed", "simple/simple"] as const) {
  Deno.test(interop({
    name:
      `SmtpClient with dkim (${canon}) sends messages aiosmtpd stores with signatures dkimpy verifies`,
    requires: ["aiosmtpd", ...DKIMPY],
    async fn() {
      await using server = await startAiosmtpd({ starttls: false });
      await using client = await SmtpClient.connect({
        hostname: server.hostname,
        port: server.port,
        tls: "none",
        dkim: await dkim(canon),
      });
      const list = messages();
      const stored: Uint8Array[] = [];
      for (const { name, message } of list) {
        await client.send(message);
        const received = await server.nextMessage();
        stored.push(received.data);
        const size = received.mailOptions.find((o) => o.startsWith("SIZE="));
        if (!name.includes("LF")) {
          // SIZE is exact: the fields plus the message as read.
          assert.equal(size, `SIZE=${received.data.length}`, name);
        }
      }
      const verdicts = await dkimpyVerify(await records(), stored);
      for (const [i, verdict] of verdicts.entries()) {
        assert.deepEqual(
          verdict.map((v) => v.selector),
          ["rsa", "ed"],
          list[i]!.name,
        );
        for (const v of verdict) {
          assert.ok(v.ok, `${list[i]!.name}, ${v.selector}: ${v.log}`);
        }
      }
      // The stored message is the signature fields, then what was given.
      const text = new TextDecoder().decode(stored[2]!);
      assert.match(
        text,
        /^DKIM-Signature: v=1; a=rsa-sha256;[^]*\r\nDKIM-Signature: v=1; a=ed25519-sha256;/,
      );
      assert.ok(text.endsWith("\r\n.leading dot\r\n..two\r\nend\r\n"));
    },
  }));
}

/**
 * A Postfix queue file's message as bytes: postcat prints LF line ends,
 * and its body starts with the blank line that ends the header.
 */
function postfixBytes(message: { headers: string; body: string }): Uint8Array {
  return encoder.encode(
    (message.headers + message.body).replace(/\n/g, "\r\n"),
  );
}

Deno.test(interop({
  name:
    "SmtpClient with dkim sends over BDAT to Postfix, whose stored messages dkimpy verifies",
  requires: ["postfix-smtpd", ...DKIMPY],
  async fn() {
    await using postfix = await startPostfix();
    const canons: DkimCanonicalization[] = [
      "relaxed/relaxed",
      "simple/simple",
      "relaxed/simple",
    ];
    for (const canon of canons) {
      await using client = await SmtpClient.connect({
        hostname: postfix.hostname,
        port: postfix.port,
        tls: "none",
        dkim: await dkim(canon),
      });
      assert.ok(client.capabilities.chunking, "Postfix offers CHUNKING");
      await client.send({
        from: "Ada <ada@example.com>",
        to: "bob@example.org",
        subject: `via Postfix, ${canon}`,
        text: "Hello,\n.\nA dot line, and trailing space   \n",
        attachments: [{
          filename: "x.bin",
          content: new Blob([pattern(200_000, 9)]),
        }],
        listUnsubscribe: { url: "https://example.com/u?9" },
      });
    }
    const stored = await postfix.messages();
    assert.equal(stored.length, canons.length);
    for (const message of stored) {
      assert.match(
        message.headers,
        /^Received: /,
        "Postfix added its trace field",
      );
    }
    const verdicts = await dkimpyVerify(
      await records(),
      stored.map(postfixBytes),
    );
    for (const [i, verdict] of verdicts.entries()) {
      assert.equal(verdict.length, 2);
      for (const v of verdict) {
        assert.ok(v.ok, `${canons[i]}, ${v.selector}: ${v.log}`);
      }
    }
  },
}));

Deno.test("SmtpClient.connect throws TypeError on bad dkim options before connecting", async () => {
  const { rsa } = await testKeys();
  let connects = 0;
  const connect: Connect = () => {
    connects++;
    return Promise.reject(new Error("not reached"));
  };
  const good: DkimOptions = {
    domainName: "example.com",
    keySelector: "s",
    privateKey: rsa.pem,
  };
  const bad: unknown[] = [
    { ...good, domainName: "example.com;" },
    { ...good, keySelector: "a b" },
    { ...good, algorithm: "rsa-sha1" },
    { ...good, canonicalization: "simple" },
    { ...good, privateKey: "not a key" },
    { ...good, unknownOption: true },
    [],
  ];
  for (const option of bad) {
    await assert.rejects(
      SmtpClient.connect({
        hostname: "127.0.0.1",
        port: 2525,
        tls: "none",
        connect,
        dkim: option as DkimOptions,
      }),
      { name: "TypeError", message: /^Cannot sign with DKIM: dkim/ },
      JSON.stringify(option).slice(0, 60),
    );
  }
  // A key that passes the structural check but that WebCrypto refuses
  // (PKCS#8 version 5) is refused at connect too.
  const der = Uint8Array.from(
    atob(rsa.pem.replace(/-----[^-]+-----|\s/g, "")),
    (c) => c.charCodeAt(0),
  );
  der[6] = 5;
  const refused = `-----BEGIN PRIVATE KEY-----\n${
    btoa(String.fromCharCode(...der))
  }\n-----END PRIVATE KEY-----\n`;
  await assert.rejects(
    SmtpClient.connect({
      hostname: "127.0.0.1",
      port: 2525,
      tls: "none",
      connect,
      dkim: { ...good, privateKey: refused },
    }),
    { name: "TypeError", message: /WebCrypto refused it/ },
  );
  assert.equal(connects, 0);
});

Deno.test("SmtpClient.send with dkim fails with RangeError before MAIL when a raw stream is over maxBufferSize", async () => {
  await using server = await startTestServer({ tls: "none" });
  await using client = await SmtpClient.connect({
    ...server.clientOptions,
    dkim: await dkim("relaxed/relaxed", { maxBufferSize: 10_000 }),
  });
  let cancelled: unknown;
  let pulled = 0;
  const raw = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.enqueue(
        encoder.encode(
          pulled++ === 0 ? "From: a@example.com\r\n\r\n" : "y".repeat(4000),
        ),
      );
    },
    cancel(reason) {
      cancelled = reason;
    },
  });
  await assert.rejects(
    client.send({
      envelope: { from: "a@example.com", to: ["b@example.org"] },
      raw,
    }),
    { name: "RangeError", message: /maxBufferSize \(10000 octets\)/ },
  );
  assert.ok(cancelled instanceof RangeError, "the source is cancelled");
  const said = server.transcripts[0]!.filter((l) => l.type === "client").map((
    l,
  ) => l.text);
  assert.ok(!said.some((l) => /^(MAIL|BDAT|DATA)/.test(l)), said.join("\n"));
  // The session is still usable.
  await client.send({
    from: "a@example.com",
    to: "b@example.org",
    text: "after",
  });
  assert.equal(server.messages.length, 1);
});

Deno.test("SmtpClient.send with dkim throws TypeError before MAIL for a raw message without From", async () => {
  await using server = await startTestServer({ tls: "none" });
  await using client = await SmtpClient.connect({
    ...server.clientOptions,
    dkim: await dkim("relaxed/relaxed"),
  });
  await assert.rejects(
    client.send({
      envelope: { from: "a@example.com", to: ["b@example.org"] },
      raw: "To: b@example.org\r\nSubject: no From\r\n\r\nbody\r\n",
    }),
    { name: "TypeError", message: /no From field/ },
  );
  const said = server.transcripts[0]!.filter((l) => l.type === "client")
    .map((l) => l.text);
  assert.ok(!said.some((l) => /^(MAIL|BDAT|DATA)/.test(l)), said.join("\n"));
  assert.equal(server.messages.length, 0);
});

Deno.test("SmtpClient.send with dkim declares SIZE counting the signature fields, over BDAT and DATA", async () => {
  for (const chunking of [true, false]) {
    await using server = await startTestServer({ tls: "none" });
    await using client = await SmtpClient.connect({
      ...server.clientOptions,
      chunking,
      dkim: await dkim("relaxed/relaxed"),
    });
    await client.send({
      from: "ada@example.com",
      to: "bob@example.org",
      subject: "size",
      text: "x",
      attachments: [{
        filename: "big.bin",
        content: new Blob([pattern(100_000, 5)]),
      }],
    });
    await client.send({
      envelope: { from: "ada@example.com", to: ["bob@example.org"] },
      raw: new Blob(["From: ada@example.com\r\n\r\nraw\r\n"]),
    });
    for (const message of server.messages) {
      assert.equal(message.transfer, chunking ? "BDAT" : "DATA");
      assert.equal(
        message.envelope.mailParams.SIZE,
        String(message.raw.length),
      );
      assert.match(message.text, /^DKIM-Signature: v=1; a=rsa-sha256;/);
    }
  }
});

Deno.test("SmtpClient.send with dkim reads a composed message's Blob attachment twice and its stream attachment once", async () => {
  await using server = await startTestServer({ tls: "none" });
  await using client = await SmtpClient.connect({
    ...server.clientOptions,
    dkim: await dkim("relaxed/relaxed"),
  });
  let opened = 0;
  class CountingBlob extends Blob {
    override stream(): ReadableStream<Uint8Array<ArrayBuffer>> {
      opened++;
      return super.stream();
    }
  }
  await client.send({
    from: "ada@example.com",
    to: "bob@example.org",
    text: "x",
    attachments: [{
      filename: "a.bin",
      content: new CountingBlob([pattern(1000, 6)]),
    }],
  });
  assert.equal(opened, 2);
  let pulls = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulls++ < 3) controller.enqueue(pattern(1000, pulls));
      else controller.close();
    },
  });
  await client.send({
    from: "ada@example.com",
    to: "bob@example.org",
    text: "x",
    attachments: [{ filename: "s.bin", content: stream }],
  });
  assert.equal(pulls, 4, "the stream is read once, to its end");
  assert.equal(server.messages.length, 2);
});
