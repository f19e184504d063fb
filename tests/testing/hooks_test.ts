import assert from "node:assert/strict";
import { type HookContext, startTestServer } from "../../testing.ts";
import { RawClient } from "../_harness/raw_client.ts";

async function session(port: number): Promise<RawClient> {
  const client = await RawClient.connect(port);
  await client.reply();
  await client.command("EHLO client.test");
  return client;
}

async function deliver(client: RawClient, body = "x"): Promise<string[]> {
  await client.command("MAIL FROM:<a@b.c>");
  await client.command("RCPT TO:<d@e.f>");
  await client.command("DATA");
  await client.send(`${body}\r\n.\r\n`);
  return await client.reply();
}

Deno.test("startTestServer hooks reply in place of a command and skip its effect on 5xx", async () => {
  await using server = await startTestServer({
    tls: "none",
    hooks: {
      RCPT: ({ count, args }) =>
        count === 2
          ? { reply: `550 5.1.1 <${args.slice(4, -1)}> No such user` }
          : "default",
    },
  });
  using client = await session(server.port);
  await client.command("MAIL FROM:<a@b.c>");
  assert.deepEqual(await client.command("RCPT TO:<one@b.c>"), [
    "250 2.1.5 Recipient OK",
  ]);
  assert.deepEqual(await client.command("RCPT TO:<two@b.c>"), [
    "550 5.1.1 <two@b.c> No such user",
  ]);
  assert.deepEqual(await client.command("RCPT TO:<three@b.c>"), [
    "250 2.1.5 Recipient OK",
  ]);
  await client.command("DATA");
  await client.send("x\r\n.\r\n");
  await client.reply();
  assert.deepEqual((await server.nextMessage()).envelope.to, [
    "one@b.c",
    "three@b.c",
  ]);
});

Deno.test("startTestServer hooks take a command's effect on a 2xx or 3xx reply", async () => {
  await using server = await startTestServer({
    tls: "none",
    extensions: ["PIPELINING"],
    hooks: {
      MAIL: () => ({ reply: "250 Sender <whatever> fine" }),
      RCPT: () => ({ reply: ["250-first line", "250 recipient OK"] }),
      DATA: () => ({ reply: "354 Go ahead" }),
      DATA_END: () => ({ reply: "250 Kept as 42" }),
    },
  });
  using client = await session(server.port);
  assert.deepEqual(await client.command("MAIL FROM:<a@b.c> ANYTHING=1"), [
    "250 Sender <whatever> fine",
  ]);
  assert.deepEqual(await client.command("RCPT TO:<d@e.f>"), [
    "250-first line",
    "250 recipient OK",
  ]);
  assert.deepEqual(await client.command("DATA"), ["354 Go ahead"]);
  await client.send("hi\r\n.\r\n");
  assert.deepEqual(await client.reply(), ["250 Kept as 42"]);
  const message = await server.nextMessage();
  assert.deepEqual(message.envelope, {
    from: "a@b.c",
    to: ["d@e.f"],
    mailParams: { ANYTHING: "1" },
    rcptParams: [{}],
  });
  assert.equal(message.text, "hi\r\n");
});

Deno.test("startTestServer DATA_END hook refuses a message, which is not delivered", async () => {
  await using server = await startTestServer({
    tls: "none",
    hooks: {
      DATA_END: ({ message, count }) => {
        assert.ok(message instanceof Uint8Array);
        return count === 1 ? { reply: "451 4.3.0 Try again later" } : "default";
      },
    },
  });
  using client = await session(server.port);
  assert.deepEqual(await deliver(client), ["451 4.3.0 Try again later"]);
  assert.equal(server.messages.length, 0);
  assert.match((await deliver(client, "second"))[0]!, /^250 /);
  assert.equal((await server.nextMessage()).text, "second\r\n");
});

Deno.test("startTestServer connect hook replies 421 and closes", async () => {
  await using server = await startTestServer({
    hooks: {
      connect: () => [{ reply: "421 4.3.2 Shutting down" }, { close: true }],
    },
  });
  using client = await RawClient.connect(server.port);
  assert.equal(await client.readToEnd(), "421 4.3.2 Shutting down\r\n");
});

Deno.test("startTestServer refuses everything but QUIT after a 554 greeting", async () => {
  await using server = await startTestServer({
    hooks: { connect: () => ({ reply: "554 5.3.2 No service" }) },
  });
  using client = await RawClient.connect(server.port);
  assert.deepEqual(await client.reply(), ["554 5.3.2 No service"]);
  assert.deepEqual(await client.command("EHLO c"), [
    "503 5.5.1 Bad sequence of commands",
  ]);
  assert.deepEqual(await client.command("QUIT"), ["221 2.0.0 Bye"]);
  assert.equal(await client.readToEnd(), "");
});

Deno.test("startTestServer STARTTLS hook injects bytes after 220 in the same write", async () => {
  await using server = await startTestServer({
    hooks: {
      STARTTLS: () => ({ reply: "220 Ready", extra: "250 injected\r\n" }),
    },
  });
  using client = await session(server.port);
  await client.send("STARTTLS\r\n");
  assert.equal(await client.readOnce(), "220 Ready\r\n250 injected\r\n");
  // The 220 took effect: the server now expects a TLS handshake.
  await client.startTls(server.caCert);
  assert.match((await client.command("EHLO c")).at(-1)!, /^250 /);
  const transcript = server.transcripts[0]!.map((line) => line.text);
  assert.deepEqual(
    transcript.slice(
      transcript.indexOf("220 Ready"),
      transcript.indexOf("220 Ready") + 3,
    ),
    [
      "220 Ready",
      'Raw bytes sent: "250 injected\\r\\n"',
      "TLS established (TLSv1.3)",
    ],
  );
});

Deno.test("startTestServer raw hook sends bytes as they are, without effect", async () => {
  await using server = await startTestServer({
    tls: "none",
    hooks: {
      EHLO: () => ({ raw: "250-no final line\r\n" }),
      NOOP:
        () => [{ raw: new Uint8Array([0x32, 0x35, 0x30, 0x0a]) }, "default"],
    },
  });
  using client = await RawClient.connect(server.port);
  await client.reply();
  await client.send("EHLO c\r\n");
  assert.equal(await client.readOnce(), "250-no final line\r\n");
  // EHLO did not take effect.
  assert.deepEqual(await client.command("MAIL FROM:<a@b.c>"), [
    "503 5.5.1 Send EHLO first",
  ]);
  await client.send("NOOP\r\n");
  assert.equal(await client.readOnce(), "250\n250 2.0.0 OK\r\n");
});

Deno.test("startTestServer delay hook holds the reply back", async () => {
  await using server = await startTestServer({
    tls: "none",
    hooks: { NOOP: () => [{ delay: 150 }, "default"] },
  });
  using client = await session(server.port);
  const started = performance.now();
  assert.deepEqual(await client.command("NOOP"), ["250 2.0.0 OK"]);
  assert.ok(performance.now() - started >= 140);
});

Deno.test("TestServer.close ends a pending delay hook at once", async () => {
  const server = await startTestServer({
    tls: "none",
    hooks: { NOOP: () => [{ delay: 60_000 }, "default"] },
  });
  using client = await session(server.port);
  await client.send("NOOP\r\n");
  await new Promise((resolve) => setTimeout(resolve, 20));
  const started = performance.now();
  await server.close();
  assert.ok(performance.now() - started < 1000);
  assert.equal(await client.readToEnd().catch(() => ""), "");
});

Deno.test("startTestServer hang hook never answers again", async () => {
  await using server = await startTestServer({
    tls: "none",
    hooks: { MAIL: () => ({ hang: true }) },
  });
  using client = await session(server.port);
  await client.send("MAIL FROM:<a@b.c>\r\nNOOP\r\n");
  const reply = client.readOnce();
  const timeout = new Promise((resolve) =>
    setTimeout(() => resolve("silence"), 200)
  );
  assert.equal(await Promise.race([reply, timeout]), "silence");
  await server.close();
  assert.equal(await reply.catch(() => null), null);
});

Deno.test("startTestServer stopReading hook blocks the client's DATA writes", async () => {
  const server = await startTestServer({
    tls: "none",
    hooks: { DATA: () => ["default", { stopReading: true }] },
  });
  using client = await session(server.port);
  await client.command("MAIL FROM:<a@b.c>");
  await client.command("RCPT TO:<d@e.f>");
  assert.deepEqual(await client.command("DATA"), [
    "354 End data with <CR><LF>.<CR><LF>",
  ]);
  // Far more than the socket buffers hold.
  const big = new Uint8Array(64 << 20).fill(0x61);
  let written = false;
  const writing = client.send(big).then(() => written = true, () => "failed");
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(written, false);
  await server.close();
  await writing;
  assert.equal(server.messages.length, 0);
});

Deno.test("startTestServer close hook after the default reply closes the connection", async () => {
  await using server = await startTestServer({
    tls: "none",
    hooks: { RCPT: () => ["default", { close: true }] },
  });
  using client = await session(server.port);
  await client.send("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n");
  assert.equal(
    await client.readToEnd(),
    "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n",
  );
});

Deno.test("startTestServer hooks see the command, counts and session state", async () => {
  const seen: HookContext[] = [];
  await using server = await startTestServer({
    tls: "none",
    hooks: {
      RCPT: (context) => {
        seen.push(context);
      },
      BDAT: async (context) => {
        seen.push(context);
        await new Promise((resolve) => setTimeout(resolve, 1));
      },
    },
  });
  using client = await session(server.port);
  await client.command("MAIL FROM:<a@b.c>");
  await client.command("RCPT TO:<d@e.f> NOTIFY=NEVER");
  await client.send("BDAT 2 LAST\r\nhi");
  await client.reply();
  assert.equal(seen.length, 2);
  const [rcpt, bdat] = seen as [HookContext, HookContext];
  assert.equal(rcpt.verb, "RCPT");
  assert.equal(rcpt.line, "RCPT TO:<d@e.f> NOTIFY=NEVER");
  assert.equal(rcpt.args, "TO:<d@e.f> NOTIFY=NEVER");
  assert.equal(rcpt.count, 1);
  assert.equal(rcpt.connection, 1);
  assert.deepEqual(rcpt.session, {
    secure: false,
    helo: "client.test",
    from: "a@b.c",
    to: [],
    messages: 0,
  });
  assert.equal(bdat.verb, "BDAT");
  assert.deepEqual(bdat.message, new TextEncoder().encode("hi"));
  assert.deepEqual(bdat.session.to, ["d@e.f"]);
  assert.equal((await server.nextMessage()).text, "hi");
});

Deno.test("startTestServer AUTH hook can refuse, and a 235 logs in", async () => {
  await using server = await startTestServer({
    auth: { users: { u: "p" }, required: true },
    tls: "none",
    hooks: {
      AUTH: ({ count }) =>
        count === 1
          ? { reply: "454 4.7.0 Temporary authentication failure" }
          : {
            reply: "235 2.7.0 Whatever you say",
          },
    },
  });
  using client = await session(server.port);
  assert.deepEqual(await client.command("AUTH PLAIN AHUAcA=="), [
    "454 4.7.0 Temporary authentication failure",
  ]);
  assert.deepEqual(await client.command("MAIL FROM:<a@b.c>"), [
    "530 5.7.0 Authentication required",
  ]);
  assert.deepEqual(await client.command("AUTH PLAIN AHUAd3Jvbmc="), [
    "235 2.7.0 Whatever you say",
  ]);
  assert.deepEqual(await client.command("MAIL FROM:<a@b.c>"), [
    "250 2.1.0 Sender OK",
  ]);
});

Deno.test("TestServer reports an error thrown by a hook to nextMessage and close", async () => {
  const server = await startTestServer({
    tls: "none",
    hooks: {
      RCPT: ({ args }) => {
        assert.equal(args, "TO:<expected@b.c>");
      },
    },
  });
  using client = await session(server.port);
  const waiting = assert.rejects(server.nextMessage(), assert.AssertionError);
  await client.command("MAIL FROM:<a@b.c>");
  await client.send("RCPT TO:<other@b.c>\r\n");
  // The session ends: the client sees the connection close.
  assert.equal(await client.readToEnd(), "");
  await waiting;
  await assert.rejects(server.nextMessage(), assert.AssertionError);
  await assert.rejects(server.close(), assert.AssertionError);
  assert.match(server.transcripts[0]!.at(-2)!.text, /^Session error: /);
});
