// Sessions in memory: how sends share one connection. Pipelining across
// sends (RFC 2920 §3.1), its fallback, aborts, LMTP, QUIT behind the data.

import assert from "node:assert/strict";
import { type Connect, sendmail, SmtpClient, SmtpError } from "../../mod.ts";
import { type MemoryServerConnection, memoryTransport } from "../../testing.ts";

const raw = (subject: string, to = ["b@example.com"]) => ({
  envelope: { from: "a@example.com", to },
  raw: `Subject: ${subject}\r\n\r\nbody of ${subject}\r\n`,
});

async function greet(
  server: MemoryServerConnection,
  extensions: string[],
  hello = "EHLO localhost",
): Promise<void> {
  server.write("220 mx.test ESMTP\r\n");
  assert.equal(await server.readLine(), hello);
  const lines = ["mx.test", ...extensions];
  server.write(
    lines.map((l, i) => `250${i < lines.length - 1 ? "-" : " "}${l}\r\n`)
      .join(""),
  );
}

/** Reads the client's lines until (and with) one matching `last`. */
async function readUntil(
  server: MemoryServerConnection,
  last: RegExp,
): Promise<string[]> {
  const lines: string[] = [];
  while (true) {
    const line = await server.readLine();
    assert.notEqual(line, null, `closed before ${last}`);
    lines.push(line!);
    if (last.test(line!)) return lines;
  }
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 20));

function connect(transport: { connect: Connect }, extra = {}) {
  return SmtpClient.connect({
    hostname: "mx.test",
    tls: "none",
    connect: transport.connect,
    timeouts: { command: 2000, data: 2000, dataEnd: 2000, quit: 500 },
    ...extra,
  });
}

Deno.test("SmtpClient.send() writes the next message's envelope behind the previous message's data under PIPELINING", async () => {
  const transport = memoryTransport(async (server) => {
    await greet(server, ["PIPELINING"]);
    assert.deepEqual(await readUntil(server, /^DATA$/), [
      "MAIL FROM:<a@example.com>",
      "RCPT TO:<b@example.com>",
      "DATA",
    ]);
    server.write("250 ok\r\n250 ok\r\n354 go\r\n");
    assert.match(new TextDecoder().decode((await server.readData())!), /one/);
    // No reply to the first message yet: the second's commands are here.
    assert.deepEqual(await readUntil(server, /^DATA$/), [
      "MAIL FROM:<a@example.com>",
      "RCPT TO:<b@example.com>",
      "DATA",
    ]);
    server.write("250 first queued\r\n250 ok\r\n250 ok\r\n354 go\r\n");
    assert.match(new TextDecoder().decode((await server.readData())!), /two/);
    server.write("250 second queued\r\n");
    assert.equal(await server.readLine(), "QUIT");
    server.write("221 bye\r\n");
  });
  const client = await connect(transport);
  const [one, two] = await Promise.all([
    client.send(raw("one")),
    client.send(raw("two")),
  ]);
  assert.equal(one.reply.text, "first queued");
  assert.equal(two.reply.text, "second queued");
  await client.quit();
  await transport.finished();
});

Deno.test("SmtpClient.send() waits for the previous reply before the next envelope without PIPELINING", async () => {
  const transport = memoryTransport(async (server) => {
    await greet(server, []);
    for (const subject of ["one", "two"]) {
      assert.equal(await server.readLine(), "MAIL FROM:<a@example.com>");
      server.write("250 ok\r\n");
      assert.equal(await server.readLine(), "RCPT TO:<b@example.com>");
      server.write("250 ok\r\n");
      assert.equal(await server.readLine(), "DATA");
      server.write("354 go\r\n");
      assert.match(
        new TextDecoder().decode((await server.readData())!),
        new RegExp(subject),
      );
      await tick();
      assert.equal(server.buffered, 0, "nothing may follow the data unasked");
      server.write(`250 ${subject} queued\r\n`);
    }
    assert.equal(await server.readLine(), "QUIT");
    server.write("221 bye\r\n");
  });
  const client = await connect(transport);
  const results = await Promise.all([
    client.send(raw("one")),
    client.send(raw("two")),
  ]);
  assert.deepEqual(results.map((r) => r.reply.text), [
    "one queued",
    "two queued",
  ]);
  await client.quit();
  await transport.finished();
});

Deno.test("SmtpClient.send() sends the envelope again, without pipelining behind data, when the server answers 503 to it", async () => {
  const transport = memoryTransport(async (server) => {
    await greet(server, ["PIPELINING"]);
    await readUntil(server, /^DATA$/);
    server.write("250 ok\r\n250 ok\r\n354 go\r\n");
    await server.readData();
    await readUntil(server, /^DATA$/);
    // As Haraka does: the message's reply, then 503 to each command that
    // was pipelined after the end of its data.
    server.write(
      "250 first queued\r\n" +
        "503 pipelined after end of DATA\r\n".repeat(3),
    );
    assert.deepEqual(await readUntil(server, /^DATA$/), [
      "MAIL FROM:<a@example.com>",
      "RCPT TO:<b@example.com>",
      "DATA",
    ]);
    server.write("250 ok\r\n250 ok\r\n354 go\r\n");
    await server.readData();
    await tick();
    assert.equal(server.buffered, 0, "the third send waits for this reply");
    server.write("250 second queued\r\n");
    await readUntil(server, /^DATA$/);
    server.write("250 ok\r\n250 ok\r\n354 go\r\n");
    await server.readData();
    server.write("250 third queued\r\n");
    assert.equal(await server.readLine(), "QUIT");
    server.write("221 bye\r\n");
  });
  const client = await connect(transport);
  const results = await Promise.all(
    ["one", "two", "three"].map((s) => client.send(raw(s))),
  );
  assert.deepEqual(results.map((r) => r.reply.text), [
    "first queued",
    "second queued",
    "third queued",
  ]);
  await client.quit();
  await transport.finished();
});

Deno.test("SmtpClient.send() aborted while its commands follow an unanswered message keeps that message's reply", async () => {
  const controller = new AbortController();
  const transport = memoryTransport(async (server) => {
    await greet(server, ["PIPELINING"]);
    await readUntil(server, /^DATA$/);
    server.write("250 ok\r\n250 ok\r\n354 go\r\n");
    await server.readData();
    await readUntil(server, /^DATA$/);
    controller.abort(new Error("second no longer wanted"));
    await tick();
    server.write("250 first queued\r\n250 ok\r\n250 ok\r\n354 go\r\n");
    // The client hangs up: the second message's data never comes.
    assert.equal(await server.readData(), null);
  });
  const client = await connect(transport);
  const first = client.send(raw("one"));
  const second = client.send(raw("two"), { signal: controller.signal });
  await assert.rejects(second, /second no longer wanted/);
  assert.equal((await first).reply.text, "first queued");
  await assert.rejects(
    client.noop(),
    (e) => e instanceof SmtpError && e.kind === "closed",
  );
  await client.quit();
  await transport.finished();
});

Deno.test("SmtpClient.send() aborted while queued is dropped without touching the connection", async () => {
  const controller = new AbortController();
  const transport = memoryTransport(async (server) => {
    await greet(server, []);
    assert.equal(await server.readLine(), "MAIL FROM:<a@example.com>");
    controller.abort(new Error("changed my mind"));
    await tick();
    server.write("250 ok\r\n");
    assert.equal(await server.readLine(), "RCPT TO:<b@example.com>");
    server.write("250 ok\r\n");
    assert.equal(await server.readLine(), "DATA");
    server.write("354 go\r\n");
    await server.readData();
    server.write("250 first queued\r\n");
    // Not the aborted message: the one sent after it.
    assert.equal(await server.readLine(), "NOOP");
    server.write("250 still here\r\n");
    assert.equal(await server.readLine(), "QUIT");
    server.write("221 bye\r\n");
  });
  const client = await connect(transport);
  const first = client.send(raw("one"));
  const dropped = client.send(raw("two"), { signal: controller.signal });
  await assert.rejects(dropped, /changed my mind/);
  assert.equal((await first).reply.text, "first queued");
  assert.equal((await client.noop()).text, "still here");
  await client.quit();
  await transport.finished();
});

Deno.test("SmtpClient.send() pipelines BDAT transactions behind each other under CHUNKING", async () => {
  const transport = memoryTransport(async (server) => {
    await greet(server, ["PIPELINING", "CHUNKING"]);
    const size = (subject: string) =>
      new TextEncoder().encode(raw(subject).raw).length;
    for (const subject of ["one", "two"]) {
      assert.deepEqual(await readUntil(server, /^BDAT/), [
        // Behind an envelope not answered yet: RSET first (see below).
        ...(subject === "two" ? ["RSET"] : []),
        "MAIL FROM:<a@example.com>",
        "RCPT TO:<b@example.com>",
        `BDAT ${size(subject)} LAST`,
      ]);
      await server.readBytes(size(subject));
    }
    // Both messages arrived before any reply was sent.
    server.write(
      "250 ok\r\n250 ok\r\n250 one\r\n250 reset\r\n250 ok\r\n250 ok\r\n250 two\r\n",
    );
    assert.equal(await server.readLine(), "QUIT");
    server.write("221 bye\r\n");
  });
  const client = await connect(transport);
  const results = await Promise.all([
    client.send(raw("one")),
    client.send(raw("two")),
  ]);
  assert.deepEqual(results.map((r) => r.reply.text), ["one", "two"]);
  await client.quit();
  await transport.finished();
});

Deno.test("SmtpClient with lmtp reads one reply per accepted recipient after the data", async () => {
  const transport = memoryTransport(async (server) => {
    await greet(server, ["PIPELINING"], "LHLO localhost");
    assert.deepEqual(await readUntil(server, /^DATA$/), [
      "MAIL FROM:<a@example.com>",
      "RCPT TO:<x@example.com>",
      "RCPT TO:<y@example.com>",
      "RCPT TO:<z@example.com>",
      "DATA",
    ]);
    server.write(
      "250 ok\r\n250 ok\r\n550 5.1.1 unknown\r\n250 ok\r\n354 go\r\n",
    );
    await server.readData();
    server.write("250 2.0.0 x delivered\r\n452 4.2.2 z over quota\r\n");
    assert.equal(await server.readLine(), "QUIT");
    server.write("221 bye\r\n");
  });
  const client = await connect(transport, { lmtp: true });
  const result = await client.send(
    raw("lmtp", ["x@example.com", "y@example.com", "z@example.com"]),
  );
  assert.deepEqual(result.accepted, ["x@example.com"]);
  assert.deepEqual(result.rejected.map((r) => [r.recipient, r.reply.code]), [
    ["y@example.com", 550],
    ["z@example.com", 452],
  ]);
  assert.equal(result.reply.text, "x delivered");
  await client.quit();
  await transport.finished();
});

Deno.test("SmtpClient with lmtp rejects when every recipient is refused after the data", async () => {
  const transport = memoryTransport(async (server) => {
    await greet(server, ["PIPELINING", "CHUNKING"], "LHLO localhost");
    assert.deepEqual(await readUntil(server, /^RCPT TO:<y/), [
      "MAIL FROM:<a@example.com>",
      "RCPT TO:<x@example.com>",
      "RCPT TO:<y@example.com>",
    ]);
    server.write("250 ok\r\n250 ok\r\n250 ok\r\n");
    // The single chunk goes once the recipients are known.
    assert.match((await server.readLine())!, /^BDAT \d+ LAST$/);
    await server.readBytes(new TextEncoder().encode(raw("l").raw).length);
    server.write("452 4.2.2 x full\r\n452 4.2.2 y full\r\n");
    assert.equal(await server.readLine(), "QUIT");
    server.write("221 bye\r\n");
  });
  const client = await connect(transport, { lmtp: true });
  await assert.rejects(
    client.send(raw("l", ["x@example.com", "y@example.com"])),
    (error) =>
      error instanceof SmtpError && error.command === "BDAT" &&
      error.temporary && error.code === 452,
  );
  await client.quit();
  await transport.finished();
});

Deno.test("sendmail() sends QUIT only after the reply when the server does not offer PIPELINING", async () => {
  const transport = memoryTransport(async (server) => {
    await greet(server, []);
    for (const reply of ["250 ok", "250 ok", "354 go"]) {
      await server.readLine();
      server.write(reply + "\r\n");
    }
    await server.readData();
    await tick();
    assert.equal(server.buffered, 0, "QUIT must not arrive with the data");
    server.write("250 queued\r\n");
    assert.equal(await server.readLine(), "QUIT");
    server.write("221 bye\r\n");
  });
  const result = await sendmail(
    { hostname: "mx.test", tls: "none", connect: transport.connect },
    raw("x"),
  );
  assert.equal(result.reply.text, "queued");
  await transport.finished();
});

Deno.test("sendmail() sends QUIT right behind the data under PIPELINING", async () => {
  const transport = memoryTransport(async (server) => {
    await greet(server, ["PIPELINING"]);
    await readUntil(server, /^DATA$/);
    server.write("250 ok\r\n250 ok\r\n354 go\r\n");
    await server.readData();
    assert.equal(await server.readLine(), "QUIT");
    server.write("250 queued\r\n221 bye\r\n");
    server.close();
  });
  const result = await sendmail(
    { hostname: "mx.test", tls: "none", connect: transport.connect },
    raw("x"),
  );
  assert.equal(result.reply.text, "queued");
  await transport.finished();
});

Deno.test("SmtpClient.send() sets maybeDelivered only when the connection fails after the end of the data", async () => {
  for (const after of [true, false]) {
    const transport = memoryTransport(async (server) => {
      await greet(server, ["PIPELINING"]);
      await readUntil(server, /^DATA$/);
      if (!after) return server.reset();
      server.write("250 ok\r\n250 ok\r\n354 go\r\n");
      await server.readData();
      server.reset();
    });
    const client = await connect(transport);
    await assert.rejects(client.send(raw("x")), (error) => {
      assert.ok(error instanceof SmtpError, String(error));
      assert.equal(error.maybeDelivered, after, error.message);
      assert.equal(error.temporary, true);
      return true;
    });
    await client.quit();
    await transport.finished();
  }
});

Deno.test("SmtpClient.send() behind a BDAT send whose recipients are all refused starts with RSET, so it never joins that transaction", async () => {
  const size = (subject: string) =>
    new TextEncoder().encode(raw(subject).raw).length;
  const transport = memoryTransport(async (server) => {
    await greet(server, ["PIPELINING", "CHUNKING"]);
    assert.deepEqual(await readUntil(server, /^BDAT/), [
      "MAIL FROM:<a@example.com>",
      "RCPT TO:<nobody@example.com>",
      `BDAT ${size("one")} LAST`,
    ]);
    await server.readBytes(size("one"));
    // The second send's commands arrive before any reply: RSET first.
    assert.deepEqual(await readUntil(server, /^BDAT/), [
      "RSET",
      "MAIL FROM:<a@example.com>",
      "RCPT TO:<b@example.com>",
      `BDAT ${size("two")} LAST`,
    ]);
    await server.readBytes(size("two"));
    // As Postfix: MAIL accepted, the recipient refused, the chunk refused
    // with the transaction left open; then RSET ends it.
    server.write(
      "250 ok\r\n550 5.1.1 no such user\r\n554 5.5.1 no valid recipients\r\n" +
        "250 reset\r\n250 ok\r\n250 ok\r\n250 two queued\r\n",
    );
    // No RSET of the first send's own after that: it would reset nothing
    // now, but it would have reset the second one's transaction.
    assert.equal(await server.readLine(), "QUIT");
    server.write("221 bye\r\n");
  });
  const client = await connect(transport);
  const [one, two] = await Promise.allSettled([
    client.send(raw("one", ["nobody@example.com"])),
    client.send(raw("two")),
  ]);
  assert.equal(one.status, "rejected");
  assert.equal(
    (one as PromiseRejectedResult).reason.command,
    "RCPT",
  );
  assert.equal(two.status, "fulfilled");
  assert.equal(
    (two as PromiseFulfilledResult<{ reply: { text: string } }>).value.reply
      .text,
    "two queued",
  );
  await client.quit();
  await transport.finished();
});

Deno.test("SmtpClient.send() rejects at once with the reason of a signal aborted before the call", async () => {
  const transport = memoryTransport(async (server) => {
    await greet(server, ["PIPELINING"]);
    // Nothing of the aborted send: the next command is QUIT.
    assert.equal(await server.readLine(), "QUIT");
    server.write("221 bye\r\n");
  });
  const client = await connect(transport);
  const reason = new Error("too late");
  await assert.rejects(
    client.send(raw("x"), { signal: AbortSignal.abort(reason) }),
    (error) => error === reason,
  );
  await client.quit();
  await transport.finished();
});

for (
  const [what, fault] of [["drops", "reset"], ["answers 421", "421"]] as const
) {
  Deno.test(`SmtpClient.send() with BDAT LAST in its envelope's write sets maybeDelivered only when the connection ${what} before any reply`, async () => {
    const transport = memoryTransport(async (server) => {
      await greet(server, ["PIPELINING", "CHUNKING"]);
      await readUntil(server, /^BDAT \d+ LAST$/);
      await server.readBytes(new TextEncoder().encode(raw("x").raw).length);
      if (fault === "reset") return server.reset();
      server.write("421 4.3.2 going down\r\n");
      server.close();
    });
    const client = await connect(transport);
    await assert.rejects(client.send(raw("x")), (error) => {
      assert.ok(error instanceof SmtpError, String(error));
      assert.equal(error.maybeDelivered, fault === "reset", error.message);
      return true;
    });
    await client.quit();
    await transport.finished();
  });
}
