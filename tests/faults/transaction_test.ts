// Faults of the mail transaction: refusals, drops and stalls.

import assert from "node:assert/strict";
import { SmtpClient } from "../../mod.ts";
import {
  interop,
  startAiosmtpd,
  startNodeSmtpServer,
  startScriptedServer,
  startSmtpSink,
} from "../_harness/mod.ts";
import {
  greet,
  plain,
  raw,
  REAL_SERVER,
  rejectsWith,
  transcript,
} from "./_helpers.ts";

function local(
  server: { port: number; certs?: { caCert: string } },
  more: Parameters<typeof plain>[1] = {},
) {
  return {
    hostname: "localhost",
    port: server.port,
    timeouts: REAL_SERVER,
    ...(server.certs
      ? { caCerts: [server.certs.caCert] }
      : { tls: "none" as const }),
    ...more,
  };
}

Deno.test(interop({
  name:
    "SmtpClient sends the next message on the same client when MAIL gets 550",
  requires: [],
  async fn() {
    await using server = await startNodeSmtpServer({
      serverOptions: {
        onMailFrom(address, _session, callback) {
          if (address.address === "blocked@example.com") {
            const error = new Error("Sender blocked") as Error & {
              responseCode: number;
            };
            error.responseCode = 550;
            return callback(error);
          }
          callback();
        },
      },
    });
    await using client = await SmtpClient.connect(local(server));
    await rejectsWith(
      client.send(
        raw("Subject: 1\n\none", ["a@example.com"], "blocked@example.com"),
      ),
      { kind: "reply", temporary: false, command: "MAIL", code: 550 },
    );
    const result = await client.send(
      raw("Subject: 2\n\ntwo", ["a@example.com"], "ok@example.com"),
    );
    assert.deepEqual(result.accepted, ["a@example.com"]);
    const message = await server.nextMessage();
    assert.equal(message.mailFrom, "ok@example.com");
    assert.match(message.text, /^Subject: 2\r\n/);
    assert.equal(server.messages.length, 1);
  },
}));

Deno.test(interop({
  name: "SmtpClient rejects with a temporary reply error when MAIL gets 4xx",
  requires: ["smtp-sink"],
  async fn() {
    await using sink = await startSmtpSink({ softReject: ["mail"] });
    await using client = await SmtpClient.connect(local(sink));
    const error = await rejectsWith(client.send(raw("Subject: x\n\nx")), {
      kind: "reply",
      temporary: true,
      command: "MAIL",
    });
    assert.equal(Math.floor(error.code! / 100), 4);
  },
}));

Deno.test(interop({
  name:
    "SmtpClient resolves with the refused recipient listed when one of three RCPT is refused",
  requires: ["aiosmtpd"],
  async fn() {
    await using server = await startAiosmtpd({
      rejectRecipients: { "b@example.com": "550 5.1.1 No such user" },
    });
    await using client = await SmtpClient.connect(local(server));
    const to = ["a@example.com", "b@example.com", "c@example.com"];
    const result = await client.send(raw("Subject: x\n\nx", to));
    assert.deepEqual(result.accepted, ["a@example.com", "c@example.com"]);
    assert.equal(result.rejected.length, 1);
    assert.equal(result.rejected[0]!.recipient, "b@example.com");
    assert.equal(result.rejected[0]!.reply.code, 550);
    assert.equal(result.rejected[0]!.reply.enhancedCode, "5.1.1");
    const message = await server.nextMessage();
    assert.deepEqual(message.rcptTo, ["a@example.com", "c@example.com"]);
  },
}));

Deno.test(interop({
  name:
    "SmtpClient rejects and the server receives no message when every RCPT is refused",
  requires: ["aiosmtpd"],
  async fn() {
    await using server = await startAiosmtpd({
      rejectRecipients: {
        "a@example.com": "550 5.1.1 No such user",
        "b@example.com": "553 5.1.3 Bad address",
      },
    });
    await using client = await SmtpClient.connect(local(server));
    await rejectsWith(
      client.send(raw("Subject: x\n\nx", ["a@example.com", "b@example.com"])),
      { kind: "reply", temporary: false, command: "RCPT", code: 550 },
    );
    // The session still works, and nothing was delivered.
    assert.equal((await client.noop()).code, 250);
    assert.deepEqual(await server.messages(), []);
  },
}));

Deno.test(interop({
  name: "SmtpClient rejects with a permanent reply error when DATA gets 554",
  requires: ["smtp-sink"],
  async fn() {
    await using sink = await startSmtpSink({ hardReject: ["data"] });
    await using client = await SmtpClient.connect(local(sink));
    const error = await rejectsWith(client.send(raw("Subject: x\n\nx")), {
      kind: "reply",
      temporary: false,
      command: "DATA",
    });
    assert.equal(Math.floor(error.code! / 100), 5);
    assert.equal(sink.stats().messages, 0);
  },
}));

for (const [code, temporary] of [[452, true], [552, false]] as const) {
  Deno.test(interop({
    name:
      `SmtpClient rejects with temporary ${temporary} when the final dot gets ${code}`,
    requires: ["aiosmtpd"],
    async fn() {
      await using server = await startAiosmtpd({
        dataReply: `${code} ${temporary ? 4 : 5}.3.1 Insufficient storage`,
      });
      await using client = await SmtpClient.connect(local(server));
      await rejectsWith(client.send(raw("Subject: x\n\nx")), {
        kind: "reply",
        temporary,
        command: "DATA",
        code,
      });
      // The transaction is over: the session still works.
      assert.equal((await client.noop()).code, 250);
    },
  }));
}

Deno.test("SmtpClient rejects with a temporary connection error when the server closes after 354", async () => {
  await using server = await startScriptedServer(async (conn) => {
    await greet(conn);
    for (let i = 0; i < 3; i++) await conn.readLine();
    await conn.write("250 ok\r\n250 ok\r\n354 go ahead\r\n");
    conn.destroy();
  });
  await using client = await SmtpClient.connect(plain(server));
  await rejectsWith(client.send(raw("Subject: x\n\n" + "x".repeat(100))), {
    kind: "connection",
    temporary: true,
    command: "DATA",
  });
  await server.finished();
});

/** An endless message: 64 KiB chunks of text, counting what was pulled. */
function endless(): {
  stream: ReadableStream<Uint8Array>;
  cancelled: () => boolean;
} {
  const line = new TextEncoder().encode("x".repeat(1022) + "\r\n");
  const chunk = new Uint8Array(65536);
  for (let i = 0; i < 64; i++) chunk.set(line, i * 1024);
  let cancelled = false;
  return {
    stream: new ReadableStream({
      pull(controller) {
        controller.enqueue(chunk.slice());
      },
      cancel() {
        cancelled = true;
      },
    }),
    cancelled: () => cancelled,
  };
}

Deno.test("SmtpClient rejects with a data timeout and releases the message when the server stops reading mid-DATA", async () => {
  await using server = await startScriptedServer(async (conn) => {
    await greet(conn);
    for (let i = 0; i < 3; i++) await conn.readLine();
    await conn.write("250 ok\r\n250 ok\r\n354 go ahead\r\n");
    conn.stopReading();
    await new Promise((resolve) => setTimeout(resolve, 1500));
  });
  await using client = await SmtpClient.connect(plain(server));
  const message = endless();
  await rejectsWith(client.send(raw(message.stream)), {
    kind: "timeout",
    temporary: true,
    command: "DATA",
  });
  // The caller's stream is cancelled, not left half read.
  assert.ok(message.cancelled());
  await client.quit();
  await server.finished();
});

Deno.test(interop({
  name:
    "SmtpClient closes the session when RCPT gets 421, and later calls fail clearly",
  requires: ["aiosmtpd"],
  async fn() {
    await using server = await startAiosmtpd({
      rejectRecipients: { "b@example.com": "421 4.3.2 Service shutting down" },
    });
    const log = transcript();
    await using client = await SmtpClient.connect(
      local(server, { logger: log.logger }),
    );
    await rejectsWith(
      client.send(raw("Subject: x\n\nx", ["a@example.com", "b@example.com"])),
      { kind: "reply", temporary: true, command: "RCPT", code: 421 },
    );
    const later = await rejectsWith(client.send(raw("Subject: y\n\ny")), {
      kind: "reply",
      temporary: true,
      command: "RCPT",
      code: 421,
    });
    assert.match(later.message, /closing the connection/);
    await rejectsWith(client.noop(), {
      kind: "reply",
      temporary: true,
      command: "RCPT",
    });
    // Nothing was written after the 421: no RSET, no QUIT.
    const sent = log.events.filter((e) => e.type === "client").map((e) =>
      e.text.split(" ")[0]
    );
    assert.deepEqual(sent, [
      "EHLO",
      "STARTTLS",
      "EHLO",
      "MAIL",
      "RCPT",
      "RCPT",
    ]);
    assert.deepEqual(await server.messages(), []);
  },
}));

Deno.test(interop({
  name:
    "SmtpClient refuses a message over the advertised SIZE before MAIL when its size is known",
  requires: ["aiosmtpd"],
  async fn() {
    await using server = await startAiosmtpd({ sizeLimit: 100 });
    const log = transcript();
    await using client = await SmtpClient.connect(
      local(server, { logger: log.logger }),
    );
    await rejectsWith(client.send(raw("Subject: x\n\n" + "z".repeat(200))), {
      kind: "unsupported",
      temporary: false,
      command: "MAIL",
      message: /exceed the server's limit of 100/,
    });
    assert.ok(
      !log.events.some((e) => e.type === "client" && e.text.startsWith("MAIL")),
    );
    // A message under the limit still goes.
    await client.send(raw("Subject: x\n\nsmall"));
    assert.equal((await server.messages()).length, 1);
  },
}));

Deno.test(interop({
  name:
    "SmtpClient refuses a non-ASCII address before MAIL when SMTPUTF8 is not offered",
  requires: ["aiosmtpd"],
  async fn() {
    await using server = await startAiosmtpd({ smtputf8: false });
    const log = transcript();
    await using client = await SmtpClient.connect(
      local(server, { logger: log.logger }),
    );
    await rejectsWith(
      client.send(raw("Subject: x\n\nx", ["josé@example.com"])),
      { kind: "unsupported", temporary: false, command: "MAIL" },
    );
    assert.ok(
      !log.events.some((e) => e.type === "client" && e.text.startsWith("MAIL")),
    );
    assert.deepEqual(await server.messages(), []);
  },
}));
