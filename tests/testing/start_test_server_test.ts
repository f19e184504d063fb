import assert from "node:assert/strict";
import { DEFAULT_EXTENSIONS, startTestServer } from "../../testing.ts";
import { RawClient } from "../_harness/raw_client.ts";

/** Connects, reads the greeting and says EHLO. */
async function session(port: number): Promise<RawClient> {
  const client = await RawClient.connect(port);
  assert.match((await client.reply())[0]!, /^220 /);
  assert.match((await client.command("EHLO client.test")).at(-1)!, /^250 /);
  return client;
}

Deno.test("startTestServer captures envelope, parameters and un-stuffed bytes", async () => {
  await using server = await startTestServer({ tls: "none" });
  using client = await session(server.port);
  assert.deepEqual(
    await client.command(
      "MAIL FROM:<a@example.com> SIZE=42 BODY=8BITMIME RET=HDRS ENVID=x+2Bid",
    ),
    ["250 2.1.0 Sender OK"],
  );
  assert.deepEqual(
    await client.command(
      "RCPT TO:<b@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@example.com",
    ),
    ["250 2.1.5 Recipient OK"],
  );
  assert.deepEqual(await client.command("RCPT TO:<c@example.com>"), [
    "250 2.1.5 Recipient OK",
  ]);
  assert.deepEqual(await client.command("DATA"), [
    "354 End data with <CR><LF>.<CR><LF>",
  ]);
  await client.send(
    "Subject: hi\r\n\r\n..leading dot\r\n..\r\nx\r\n...\r\nlast\r\n.\r\n",
  );
  assert.match((await client.reply())[0]!, /^250 2\.0\.0 OK: queued as /);
  assert.deepEqual(await client.command("QUIT"), ["221 2.0.0 Bye"]);
  assert.equal(await client.readToEnd(), "");

  const message = await server.nextMessage();
  assert.deepEqual(message.envelope, {
    from: "a@example.com",
    to: ["b@example.com", "c@example.com"],
    mailParams: { SIZE: "42", BODY: "8BITMIME", RET: "HDRS", ENVID: "x+2Bid" },
    rcptParams: [
      { NOTIFY: "SUCCESS,FAILURE", ORCPT: "rfc822;b@example.com" },
      {},
    ],
  });
  assert.equal(
    message.text,
    "Subject: hi\r\n\r\n.leading dot\r\n.\r\nx\r\n..\r\nlast\r\n",
  );
  assert.deepEqual(message.raw, new TextEncoder().encode(message.text));
  assert.equal(message.transfer, "DATA");
  assert.equal(message.secure, false);
  assert.equal(message.helo, "client.test");
  assert.equal(message.esmtp, true);
  assert.equal(message.authUser, undefined);
  assert.equal(message.connection, 1);
  assert.deepEqual(message.transcript.slice(0, 3), [
    { type: "server", text: "220 localhost ESMTP @x/sendmail test server" },
    { type: "client", text: "EHLO client.test" },
    { type: "server", text: "250-localhost greets client.test" },
  ]);
  assert.deepEqual(message.transcript.at(-1), {
    type: "server",
    text: message.transcript.at(-1)!.text,
  });
  assert.match(message.transcript.at(-1)!.text, /^250 2\.0\.0 OK: queued as/);
});

Deno.test("startTestServer advertises the extensions given, STARTTLS and AUTH by the options", async () => {
  {
    await using server = await startTestServer();
    using client = await RawClient.connect(server.port);
    await client.reply();
    assert.deepEqual(await client.command("EHLO c"), [
      "250-localhost greets c",
      ...DEFAULT_EXTENSIONS.map((line) => `250-${line}`),
      "250 STARTTLS",
    ]);
  }
  {
    await using server = await startTestServer({
      tls: "none",
      extensions: ["SIZE 1000", "X-FOO bar"],
      auth: { users: { u: "p" }, mechanisms: ["PLAIN", "LOGIN"] },
      serverName: "mx.test",
    });
    using client = await RawClient.connect(server.port);
    assert.deepEqual(await client.reply(), [
      "220 mx.test ESMTP @x/sendmail test server",
    ]);
    assert.deepEqual(await client.command("EHLO c"), [
      "250-mx.test greets c",
      "250-SIZE 1000",
      "250-X-FOO bar",
      "250 AUTH PLAIN LOGIN",
    ]);
    // No ENHANCEDSTATUSCODES: replies carry none.
    assert.deepEqual(await client.command("MAIL FROM:<a@b.c> SIZE=1001"), [
      "552 Message size exceeds fixed maximum message size",
    ]);
    assert.deepEqual(await client.command("MAIL FROM:<a@b.c> BODY=8BITMIME"), [
      "555 MAIL FROM parameter BODY not recognized",
    ]);
    assert.deepEqual(await client.command("BDAT 3 LAST"), [
      "500 Command unrecognized",
    ]);
  }
});

Deno.test("startTestServer answers commands out of sequence or malformed as RFC 5321 says", async () => {
  await using server = await startTestServer({
    tls: "none",
    maxLineLength: 100,
  });
  using client = await RawClient.connect(server.port);
  await client.reply();
  assert.deepEqual(await client.command("MAIL FROM:<a@b.c>"), [
    "503 5.5.1 Send EHLO first",
  ]);
  assert.deepEqual(await client.command("EHLO"), [
    "501 5.5.4 Syntax: EHLO <domain or address>",
  ]);
  assert.deepEqual(await client.command("HELO old.client"), ["250 localhost"]);
  assert.deepEqual(await client.command("RCPT TO:<b@c.d>"), [
    "503 5.5.1 Need MAIL before RCPT",
  ]);
  assert.deepEqual(await client.command("DATA"), [
    "503 5.5.1 Need MAIL before DATA",
  ]);
  assert.deepEqual(await client.command("MAIL FROM: <a@b.c>"), [
    "501 5.5.4 Syntax: FROM:<address>",
  ]);
  assert.deepEqual(await client.command("MAIL FROM:<a b@c.d>"), [
    "501 5.5.4 Invalid character in address",
  ]);
  assert.deepEqual(await client.command("MAIL FROM:<a@b.c> FOO=1"), [
    "555 5.5.4 MAIL FROM parameter FOO not recognized",
  ]);
  assert.deepEqual(await client.command("MAIL FROM:<jörg@b.c>"), [
    "553 5.6.7 Non-ASCII address requires SMTPUTF8",
  ]);
  assert.deepEqual(await client.command("MAIL FROM:<>"), [
    "250 2.1.0 Sender OK",
  ]);
  assert.deepEqual(await client.command("MAIL FROM:<a@b.c>"), [
    "503 5.5.1 Nested MAIL command",
  ]);
  assert.deepEqual(await client.command("DATA"), [
    "554 5.5.1 No valid recipients",
  ]);
  assert.deepEqual(await client.command("RCPT TO:<nodomain>"), [
    "553 5.1.3 Recipient address must contain a domain",
  ]);
  assert.deepEqual(await client.command("RCPT TO:<b@c.d> NOTIFY=SOMETIMES"), [
    "501 5.5.4 Syntax: NOTIFY=NEVER|SUCCESS,FAILURE,DELAY",
  ]);
  assert.deepEqual(await client.command("RSET"), ["250 2.0.0 OK"]);
  assert.deepEqual(await client.command("RCPT TO:<b@c.d>"), [
    "503 5.5.1 Need MAIL before RCPT",
  ]);
  assert.deepEqual(await client.command("VRFY someone"), [
    "252 2.5.0 Cannot VRFY user, but will accept message",
  ]);
  assert.deepEqual(await client.command("NOOP"), ["250 2.0.0 OK"]);
  assert.deepEqual(await client.command("FOO"), [
    "500 5.5.1 Command unrecognized",
  ]);
  assert.deepEqual(await client.command("STARTTLS"), [
    "502 5.5.1 STARTTLS not offered",
  ]);
  assert.deepEqual(await client.command("AUTH PLAIN"), [
    "503 5.5.1 AUTH not available",
  ]);
  assert.deepEqual(await client.command("NOOP " + "x".repeat(200)), [
    "500 5.5.2 Line too long",
  ]);
  await client.send("NOOP\n");
  assert.deepEqual(await client.reply(), [
    "500 5.5.2 Bare LF not allowed, lines end with CRLF",
  ]);
  assert.deepEqual(await client.command("MAIL FROM:<jörg@b.c> SMTPUTF8"), [
    "250 2.1.0 Sender OK",
  ]);
  assert.deepEqual(await client.command("RCPT TO:<zoë@b.c>"), [
    "250 2.1.5 Recipient OK",
  ]);
  assert.deepEqual(await client.command("QUIT"), ["221 2.0.0 Bye"]);
  assert.equal(server.messages.length, 0);
});

Deno.test("startTestServer answers pipelined commands in order, in one write", async () => {
  await using server = await startTestServer({ tls: "none" });
  using client = await session(server.port);
  await client.send(
    "MAIL FROM:<a@b.c>\r\nRCPT TO:<x@b.c>\r\nRCPT TO:<bad>\r\nRCPT TO:<y@b.c>\r\nDATA\r\n",
  );
  assert.equal(
    await client.readOnce(),
    "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n" +
      "553 5.1.3 Recipient address must contain a domain\r\n" +
      "250 2.1.5 Recipient OK\r\n354 End data with <CR><LF>.<CR><LF>\r\n",
  );
  // The end of data and the next commands in one write.
  await client.send("body\r\n.\r\nRSET\r\nNOOP\r\n");
  assert.match((await client.reply())[0]!, /^250 2\.0\.0 OK: queued/);
  assert.deepEqual(await client.reply(), ["250 2.0.0 OK"]);
  assert.deepEqual(await client.reply(), ["250 2.0.0 OK"]);
  const message = await server.nextMessage();
  assert.deepEqual(message.envelope.to, ["x@b.c", "y@b.c"]);
  assert.equal(message.text, "body\r\n");
});

Deno.test("startTestServer receives BDAT chunks when CHUNKING is on", async () => {
  await using server = await startTestServer({ tls: "none" });
  using client = await session(server.port);
  // The chunk is read even when refused, not taken for commands.
  await client.send("BDAT 6\r\nRSET\r\n");
  assert.deepEqual(await client.reply(), ["503 5.5.1 Need MAIL before BDAT"]);
  assert.deepEqual(await client.command("NOOP"), ["250 2.0.0 OK"]);
  await client.command("MAIL FROM:<a@b.c> BODY=8BITMIME");
  await client.command("RCPT TO:<d@e.f>");
  await client.send("BDAT 7\r\nHello\r\n");
  assert.deepEqual(await client.reply(), ["250 2.0.0 7 octets received"]);
  // A chunk may hold anything, "\r\n.\r\n" included, and end mid-line.
  await client.send("BDAT 8 LAST\r\n.\r\nWorld");
  assert.match((await client.reply())[0]!, /^250 2\.0\.0 OK: queued/);
  assert.deepEqual(await client.command("BDAT 0 LAST"), [
    "503 5.5.1 Need MAIL before BDAT",
  ]);
  const message = await server.nextMessage();
  assert.equal(message.transfer, "BDAT");
  assert.equal(message.text, "Hello\r\n.\r\nWorld");
});

Deno.test("startTestServer refuses MAIL before STARTTLS or AUTH when required", async () => {
  await using server = await startTestServer({
    requireTls: true,
    auth: { users: { u: "p" }, required: true },
  });
  using client = await session(server.port);
  assert.deepEqual(await client.command("MAIL FROM:<a@b.c>"), [
    "530 5.7.0 Must issue a STARTTLS command first",
  ]);
  assert.deepEqual(await client.command("AUTH PLAIN AHUAcA=="), [
    "503 5.5.1 AUTH not available",
  ]);
  assert.deepEqual(await client.command("STARTTLS"), [
    "220 2.0.0 Ready to start TLS",
  ]);
  await client.startTls(server.caCert);
  assert.deepEqual(await client.command("MAIL FROM:<a@b.c>"), [
    "503 5.5.1 Send EHLO first",
  ]);
  const ehlo = await client.command("EHLO c");
  assert.ok(!ehlo.includes("250-STARTTLS") && !ehlo.includes("250 STARTTLS"));
  assert.equal(
    ehlo.at(-1),
    "250 AUTH PLAIN LOGIN CRAM-MD5 XOAUTH2 OAUTHBEARER",
  );
  assert.deepEqual(await client.command("MAIL FROM:<a@b.c>"), [
    "530 5.7.0 Authentication required",
  ]);
  assert.deepEqual(await client.command("AUTH PLAIN AHUAcQ=="), [
    "535 5.7.8 Authentication credentials invalid",
  ]);
  assert.deepEqual(await client.command("AUTH PLAIN AHUAcA=="), [
    "235 2.7.0 Authentication successful",
  ]);
  assert.deepEqual(await client.command("AUTH PLAIN AHUAcA=="), [
    "503 5.5.1 Already authenticated",
  ]);
  assert.deepEqual(await client.command("STARTTLS"), [
    "503 5.5.1 TLS already active",
  ]);
  await client.command("MAIL FROM:<a@b.c>");
  await client.command("RCPT TO:<d@e.f>");
  await client.command("DATA");
  await client.send("x\r\n.\r\n");
  await client.reply();
  const message = await server.nextMessage();
  assert.equal(message.secure, true);
  assert.equal(message.authUser, "u");
  assert.equal(message.authMechanism, "PLAIN");
  assert.ok(
    message.transcript.some((line) =>
      /^TLS established \(TLSv1\.[23]\)$/.test(line.text)
    ),
  );
});

Deno.test("startTestServer discards plaintext pipelined after STARTTLS", async () => {
  await using server = await startTestServer();
  using client = await session(server.port);
  // An attacker's MAIL injected after STARTTLS must not run inside TLS.
  await client.send("STARTTLS\r\nMAIL FROM:<evil@attacker.test>\r\n");
  assert.deepEqual(await client.reply(), ["220 2.0.0 Ready to start TLS"]);
  await client.startTls(server.caCert);
  assert.deepEqual(await client.command("MAIL FROM:<a@b.c>"), [
    "503 5.5.1 Send EHLO first",
  ]);
  const transcript = server.transcripts[0]!;
  assert.ok(
    transcript.some((line) =>
      line.text === "Discarded 32 bytes pipelined after STARTTLS"
    ),
  );
  assert.ok(!transcript.some((line) => line.text.includes("evil")));
});

Deno.test("startTestServer speaks implicit TLS that Deno verifies by name and by IP", async () => {
  await using server = await startTestServer({ tls: "implicit" });
  for (const hostname of ["localhost", "127.0.0.1"]) {
    using client = await RawClient.connect(server.port, {
      caCert: server.caCert,
      hostname,
    });
    assert.match((await client.reply())[0]!, /^220 /);
    const ehlo = await client.command("EHLO c");
    assert.ok(!ehlo.some((line) => line.includes("STARTTLS")));
    assert.deepEqual(await client.command("QUIT"), ["221 2.0.0 Bye"]);
  }
  assert.deepEqual(server.clientOptions, {
    hostname: "127.0.0.1",
    port: server.port,
    tls: "implicit",
    caCerts: [server.caCert],
  });
});

Deno.test("startTestServer rejects a client that does not trust its certificate", async () => {
  await using server = await startTestServer({ tls: "implicit" });
  await assert.rejects(async () => {
    const conn = await Deno.connectTls({
      hostname: "localhost",
      port: server.port,
    });
    try {
      await conn.handshake();
    } finally {
      conn.close();
    }
  }, /certificate|UnknownIssuer/i);
});

Deno.test("TestServer.nextMessage walks messages once each, waits, and times out", async () => {
  await using server = await startTestServer({ tls: "none" });
  const send = async (body: string) => {
    using client = await session(server.port);
    await client.command("MAIL FROM:<a@b.c>");
    await client.command("RCPT TO:<d@e.f>");
    await client.command("DATA");
    await client.send(`${body}\r\n.\r\n`);
    await client.reply();
    await client.command("QUIT");
  };
  await send("one");
  await send("two");
  assert.equal((await server.nextMessage()).text, "one\r\n");
  const waiting = server.nextMessage();
  assert.equal((await waiting).text, "two\r\n");
  const third = server.nextMessage();
  await send("three");
  assert.equal((await third).text, "three\r\n");
  assert.equal((await third).connection, 3);
  const started = Date.now();
  await assert.rejects(
    server.nextMessage(50),
    new Error(
      "Timed out waiting for a message: none arrived in 50 ms (3 received in all)",
    ),
  );
  assert.ok(Date.now() - started >= 45);
  assert.equal(server.messages.length, 3);
  const pending = server.nextMessage(10_000);
  await server.close();
  await assert.rejects(pending, /the test server closed/);
  await assert.rejects(server.nextMessage(), /the test server is closed/);
});

Deno.test("TestServer.close closes idle, mid-DATA and TLS connections without leaks", async () => {
  const server = await startTestServer();
  const idle = await RawClient.connect(server.port);
  await idle.reply();
  const inData = await session(server.port);
  await inData.command("MAIL FROM:<a@b.c>");
  await inData.command("RCPT TO:<d@e.f>");
  await inData.command("DATA");
  await inData.send("partial line");
  const secure = await session(server.port);
  await secure.command("STARTTLS");
  await secure.startTls(server.caCert);
  await secure.command("EHLO c");
  const notAccepted = await Deno.connect({
    hostname: "127.0.0.1",
    port: server.port,
  });
  await server.close();
  await server.close();
  for (const client of [idle, inData, secure]) {
    await client.readToEnd().catch(() => "");
    client.close();
  }
  notAccepted.close();
  assert.equal(server.messages.length, 0);
  assert.ok(
    server.transcripts[1]!.some((line) =>
      line.text === "Connection closed during DATA after 12 bytes"
    ),
  );
  await assert.rejects(
    Deno.connect({ hostname: "127.0.0.1", port: server.port }),
  );
});

Deno.test("startTestServer rejects invalid options and a port in use", async () => {
  await assert.rejects(startTestServer({ port: 70000 }), RangeError);
  // @ts-expect-error: not a mode
  await assert.rejects(startTestServer({ tls: "yes" }), TypeError);
  await assert.rejects(startTestServer({ cert: "x" }), TypeError);
  await assert.rejects(
    startTestServer({ extensions: ["PIPELINING\r\n250 X"] }),
    TypeError,
  );
  await assert.rejects(startTestServer({ greeting: "hi\r\n250 x" }), TypeError);
  await using first = await startTestServer({ tls: "none" });
  await assert.rejects(
    startTestServer({ tls: "none", port: first.port }),
    /Cannot start the test server on 127\.0\.0\.1:\d+: /,
  );
});

Deno.test("startTestServer keeps sessions apart and numbers connections", async () => {
  await using server = await startTestServer({ tls: "none" });
  using a = await session(server.port);
  using b = await session(server.port);
  await a.command("MAIL FROM:<a@b.c>");
  assert.deepEqual(await b.command("RCPT TO:<d@e.f>"), [
    "503 5.5.1 Need MAIL before RCPT",
  ]);
  assert.equal(server.transcripts.length, 2);
});

Deno.test("TestServer.close closes an implicit-TLS connection still waiting for its handshake", async () => {
  const server = await startTestServer({ tls: "implicit" });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  await new Promise((resolve) => setTimeout(resolve, 20));
  await server.close();
  assert.equal(await conn.read(new Uint8Array(10)), null);
  conn.close();
  assert.deepEqual(server.transcripts[0]!.map((line) => line.type), [
    "info",
    "info",
  ]);
  assert.match(server.transcripts[0]![0]!.text, /^TLS handshake failed: /);
});

Deno.test({
  name: "startTestServer listens on ::1 when asked",
  ignore: (() => {
    try {
      Deno.listen({ hostname: "::1", port: 0 }).close();
      return false;
    } catch {
      console.warn("Skipping the IPv6 test: no ::1 on this machine");
      return true;
    }
  })(),
  async fn() {
    await using server = await startTestServer({
      hostname: "::1",
      tls: "implicit",
    });
    const conn = await Deno.connectTls({
      hostname: "::1",
      port: server.port,
      caCerts: [server.caCert],
    });
    await conn.handshake();
    const reader = conn.readable.getReader();
    const { value } = await reader.read();
    assert.match(new TextDecoder().decode(value), /^220 /);
    reader.releaseLock();
    conn.close();
    assert.equal(server.clientOptions.hostname, "::1");
  },
});

Deno.test("startTestServer enforces SIZE on the data and the recipient limit", async () => {
  await using server = await startTestServer({
    tls: "none",
    extensions: ["SIZE 10", "ENHANCEDSTATUSCODES"],
    maxRecipients: 2,
  });
  using client = await session(server.port);
  await client.command("MAIL FROM:<a@b.c> SIZE=10");
  assert.deepEqual(await client.command("RCPT TO:<1@b.c>"), [
    "250 2.1.5 Recipient OK",
  ]);
  assert.deepEqual(await client.command("RCPT TO:<2@b.c>"), [
    "250 2.1.5 Recipient OK",
  ]);
  assert.deepEqual(await client.command("RCPT TO:<3@b.c>"), [
    "452 4.5.3 Too many recipients",
  ]);
  await client.command("DATA");
  // The client declared 10 bytes but sends 12.
  await client.send("0123456789\r\n.\r\n");
  assert.deepEqual(await client.reply(), [
    "552 5.3.4 Message size exceeds fixed maximum message size",
  ]);
  assert.equal(server.messages.length, 0);
  // The transaction is over either way.
  assert.deepEqual(await client.command("RCPT TO:<1@b.c>"), [
    "503 5.5.1 Need MAIL before RCPT",
  ]);
});

Deno.test("startTestServer offers REQUIRETLS only over TLS and records it", async () => {
  await using server = await startTestServer({
    extensions: [...DEFAULT_EXTENSIONS, "REQUIRETLS"],
  });
  using client = await RawClient.connect(server.port);
  await client.reply();
  assert.ok(
    !(await client.command("EHLO c")).some((line) =>
      line.includes("REQUIRETLS")
    ),
  );
  assert.deepEqual(await client.command("MAIL FROM:<a@b.c> REQUIRETLS"), [
    "555 5.5.4 MAIL FROM parameter REQUIRETLS not recognized",
  ]);
  await client.command("STARTTLS");
  await client.startTls(server.caCert);
  assert.equal((await client.command("EHLO c")).at(-1), "250 REQUIRETLS");
  assert.deepEqual(await client.command("MAIL FROM:<a@b.c> REQUIRETLS"), [
    "250 2.1.0 Sender OK",
  ]);
  await client.command("RCPT TO:<d@e.f>");
  await client.command("DATA");
  await client.send("x\r\n.\r\n");
  await client.reply();
  assert.deepEqual((await server.nextMessage()).envelope.mailParams, {
    REQUIRETLS: true,
  });
});

/** Sends one message per connection with a raw client. */
async function sendRaw(port: number, body: string): Promise<void> {
  using client = await session(port);
  await client.command("MAIL FROM:<a@b.c>");
  await client.command("RCPT TO:<d@e.f>");
  await client.command("DATA");
  await client.send(`${body}\r\n.\r\n`);
  assert.match((await client.reply())[0]!, /^250 /);
  await client.command("QUIT");
}

Deno.test("startTestServer keeps the newest maxMessages messages and transcripts when maxMessages is set", async () => {
  await using server = await startTestServer({ tls: "none", maxMessages: 2 });
  await sendRaw(server.port, "one");
  assert.equal((await server.nextMessage()).text, "one\r\n");
  for (const body of ["two", "three", "four"]) {
    await sendRaw(server.port, body);
  }
  assert.deepEqual(server.messages.map((m) => m.text), [
    "three\r\n",
    "four\r\n",
  ]);
  // "two" was dropped before nextMessage returned it: the cursor goes on.
  assert.equal((await server.nextMessage()).text, "three\r\n");
  assert.equal((await server.nextMessage()).text, "four\r\n");
  assert.equal(server.transcripts.length, 4);
  assert.deepEqual(server.transcripts.map((t) => t.length > 0), [
    false,
    false,
    true,
    true,
  ]);
  await assert.rejects(startTestServer({ maxMessages: 0 }), RangeError);
});

Deno.test("startTestServer calls onMessage with each message after replying to it", async () => {
  const seen: string[] = [];
  await using server = await startTestServer({
    tls: "none",
    onMessage: (message) => {
      seen.push(message.text);
      // The reply was sent and the message stored before the callback.
      assert.ok(server.messages.includes(message));
      assert.match(message.transcript.at(-1)!.text, /^250 2\.0\.0 OK/);
    },
  });
  await sendRaw(server.port, "one");
  await sendRaw(server.port, "two");
  assert.deepEqual(seen, ["one\r\n", "two\r\n"]);
});

Deno.test("startTestServer fails nextMessage and close with the error onMessage threw", async () => {
  const server = await startTestServer({
    tls: "none",
    onMessage: () => {
      throw new Error("listener broke");
    },
  });
  await sendRaw(server.port, "one");
  await assert.rejects(server.close(), /listener broke/);
});

Deno.test("TestServer.deleteMessages removes the messages selected, or all, and the cursor goes on", async () => {
  await using server = await startTestServer({ tls: "none" });
  for (const body of ["one", "two", "three", "four"]) {
    await sendRaw(server.port, body);
  }
  assert.equal((await server.nextMessage()).text, "one\r\n");
  assert.equal((await server.nextMessage()).text, "two\r\n");
  assert.equal(
    server.deleteMessages((m) =>
      m.text === "one\r\n" || m.text === "three\r\n"
    ),
    2,
  );
  assert.deepEqual(server.messages.map((m) => m.text), ["two\r\n", "four\r\n"]);
  assert.equal((await server.nextMessage()).text, "four\r\n");
  assert.equal(server.deleteMessages(), 2);
  assert.deepEqual(server.messages, []);
  await sendRaw(server.port, "five");
  assert.equal((await server.nextMessage()).text, "five\r\n");
});
