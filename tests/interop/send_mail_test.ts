import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { simpleParser } from "npm:mailparser@3";
import { sendmail } from "../../mod.ts";
import {
  interop,
  startAiosmtpd,
  startNodeSmtpServer,
} from "../_harness/mod.ts";

function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i += 65536) {
    crypto.getRandomValues(bytes.subarray(i, Math.min(i + 65536, length)));
  }
  return bytes;
}

Deno.test(interop({
  name:
    "sendmail() delivers a composed Mail with attachments that the server receives intact",
  requires: [],
  async fn() {
    await using server = await startNodeSmtpServer({
      auth: { username: "joe", password: "pw" },
    });
    const pdf = randomBytes(300_000);
    const streamed = randomBytes(200_000);
    const result = await sendmail(
      {
        hostname: "localhost",
        port: server.port,
        caCerts: [server.certs.caCert],
        auth: { username: "joe", password: "pw" },
      },
      {
        from: "Zoë Ålström <zoe@example.com>",
        to: ["Bob <bob@example.com>", "carol@example.com"],
        cc: { name: "Dan", address: "dan@example.com" },
        bcc: "hidden@example.com",
        subject: "Quarterly report — 第3四半期 📈",
        text: "Hello,\n.\nThe report is attached.\n",
        html: '<p>Hello,</p><p><img src="cid:logo@x"></p>',
        attachments: [
          { filename: "report.pdf", content: pdf },
          {
            filename: "données.bin",
            content: ReadableStream.from([
              streamed.subarray(0, 70_001),
              streamed.subarray(70_001),
            ]),
          },
          {
            filename: "logo.png",
            content: new Uint8Array([137, 80, 78, 71]),
            contentId: "logo@x",
          },
        ],
      },
    );
    assert.deepEqual(result.accepted, [
      "bob@example.com",
      "carol@example.com",
      "dan@example.com",
      "hidden@example.com",
    ]);
    assert.match(result.messageId ?? "", /^<[^@<>]+@example\.com>$/);

    const message = await server.nextMessage();
    assert.equal(message.mailFrom, "zoe@example.com");
    assert.deepEqual(message.rcptTo, result.accepted);
    assert.ok(
      !/hidden@example\.com/i.test(message.text),
      "Bcc is never in the data",
    );

    const parsed = await simpleParser(Buffer.from(message.data));
    assert.equal(parsed.subject, "Quarterly report — 第3四半期 📈");
    assert.equal(parsed.messageId, result.messageId);
    assert.deepEqual(parsed.from?.value, [{
      name: "Zoë Ålström",
      address: "zoe@example.com",
    }]);
    assert.equal(parsed.text, "Hello,\n.\nThe report is attached.\n");
    // mailparser resolves cid: references to the related part as data URLs.
    assert.equal(
      parsed.html,
      '<p>Hello,</p><p><img src="data:image/png;base64,iVBORw=="></p>',
    );
    const byName = new Map(parsed.attachments.map((a) => [a.filename, a]));
    assert.deepEqual(new Uint8Array(byName.get("report.pdf")!.content), pdf);
    assert.deepEqual(
      new Uint8Array(byName.get("données.bin")!.content),
      streamed,
    );
    assert.equal(byName.get("logo.png")!.cid, "logo@x");
  },
}));

Deno.test(interop({
  name:
    "sendmail() sends a Mail with a non-ASCII mailbox using SMTPUTF8 to aiosmtpd",
  requires: ["aiosmtpd", "openssl"],
  async fn() {
    await using server = await startAiosmtpd();
    await sendmail(
      {
        hostname: "localhost",
        port: server.port,
        caCerts: [server.certs.caCert],
      },
      {
        from: "δοκιμή@example.com",
        to: "ünïcode@bücher.example",
        subject: "utf8",
        text: "hi",
      },
    );
    const message = await server.nextMessage();
    assert.equal(message.smtputf8, true);
    assert.equal(message.mailFrom, "δοκιμή@example.com");
    assert.deepEqual(message.rcptTo, ["ünïcode@xn--bcher-kva.example"]);
  },
}));
