// SmtpClient's BDAT path (RFC 3030), used when a server offers CHUNKING and
// PIPELINING: against the capture server, and against Postfix smtpd.
import assert from "node:assert/strict";
import { SmtpClient, SmtpError, type SmtpLogEvent } from "../../mod.ts";
import { startTestServer } from "../../testing.ts";
import { interop, startPostfix } from "../_harness/mod.ts";

const envelope = {
  from: "a@example.com",
  to: ["b@example.com", "c@example.com"],
};

/** A message of about `size` bytes with bare LFs, dots and CRs in its lines. */
function bigMessage(size: number): { raw: Uint8Array; expected: string } {
  let text = "Subject: big\n\n";
  for (let i = 0; text.length < size; i++) {
    text += i % 7 === 0
      ? `.line ${i}\n`
      : i % 11 === 0
      ? `cr ${i}\r`
      : `line ${i} ${"x".repeat(i % 90)}\n`;
  }
  const expected = text.replace(/\r\n|\r|\n/g, "\r\n");
  return { raw: new TextEncoder().encode(text), expected };
}

Deno.test("SmtpClient sends MAIL, every RCPT and a small message with BDAT LAST in one write", async () => {
  await using server = await startTestServer();
  const events: SmtpLogEvent[] = [];
  await using client = await SmtpClient.connect({
    ...server.clientOptions,
    logger: (event) => events.push(event),
  });
  const result = await client.send({
    envelope,
    raw: "Subject: hi\n\n.dot\nend",
  });
  assert.deepEqual(result.accepted, envelope.to);
  const sent = events.filter((e) => e.type === "client").map((e) => e.text);
  const mail = sent.findIndex((line) => line.startsWith("MAIL FROM:"));
  assert.deepEqual(sent.slice(mail, mail + 4), [
    "MAIL FROM:<a@example.com> SIZE=21 BODY=8BITMIME",
    "RCPT TO:<b@example.com>",
    "RCPT TO:<c@example.com>",
    "BDAT 26 LAST",
  ]);
  // No dot-stuffing in BDAT; line endings normalised; nothing waited for a 354.
  const message = await server.nextMessage();
  assert.equal(message.text, "Subject: hi\r\n\r\n.dot\r\nend\r\n");
  assert.ok(!message.transcript.some((line) => line.text.startsWith("354")));
});

Deno.test("SmtpClient sends a large message in pipelined BDAT chunks that arrive byte for byte", async () => {
  await using server = await startTestServer();
  const events: SmtpLogEvent[] = [];
  await using client = await SmtpClient.connect({
    ...server.clientOptions,
    logger: (event) => events.push(event),
  });
  const { raw, expected } = bigMessage(3 * 1024 * 1024);
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < raw.length; at += 16 * 1024) {
    pieces.push(raw.subarray(at, at + 16 * 1024));
  }
  await client.send({ envelope, raw: ReadableStream.from(pieces) });
  const message = await server.nextMessage();
  assert.equal(message.text, expected);
  const chunks = events.filter((e) =>
    e.type === "client" && e.text.startsWith("BDAT")
  );
  assert.ok(chunks.length > 10, `${chunks.length} chunks`);
  assert.match(chunks.at(-1)!.text, / LAST$/);
});

Deno.test("SmtpClient reports a refused BDAT chunk, delivers nothing and resets the session", async () => {
  await using server = await startTestServer({
    hooks: {
      BDAT: ({ count }) =>
        count === 3
          ? { reply: "552 5.3.4 Message too big for system" }
          : "default",
    },
  });
  await using client = await SmtpClient.connect(server.clientOptions);
  const error = await client.send({
    envelope,
    raw: bigMessage(2 * 1024 * 1024).raw,
  })
    .then(() => assert.fail("sent"), (e) => e);
  assert.ok(error instanceof SmtpError);
  assert.equal(error.code, 552);
  assert.equal(error.command, "BDAT");
  assert.equal(error.temporary, false);
  assert.equal(server.messages.length, 0);
  await client.send({ envelope, raw: "Subject: after\r\n\r\nok\r\n" });
  assert.equal(
    (await server.nextMessage()).text,
    "Subject: after\r\n\r\nok\r\n",
  );
});

Deno.test("SmtpClient reports a refused last BDAT chunk as the message's failure", async () => {
  await using server = await startTestServer({
    hooks: { BDAT: () => ({ reply: "451 4.3.0 Try again" }) },
  });
  await using client = await SmtpClient.connect(server.clientOptions);
  const error = await client.send({ envelope, raw: "Subject: x\r\n\r\ny\r\n" })
    .then(() => assert.fail("sent"), (e) => e);
  assert.equal(error.code, 451);
  assert.equal(error.temporary, true);
  assert.equal(server.messages.length, 0);
  await client.noop();
});

Deno.test("SmtpClient with BDAT reports MAIL and all-RCPT refusals and goes on", async () => {
  await using server = await startTestServer({
    hooks: {
      MAIL: ({ count }) =>
        count === 1 ? { reply: "550 5.7.1 Sender refused" } : "default",
      RCPT: ({ count }) =>
        count === 3 || count === 4
          ? { reply: "550 5.1.1 No such user" }
          : "default",
    },
  });
  await using client = await SmtpClient.connect(server.clientOptions);
  // MAIL refused: the chunk sent with it is refused too, nothing delivered.
  const mail = await client.send({ envelope, raw: "Subject: 1\r\n\r\nx\r\n" })
    .then(
      () => assert.fail("sent"),
      (e) => e,
    );
  assert.equal(mail.command, "MAIL");
  // Both recipients refused (RCPT 3 and 4).
  const rcpt = await client.send({ envelope, raw: "Subject: 2\r\n\r\nx\r\n" })
    .then(
      () => assert.fail("sent"),
      (e) => e,
    );
  assert.equal(rcpt.command, "RCPT");
  assert.equal(server.messages.length, 0);
  const ok = await client.send({ envelope, raw: "Subject: 3\r\n\r\nx\r\n" });
  assert.deepEqual(ok.accepted, envelope.to);
  assert.equal((await server.nextMessage()).text, "Subject: 3\r\n\r\nx\r\n");
});

Deno.test(interop({
  name:
    "SmtpClient delivers a multi-chunk BDAT message to Postfix smtpd byte for byte",
  requires: ["postfix-smtpd"],
  async fn() {
    await using postfix = await startPostfix();
    await using client = await SmtpClient.connect({
      hostname: postfix.hostname,
      port: postfix.port,
      tls: "none",
      timeouts: { command: 10_000 },
    });
    assert.equal(client.capabilities.chunking, true);
    const { raw, expected } = bigMessage(1024 * 1024);
    await client.send({ envelope, raw });
    await client.quit();
    const [message, ...more] = await postfix.messages();
    assert.equal(more.length, 0);
    assert.deepEqual(message!.recipients, envelope.to);
    const body = expected.slice(expected.indexOf("\r\n\r\n") + 2).replaceAll(
      "\r\n",
      "\n",
    );
    assert.equal(message!.body, body);
    assert.match(postfix.log, /mail=1 rcpt=2 bdat=\d+ quit=1/);
    assert.doesNotMatch(postfix.log, /bdat=1 /, "more than one chunk");
  },
}));

Deno.test(interop({
  name:
    "SmtpClient keeps a send pipelined behind a refused BDAT envelope out of that transaction, at Postfix smtpd",
  requires: ["postfix-smtpd"],
  async fn() {
    // Postfix refuses one recipient and keeps the transaction (MAIL
    // accepted) open; the next send's commands are already on their way.
    await using postfix = await startPostfix({
      main: {
        smtpd_recipient_restrictions:
          "check_recipient_access inline:{ nobody@example.com=REJECT }, permit",
      },
    });
    await using client = await SmtpClient.connect({
      hostname: postfix.hostname,
      port: postfix.port,
      tls: "none",
      timeouts: { command: 10_000, dataEnd: 10_000 },
    });
    assert.equal(client.capabilities.chunking, true);
    const sends = await Promise.allSettled([
      client.send({
        envelope: { from: "first@example.com", to: ["nobody@example.com"] },
        raw: "Subject: first\r\n\r\nfirst\r\n",
      }),
      client.send({
        envelope: { from: "second@example.com", to: ["b@example.com"] },
        raw: "Subject: second\r\n\r\nsecond\r\n",
      }),
      client.send({
        envelope: { from: "third@example.com", to: ["c@example.com"] },
        raw: "Subject: third\r\n\r\nthird\r\n",
      }),
    ]);
    assert.deepEqual(sends.map((s) => s.status), [
      "rejected",
      "fulfilled",
      "fulfilled",
    ]);
    await client.quit();
    const messages = await postfix.messages();
    // Each message with its own sender and recipient: none joined the
    // refused transaction.
    assert.deepEqual(
      messages.map((m) => [m.sender, m.recipients, m.body.trim()]).sort(),
      [
        ["second@example.com", ["b@example.com"], "second"],
        ["third@example.com", ["c@example.com"], "third"],
      ],
    );
    assert.doesNotMatch(postfix.log, /nested MAIL/);
  },
}));

Deno.test("SmtpClient keeps a send pipelined behind a refused BDAT envelope out of that transaction, at the capture server", async () => {
  // The capture server keeps the transaction of a refused BDAT open (MAIL
  // accepted), as RFC 3030 lets a server do: without an RSET first, the
  // next send's MAIL was "nested" and its recipient and chunk joined the
  // first sender's transaction.
  await using server = await startTestServer({
    hooks: {
      RCPT: ({ args }) =>
        args.includes("nobody")
          ? { reply: "550 5.1.1 no such user" }
          : "default",
    },
  });
  await using client = await SmtpClient.connect(server.clientOptions);
  const sends = await Promise.allSettled([
    client.send({
      envelope: { from: "first@example.com", to: ["nobody@example.com"] },
      raw: "Subject: first\r\n\r\nfirst\r\n",
    }),
    client.send({
      envelope: { from: "second@example.com", to: ["b@example.com"] },
      raw: "Subject: second\r\n\r\nsecond\r\n",
    }),
  ]);
  assert.deepEqual(sends.map((s) => s.status), ["rejected", "fulfilled"]);
  const message = await server.nextMessage();
  assert.equal(message.envelope.from, "second@example.com");
  assert.deepEqual(message.envelope.to, ["b@example.com"]);
  assert.equal(server.messages.length, 1);
});
