import assert from "node:assert/strict";
import { sendmail, SmtpClient, SmtpError } from "../../mod.ts";
import {
  type ScriptedConnection,
  startScriptedServer,
} from "../_harness/mod.ts";

const EHLO = "250-scripted.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n";

/** Greets, answers EHLO, MAIL, RCPT and DATA, and reads the message. */
async function upToData(conn: ScriptedConnection): Promise<void> {
  await conn.write("220 scripted.test ESMTP\r\n");
  assert.match((await conn.readLine()) ?? "", /^EHLO /);
  await conn.write(EHLO);
  assert.match((await conn.readLine()) ?? "", /^MAIL FROM:<a@example\.com>/);
  assert.equal(await conn.readLine(), "RCPT TO:<b@example.org>");
  assert.equal(await conn.readLine(), "DATA");
  await conn.write("250 2.1.0 ok\r\n250 2.1.5 ok\r\n354 go ahead\r\n");
  assert.notEqual(await conn.readData(), null);
}

const message = {
  envelope: { from: "a@example.com", to: ["b@example.org"] },
  raw: "Subject: hi\r\n\r\nHello\r\n",
};

function options(port: number) {
  return { hostname: "127.0.0.1", port, tls: "none" as const };
}

Deno.test("sendmail() sends QUIT behind the message data, before its reply", async () => {
  await using server = await startScriptedServer(async (conn) => {
    await upToData(conn);
    // QUIT arrives although the message has no reply yet: one round trip
    // for both. A client waiting for the reply first would time out here.
    assert.equal(await conn.readLine(1000), "QUIT");
    await conn.write("250 2.0.0 queued as 1\r\n221 2.0.0 bye\r\n");
    conn.close();
  });
  const result = await sendmail(options(server.port), message);
  assert.equal(result.reply.code, 250);
  assert.deepEqual(result.accepted, ["b@example.org"]);
  await server.finished();
});

Deno.test("sendmail() rejects with the server's refusal of the message when QUIT went with it", async () => {
  await using server = await startScriptedServer(async (conn) => {
    await upToData(conn);
    assert.equal(await conn.readLine(1000), "QUIT");
    // Both replies and the close at once: the refusal must still win over
    // the closed connection.
    await conn.write("554 5.7.1 message refused\r\n221 2.0.0 bye\r\n");
    conn.close();
  });
  const error = await sendmail(options(server.port), message).then(
    () => assert.fail("sendmail() resolved"),
    (error: unknown) => error,
  );
  assert.ok(error instanceof SmtpError);
  assert.equal(error.code, 554);
  assert.equal(error.temporary, false);
  await server.finished();
});

Deno.test("SmtpClient.send() waits for the message's reply before anything else", async () => {
  await using server = await startScriptedServer(async (conn) => {
    await upToData(conn);
    // Nothing more comes until the message is answered.
    assert.equal(conn.buffered, 0);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(conn.buffered, 0);
    await conn.write("250 2.0.0 queued as 1\r\n");
    assert.equal(await conn.readLine(), "NOOP");
    await conn.write("250 2.0.0 ok\r\n");
    assert.equal(await conn.readLine(), "QUIT");
    await conn.write("221 2.0.0 bye\r\n");
    conn.close();
  });
  {
    await using client = await SmtpClient.connect(options(server.port));
    const result = await client.send(message);
    assert.equal(result.reply.code, 250);
    assert.equal((await client.noop()).code, 250);
  }
  await server.finished();
});
