// Faults around STARTTLS: stripping, injection, bad certificates.

import assert from "node:assert/strict";
import { denoConnect, SmtpClient, type SmtpClientOptions } from "../../mod.ts";
import {
  interop,
  makeUntrustedCerts,
  makeWrongNameCerts,
  type ScriptedServer,
  startAiosmtpd,
  startScriptedServer,
} from "../_harness/mod.ts";
import { drain, FAST, raw, rejectsWith, transcript } from "./_helpers.ts";

const OFFERS_STARTTLS = "250-tls.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n";

function viaTls(
  server: ScriptedServer | { port: number; certs: { caCert: string } },
  more: Partial<SmtpClientOptions> = {},
): SmtpClientOptions {
  return {
    hostname: "localhost",
    port: server.port,
    tls: "starttls",
    caCerts: [server.certs.caCert],
    timeouts: FAST,
    ...more,
  };
}

Deno.test("SmtpClient sends nothing but QUIT after EHLO when STARTTLS is required and not offered", async () => {
  await using server = await startScriptedServer(async (conn) => {
    await conn.write("220 plain.test ESMTP\r\n");
    assert.equal(await conn.readLine(), "EHLO localhost");
    await conn.write("250-plain.test\r\n250-AUTH PLAIN\r\n250 PIPELINING\r\n");
    assert.deepEqual(await drain(conn), ["QUIT"]);
  });
  await rejectsWith(
    SmtpClient.connect(
      viaTls(server, { auth: { username: "joe", password: "secret" } }),
    ),
    { kind: "tls", temporary: false, command: "STARTTLS" },
  );
  await server.finished();
});

Deno.test("SmtpClient rejects with a temporary tls error when STARTTLS gets 454 and TLS is required", async () => {
  await using server = await startScriptedServer(async (conn) => {
    await conn.write("220 tls.test ESMTP\r\n");
    assert.equal(await conn.readLine(), "EHLO localhost");
    await conn.write(OFFERS_STARTTLS);
    assert.equal(await conn.readLine(), "STARTTLS");
    await conn.write("454 4.7.0 TLS not available due to temporary reason\r\n");
    assert.deepEqual(await drain(conn), ["QUIT"]);
  });
  await rejectsWith(SmtpClient.connect(viaTls(server)), {
    kind: "tls",
    temporary: true,
    command: "STARTTLS",
    code: 454,
  });
  await server.finished();
});

Deno.test("SmtpClient sends in plaintext and says so when STARTTLS gets 454 under opportunistic TLS", async () => {
  await using server = await startScriptedServer(async (conn) => {
    await conn.write("220 tls.test ESMTP\r\n");
    assert.equal(await conn.readLine(), "EHLO localhost");
    await conn.write(OFFERS_STARTTLS);
    assert.equal(await conn.readLine(), "STARTTLS");
    await conn.write("454 4.7.0 TLS not available\r\n");
    assert.equal(await conn.readLine(), "MAIL FROM:<sender@example.com>");
    assert.equal(await conn.readLine(), "RCPT TO:<rcpt@example.com>");
    assert.equal(await conn.readLine(), "DATA");
    await conn.write("250 ok\r\n250 ok\r\n354 go\r\n");
    assert.equal(
      new TextDecoder().decode(await conn.readData() ?? undefined),
      "Subject: x\r\n\r\nx\r\n",
    );
    assert.equal(conn.secure, false);
    await conn.write("250 queued\r\n");
    assert.deepEqual(await drain(conn), ["QUIT"]);
  });
  const log = transcript();
  await using client = await SmtpClient.connect(
    viaTls(server, { tls: "opportunistic", logger: log.logger }),
  );
  assert.equal(client.secure, false);
  const result = await client.send(raw("Subject: x\n\nx"));
  assert.equal(result.secure, false);
  assert.ok(
    log.events.some((e) =>
      e.type === "info" && /STARTTLS refused \(454\).*without TLS/.test(e.text)
    ),
    log.text(),
  );
  await client.quit();
  await server.finished();
});

for (
  const [what, injected] of [
    ["a whole reply", "250 injected\r\n"],
    ["part of a reply", "250-inj"],
  ]
) {
  Deno.test(`SmtpClient fails when the server sends ${what} after its 220 to STARTTLS in one segment`, async () => {
    await using server = await startScriptedServer(async (conn) => {
      await conn.write("220 tls.test ESMTP\r\n");
      assert.equal(await conn.readLine(), "EHLO localhost");
      await conn.write(OFFERS_STARTTLS);
      assert.equal(await conn.readLine(), "STARTTLS");
      await conn.write(`220 Ready to start TLS\r\n${injected}`);
      // No handshake, no command: the client hangs up.
      assert.deepEqual(await drain(conn), []);
    });
    await rejectsWith(SmtpClient.connect(viaTls(server)), {
      kind: "protocol",
      temporary: false,
      command: "STARTTLS",
    });
    await server.finished();
  });
}

for (
  const [what, makeCerts] of [
    ["untrusted", makeUntrustedCerts],
    ["issued for another name", makeWrongNameCerts],
  ] as const
) {
  Deno.test(interop({
    name:
      `SmtpClient rejects with a permanent tls error when the STARTTLS certificate is ${what}`,
    requires: ["aiosmtpd"],
    async fn() {
      const certs = await makeCerts();
      await using server = await startAiosmtpd({
        certs,
        auth: [{ username: "joe", password: "secret" }],
        authRequireTls: false,
      });
      const { makeTestCerts } = await import("../_harness/mod.ts");
      const trusted = await makeTestCerts();
      const log = transcript();
      await rejectsWith(
        SmtpClient.connect({
          ...viaTls(server, { logger: log.logger }),
          caCerts: [trusted.caCert],
          auth: { username: "joe", password: "secret" },
        }),
        { kind: "tls", temporary: false, command: "STARTTLS" },
      );
      // Nothing after the failed handshake: no AUTH in the clear.
      assert.deepEqual(
        log.events.filter((e) => e.type === "client").map((e) => e.text),
        ["EHLO localhost", "STARTTLS"],
      );
      assert.deepEqual(await server.authAttempts(), []);
    },
  }));
}

Deno.test("SmtpClient rejects with a temporary connection error when the server closes during the TLS handshake", async () => {
  await using server = await startScriptedServer(async (conn) => {
    await conn.write("220 tls.test ESMTP\r\n");
    assert.equal(await conn.readLine(), "EHLO localhost");
    await conn.write(OFFERS_STARTTLS);
    assert.equal(await conn.readLine(), "STARTTLS");
    await conn.write("220 Ready\r\n");
    // Wait for the ClientHello, then hang up.
    assert.ok(await conn.readRawLine(500).catch(() => new Uint8Array()));
    conn.destroy();
  });
  await rejectsWith(SmtpClient.connect(viaTls(server)), {
    kind: "connection",
    temporary: true,
    command: "STARTTLS",
  });
  await server.finished();
});

Deno.test("SmtpClient rejects with a tls error when the server stays in plaintext after its 220 to STARTTLS", async () => {
  await using server = await startScriptedServer(async (conn) => {
    await conn.write("220 tls.test ESMTP\r\n");
    assert.equal(await conn.readLine(), "EHLO localhost");
    await conn.write(OFFERS_STARTTLS);
    assert.equal(await conn.readLine(), "STARTTLS");
    await conn.write("220 Ready\r\n");
    // The ClientHello is answered with plaintext SMTP.
    await new Promise((resolve) => setTimeout(resolve, 20));
    await conn.write("250-tls.test\r\n250 AUTH PLAIN\r\n").catch(() => {});
    await drain(conn);
  });
  await rejectsWith(SmtpClient.connect(viaTls(server)), {
    kind: "tls",
    temporary: false,
    command: "STARTTLS",
  });
  await server.finished();
});

Deno.test("SmtpClient rejects with a timeout when the server never answers the TLS handshake", async () => {
  await using server = await startScriptedServer(async (conn) => {
    await conn.write("220 tls.test ESMTP\r\n");
    assert.equal(await conn.readLine(), "EHLO localhost");
    await conn.write(OFFERS_STARTTLS);
    assert.equal(await conn.readLine(), "STARTTLS");
    await conn.write("220 Ready\r\n");
    // Silent. (Deno keeps a socket whose handshake was interrupted open
    // until the peer closes it: the script ends, and the server closes.)
    await new Promise((resolve) => setTimeout(resolve, 500));
  });
  await rejectsWith(SmtpClient.connect(viaTls(server)), {
    kind: "timeout",
    temporary: true,
    command: "STARTTLS",
  });
  await server.finished();
});

Deno.test("SmtpClient uses the capabilities offered after STARTTLS, not those before", async () => {
  await using server = await startScriptedServer(async (conn) => {
    await conn.write("220 tls.test ESMTP\r\n");
    assert.equal(await conn.readLine(), "EHLO localhost");
    // Before TLS: a tiny SIZE, AUTH LOGIN only, and PIPELINING.
    await conn.write(
      "250-before.test\r\n250-SIZE 10\r\n250-AUTH LOGIN\r\n250-PIPELINING\r\n250 STARTTLS\r\n",
    );
    assert.equal(await conn.readLine(), "STARTTLS");
    await conn.write("220 Ready\r\n");
    await conn.startTls();
    assert.equal(await conn.readLine(), "EHLO localhost");
    // After TLS: AUTH PLAIN, a large SIZE, no PIPELINING.
    await conn.write("250-after.test\r\n250-SIZE 100000\r\n250 AUTH PLAIN\r\n");
    const auth = await conn.readLine();
    assert.equal(
      auth,
      `AUTH PLAIN ${new TextEncoder().encode("\0joe\0secret").toBase64()}`,
    );
    await conn.write("235 2.7.0 ok\r\n");
    assert.equal(
      await conn.readLine(),
      "MAIL FROM:<sender@example.com> SIZE=30",
    );
    // Lock-step: nothing else was sent before this reply.
    assert.equal(conn.buffered, 0);
    await conn.write("250 ok\r\n");
    assert.equal(await conn.readLine(), "RCPT TO:<rcpt@example.com>");
    await conn.write("250 ok\r\n");
    assert.equal(await conn.readLine(), "DATA");
    await conn.write("354 go\r\n");
    await conn.readData();
    await conn.write("250 queued\r\n");
    assert.deepEqual(await drain(conn), ["QUIT"]);
  });
  await using client = await SmtpClient.connect(
    viaTls(server, { auth: { username: "joe", password: "secret" } }),
  );
  assert.equal(client.secure, true);
  assert.equal(client.capabilities.domain, "after.test");
  assert.deepEqual(client.capabilities.auth, ["PLAIN"]);
  assert.equal(client.capabilities.has("STARTTLS"), false);
  const result = await client.send(raw("Subject: x\r\n\r\n" + "y".repeat(16)));
  assert.equal(result.secure, true);
  await client.quit();
  await server.finished();
});

Deno.test("denoConnect's close() interrupts a STARTTLS handshake the server never answers", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  const { promise: settled, resolve: release } = Promise.withResolvers<
    void
  >();
  const serving = (async () => {
    using conn = await listener.accept();
    // Reads the ClientHello, answers nothing until the client side settled.
    await conn.read(new Uint8Array(4096));
    await settled;
  })();
  const connection = await denoConnect({
    hostname: "localhost",
    port,
    tls: "starttls",
  });
  const upgrading = connection.startTls({ hostname: "localhost" });
  await new Promise((resolve) => setTimeout(resolve, 50));
  connection.close();
  // Without the interruption the handshake would wait for the server,
  // which waits for it: the sentinel tells a hang from a rejection.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    upgrading.then(() => "upgraded", () => "rejected"),
    new Promise<string>((resolve) => {
      timer = setTimeout(resolve, 2000, "pending");
    }),
  ]);
  clearTimeout(timer);
  release();
  await serving;
  await upgrading.catch(() => {});
  assert.equal(outcome, "rejected");
});
