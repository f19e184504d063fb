import assert from "node:assert/strict";
import {
  type RawMessage,
  sendmail,
  SmtpClient,
  SmtpError,
  type SmtpLogEvent,
} from "../../mod.ts";
import {
  interop,
  makeTestCerts,
  makeUntrustedCerts,
  startAiosmtpd,
  startNodeSmtpServer,
  startSmtpSink,
} from "../_harness/mod.ts";

function raw(
  to: string[],
  body: string,
  from = "sender@example.com",
): RawMessage {
  return { envelope: { from, to }, raw: body };
}

Deno.test(interop({
  name:
    "sendmail() delivers over STARTTLS with AUTH PLAIN when the server is smtp-server",
  requires: [],
  async fn() {
    await using server = await startNodeSmtpServer({
      auth: { username: "joe", password: "s3cret pass" },
      authRequired: true,
    });
    const events: SmtpLogEvent[] = [];
    const result = await sendmail(
      {
        hostname: "localhost",
        port: server.port,
        caCerts: [server.certs.caCert],
        auth: { username: "joe", password: "s3cret pass" },
        logger: (event) => events.push(event),
      },
      raw(
        ["a@example.com", "b@example.com"],
        "Subject: hi\n\n.leading dot\nlast line",
      ),
    );
    assert.deepEqual(result.accepted, ["a@example.com", "b@example.com"]);
    assert.deepEqual(result.rejected, []);
    assert.equal(result.secure, true);
    assert.equal(result.reply.code, 250);
    const message = await server.nextMessage();
    assert.equal(message.mailFrom, "sender@example.com");
    assert.deepEqual(message.rcptTo, ["a@example.com", "b@example.com"]);
    assert.equal(
      message.text,
      "Subject: hi\r\n\r\n.leading dot\r\nlast line\r\n",
    );
    assert.equal(message.secure, true);
    assert.deepEqual(message.auth, { method: "PLAIN", username: "joe" });
    // The transcript shows the session but never the credential.
    const transcript = events.map((e) => e.text).join("\n");
    assert.match(transcript, /^STARTTLS$/m);
    assert.match(transcript, /^AUTH PLAIN \[redacted\]$/m);
    const secret = new TextEncoder().encode("\0joe\0s3cret pass").toBase64();
    assert.ok(!transcript.includes(secret));
    assert.ok(!transcript.includes("s3cret"));
  },
}));

for (const method of ["PLAIN", "LOGIN", "CRAM-MD5"] as const) {
  Deno.test(interop({
    name:
      `SmtpClient authenticates with ${method} over implicit TLS when the server is smtp-server`,
    requires: [],
    async fn() {
      await using server = await startNodeSmtpServer({
        secure: true,
        auth: { username: "ann", password: "pässword", methods: [method] },
        authRequired: true,
      });
      await using client = await SmtpClient.connect({
        hostname: "localhost",
        port: server.port,
        tls: "implicit",
        caCerts: [server.certs.caCert],
        auth: { username: "ann", password: "pässword" },
      });
      assert.equal(client.secure, true);
      await client.send(raw(["x@example.com"], "Subject: t\r\n\r\nbody\r\n"));
      const message = await server.nextMessage();
      assert.deepEqual(message.auth, { method, username: "ann" });
      assert.equal(message.tlsVersion, "TLSv1.3");
    },
  }));
}

Deno.test(interop({
  name: "SmtpClient authenticates with XOAUTH2 from an async token function",
  requires: [],
  async fn() {
    await using server = await startNodeSmtpServer({
      auth: {
        username: "me@example.com",
        accessToken: "ya29.token",
        methods: ["XOAUTH2"],
      },
      authRequired: true,
    });
    let calls = 0;
    await using client = await SmtpClient.connect({
      hostname: "localhost",
      port: server.port,
      caCerts: [server.certs.caCert],
      auth: {
        username: "me@example.com",
        accessToken: () => Promise.resolve((calls++, "ya29.token")),
      },
    });
    await client.send(raw(["x@example.com"], "Subject: t\r\n\r\nbody\r\n"));
    assert.equal(calls, 1);
    assert.deepEqual((await server.nextMessage()).auth, {
      method: "XOAUTH2",
      username: "me@example.com",
    });
  },
}));

Deno.test(interop({
  name:
    "SmtpClient rejects with a permanent auth SmtpError when the password is wrong",
  requires: [],
  async fn() {
    await using server = await startNodeSmtpServer({
      auth: { username: "joe", password: "right" },
    });
    const events: SmtpLogEvent[] = [];
    const error = await SmtpClient.connect({
      hostname: "localhost",
      port: server.port,
      caCerts: [server.certs.caCert],
      auth: { username: "joe", password: "wrong-password" },
      logger: (event) => events.push(event),
    }).then(() => assert.fail("connected"), (e) => e);
    assert.ok(error instanceof SmtpError);
    assert.equal(error.kind, "auth");
    assert.equal(error.code, 535);
    assert.equal(error.temporary, false);
    assert.equal(error.command, "AUTH");
    assert.ok(!error.message.includes("wrong-password"));
    assert.ok(!JSON.stringify(events).includes("wrong-password"));
    assert.equal(events.at(-2)?.text, "QUIT", "QUIT is sent after the failure");
    assert.equal(server.messages.length, 0);
  },
}));

Deno.test(interop({
  name: "SmtpClient re-reads capabilities after STARTTLS and uses the new ones",
  requires: [],
  async fn() {
    // smtp-server offers AUTH only once TLS is up.
    await using server = await startNodeSmtpServer({
      auth: { username: "joe", password: "pw" },
    });
    await using client = await SmtpClient.connect({
      hostname: "localhost",
      port: server.port,
      caCerts: [server.certs.caCert],
      auth: { username: "joe", password: "pw" },
    });
    assert.equal(client.secure, true);
    assert.equal(client.capabilities.startTls, false);
    assert.ok(client.capabilities.auth.includes("PLAIN"));
  },
}));

Deno.test(interop({
  name:
    "SmtpClient fails with a tls SmtpError when the certificate is not trusted",
  requires: ["openssl"],
  async fn() {
    const certs = await makeUntrustedCerts();
    for (const tls of ["starttls", "implicit"] as const) {
      await using server = await startNodeSmtpServer({
        certs,
        secure: tls === "implicit",
      });
      const error = await SmtpClient.connect({
        hostname: "localhost",
        port: server.port,
        tls,
        caCerts: [(await makeTestCerts()).caCert],
      }).then(() => assert.fail("connected"), (e) => e);
      assert.ok(error instanceof SmtpError, String(error));
      assert.equal(error.kind, "tls", `${tls}: ${error.message}`);
      assert.equal(error.temporary, false);
      assert.equal(server.messages.length, 0);
    }
  },
}));

Deno.test(interop({
  name:
    "SmtpClient.send() resolves with rejected filled when some recipients are refused",
  requires: [],
  async fn() {
    await using server = await startNodeSmtpServer({
      rejectRecipients: { "bad@example.com": [550, "No such user"] },
    });
    await using client = await SmtpClient.connect({
      hostname: "localhost",
      port: server.port,
      caCerts: [server.certs.caCert],
    });
    const result = await client.send(
      raw(
        ["a@example.com", "bad@example.com", "c@example.com"],
        "Subject: p\r\n\r\nx\r\n",
      ),
    );
    assert.deepEqual(result.accepted, ["a@example.com", "c@example.com"]);
    assert.equal(result.rejected.length, 1);
    assert.equal(result.rejected[0]!.recipient, "bad@example.com");
    assert.equal(result.rejected[0]!.reply.code, 550);
    assert.deepEqual((await server.nextMessage()).rcptTo, [
      "a@example.com",
      "c@example.com",
    ]);

    // Every recipient refused: an error, and the server receives no message.
    const error = await client.send(
      raw(["bad@example.com"], "Subject: p\r\n\r\nx\r\n"),
    )
      .then(() => assert.fail("sent"), (e) => e);
    assert.ok(error instanceof SmtpError);
    assert.equal(error.command, "RCPT");
    assert.equal(error.code, 550);
    assert.equal(server.messages.length, 1);
    // The session was reset: the next message goes through.
    await client.send(raw(["a@example.com"], "Subject: again\r\n\r\nx\r\n"));
    assert.equal((await server.nextMessage()).rcptTo[0], "a@example.com");
  },
}));

Deno.test(interop({
  name: "SmtpClient.send() sends DSN and REQUIRETLS parameters when offered",
  requires: [],
  async fn() {
    await using server = await startNodeSmtpServer({
      dsn: true,
      requireTls: true,
    });
    await using client = await SmtpClient.connect({
      hostname: "localhost",
      port: server.port,
      caCerts: [server.certs.caCert],
    });
    await client.send(raw(["a+b@example.com"], "Subject: d\r\n\r\nx\r\n"), {
      dsn: {
        notify: ["success", "failure"],
        ret: "hdrs",
        envelopeId: "id+1=2",
      },
      requireTls: true,
    });
    const message = await server.nextMessage();
    assert.deepEqual(message.dsn, { ret: "HDRS", envid: "id+1=2" });
    assert.deepEqual(message.rcptDsn[0]?.notify, ["SUCCESS", "FAILURE"]);
    assert.equal(
      message.rcptDsn[0]?.orcpt,
      "rfc822;a+b@example.com",
      "decoded from xtext a+2Bb",
    );
    assert.equal(message.requireTls, true);
  },
}));

Deno.test(interop({
  name:
    "SmtpClient.send() refuses a message over the advertised SIZE before sending it",
  requires: [],
  async fn() {
    await using server = await startNodeSmtpServer({ size: 100 });
    await using client = await SmtpClient.connect({
      hostname: "localhost",
      port: server.port,
      caCerts: [server.certs.caCert],
    });
    const error = await client.send(raw(["a@example.com"], "x".repeat(200)))
      .then(() => assert.fail("sent"), (e) => e);
    assert.ok(error instanceof SmtpError);
    assert.equal(error.kind, "unsupported");
    assert.equal(error.temporary, false);
    // A small one still goes, with SIZE= declared.
    await client.send(raw(["a@example.com"], "Subject: s\r\n\r\nsmall\r\n"));
    const message = await server.nextMessage();
    assert.equal(message.mailParams.SIZE, "21");
    assert.equal(server.messages.length, 1);
  },
}));

Deno.test(interop({
  name: "SmtpClient streams Blob and ReadableStream messages",
  requires: [],
  async fn() {
    await using server = await startNodeSmtpServer();
    await using client = await SmtpClient.connect({
      hostname: "localhost",
      port: server.port,
      caCerts: [server.certs.caCert],
    });
    await client.send({
      envelope: { from: "a@example.com", to: ["b@example.com"] },
      raw: new Blob(["Subject: blob\r\n\r\n", "line\r\n.\r\nafter dot\r\n"]),
    });
    assert.equal(
      (await server.nextMessage()).text,
      "Subject: blob\r\n\r\nline\r\n.\r\nafter dot\r\n",
    );
    const parts = ["Subject: stream\r", "\n\r\n", ".", "\r\n", "end"];
    await client.send({
      envelope: { from: "a@example.com", to: ["b@example.com"] },
      raw: ReadableStream.from(parts.map((p) => new TextEncoder().encode(p))),
    });
    assert.equal(
      (await server.nextMessage()).text,
      "Subject: stream\r\n\r\n.\r\nend\r\n",
    );
  },
}));

Deno.test(interop({
  name:
    "SmtpClient delivers over STARTTLS and AUTH when the server is aiosmtpd",
  requires: ["aiosmtpd", "openssl"],
  async fn() {
    await using server = await startAiosmtpd({
      auth: [{ username: "joe", password: "secret" }],
      requireStarttls: true,
      authRequired: true,
    });
    for (const mechanism of ["PLAIN", "LOGIN"] as const) {
      const result = await sendmail(
        {
          hostname: "localhost",
          port: server.port,
          caCerts: [server.certs.caCert],
          auth: { username: "joe", password: "secret", mechanism },
        },
        raw(["rcpt@example.com"], `Subject: ${mechanism}\r\n\r\nbody\r\n`),
      );
      assert.equal(result.secure, true);
      const message = await server.nextMessage();
      assert.deepEqual(message.auth, { mechanism, login: "joe" });
      assert.ok(message.tls);
      assert.equal(message.text, `Subject: ${mechanism}\r\n\r\nbody\r\n`);
    }
  },
}));

Deno.test(interop({
  name:
    "SmtpClient sends SMTPUTF8 for a non-ASCII address when aiosmtpd offers it",
  requires: ["aiosmtpd", "openssl"],
  async fn() {
    await using server = await startAiosmtpd();
    await sendmail(
      {
        hostname: "localhost",
        port: server.port,
        caCerts: [server.certs.caCert],
      },
      raw(
        ["пользователь@пример.рф"],
        "Subject: u\r\n\r\nutf8\r\n",
        "jösé@example.com",
      ),
    );
    const message = await server.nextMessage();
    assert.equal(message.smtputf8, true);
    assert.equal(message.mailFrom, "jösé@example.com");
    assert.deepEqual(message.rcptTo, ["пользователь@пример.рф"]);
  },
}));

Deno.test(interop({
  name:
    "SmtpClient pipelines 1,000 messages on one connection to Postfix smtp-sink",
  requires: ["smtp-sink"],
  async fn() {
    await using sink = await startSmtpSink();
    await using client = await SmtpClient.connect({
      hostname: sink.hostname,
      port: sink.port,
      tls: "none",
    });
    assert.equal(client.capabilities.pipelining, true);
    for (let i = 0; i < 1000; i++) {
      await client.send(
        raw(
          [`r${i}@example.com`, `s${i}@example.com`],
          `Subject: ${i}\r\n\r\nmessage ${i}\n.\n`,
        ),
      );
    }
    await client.quit();
    await sink.waitForMessages(1000);
    const messages = await sink.messages();
    assert.equal(messages.length, 1000);
    const seen = new Set<number>();
    for (const message of messages) {
      const i = Number(/^Subject: (\d+)/.exec(message.text)?.[1]);
      assert.deepEqual(message.rcptTo, [
        `r${i}@example.com`,
        `s${i}@example.com`,
      ]);
      assert.equal(message.text, `Subject: ${i}\r\n\r\nmessage ${i}\r\n.\r\n`);
      seen.add(i);
    }
    assert.equal(seen.size, 1000);
  },
}));

Deno.test(interop({
  name:
    "SmtpClient works in lock-step when smtp-sink does not offer PIPELINING",
  requires: ["smtp-sink"],
  async fn() {
    await using sink = await startSmtpSink({ pipelining: false });
    await using client = await SmtpClient.connect({
      hostname: sink.hostname,
      port: sink.port,
      tls: "none",
    });
    assert.equal(client.capabilities.pipelining, false);
    // Concurrent sends on one client are queued, not interleaved.
    await Promise.all(
      Array.from(
        { length: 20 },
        (_, i) =>
          client.send(
            raw([`r${i}@example.com`], `Subject: ${i}\r\n\r\nbody ${i}\r\n`),
          ),
      ),
    );
    await client.quit();
    await sink.waitForMessages(20);
    const messages = await sink.messages();
    assert.equal(messages.length, 20);
    for (const message of messages) {
      const i = Number(/^Subject: (\d+)/.exec(message.text)?.[1]);
      assert.deepEqual(message.rcptTo, [`r${i}@example.com`]);
      assert.equal(message.text, `Subject: ${i}\r\n\r\nbody ${i}\r\n`);
    }
  },
}));

Deno.test(interop({
  name: "SmtpClient falls back to HELO when smtp-sink refuses EHLO",
  requires: ["smtp-sink"],
  async fn() {
    await using sink = await startSmtpSink({ esmtp: false });
    await using client = await SmtpClient.connect({
      hostname: sink.hostname,
      port: sink.port,
      tls: "none",
      clientName: "client.example",
    });
    assert.deepEqual(client.capabilities.keywords, []);
    await client.send(raw(["a@example.com"], "Subject: helo\r\n\r\nx\r\n"));
    await sink.waitForMessages(1);
    const [message] = await sink.messages();
    assert.equal(message!.protocol, "SMTP");
    assert.equal(message!.helo, "client.example");
    assert.deepEqual(message!.mailParams, []);
  },
}));

Deno.test(interop({
  name: "SmtpClient refuses to send when starttls is required and not offered",
  requires: ["smtp-sink"],
  async fn() {
    await using sink = await startSmtpSink();
    const events: SmtpLogEvent[] = [];
    const error = await SmtpClient.connect({
      hostname: sink.hostname,
      port: sink.port,
      logger: (event) => events.push(event),
    }).then(() => assert.fail("connected"), (e) => e);
    assert.ok(error instanceof SmtpError);
    assert.equal(error.kind, "tls");
    const sent = events.filter((e) => e.type === "client").map((e) => e.text);
    assert.deepEqual(sent, ["EHLO localhost", "QUIT"]);
    assert.equal(sink.stats().messages, 0);
  },
}));
