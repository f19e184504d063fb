// Self-tests of the interop harness: every server starts, takes a message
// from an independent client (swaks, msmtp, smtp-source, nodemailer, a raw
// socket) and reports exactly the envelope and bytes it received.

import assert from "node:assert/strict";
import nodemailer from "npm:nodemailer@6";
import {
  findBinary,
  freePort,
  interop,
  makeTestCerts,
  makeUntrustedCerts,
  makeWrongNameCerts,
  missing,
  parseDump,
  startAiosmtpd,
  startNodeSmtpServer,
  startScriptedServer,
  startSmtpSink,
  type TestCerts,
} from "./mod.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A message with a dot-stuffed line, UTF-8 and an empty line. */
const MESSAGE = "From: c@d.example\r\nTo: a@b.example\r\nSubject: exact\r\n" +
  "X-Utf8: caf\u00e9\r\n\r\nline 1\r\n.leading dot\r\n..two dots\r\n\r\n" +
  "last line\r\n";

/** MESSAGE as it travels in DATA: dot-stuffed, ended by ".". */
function wire(message: string): string {
  return message.replace(/^\./gm, "..") + ".\r\n";
}

async function run(
  command: string,
  args: string[],
  input?: string,
): Promise<{ code: number; out: string }> {
  const child = new Deno.Command(findBinary(command) ?? command, {
    args,
    stdin: input === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (input !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(encoder.encode(input));
    await writer.close();
  }
  const { code, stdout, stderr } = await child.output();
  return { code, out: decoder.decode(stdout) + decoder.decode(stderr) };
}

/** swaks sending MESSAGE verbatim (no fixup of headers or line ends). */
async function swaks(
  port: number,
  extra: string[] = [],
  message = MESSAGE,
): Promise<{ code: number; out: string }> {
  const file = await Deno.makeTempFile({ suffix: ".eml" });
  try {
    await Deno.writeTextFile(file, wire(message));
    return await run("swaks", [
      "--server",
      `127.0.0.1:${port}`,
      "--from",
      "c@d.example",
      "--to",
      "a@b.example,x@y.example",
      "--ehlo",
      "client.example",
      "--no-data-fixup",
      "--data",
      `@${file}`,
      "--timeout",
      "10",
      ...extra,
    ]);
  } finally {
    await Deno.remove(file);
  }
}

function tlsArgs(certs: TestCerts): string[] {
  return ["--tls", "--tls-verify", "--tls-ca-path", certs.caFile];
}

/** A minimal SMTP client on a raw socket: one command, one reply. */
async function rawSession(
  port: number,
  commands: string[],
): Promise<string[]> {
  using conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const reader = conn.readable.getReader();
  let buffer = "";
  const reply = async (): Promise<string> => {
    for (;;) {
      const match = /(?:^|\r\n)(\d{3}) [^\r\n]*\r\n/.exec(buffer);
      if (match) {
        const end = match.index + match[0].length;
        const text = buffer.slice(0, end);
        buffer = buffer.slice(end);
        return text.replace(/^\r\n/, "");
      }
      const { value, done } = await reader.read();
      if (done) throw new Error(`Connection closed; got "${buffer}"`);
      buffer += decoder.decode(value);
    }
  };
  const replies = [await reply()];
  const writer = conn.writable.getWriter();
  for (const command of commands) {
    await writer.write(encoder.encode(command));
    replies.push(await reply());
  }
  reader.releaseLock();
  writer.releaseLock();
  return replies;
}

async function tlsHandshake(
  serverCerts: TestCerts,
  caCert: string,
  hostname: string,
): Promise<void> {
  using listener = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    cert: serverCerts.cert,
    key: serverCerts.key,
  });
  const accepted = listener.accept().then(async (conn) => {
    try {
      await conn.handshake();
    } catch {
      // the client refused us
    } finally {
      conn.close();
    }
  });
  try {
    // Connect to the address, verify against `hostname`: no name lookup.
    const tcp = await Deno.connect({
      hostname: "127.0.0.1",
      port: listener.addr.port,
    });
    const conn = await Deno.startTls(tcp, { hostname, caCerts: [caCert] });
    try {
      await conn.handshake();
    } finally {
      conn.close();
    }
  } finally {
    await accepted;
  }
}

// --- certificates -----------------------------------------------------------

Deno.test(interop({
  name:
    "makeTestCerts makes a leaf Deno trusts through the CA for localhost and 127.0.0.1",
  requires: ["openssl"],
  async fn() {
    const certs = await makeTestCerts();
    assert.equal(await makeTestCerts(), certs, "made once per process");
    assert.match(certs.caCert, /^-----BEGIN CERTIFICATE-----/);
    assert.notEqual(certs.cert, certs.caCert);
    assert.equal(await Deno.readTextFile(certs.caFile), certs.caCert);
    assert.equal(await Deno.readTextFile(certs.certFile), certs.cert);
    assert.equal(await Deno.readTextFile(certs.keyFile), certs.key);
    await tlsHandshake(certs, certs.caCert, "localhost");
    await tlsHandshake(certs, certs.caCert, "127.0.0.1");
    // Without the CA the same leaf is refused: the check is real.
    const other = await makeUntrustedCerts();
    await assert.rejects(
      tlsHandshake(certs, other.caCert, "localhost"),
      /UnknownIssuer|certificate/i,
    );
  },
}));

Deno.test(interop({
  name:
    "makeUntrustedCerts makes a leaf Deno refuses when trusting the test CA",
  requires: ["openssl"],
  async fn() {
    const { caCert } = await makeTestCerts();
    const untrusted = await makeUntrustedCerts();
    assert.notEqual(untrusted.caCert, caCert);
    await assert.rejects(
      tlsHandshake(untrusted, caCert, "localhost"),
      /UnknownIssuer/,
    );
    await tlsHandshake(untrusted, untrusted.caCert, "localhost");
  },
}));

Deno.test(interop({
  name: "makeWrongNameCerts makes a leaf Deno refuses for localhost",
  requires: ["openssl"],
  async fn() {
    const { caCert } = await makeTestCerts();
    const wrong = await makeWrongNameCerts();
    assert.equal(wrong.caCert, caCert);
    await assert.rejects(
      tlsHandshake(wrong, caCert, "localhost"),
      /not valid for name/,
    );
    await tlsHandshake(wrong, caCert, "wrong.example");
  },
}));

// --- ports and requirements ------------------------------------------------

Deno.test("freePort returns a loopback port that can be listened on", () => {
  const port = freePort();
  assert.ok(port > 0 && port < 65536);
  using listener = Deno.listen({ hostname: "127.0.0.1", port });
  assert.equal(listener.addr.port, port);
});

Deno.test("interop skips, fails or keeps a test depending on its tools and SENDMAIL_INTEROP", async () => {
  const before = Deno.env.get("SENDMAIL_INTEROP");
  const fn = () => {};
  const restoreWarn = console.warn;
  const warned: string[] = [];
  console.warn = (...args: unknown[]) => void warned.push(args.join(" "));
  try {
    Deno.env.delete("SENDMAIL_INTEROP");
    const skipped = interop({
      name: "needs a tool",
      requires: ["no-such-tool-for-sendmail"],
      fn,
    });
    assert.equal(skipped.ignore, true);
    assert.match(warned.join("\n"), /needs a tool.*no-such-tool-for-sendmail/);

    Deno.env.set("SENDMAIL_INTEROP", "required");
    const failing = interop({
      name: "needs a tool",
      requires: ["no-such-tool-for-sendmail"],
      fn,
    });
    assert.notEqual(failing.ignore, true);
    assert.notEqual(failing.fn, fn);
    await assert.rejects(
      async () => await failing.fn!({} as Deno.TestContext),
      /SENDMAIL_INTEROP=required: no-such-tool-for-sendmail is not installed/,
    );

    const kept = interop({ name: "has sh", requires: ["sh"], fn });
    assert.equal(kept.fn, fn);
    assert.equal(kept.ignore, undefined);
    assert.equal("requires" in kept, false);
  } finally {
    console.warn = restoreWarn;
    if (before === undefined) Deno.env.delete("SENDMAIL_INTEROP");
    else Deno.env.set("SENDMAIL_INTEROP", before);
  }
  assert.equal(missing("sh"), undefined);
  assert.match(missing("swaks-that-is-not")!, /is not installed/);
});

// --- smtp-sink ---------------------------------------------------------------

Deno.test(interop({
  name: "startSmtpSink records the envelope and data swaks sent",
  requires: ["smtp-sink", "swaks"],
  async fn() {
    await using sink = await startSmtpSink();
    const { code, out } = await swaks(sink.port);
    assert.equal(code, 0, out);
    const [message, ...more] = await sink.messages();
    assert.equal(more.length, 0);
    assert.ok(message);
    assert.equal(message.clientAddress, "127.0.0.1");
    assert.equal(message.protocol, "ESMTP");
    assert.equal(message.helo, "client.example");
    assert.equal(message.mailFrom, "c@d.example");
    assert.deepEqual(message.mailParams, []);
    assert.deepEqual(message.rcptTo, ["a@b.example", "x@y.example"]);
    assert.equal(message.text, MESSAGE);
    assert.deepEqual(message.crlfData, encoder.encode(MESSAGE));
    assert.deepEqual(
      message.data,
      encoder.encode(MESSAGE.replaceAll("\r", "")),
    );
    assert.equal(sink.stats().messages, 1);
  },
}));

Deno.test(interop({
  name: "startSmtpSink records MAIL and RCPT parameters and the null sender",
  requires: ["smtp-sink"],
  async fn() {
    await using sink = await startSmtpSink();
    const replies = await rawSession(sink.port, [
      "EHLO raw.example\r\n",
      "MAIL FROM:<> BODY=8BITMIME SIZE=42\r\n",
      "RCPT TO:<a@b.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@b.example\r\n",
      'RCPT TO:<"odd > name"@b.example>\r\n',
      "DATA\r\n",
      ".x\r\n\r\n.\r\n",
      "QUIT\r\n",
    ]);
    assert.match(replies.at(-2)!, /^250 /);
    await sink.waitForMessages(1);
    const [message] = await sink.messages();
    assert.ok(message);
    assert.equal(message.mailFrom, "");
    assert.deepEqual(message.mailParams, ["BODY=8BITMIME", "SIZE=42"]);
    assert.deepEqual(message.rcptTo, ["a@b.example", '"odd > name"@b.example']);
    assert.deepEqual(message.rcptParams, [
      ["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;a@b.example"],
      [],
    ]);
    assert.equal(message.text, "x\r\n\r\n");
  },
}));

Deno.test(interop({
  name: "startSmtpSink offers PIPELINING unless pipelining is false",
  requires: ["smtp-sink"],
  async fn() {
    for (const pipelining of [true, false]) {
      await using sink = await startSmtpSink({ pipelining, dump: false });
      const [greeting, ehlo] = await rawSession(sink.port, ["EHLO x\r\n"]);
      assert.match(greeting!, /^220 /);
      assert.equal(/^250-PIPELINING$/m.test(ehlo!), pipelining, ehlo);
      assert.doesNotMatch(ehlo!, /STARTTLS/);
      await assert.rejects(sink.messages(), /without dump/);
    }
  },
}));

Deno.test(interop({
  name: "startSmtpSink refuses the commands named in hardReject",
  requires: ["smtp-sink"],
  async fn() {
    await using sink = await startSmtpSink({ hardReject: ["rcpt"] });
    const replies = await rawSession(sink.port, [
      "EHLO x\r\n",
      "MAIL FROM:<a@b.example>\r\n",
      "RCPT TO:<c@d.example>\r\n",
    ]);
    assert.match(replies[3]!, /^5\d\d /);
  },
}));

Deno.test(interop({
  name: "startSmtpSink counts and dumps 1,000 messages from smtp-source",
  requires: ["smtp-sink", "smtp-source"],
  async fn() {
    await using sink = await startSmtpSink();
    const started = performance.now();
    const { code, out } = await run("smtp-source", [
      "-m",
      "1000",
      "-s",
      "4",
      "-f",
      "bulk@source.example",
      "-t",
      "sink@sink.example",
      `127.0.0.1:${sink.port}`,
    ]);
    assert.equal(code, 0, out);
    await sink.waitForMessages(1000);
    const sent = performance.now() - started;
    const messages = await sink.messages();
    const read = performance.now() - started - sent;
    console.log(
      `1000 messages: sent in ${sent.toFixed(0)} ms, dumps read in ${
        read.toFixed(0)
      } ms`,
    );
    assert.equal(messages.length, 1000);
    assert.ok(messages.every((m) => m.mailFrom === "bulk@source.example"));
    assert.ok(messages.every((m) => m.rcptTo[0] === "sink@sink.example"));
    const stats = sink.stats();
    assert.equal(stats.messages, 1000);
  },
}));

Deno.test("parseDump rebuilds the envelope and CRLF data of a dump file", () => {
  const dump = "X-Client-Addr: 127.0.0.1\nX-Client-Proto: ESMTP\n" +
    "X-Helo-Args: h\nX-Mail-Args: <a@b> SMTPUTF8\nX-Rcpt-Args: <c@d>\n" +
    "Received: from h ([127.0.0.1])\n\tby smtp-sink (smtp-sink) with ESMTP" +
    " id 1;\n\tSun, 29 Nov 2026 08:47:00 +0000 (UTC)\nA: b\n\n.x\n\n";
  const message = parseDump("f", encoder.encode(dump));
  assert.equal(message.helo, "h");
  assert.equal(message.mailFrom, "a@b");
  assert.deepEqual(message.mailParams, ["SMTPUTF8"]);
  assert.deepEqual(message.rcptTo, ["c@d"]);
  assert.equal(message.text, "A: b\r\n\r\n.x\r\n");
  assert.throws(
    () => parseDump("f", encoder.encode("garbage\n")),
    /Cannot parse/,
  );
});

// --- aiosmtpd ------------------------------------------------------------------

Deno.test(interop({
  name:
    "startAiosmtpd receives exact bytes over STARTTLS with AUTH PLAIN from swaks verifying the CA",
  requires: ["aiosmtpd", "swaks"],
  async fn() {
    await using server = await startAiosmtpd({
      auth: [{ username: "joe", password: "s3cret" }],
    });
    const { code, out } = await swaks(server.port, [
      ...tlsArgs(server.certs),
      "--auth",
      "PLAIN",
      "--auth-user",
      "joe",
      "--auth-password",
      "s3cret",
    ]);
    assert.equal(code, 0, out);
    const message = await server.nextMessage();
    assert.equal(message.mailFrom, "c@d.example");
    assert.deepEqual(message.rcptTo, ["a@b.example", "x@y.example"]);
    assert.deepEqual(message.data, encoder.encode(MESSAGE));
    assert.equal(message.helo, "client.example");
    assert.deepEqual(message.auth, { mechanism: "PLAIN", login: "joe" });
    assert.ok(message.tls, "delivered over TLS");
    assert.match(message.tls.version, /^TLSv1\.[23]$/);
    assert.deepEqual(await server.authAttempts(), [
      { mechanism: "PLAIN", login: "joe", success: true, tls: true },
    ]);
  },
}));

Deno.test(interop({
  name:
    "startAiosmtpd checks LOGIN and CRAM-MD5 passwords and records failures",
  requires: ["aiosmtpd", "swaks"],
  async fn() {
    await using server = await startAiosmtpd({
      auth: [{ username: "joe", password: "s3cret" }],
    });
    for (const mechanism of ["LOGIN", "CRAM-MD5"]) {
      const ok = await swaks(server.port, [
        ...tlsArgs(server.certs),
        "--auth",
        mechanism,
        "--auth-user",
        "joe",
        "--auth-password",
        "s3cret",
      ]);
      assert.equal(ok.code, 0, ok.out);
      assert.deepEqual((await server.nextMessage()).auth, {
        mechanism,
        login: "joe",
      });
    }
    const bad = await swaks(server.port, [
      ...tlsArgs(server.certs),
      "--auth",
      "CRAM-MD5",
      "--auth-user",
      "joe",
      "--auth-password",
      "wrong",
    ]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.out, /535/);
    assert.deepEqual(
      (await server.authAttempts()).map((a) => [a.mechanism, a.success]),
      [["LOGIN", true], ["CRAM-MD5", true], ["CRAM-MD5", false]],
    );
    assert.equal((await server.messages()).length, 2);
  },
}));

Deno.test(interop({
  name:
    "startAiosmtpd offers AUTH only after STARTTLS and refuses MAIL before it when required",
  requires: ["aiosmtpd"],
  async fn() {
    await using server = await startAiosmtpd({
      auth: [{ username: "joe", password: "pw" }],
      requireStarttls: true,
    });
    const replies = await rawSession(server.port, [
      "EHLO x\r\n",
      "AUTH PLAIN AGpvZQBwdw==\r\n",
      "MAIL FROM:<a@b.example>\r\n",
    ]);
    assert.match(replies[0]!, /^220 aiosmtpd\.test /);
    assert.match(replies[1]!, /^250-STARTTLS$/m);
    assert.doesNotMatch(replies[1]!, /AUTH/);
    assert.match(replies[2]!, /^530 /);
    assert.match(replies[3]!, /^530 /);
    assert.deepEqual(await server.authAttempts(), []);
  },
}));

Deno.test(interop({
  name:
    "startAiosmtpd serves implicit TLS that swaks verifies and refuses an untrusted CA",
  requires: ["aiosmtpd", "swaks"],
  async fn() {
    await using server = await startAiosmtpd({ implicitTls: true });
    const ok = await swaks(server.port, [
      "--tls-on-connect",
      "--tls-verify",
      "--tls-ca-path",
      server.certs.caFile,
    ]);
    assert.equal(ok.code, 0, ok.out);
    const message = await server.nextMessage();
    assert.ok(message.tls);
    assert.deepEqual(message.data, encoder.encode(MESSAGE));

    await using untrusted = await startAiosmtpd({
      certs: await makeUntrustedCerts(),
    });
    const refused = await swaks(untrusted.port, tlsArgs(server.certs));
    assert.notEqual(refused.code, 0, refused.out);
    assert.deepEqual(await untrusted.messages(), []);
  },
}));

Deno.test(interop({
  name:
    "startAiosmtpd accepts XOAUTH2 from nodemailer and OAUTHBEARER from msmtp",
  requires: ["aiosmtpd", "msmtp"],
  async fn() {
    await using server = await startAiosmtpd({
      auth: [{ username: "joe@b.example", accessToken: "tok-123" }],
    });
    const transport = nodemailer.createTransport({
      host: "localhost",
      port: server.port,
      requireTLS: true,
      tls: { ca: [server.certs.caCert] },
      auth: { type: "OAuth2", user: "joe@b.example", accessToken: "tok-123" },
    });
    try {
      await transport.sendMail({
        envelope: { from: "joe@b.example", to: ["a@b.example"] },
        raw: MESSAGE,
      });
    } finally {
      transport.close();
    }
    const first = await server.nextMessage();
    assert.deepEqual(first.auth, {
      mechanism: "XOAUTH2",
      login: "joe@b.example",
    });
    assert.deepEqual(first.data, encoder.encode(MESSAGE));

    const { code, out } = await run("msmtp", [
      "--host=127.0.0.1",
      `--port=${server.port}`,
      "--domain=client.example",
      "--tls=on",
      "--tls-starttls=on",
      `--tls-trust-file=${server.certs.caFile}`,
      "--auth=oauthbearer",
      "--user=joe@b.example",
      "--passwordeval=echo tok-123",
      "--from=joe@b.example",
      "a@b.example",
    ], MESSAGE);
    assert.equal(code, 0, out);
    const second = await server.nextMessage();
    assert.deepEqual(second.auth, {
      mechanism: "OAUTHBEARER",
      login: "joe@b.example",
    });
    assert.equal(second.helo, "client.example");

    const wrong = await run("msmtp", [
      "--host=127.0.0.1",
      `--port=${server.port}`,
      "--tls=on",
      "--tls-starttls=on",
      `--tls-trust-file=${server.certs.caFile}`,
      "--auth=xoauth2",
      "--user=joe@b.example",
      "--passwordeval=echo nope",
      "--from=joe@b.example",
      "a@b.example",
    ], MESSAGE);
    assert.notEqual(wrong.code, 0);
    assert.deepEqual(
      (await server.authAttempts()).map((a) => [a.mechanism, a.success]),
      [["XOAUTH2", true], ["OAUTHBEARER", true], ["XOAUTH2", false]],
    );
  },
}));

Deno.test(interop({
  name:
    "startAiosmtpd records SMTPUTF8 and refuses the recipients in rejectRecipients",
  requires: ["aiosmtpd"],
  async fn() {
    await using server = await startAiosmtpd({
      rejectRecipients: { "gone@b.example": "550 5.1.1 No such user" },
    });
    const replies = await rawSession(server.port, [
      "EHLO x\r\n",
      "MAIL FROM:<j\u00f6rg@b.example> SMTPUTF8 BODY=8BITMIME\r\n",
      "RCPT TO:<gone@b.example>\r\n",
      "RCPT TO:<ok@b.example>\r\n",
      "DATA\r\n",
      "\u00e9\r\n.\r\n",
    ]);
    assert.match(replies[1]!, /^250-SMTPUTF8$/m);
    assert.equal(replies[3], "550 5.1.1 No such user\r\n");
    const message = await server.nextMessage();
    assert.equal(message.mailFrom, "j\u00f6rg@b.example");
    assert.deepEqual(message.mailOptions, ["SMTPUTF8", "BODY=8BITMIME"]);
    assert.equal(message.smtputf8, true);
    assert.deepEqual(message.rcptTo, ["ok@b.example"]);
    assert.equal(message.text, "\u00e9\r\n");
    assert.equal(message.tls, null);
  },
}));

Deno.test(interop({
  name:
    "startAiosmtpd offers only authMechanisms and answers DATA with dataReply",
  requires: ["aiosmtpd"],
  async fn() {
    await using server = await startAiosmtpd({
      starttls: false,
      auth: [{ username: "joe", password: "pw" }],
      authMechanisms: ["LOGIN"],
      authRequireTls: false,
      sizeLimit: 0,
      dataReply: "250 2.0.0 Queued as ABC123",
    });
    const replies = await rawSession(server.port, [
      "EHLO x\r\n",
      "AUTH PLAIN AGpvZQBwdw==\r\n",
      "MAIL FROM:<a@b.example>\r\n",
      "RCPT TO:<c@d.example>\r\n",
      "DATA\r\n",
      "x\r\n.\r\n",
    ]);
    assert.match(replies[1]!, /^250-AUTH LOGIN$/m);
    assert.doesNotMatch(replies[1]!, /STARTTLS|SIZE/);
    assert.match(replies[2]!, /^504 /);
    assert.equal(replies[6], "250 2.0.0 Queued as ABC123\r\n");
    assert.equal((await server.nextMessage()).text, "x\r\n");
  },
}));

// --- smtp-server ---------------------------------------------------------------

Deno.test("startNodeSmtpServer receives exact bytes over STARTTLS with AUTH from nodemailer", async () => {
  await using server = await startNodeSmtpServer({
    auth: { username: "joe", password: "s3cret" },
    dsn: true,
  });
  for (const authMethod of ["PLAIN", "LOGIN", "CRAM-MD5"]) {
    const transport = nodemailer.createTransport({
      host: "localhost",
      port: server.port,
      requireTLS: true,
      name: "client.example",
      tls: { ca: [server.certs.caCert] },
      auth: { user: "joe", pass: "s3cret" },
      authMethod,
    });
    try {
      await transport.sendMail({
        envelope: { from: "c@d.example", to: ["a@b.example", "x@y.example"] },
        raw: MESSAGE,
        dsn: { id: "env-1", return: "headers", notify: ["failure"] },
      });
    } finally {
      transport.close();
    }
    const message = await server.nextMessage();
    assert.equal(message.mailFrom, "c@d.example");
    assert.deepEqual(message.rcptTo, ["a@b.example", "x@y.example"]);
    assert.deepEqual(message.data, encoder.encode(MESSAGE));
    assert.equal(message.helo, "client.example");
    assert.equal(message.secure, true);
    assert.match(message.tlsVersion!, /^TLSv1\.[23]$/);
    assert.deepEqual(message.auth, { method: authMethod, username: "joe" });
    assert.deepEqual(message.dsn, { ret: "HDRS", envid: "env-1" });
    assert.deepEqual(message.rcptDsn[0]?.notify, ["FAILURE"]);
  }
  assert.deepEqual(
    server.authAttempts.map((a) => [a.method, a.success, a.secure]),
    [["PLAIN", true, true], ["LOGIN", true, true], ["CRAM-MD5", true, true]],
  );
});

Deno.test("startNodeSmtpServer serves implicit TLS and XOAUTH2, and records refusals", async () => {
  await using server = await startNodeSmtpServer({
    secure: true,
    auth: { username: "joe", password: "pw", accessToken: "tok" },
  });
  const send = async (auth: Record<string, string>) => {
    const transport = nodemailer.createTransport({
      host: "localhost",
      port: server.port,
      secure: true,
      tls: { ca: [server.certs.caCert] },
      auth,
    });
    try {
      await transport.sendMail({
        envelope: { from: "c@d.example", to: ["a@b.example"] },
        raw: MESSAGE,
      });
    } finally {
      transport.close();
    }
  };
  await send({ type: "OAuth2", user: "joe", accessToken: "tok" });
  const message = await server.nextMessage();
  assert.deepEqual(message.auth, { method: "XOAUTH2", username: "joe" });
  assert.equal(message.secure, true);
  await assert.rejects(send({ user: "joe", pass: "wrong" }), /535/);
  assert.deepEqual(
    server.authAttempts.map((a) => [a.method, a.success]),
    [["XOAUTH2", true], ["PLAIN", false]],
  );
  assert.equal(server.messages.length, 1);
});

Deno.test("startNodeSmtpServer hides extensions, refuses listed recipients and oversized messages", async () => {
  await using server = await startNodeSmtpServer({
    starttls: false,
    hide: ["PIPELINING"],
    size: 100,
    rejectRecipients: { "gone@b.example": [550, "No such user"] },
  });
  const replies = await rawSession(server.port, [
    "EHLO x\r\n",
    "MAIL FROM:<a@b.example>\r\n",
    "RCPT TO:<gone@b.example>\r\n",
    "RCPT TO:<ok@b.example>\r\n",
    "DATA\r\n",
    "x".repeat(200) + "\r\n.\r\n",
    "MAIL FROM:<a@b.example>\r\n",
    "RCPT TO:<ok@b.example>\r\n",
    "DATA\r\n",
    "small\r\n.\r\n",
  ]);
  assert.doesNotMatch(replies[1]!, /PIPELINING|STARTTLS/);
  assert.match(replies[1]!, /^250[- ]SIZE 100$/m);
  assert.match(replies[3]!, /^550 .*No such user/);
  assert.match(replies[6]!, /^552 /);
  assert.match(replies[10]!, /^250 /);
  const message = await server.nextMessage();
  assert.deepEqual(message.rcptTo, ["ok@b.example"]);
  assert.equal(message.text, "small\r\n");
  assert.equal(message.secure, false);
  assert.equal(server.messages.length, 1);
});

Deno.test("startNodeSmtpServer closes connections a client left open when disposed", async () => {
  const server = await startNodeSmtpServer({ starttls: false });
  using conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const buffer = new Uint8Array(512);
  const n = await conn.read(buffer);
  const greeting = decoder.decode(buffer.subarray(0, n ?? 0));
  assert.match(greeting, /^220 smtp-server\.test /);
  await conn.write(encoder.encode("EHLO x\r\n"));
  const m = await conn.read(buffer);
  assert.doesNotMatch(decoder.decode(buffer.subarray(0, m ?? 0)), /STARTTLS/);
  await server[Symbol.asyncDispose]();
  // Drained to end of stream: the server hung up.
  while ((await conn.read(buffer)) !== null) { /* drain */ }
});

// --- scripted server -----------------------------------------------------------

Deno.test("startScriptedServer runs a STARTTLS script and hands over DATA as sent", async () => {
  const { caCert } = await makeTestCerts();
  const seen: { data?: string; secure?: boolean } = {};
  await using server = await startScriptedServer(async (conn) => {
    await conn.write("220 scripted ESMTP\r\n");
    assert.equal(await conn.readLine(), "STARTTLS");
    await conn.write("220 2.0.0 Ready\r\n");
    await conn.startTls();
    seen.secure = conn.secure;
    assert.equal(await conn.readLine(), "DATA");
    await conn.write("354 go\r\n");
    seen.data = decoder.decode((await conn.readData())!);
    await conn.write("250 ok\r\n");
    assert.equal(await conn.readLine(), null);
  });
  const plain = await Deno.connect({
    hostname: "127.0.0.1",
    port: server.port,
  });
  const buffer = new Uint8Array(512);
  await plain.read(buffer);
  await plain.write(encoder.encode("STARTTLS\r\n"));
  const n = await plain.read(buffer);
  assert.equal(decoder.decode(buffer.subarray(0, n!)), "220 2.0.0 Ready\r\n");
  const tls = await Deno.startTls(plain, {
    hostname: "localhost",
    caCerts: [caCert],
  });
  try {
    await tls.write(encoder.encode("DATA\r\n"));
    await tls.read(buffer);
    await tls.write(encoder.encode(wire(MESSAGE)));
    const m = await tls.read(buffer);
    assert.equal(decoder.decode(buffer.subarray(0, m!)), "250 ok\r\n");
  } finally {
    tls.close();
  }
  await server.finished();
  assert.equal(seen.secure, true);
  assert.equal(seen.data, wire(MESSAGE).slice(0, -3));
  assert.equal(server.connections, 1);
});

Deno.test("startScriptedServer fails the script when the client pipelines after STARTTLS", async () => {
  const server = await startScriptedServer(async (conn) => {
    await conn.write("220 scripted ESMTP\r\n");
    assert.equal(await conn.readLine(), "STARTTLS");
    await conn.write("220 2.0.0 Ready\r\n");
    await conn.startTls();
  });
  using conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const buffer = new Uint8Array(512);
  await conn.read(buffer);
  await conn.write(encoder.encode("STARTTLS\r\nEHLO injected\r\n"));
  await assert.rejects(server.finished(), /sent 15 bytes after STARTTLS/);
  await assert.rejects(
    async () => await server[Symbol.asyncDispose](),
    /after STARTTLS/,
  );
});

Deno.test("startScriptedServer surfaces a failed assertion of a script when disposed", async () => {
  const server = await startScriptedServer(async (conn) => {
    await conn.write("220 scripted ESMTP\r\n");
    assert.equal(await conn.readLine(), "HELO expected");
  });
  {
    using conn = await Deno.connect({
      hostname: "127.0.0.1",
      port: server.port,
    });
    await conn.read(new Uint8Array(64));
    await conn.write(encoder.encode("EHLO other\r\n"));
  }
  await assert.rejects(
    async () => await server[Symbol.asyncDispose](),
    /HELO expected/,
  );
});

Deno.test("startScriptedServer speaks implicit TLS and serves each connection", async () => {
  const { caCert } = await makeTestCerts();
  await using server = await startScriptedServer(async (conn) => {
    assert.equal(conn.secure, true);
    await conn.write("220 tls\r\n");
  }, { tls: true });
  for (let i = 0; i < 2; i++) {
    using conn = await Deno.connectTls({
      hostname: "localhost",
      port: server.port,
      caCerts: [caCert],
    });
    const buffer = new Uint8Array(64);
    const n = await conn.read(buffer);
    assert.equal(decoder.decode(buffer.subarray(0, n!)), "220 tls\r\n");
  }
  await server.finished();
  assert.equal(server.connections, 2);
});
