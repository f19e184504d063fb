// Faults in the server's replies.

import assert from "node:assert/strict";
import { SmtpClient } from "../../mod.ts";
import { startScriptedServer } from "../_harness/mod.ts";
import { drain, greet, plain, raw, rejectsWith } from "./_helpers.ts";

Deno.test("SmtpClient falls back to HELO and sends mail when EHLO gets 500", async () => {
  await using server = await startScriptedServer(async (conn) => {
    await conn.write("220 old.test SMTP\r\n");
    assert.equal(await conn.readLine(), "EHLO localhost");
    await conn.write("500 5.5.1 Command unrecognized\r\n");
    assert.equal(await conn.readLine(), "HELO localhost");
    await conn.write("250 old.test\r\n");
    // No PIPELINING: one command at a time.
    assert.equal(await conn.readLine(), "MAIL FROM:<sender@example.com>");
    assert.equal(conn.buffered, 0);
    await conn.write("250 ok\r\n");
    assert.equal(await conn.readLine(), "RCPT TO:<rcpt@example.com>");
    await conn.write("250 ok\r\n");
    assert.equal(await conn.readLine(), "DATA");
    await conn.write("354 go\r\n");
    assert.equal(
      new TextDecoder().decode(await conn.readData() ?? undefined),
      "Subject: hi\r\n\r\nhello\r\n",
    );
    await conn.write("250 queued\r\n");
    assert.deepEqual(await drain(conn), ["QUIT"]);
  });
  await using client = await SmtpClient.connect(plain(server));
  assert.equal(client.capabilities.keywords.length, 0);
  const result = await client.send(raw("Subject: hi\n\nhello"));
  assert.equal(result.reply.text, "queued");
  await client.quit();
  await server.finished();
});

/** A server whose reply to EHLO is `reply`; the client must give up. */
function badEhloReply(reply: string | Uint8Array) {
  return startScriptedServer(async (conn) => {
    await conn.write("220 bad.test ESMTP\r\n");
    assert.equal(await conn.readLine(), "EHLO localhost");
    await conn.write(reply).catch(() => {});
    // The session is failed: no QUIT on a broken protocol, just close.
    assert.deepEqual(await drain(conn), []);
  });
}

Deno.test("SmtpClient rejects with a protocol error when a multiline reply mixes codes", async () => {
  await using server = await badEhloReply(
    "250-bad.test\r\n251-PIPELINING\r\n250 SIZE 10\r\n",
  );
  await rejectsWith(SmtpClient.connect(plain(server)), {
    kind: "protocol",
    temporary: false,
    command: "EHLO",
    message: /line 2 has code 251, expected 250/,
  });
  await server.finished();
});

Deno.test("SmtpClient rejects with a protocol error when continuation lines never end", async () => {
  await using server = await startScriptedServer(async (conn) => {
    await conn.write("220 endless.test ESMTP\r\n");
    assert.equal(await conn.readLine(), "EHLO localhost");
    const block = "250-and more\r\n".repeat(500);
    // Writes until the client hangs up.
    try {
      for (let i = 0; i < 10_000; i++) await conn.write(block);
    } catch {
      // closed by the client
    }
    assert.deepEqual(await drain(conn), []);
  });
  await rejectsWith(SmtpClient.connect(plain(server)), {
    kind: "protocol",
    temporary: false,
    command: "EHLO",
    message: /reply longer than 1000 lines/,
  });
  await server.finished();
});

Deno.test("SmtpClient rejects with a protocol error when a reply line of 1 MiB has no CRLF", async () => {
  await using server = await startScriptedServer(async (conn) => {
    await conn.write("220 long.test ESMTP\r\n");
    assert.equal(await conn.readLine(), "EHLO localhost");
    await conn.write("250 " + "x".repeat(1024 * 1024)).catch(() => {});
    assert.deepEqual(await drain(conn), []);
  });
  await rejectsWith(SmtpClient.connect(plain(server)), {
    kind: "protocol",
    temporary: false,
    command: "EHLO",
    message: /line longer than 8192 bytes/,
  });
  await server.finished();
});

for (
  const [what, reply] of [
    ["a non-digit code", "2x0 what\r\n"],
    ["a two-digit code", "25 short\r\n"],
    ["a code out of range", "650 six hundred\r\n"],
  ]
) {
  Deno.test(`SmtpClient rejects with a protocol error when a reply has ${what}`, async () => {
    await using server = await badEhloReply(reply!);
    await rejectsWith(SmtpClient.connect(plain(server)), {
      kind: "protocol",
      temporary: false,
      command: "EHLO",
      message: /expected a three-digit code/,
    });
    await server.finished();
  });
}

Deno.test("SmtpClient tolerates invalid UTF-8 in reply text", async () => {
  await using server = await startScriptedServer(async (conn) => {
    await conn.write(
      new Uint8Array([
        ...new TextEncoder().encode("220 utf8.test \xff"),
        0xc3,
        0x28,
        0xff,
        0x0d,
        0x0a,
      ]),
    );
    assert.equal(await conn.readLine(), "EHLO localhost");
    await conn.write(
      new Uint8Array([
        ...new TextEncoder().encode("250-utf8.test "),
        0xe2,
        0x82,
        0x0d,
        0x0a,
        ...new TextEncoder().encode("250 SIZE 100\r\n"),
      ]),
    );
    assert.equal(await conn.readLine(), "NOOP");
    await conn.write(
      new Uint8Array([0x32, 0x35, 0x30, 0x20, 0xc0, 0x0d, 0x0a]),
    );
    assert.deepEqual(await drain(conn), ["QUIT"]);
  });
  await using client = await SmtpClient.connect(plain(server));
  assert.equal(client.capabilities.size, 100);
  const reply = await client.noop();
  assert.equal(reply.code, 250);
  assert.equal(reply.text, "\uFFFD");
  await client.quit();
  await server.finished();
});

for (const tls of ["none", "opportunistic"] as const) {
  Deno.test(`SmtpClient fails rather than pair an unsolicited reply with the next command (tls ${tls})`, async () => {
    const { promise: sent, resolve } = Promise.withResolvers<void>();
    await using server = await startScriptedServer(async (conn) => {
      await greet(conn);
      // A reply nobody asked for, while the client is idle.
      await conn.write("250 2.0.0 unsolicited\r\n");
      resolve();
      const lines = await drain(conn);
      // Whatever the client sent after, it never took this reply as its own.
      assert.ok(
        !lines.includes("MAIL FROM:<sender@example.com>"),
        lines.join(),
      );
    });
    await using client = await SmtpClient.connect(plain(server, { tls }));
    await sent;
    await new Promise((resolve) => setTimeout(resolve, 50));
    await rejectsWith(client.noop(), {
      kind: "protocol",
      temporary: false,
      command: "EHLO",
      message: /reply nobody asked for/,
    });
    await rejectsWith(client.send(raw("Subject: x\n\nx")), {
      kind: "protocol",
      temporary: false,
      command: "EHLO",
    });
    await client.quit();
    await server.finished();
  });
}

Deno.test("SmtpClient rejects with a timeout, not a hang, when a pipelined command gets no reply", async () => {
  await using server = await startScriptedServer(async (conn) => {
    await greet(conn);
    assert.equal(await conn.readLine(), "MAIL FROM:<sender@example.com>");
    assert.equal(await conn.readLine(), "RCPT TO:<a@example.com>");
    assert.equal(await conn.readLine(), "RCPT TO:<b@example.com>");
    assert.equal(await conn.readLine(), "DATA");
    // Replies to MAIL and the first RCPT only.
    await conn.write("250 ok\r\n250 ok\r\n");
    assert.deepEqual(await drain(conn), []);
  });
  await using client = await SmtpClient.connect(plain(server));
  await rejectsWith(
    client.send(raw("Subject: x\n\nx", ["a@example.com", "b@example.com"])),
    { kind: "timeout", temporary: true, command: "RCPT" },
  );
  await server.finished();
});
