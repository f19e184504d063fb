// Issue 11 item 1: replies already received must be handed out, in order,
// before the failure of a connection that closes behind them. Only what is
// still awaited fails; a caller that retried would send the mail twice.

import assert from "node:assert/strict";
import { sendmail, SmtpClient, SmtpError } from "../../mod.ts";
import { startTestServer } from "../../testing.ts";
import { startScriptedServer } from "../_harness/mod.ts";
import { FAST, greet, plain, raw } from "./_helpers.ts";

Deno.test("sendmail() succeeds when the server answers BDAT and QUIT together and closes, under opportunistic TLS without STARTTLS", async () => {
  // The capture server without STARTTLS, with CHUNKING: the session stays
  // in plaintext and reads eagerly; the message's 250 and the 221 arrive
  // together and the server closes.
  await using server = await startTestServer({
    tls: "none",
    extensions: ["PIPELINING", "CHUNKING", "8BITMIME"],
  });
  for (let i = 0; i < 5; i++) {
    const result = await sendmail(
      {
        hostname: server.hostname,
        port: server.port,
        tls: "opportunistic",
      },
      raw(`Subject: ${i}\r\n\r\nbody\r\n`),
    );
    assert.equal(result.reply.code, 250);
  }
  assert.equal(server.messages.length, 5);
});

for (const mode of ["DATA", "BDAT"] as const) {
  for (const closing of ["221 bye", "421 4.3.2 shutting down"]) {
    for (const tls of ["none", "opportunistic"] as const) {
      Deno.test(`sendmail() keeps the message's reply when "${closing}" follows it in one segment and the server closes (${mode}, tls ${tls})`, async () => {
        await using server = await startScriptedServer(async (conn) => {
          await greet(
            conn,
            mode === "BDAT"
              ? "250-scripted.test\r\n250-PIPELINING\r\n250 CHUNKING\r\n"
              : undefined,
          );
          await conn.readLine(); // MAIL
          await conn.readLine(); // RCPT
          if (mode === "DATA") {
            await conn.readLine();
            await conn.write("250 ok\r\n250 ok\r\n354 go\r\n");
            await conn.readData();
          } else {
            const bdat = (await conn.readLine())!;
            const size = Number(/^BDAT (\d+) LAST$/.exec(bdat)![1]);
            let got = 0;
            while (got < size) got += (await conn.readRawLine())!.length;
            await conn.write("250 ok\r\n250 ok\r\n");
          }
          // QUIT is pipelined behind the data; the reply to the message and
          // the closing reply go in one write, then the connection closes.
          await conn.readLine();
          await conn.write(`250 2.0.0 queued as 42\r\n${closing}\r\n`);
          conn.close();
        });
        const result = await sendmail(
          plain(server, { tls }),
          raw("Subject: x\r\n\r\nbody\r\n"),
        );
        assert.equal(result.reply.text, "queued as 42");
        await server.finished();
      });
    }
  }
}

Deno.test("SmtpClient hands out the reply to the end of data although the server closed right after it", async () => {
  await using server = await startScriptedServer(async (conn) => {
    await greet(conn);
    for (let i = 0; i < 3; i++) await conn.readLine();
    await conn.write("250 ok\r\n250 ok\r\n354 go\r\n");
    await conn.readData();
    await conn.write("250 2.0.0 taken\r\n");
    conn.close();
  });
  const client = await SmtpClient.connect(plain(server));
  const result = await client.send(raw("Subject: x\r\n\r\nbody\r\n"));
  assert.equal(result.reply.text, "taken");
  // What is awaited after the close fails, typed.
  await assert.rejects(client.noop(), SmtpError);
  await client.quit();
  await server.finished();
});

Deno.test("SmtpClient fails only the replies still awaited when the connection drops mid-pipeline", async () => {
  await using server = await startScriptedServer(async (conn) => {
    await greet(conn);
    for (let i = 0; i < 4; i++) await conn.readLine();
    // MAIL and the first RCPT answered, then the connection drops.
    await conn.write("250 ok\r\n250 ok\r\n");
    conn.destroy();
  });
  const client = await SmtpClient.connect(
    plain(server, { timeouts: { ...FAST, command: 2000 } }),
  );
  await assert.rejects(
    client.send(raw("x", ["a@example.com", "b@example.com"])),
    (error) =>
      error instanceof SmtpError && error.kind === "connection" &&
      error.command === "RCPT" && error.temporary && !error.maybeDelivered,
  );
  await client.quit();
  await server.finished();
});
