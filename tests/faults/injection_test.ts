// Command injection and SMTP smuggling: nothing a caller passes may add a
// command or a message.

import assert from "node:assert/strict";
import { type Mail, type SendOptions, SmtpClient } from "../../mod.ts";
import {
  interop,
  startAiosmtpd,
  startPostfix,
  startScriptedServer,
} from "../_harness/mod.ts";
import {
  drain,
  greet,
  plain,
  raw,
  REAL_SERVER,
  transcript,
} from "./_helpers.ts";

// ——— control characters: TypeError, nothing on the wire ———

const misuses: [string, Mail | ReturnType<typeof raw>, SendOptions?][] = [
  [
    "the envelope sender",
    raw("x", undefined, "a@example.com\r\nRCPT TO:<v@example.com>"),
  ],
  ["an envelope recipient", raw("x", ["a@example.com\nDATA"])],
  ["a recipient with a bare CR", raw("x", ["a@example.com\rRSET"])],
  ["a recipient with NUL", raw("x", ["a@example.com\0"])],
  ["the Mail from", {
    from: "a@example.com\r\nRSET",
    to: "b@example.com",
    text: "x",
  }],
  ["a Mail to", {
    from: "a@example.com",
    to: ["b@example.com\r\nQUIT"],
    text: "x",
  }],
  ["a display name", {
    from: { name: "Joe\r\nBcc: v@example.com", address: "a@example.com" },
    to: "b@example.com",
    text: "x",
  }],
  ["a header name", {
    from: "a@example.com",
    to: "b@example.com",
    headers: { "X-A\r\nBcc": "v@example.com" },
    text: "x",
  }],
  ["the DSN envelope id", raw("x"), {
    dsn: { envelopeId: "id\r\nRSET", notify: ["failure"] },
  }],
];

for (const [what, message, options] of misuses) {
  Deno.test(`SmtpClient.send() throws a TypeError and writes nothing when ${what} holds a control character`, async () => {
    await using server = await startScriptedServer(async (conn) => {
      await greet(conn, "250-scripted.test\r\n250-DSN\r\n250 PIPELINING\r\n");
      // The next line the server reads is the QUIT of quit().
      assert.deepEqual(await drain(conn), ["QUIT"]);
    });
    await using client = await SmtpClient.connect(plain(server));
    await assert.rejects(client.send(message, options), TypeError);
    await client.quit();
    await server.finished();
  });
}

for (
  const [what, options] of [
    ["EHLO name", { clientName: "client.test\r\nMAIL FROM:<a@example.com>" }],
    ["AUTH username", { auth: { username: "joe\r\nQUIT", password: "pw" } }],
    ["AUTH password", { auth: { username: "joe", password: "pw\nRSET" } }],
    ["hostname", { hostname: "127.0.0.1\r\nRSET" }],
  ] as const
) {
  Deno.test(`SmtpClient.connect() throws a TypeError before connecting when the ${what} holds a control character`, async () => {
    await using server = await startScriptedServer(async () => {});
    await assert.rejects(
      SmtpClient.connect({ ...plain(server), ...options }),
      TypeError,
    );
    assert.equal(server.connections, 0);
  });
}

Deno.test(interop({
  name:
    "SmtpClient folds line breaks in header values so the server sees no injected field",
  requires: ["aiosmtpd"],
  async fn() {
    await using server = await startAiosmtpd();
    await using client = await SmtpClient.connect({
      hostname: "localhost",
      port: server.port,
      caCerts: [server.certs.caCert],
      timeouts: REAL_SERVER,
    });
    await client.send({
      from: "a@example.com",
      to: "b@example.com",
      subject: "Hello\r\nBcc: victim@example.com\r\n\r\nbody",
      headers: { "X-Note": "one\nTo: victim@example.com" },
      text: "x",
    });
    const [message, ...more] = await server.messages();
    assert.deepEqual(more, []);
    assert.deepEqual(message!.rcptTo, ["b@example.com"]);
    const header = message!.text.slice(0, message!.text.indexOf("\r\n\r\n"));
    assert.doesNotMatch(header, /^(bcc|to):.*victim/im);
    assert.match(header, /^Subject: Hello Bcc: victim@example\.com body$/m);
  },
}));

// ——— smuggling: one message, the tricky lines as data ———

const SMUGGLED =
  "MAIL FROM:<evil@example.com>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\nsmuggled\r\n";

/** The body parts (chunks) of each case; all of them are sent as data. */
const smuggling: [string, string[]][] = [
  ['"\\n.\\n"', [`before\n.\n${SMUGGLED}.\nafter`]],
  ['"\\r.\\r"', [`before\r.\r${SMUGGLED}.\rafter`]],
  ['"\\r\\n.\\r"', [`before\r\n.\r${SMUGGLED}after`]],
  ['"\\n.\\r\\n"', [`before\n.\r\n${SMUGGLED}after`]],
  ['"\\r\\n.\\r\\n"', [`before\r\n.\r\n${SMUGGLED}.\r\nafter`]],
  ["a dot starting a chunk", [
    "before\r\n",
    `.\r\n${SMUGGLED}`,
    ".",
    "\r\nafter",
  ]],
  ["a dot ending a chunk", ["before\r\n.", `\r\n${SMUGGLED}.`, "\r\n"]],
  ["CR and LF split across chunks", [
    "before\r",
    "\n.\r",
    `\n${SMUGGLED}\r`,
    "\n.\r",
    "\n",
  ]],
  ["no final line break", ["before\r\nlast line without newline"]],
];

const HEAD =
  "Subject: smuggling\r\nFrom: a@example.com\r\nTo: rcpt@example.com\r\n\r\n";

/** CRLF-normalised, with a final CRLF: what the server must receive. */
function normalised(text: string): string {
  const crlf = text.replace(/\r\n|\r|\n/g, "\r\n");
  return crlf.endsWith("\r\n") ? crlf : crlf + "\r\n";
}

function body(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return ReadableStream.from([HEAD, ...chunks].map((c) => encoder.encode(c)));
}

for (const [what, chunks] of smuggling) {
  const expected = normalised(chunks.join(""));

  Deno.test(interop({
    name:
      `SmtpClient delivers exactly one message to aiosmtpd, the lines as data, when the body has ${what}`,
    requires: ["aiosmtpd"],
    async fn() {
      await using server = await startAiosmtpd();
      await using client = await SmtpClient.connect({
        hostname: "localhost",
        port: server.port,
        caCerts: [server.certs.caCert],
        timeouts: REAL_SERVER,
      });
      await client.send(raw(body(chunks)));
      await client.quit();
      const messages = await server.messages();
      assert.equal(messages.length, 1);
      assert.deepEqual(messages[0]!.rcptTo, ["rcpt@example.com"]);
      assert.equal(messages[0]!.mailFrom, "sender@example.com");
      assert.equal(messages[0]!.text, HEAD + expected);
    },
  }));

  // Postfix offers CHUNKING: both the DATA path (dot-stuffed) and the BDAT
  // path (sent by length, CRLF-normalised) must deliver one message.
  for (const verb of ["data", "bdat"] as const) {
    Deno.test(interop({
      name:
        `SmtpClient delivers exactly one message to Postfix smtpd with ${verb.toUpperCase()}, the lines as data, when the body has ${what}`,
      requires: ["postfix-smtpd"],
      async fn() {
        await using postfix = await startPostfix();
        const log = transcript();
        await using client = await SmtpClient.connect({
          hostname: postfix.hostname,
          port: postfix.port,
          tls: "none",
          timeouts: REAL_SERVER,
          logger: log.logger,
          chunking: verb === "bdat",
        });
        await client.send(raw(body(chunks)));
        await client.quit();
        const messages = await postfix.messages();
        assert.equal(messages.length, 1, postfix.log);
        assert.deepEqual(messages[0]!.recipients, ["rcpt@example.com"]);
        assert.equal(messages[0]!.sender, "sender@example.com");
        // postcat prints the body after the blank line, with LF line ends.
        assert.equal(
          messages[0]!.body,
          "\n" + expected.replaceAll("\r\n", "\n"),
        );
        // One transaction in smtpd's own count, and no bare LF seen.
        assert.match(
          postfix.log,
          new RegExp(`mail=1 rcpt=1 ${verb}=1 quit=1 commands=5`),
        );
        assert.doesNotMatch(postfix.log, /bare <LF>/i);
      },
    }));
  }
}
