// Issue 11 items 10 to 15: input the library must take, refuse early, or
// map to the right exit status, with nothing sent that should not be.

import assert from "node:assert/strict";
import { SmtpClient, SmtpError } from "../../mod.ts";
import { startTestServer } from "../../testing.ts";
import { startScriptedServer } from "../_harness/mod.ts";
import { runCli } from "../cli/_cli_harness.ts";
import { drain, greet, plain, raw } from "./_helpers.ts";

Deno.test("SmtpClient sends a quoted local part with a space as given, and the server receives it", async () => {
  await using server = await startTestServer();
  await using client = await SmtpClient.connect(server.clientOptions);
  const result = await client.send(
    raw(
      "Subject: q\r\n\r\nx\r\n",
      ['"john doe"@example.com'],
      '"a b"@example.com',
    ),
  );
  assert.deepEqual(result.accepted, ['"john doe"@example.com']);
  const message = await server.nextMessage();
  assert.equal(message.envelope.from, '"a b"@example.com');
  assert.deepEqual(message.envelope.to, ['"john doe"@example.com']);
  assert.ok(
    server.transcripts[0]!.some((l) =>
      l.text === 'RCPT TO:<"john doe"@example.com>'
    ),
  );
});

Deno.test("SmtpClient refuses control characters inside a quoted local part, and C1 controls anywhere", async () => {
  await using server = await startTestServer();
  await using client = await SmtpClient.connect(server.clientOptions);
  for (
    const address of [
      '"john\r\ndoe"@example.com',
      '"a\u0000b"@example.com',
      "a\u0085b@example.com", // NEL
      "rcpt@exam\u009bple.com", // CSI
      '"unbalanced@example.com',
    ]
  ) {
    await assert.rejects(
      client.send(raw("x", [address])),
      TypeError,
      JSON.stringify(address),
    );
    await assert.rejects(
      client.send(raw("x", ["ok@example.com"], address)),
      TypeError,
    );
  }
  assert.ok(!server.transcripts[0]!.some((l) => /^(MAIL|RCPT)/.test(l.text)));
});

Deno.test("SmtpClient reads only digits as a SIZE limit and sends what SIZE 1e3 does not limit", async () => {
  await using server = await startScriptedServer(async (conn) => {
    await greet(
      conn,
      "250-scripted.test\r\n250-SIZE 1e3\r\n250 PIPELINING\r\n",
    );
    // The message's own size is declared; the bogus limit refuses nothing.
    assert.match(
      (await conn.readLine())!,
      /^MAIL FROM:<sender@example\.com> SIZE=\d+$/,
    );
    await conn.readLine();
    await conn.readLine();
    await conn.write("250 ok\r\n250 ok\r\n354 go\r\n");
    assert.equal((await conn.readData())!.length > 2000, true);
    await conn.write("250 queued\r\n");
    await drain(conn);
  });
  const client = await SmtpClient.connect(plain(server));
  assert.equal(client.capabilities.size, 0);
  const result = await client.send(
    raw("Subject: big\r\n\r\n" + "x".repeat(3000)),
  );
  assert.equal(result.reply.text, "queued");
  await client.quit();
  await server.finished();
});

Deno.test("SmtpClient.connect() refuses caCerts given as a string before connecting", async () => {
  await using server = await startScriptedServer(async () => {});
  await assert.rejects(
    SmtpClient.connect(
      plain(server, {
        tls: "starttls",
        caCerts: "-----BEGIN CERTIFICATE-----" as unknown as string[],
      }),
    ),
    (error) => error instanceof TypeError && /caCerts/.test(error.message),
  );
  assert.equal(server.connections, 0);
});

Deno.test("SmtpClient.send() refuses bad DSN values with a TypeError and sends nothing", async () => {
  await using server = await startTestServer({
    extensions: ["PIPELINING", "DSN", "8BITMIME"],
  });
  await using client = await SmtpClient.connect(server.clientOptions);
  for (
    const dsn of [
      { ret: "everything" },
      { notify: ["success", ""] },
      { notify: [] },
      { envelopeId: "id\r\nRSET" },
    ]
  ) {
    await assert.rejects(
      // deno-lint-ignore no-explicit-any
      client.send(raw("x"), { dsn: dsn as any }),
      TypeError,
      JSON.stringify(dsn),
    );
  }
  assert.ok(!server.transcripts[0]!.some((l) => /^MAIL/.test(l.text)));
  assert.equal((await client.noop()).code, 250);
});

Deno.test("sendmail command exits 78 for a --url host or domain that is not one, and sends nothing", async () => {
  for (
    const url of [
      "smtp://h%0d%0aRSET:25",
      "smtp://h:25?domain=a%0d%0aRSET",
      "smtp://h:25?domain=a%20b",
    ]
  ) {
    const run = await runCli(["-i", "--url", url, "b@example.com"], {
      reply: () => assert.fail("nothing may be sent"),
    });
    assert.equal(run.status, 78, `${url}: ${run.stderr}`);
    assert.equal(run.sent.length, 0);
  }
});

Deno.test("SmtpError messages and the command's stderr carry no control character a server sent", async () => {
  const hostile = "no\x1b]0;pwned\x07 \u009b31m such \x1b[2J user";
  await using server = await startScriptedServer(async (conn) => {
    await greet(conn);
    await conn.readLine();
    await conn.readLine();
    await conn.readLine();
    await conn.write(`250 ok\r\n550 5.1.1 ${hostile}\r\n554 no recipients\r\n`);
    await drain(conn);
  });
  const client = await SmtpClient.connect(plain(server));
  const error = await client.send(raw("x")).then(
    () => assert.fail("sent"),
    (e) => e,
  );
  assert.ok(error instanceof SmtpError);
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(error.message, /[\x00-\x08\x0a-\x1f\x7f-\x9f]/);
  assert.match(error.message, /no.*such.*user/);
  await client.quit();
  await server.finished();
  const run = await runCli(["-i", "--url", "smtp://h:25", "b@example.com"], {
    reply: () => {
      throw error;
    },
  });
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(run.stderr, /[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
});
