// Faults of the connection and the greeting.

import assert from "node:assert/strict";
import { SmtpClient } from "../../mod.ts";
import { freePort, startScriptedServer } from "../_harness/mod.ts";
import { drain, greet, plain, rejectsWith } from "./_helpers.ts";

Deno.test("SmtpClient rejects with a temporary connection error when the connection is refused", async () => {
  const port = freePort();
  await rejectsWith(
    SmtpClient.connect(plain({ hostname: "127.0.0.1", port })),
    { kind: "connection", temporary: true, command: "CONNECT" },
  );
});

Deno.test("SmtpClient rejects with a greeting timeout when the server accepts but stays silent", async () => {
  await using server = await startScriptedServer(async (conn) => {
    // Silent until the client gives up and closes.
    assert.equal(await conn.readLine(2000), null);
  });
  await rejectsWith(SmtpClient.connect(plain(server)), {
    kind: "timeout",
    temporary: true,
    command: "CONNECT",
  });
  await server.finished();
});

Deno.test("SmtpClient rejects with a permanent reply error and sends QUIT when the greeting is 554", async () => {
  await using server = await startScriptedServer(async (conn) => {
    await conn.write("554 5.3.2 No service for you\r\n");
    assert.deepEqual(await drain(conn), ["QUIT"]);
  });
  const error = await rejectsWith(SmtpClient.connect(plain(server)), {
    kind: "reply",
    temporary: false,
    command: "CONNECT",
    code: 554,
  });
  assert.equal(error.enhancedCode, "5.3.2");
  await server.finished();
});

Deno.test("SmtpClient rejects with a temporary reply error when the greeting is 421", async () => {
  await using server = await startScriptedServer(async (conn) => {
    await conn.write("421 4.3.2 Too busy, try later\r\n");
    // The server is closing: the client must not wait for anything.
    assert.deepEqual(await drain(conn), []);
  });
  await rejectsWith(SmtpClient.connect(plain(server)), {
    kind: "reply",
    temporary: true,
    command: "CONNECT",
    code: 421,
  });
  await server.finished();
});

for (const tls of ["none", "starttls"] as const) {
  Deno.test(`SmtpClient rejects with a protocol error when the greeting is garbage (tls ${tls})`, async () => {
    await using server = await startScriptedServer(async (conn) => {
      await conn.write("HTTP/1.1 400 Bad Request\r\n\r\n");
      assert.deepEqual(await drain(conn), []);
    });
    await rejectsWith(SmtpClient.connect(plain(server, { tls })), {
      kind: "protocol",
      temporary: false,
      command: "CONNECT",
    });
    await server.finished();
  });
}

for (const tls of ["none", "starttls"] as const) {
  Deno.test(`SmtpClient rejects with a temporary connection error when the server closes right after accept (tls ${tls})`, async () => {
    await using server = await startScriptedServer((conn) => {
      conn.destroy();
      return Promise.resolve();
    });
    await rejectsWith(SmtpClient.connect(plain(server, { tls })), {
      kind: "connection",
      temporary: true,
      command: "CONNECT",
    });
    await server.finished();
  });
}

for (const tls of ["none", "opportunistic"] as const) {
  Deno.test(`SmtpClient connects when the greeting arrives one byte at a time (tls ${tls})`, async () => {
    await using server = await startScriptedServer(async (conn) => {
      for (
        const byte of new TextEncoder().encode(
          "220-slow.test ESMTP\r\n220 ready\r\n",
        )
      ) {
        await conn.write(new Uint8Array([byte]));
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      assert.equal(await conn.readLine(), "EHLO localhost");
      for (
        const byte of new TextEncoder().encode(
          "250-slow.test\r\n250 SIZE 1000\r\n",
        )
      ) {
        await conn.write(new Uint8Array([byte]));
      }
      assert.equal(await conn.readLine(), "NOOP");
      await conn.write("250 2.0.0 ok\r\n");
      assert.deepEqual(await drain(conn), ["QUIT"]);
    });
    await using client = await SmtpClient.connect(plain(server, { tls }));
    assert.equal(client.capabilities.size, 1000);
    assert.equal((await client.noop()).code, 250);
    await client.quit();
    await server.finished();
  });
}

Deno.test("SmtpClient connects when the greeting is multiline", async () => {
  await using server = await startScriptedServer(async (conn) => {
    await conn.write(
      "220-mx.test ESMTP\r\n220-No UCE\r\n220 Welcome\r\n",
    );
    assert.equal(await conn.readLine(), "EHLO localhost");
    await conn.write("250 mx.test\r\n");
    assert.deepEqual(await drain(conn), ["QUIT"]);
  });
  const client = await SmtpClient.connect(plain(server));
  assert.equal(client.capabilities.domain, "mx.test");
  await client.quit();
  await server.finished();
});

Deno.test("SmtpClient rejects with a temporary error when the server drops the connection after EHLO", async () => {
  await using server = await startScriptedServer(async (conn) => {
    await greet(conn);
    assert.equal(await conn.readLine(), "NOOP");
    conn.destroy();
  });
  await using client = await SmtpClient.connect(plain(server));
  await rejectsWith(client.noop(), {
    kind: "connection",
    temporary: true,
    command: "NOOP",
  });
  // Later calls fail the same way, at once.
  await rejectsWith(client.noop(), {
    kind: "connection",
    temporary: true,
    command: "NOOP",
  });
  await server.finished();
});
