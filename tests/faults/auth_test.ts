// Faults of authentication, and the credential policy.

import assert from "node:assert/strict";
import { type Connect, denoConnect, SmtpClient } from "../../mod.ts";
import {
  interop,
  startAiosmtpd,
  startScriptedServer,
} from "../_harness/mod.ts";
import {
  drain,
  FAST,
  plain,
  REAL_SERVER,
  rejectsWith,
  transcript,
} from "./_helpers.ts";

const b64 = (text: string) => new TextEncoder().encode(text).toBase64();

Deno.test(interop({
  name:
    "SmtpClient rejects with a permanent auth error, sends QUIT and reveals no credential when AUTH gets 535",
  requires: ["aiosmtpd"],
  async fn() {
    await using server = await startAiosmtpd({
      auth: [{ username: "joe", password: "right" }],
    });
    const log = transcript();
    const password = "wr0ng-Pa55word";
    const error = await rejectsWith(
      SmtpClient.connect({
        hostname: "localhost",
        port: server.port,
        caCerts: [server.certs.caCert],
        auth: { username: "joe", password, mechanism: "LOGIN" },
        timeouts: REAL_SERVER,
        logger: log.logger,
      }),
      { kind: "auth", temporary: false, command: "AUTH", code: 535 },
    );
    const client = log.events.filter((e) => e.type === "client");
    assert.equal(client.at(-1)?.text, "QUIT");
    const everything = [
      log.text(),
      error.message,
      String(error.stack),
      JSON.stringify(error),
      Deno.inspect(error, { depth: 10 }),
    ].join("\n");
    for (const secret of [password, b64(password), b64(`\0joe\0${password}`)]) {
      assert.ok(!everything.includes(secret), `leaked ${secret}`);
    }
    assert.deepEqual(
      (await server.authAttempts()).map((a) => [a.login, a.success]),
      [["joe", false]],
    );
  },
}));

/** A scripted server offering `auth` that runs `exchange` after EHLO. */
function authServer(
  offer: string,
  exchange: (
    conn: Parameters<Parameters<typeof startScriptedServer>[0]>[0],
  ) => Promise<void>,
) {
  return startScriptedServer(async (conn) => {
    await conn.write("220 auth.test ESMTP\r\n");
    assert.equal(await conn.readLine(), "EHLO localhost");
    await conn.write(`250-auth.test\r\n250 AUTH ${offer}\r\n`);
    await exchange(conn);
  });
}

Deno.test("SmtpClient rejects with a temporary auth error when AUTH gets 454", async () => {
  await using server = await authServer("PLAIN", async (conn) => {
    assert.match((await conn.readLine()) ?? "", /^AUTH PLAIN /);
    await conn.write("454 4.7.0 Temporary authentication failure\r\n");
    assert.deepEqual(await drain(conn), ["QUIT"]);
  });
  await rejectsWith(
    SmtpClient.connect(
      plain(server, { auth: { username: "joe", password: "pw" } }),
    ),
    { kind: "auth", temporary: true, command: "AUTH", code: 454 },
  );
  await server.finished();
});

Deno.test("SmtpClient cancels the exchange with a protocol error when a 334 challenge is not base64", async () => {
  await using server = await authServer("LOGIN", async (conn) => {
    assert.equal(await conn.readLine(), "AUTH LOGIN");
    await conn.write("334 !!not*base64!!\r\n");
    // RFC 4954 §4: "*" cancels.
    assert.equal(await conn.readLine(), "*");
    await conn.write("501 5.0.0 Authentication cancelled\r\n");
    assert.deepEqual(await drain(conn), ["QUIT"]);
  });
  await rejectsWith(
    SmtpClient.connect(
      plain(server, { auth: { username: "joe", password: "pw" } }),
    ),
    { kind: "protocol", temporary: false, command: "AUTH" },
  );
  await server.finished();
});

Deno.test("SmtpClient never sends the password to an unexpected LOGIN challenge", async () => {
  await using server = await authServer("LOGIN", async (conn) => {
    assert.equal(await conn.readLine(), "AUTH LOGIN");
    await conn.write(`334 ${b64("Username:")}\r\n`);
    assert.equal(await conn.readLine(), b64("joe"));
    // Asks for the user name again instead of the password.
    await conn.write(`334 ${b64("Username:")}\r\n`);
    assert.equal(await conn.readLine(), "*");
    await conn.write("501 5.0.0 Authentication cancelled\r\n");
    assert.deepEqual(await drain(conn), ["QUIT"]);
  });
  await rejectsWith(
    SmtpClient.connect(
      plain(server, { auth: { username: "joe", password: "pw" } }),
    ),
    { kind: "protocol", temporary: false, command: "AUTH" },
  );
  await server.finished();
});

Deno.test("SmtpClient sends no mail unauthenticated when credentials are given and AUTH is not offered", async () => {
  await using server = await startScriptedServer(async (conn) => {
    await conn.write("220 noauth.test ESMTP\r\n");
    assert.equal(await conn.readLine(), "EHLO localhost");
    await conn.write("250-noauth.test\r\n250 PIPELINING\r\n");
    assert.deepEqual(await drain(conn), ["QUIT"]);
  });
  await rejectsWith(
    SmtpClient.connect(
      plain(server, { auth: { username: "joe", password: "pw" } }),
    ),
    { kind: "auth", temporary: false, command: "AUTH" },
  );
  await server.finished();
});

for (const tls of ["none", "opportunistic"] as const) {
  Deno.test(`SmtpClient refuses to send credentials without TLS to a non-loopback host (tls ${tls})`, async () => {
    await using server = await authServer(
      "PLAIN LOGIN CRAM-MD5",
      async (conn) => {
        // No AUTH line, in any form: only QUIT.
        assert.deepEqual(await drain(conn), ["QUIT"]);
      },
    );
    // The policy sees "mail.example.com"; the bytes go to the loopback
    // server, so no real network is touched.
    const connect: Connect = (options) => {
      assert.equal(options.hostname, "mail.example.com");
      return denoConnect({ ...options, hostname: server.hostname });
    };
    await rejectsWith(
      SmtpClient.connect({
        hostname: "mail.example.com",
        port: server.port,
        tls,
        connect,
        timeouts: FAST,
        auth: { username: "joe", password: "pw" },
      }),
      {
        kind: "auth",
        temporary: false,
        command: "AUTH",
        message: /without TLS to mail\.example\.com/,
      },
    );
    await server.finished();
  });
}

Deno.test("SmtpClient sends credentials without TLS to a loopback host", async () => {
  await using server = await authServer("PLAIN", async (conn) => {
    assert.equal(await conn.readLine(), `AUTH PLAIN ${b64("\0joe\0pw")}`);
    await conn.write("235 2.7.0 Authentication successful\r\n");
    assert.deepEqual(await drain(conn), ["QUIT"]);
  });
  const client = await SmtpClient.connect(
    plain(server, { auth: { username: "joe", password: "pw" } }),
  );
  await client.quit();
  await server.finished();
});
