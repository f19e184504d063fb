// Aborting: the call rejects with the signal's reason and the socket closes.

import assert from "node:assert/strict";
import { type Connect, denoConnect, SmtpClient, SmtpError } from "../../mod.ts";
import { startScriptedServer } from "../_harness/mod.ts";
import { drain, FAST, greet, plain, raw } from "./_helpers.ts";

const SLOW = { ...FAST, greeting: 5000, command: 5000, dataEnd: 5000 };

function abortSoon(ms = 50): { signal: AbortSignal; reason: Error } {
  const controller = new AbortController();
  const reason = new Error("aborted by the test");
  setTimeout(() => controller.abort(reason), ms);
  return { signal: controller.signal, reason };
}

Deno.test("SmtpClient.connect() rejects with the reason and closes the socket when aborted while waiting for the greeting", async () => {
  await using server = await startScriptedServer(async (conn) => {
    // Silent: the client must hang up by itself.
    assert.deepEqual(await drain(conn), []);
  });
  const { signal, reason } = abortSoon();
  await assert.rejects(
    SmtpClient.connect(plain(server, { signal, timeouts: SLOW })),
    (error) => error === reason,
  );
  await server.finished();
});

Deno.test("SmtpClient.connect() rejects with the reason when aborted while the transport connects", async () => {
  await using server = await startScriptedServer(async (conn) => {
    assert.deepEqual(await drain(conn), []);
  });
  const { signal, reason } = abortSoon();
  // A transport that takes its time, and honours the signal.
  const connect: Connect = async (options) => {
    await new Promise((resolve) => setTimeout(resolve, 200));
    return denoConnect(options);
  };
  await assert.rejects(
    SmtpClient.connect(plain(server, { signal, connect, timeouts: SLOW })),
    (error) => error === reason,
  );
  // Let a late connection open and be closed.
  await new Promise((resolve) => setTimeout(resolve, 250));
  await server.finished();
});

Deno.test("SmtpClient.connect() rejects at once without connecting when the signal is already aborted", async () => {
  await using server = await startScriptedServer(async () => {});
  const reason = new Error("already");
  await assert.rejects(
    SmtpClient.connect(plain(server, { signal: AbortSignal.abort(reason) })),
    (error) => error === reason,
  );
  assert.equal(server.connections, 0);
});

Deno.test("SmtpClient.connect() rejects with the reason and closes the socket when aborted during AUTH", async () => {
  await using server = await startScriptedServer(async (conn) => {
    await greet(conn, "250-auth.test\r\n250 AUTH PLAIN\r\n");
    assert.match((await conn.readLine()) ?? "", /^AUTH PLAIN /);
    // Never answers; no QUIT follows the abort.
    assert.deepEqual(await drain(conn), []);
  });
  const { signal, reason } = abortSoon();
  await assert.rejects(
    SmtpClient.connect(
      plain(server, {
        signal,
        timeouts: SLOW,
        auth: { username: "joe", password: "pw" },
      }),
    ),
    (error) => error === reason,
  );
  await server.finished();
});

Deno.test("SmtpClient.send() rejects with the reason and closes the socket when aborted during DATA", async () => {
  await using server = await startScriptedServer(async (conn) => {
    await greet(conn);
    for (let i = 0; i < 3; i++) await conn.readLine();
    await conn.write("250 ok\r\n250 ok\r\n354 go\r\n");
    assert.ok(await conn.readData());
    // No reply to the final dot.
    assert.deepEqual(await drain(conn), []);
  });
  await using client = await SmtpClient.connect(
    plain(server, { timeouts: SLOW }),
  );
  const { signal, reason } = abortSoon();
  await assert.rejects(
    client.send(raw("Subject: x\n\nx"), { signal }),
    (error) => error === reason,
  );
  // The session is over: later calls fail with an SmtpError, at once.
  await assert.rejects(client.noop(), SmtpError);
  await server.finished();
});

Deno.test("SmtpClient.send() rejects with the reason and cancels the message when aborted while data is written", async () => {
  await using server = await startScriptedServer(async (conn) => {
    await greet(conn);
    for (let i = 0; i < 3; i++) await conn.readLine();
    await conn.write("250 ok\r\n250 ok\r\n354 go\r\n");
    conn.stopReading();
    await new Promise((resolve) => setTimeout(resolve, 500));
  });
  await using client = await SmtpClient.connect(
    plain(server, { timeouts: { ...SLOW, data: 5000 } }),
  );
  let cancelled = false;
  const chunk = new TextEncoder().encode("z".repeat(65534) + "\r\n");
  const endless = new ReadableStream<Uint8Array>({
    pull: (controller) => controller.enqueue(chunk),
    cancel: () => {
      cancelled = true;
    },
  });
  const { signal, reason } = abortSoon(100);
  await assert.rejects(
    client.send(raw(endless), { signal }),
    (error) => error === reason,
  );
  assert.ok(cancelled);
  await server.finished();
});

Deno.test("SmtpClient.quit() returns after its timeout when QUIT is never answered", async () => {
  await using server = await startScriptedServer(async (conn) => {
    await greet(conn);
    assert.equal(await conn.readLine(), "QUIT");
    // Silent, and keeps the connection open until the client closes it.
    assert.equal(await conn.readLine(), null);
  });
  const client = await SmtpClient.connect(plain(server));
  await client.quit();
  // Calls after quit() fail clearly.
  await assert.rejects(
    client.noop(),
    (error) => error instanceof SmtpError && error.kind === "closed",
  );
  await server.finished();
});

Deno.test("SmtpClient calls reject with the reason and the socket closes when the session signal is aborted", async () => {
  await using server = await startScriptedServer(async (conn) => {
    await greet(conn);
    assert.deepEqual(await drain(conn), []);
  });
  const controller = new AbortController();
  const client = await SmtpClient.connect(
    plain(server, { signal: controller.signal }),
  );
  const reason = new Error("session aborted");
  controller.abort(reason);
  await assert.rejects(client.noop(), (error) => error === reason);
  await assert.rejects(
    client.send(raw("Subject: x\n\nx")),
    (error) => error === reason,
  );
  await client.quit();
  await server.finished();
});
