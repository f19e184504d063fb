// Faults of SASL that would put a secret or a server's control characters
// into an error message: a server that echoes what the client answered, and
// a server whose error report carries terminal escapes.

import assert from "node:assert/strict";
import { SmtpClient } from "../../mod.ts";
import { fromBase64, toBase64 } from "../../src/protocol/_base64.ts";
import {
  type ScriptedConnection,
  startScriptedServer,
} from "../_harness/mod.ts";
import { drain, plain, rejectsWith } from "./_helpers.ts";

const encoder = new TextEncoder();
const b64 = (text: string): string => toBase64(encoder.encode(text));

/** A scripted server offering `offer` that runs `exchange` after EHLO. */
function authServer(
  offer: string,
  exchange: (conn: ScriptedConnection) => Promise<void>,
) {
  return startScriptedServer(async (conn) => {
    await conn.write("220 auth.test ESMTP\r\n");
    assert.equal(await conn.readLine(), "EHLO localhost");
    await conn.write(`250-auth.test\r\n250 AUTH ${offer}\r\n`);
    await exchange(conn);
  });
}

/** Everything an error shows: message, stack, JSON and inspection. */
function shown(error: Error): string {
  return [
    error.message,
    String(error.stack),
    JSON.stringify(error),
    Deno.inspect(error, { depth: 10 }),
  ].join("\n");
}

function assertHidden(error: Error, secrets: string[]): void {
  const text = shown(error);
  for (const secret of secrets) {
    assert.ok(!text.includes(secret), `leaked ${JSON.stringify(secret)}`);
  }
}

// deno-lint-ignore no-control-regex
const RAW_CONTROL = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/;

const PASSWORD = "s3cret-Pa55word";

Deno.test("SmtpClient does not quote a LOGIN challenge that echoes the password", async () => {
  await using server = await authServer("LOGIN", async (conn) => {
    assert.equal(await conn.readLine(), "AUTH LOGIN");
    await conn.write(`334 ${b64("Username:")}\r\n`);
    assert.equal(await conn.readLine(), b64("joe"));
    await conn.write(`334 ${b64("Password:")}\r\n`);
    assert.equal(await conn.readLine(), b64(PASSWORD));
    // A third prompt: the password, echoed back.
    await conn.write(`334 ${b64(PASSWORD)}\r\n`);
    assert.equal(await conn.readLine(), "*");
    await conn.write("501 5.0.0 Authentication cancelled\r\n");
    assert.deepEqual(await drain(conn), ["QUIT"]);
  });
  const error = await rejectsWith(
    SmtpClient.connect(
      plain(server, { auth: { username: "joe", password: PASSWORD } }),
    ),
    {
      kind: "protocol",
      temporary: false,
      command: "AUTH",
    },
  );
  assertHidden(error, [PASSWORD, b64(PASSWORD)]);
  assert.match(
    error.message,
    /^Unexpected LOGIN challenge after the password was sent/,
  );
  await server.finished();
});

Deno.test("SmtpClient does not quote a LOGIN challenge that is not base64 after the password was sent", async () => {
  await using server = await authServer("LOGIN", async (conn) => {
    assert.equal(await conn.readLine(), "AUTH LOGIN");
    await conn.write(`334 ${b64("Username:")}\r\n`);
    assert.equal(await conn.readLine(), b64("joe"));
    await conn.write(`334 ${b64("Password:")}\r\n`);
    assert.equal(await conn.readLine(), b64(PASSWORD));
    // The password echoed as it is ("-" is not base64).
    await conn.write(`334 ${PASSWORD}\r\n`);
    assert.equal(await conn.readLine(), "*");
    await conn.write("501 5.0.0 Authentication cancelled\r\n");
    assert.deepEqual(await drain(conn), ["QUIT"]);
  });
  const error = await rejectsWith(
    SmtpClient.connect(
      plain(server, { auth: { username: "joe", password: PASSWORD } }),
    ),
    { kind: "protocol", temporary: false, command: "AUTH" },
  );
  assertHidden(error, [PASSWORD]);
  assert.match(
    error.message,
    /not base64 after the password was sent \(not quoted, as it may echo a secret\)$/,
  );
  await server.finished();
});

Deno.test("SmtpClient does not quote a challenge that echoes the PLAIN initial response", async () => {
  await using server = await authServer("PLAIN", async (conn) => {
    const line = await conn.readLine();
    assert.equal(line, `AUTH PLAIN ${b64(`\0joe\0${PASSWORD}`)}`);
    await conn.write(`334 ${b64(`\0joe\0${PASSWORD}`)}\r\n`);
    assert.equal(await conn.readLine(), "*");
    await conn.write("501 5.0.0 Authentication cancelled\r\n");
    assert.deepEqual(await drain(conn), ["QUIT"]);
  });
  const error = await rejectsWith(
    SmtpClient.connect(
      plain(server, { auth: { username: "joe", password: PASSWORD } }),
    ),
    {
      kind: "protocol",
      temporary: false,
      command: "AUTH",
    },
  );
  assertHidden(error, [PASSWORD, b64(PASSWORD)]);
  assert.match(
    error.message,
    /^Unexpected PLAIN challenge after the password was sent/,
  );
  await server.finished();
});

Deno.test("SmtpClient does not quote a challenge that echoes the CRAM-MD5 digest", async () => {
  let answer = "";
  await using server = await authServer("CRAM-MD5", async (conn) => {
    assert.equal(await conn.readLine(), "AUTH CRAM-MD5");
    await conn.write(`334 ${b64("<1.2@auth.test>")}\r\n`);
    answer = (await conn.readLine()) ?? "";
    await conn.write(`334 ${answer}\r\n`);
    assert.equal(await conn.readLine(), "*");
    await conn.write("501 5.0.0 Authentication cancelled\r\n");
    assert.deepEqual(await drain(conn), ["QUIT"]);
  });
  const error = await rejectsWith(
    SmtpClient.connect(
      plain(server, {
        auth: { username: "joe", password: PASSWORD, mechanism: "CRAM-MD5" },
      }),
    ),
    {
      kind: "protocol",
      temporary: false,
      command: "AUTH",
    },
  );
  const digest = new TextDecoder().decode(fromBase64(answer)).split(" ")[1]!;
  assert.match(digest, /^[0-9a-f]{32}$/);
  assertHidden(error, [PASSWORD, digest, answer]);
  assert.match(
    error.message,
    /^Unexpected CRAM-MD5 challenge after the digest was sent/,
  );
  await server.finished();
});

for (const mechanism of ["XOAUTH2", "OAUTHBEARER"] as const) {
  const TOKEN = "ya29.secret-access-token";

  Deno.test(`SmtpClient does not quote the access token when a ${mechanism} error challenge echoes it`, async () => {
    await using server = await authServer(mechanism, async (conn) => {
      const line = (await conn.readLine()) ?? "";
      const initial = line.split(" ")[2]!;
      // The "error report" is the client's own initial response, then a
      // JSON report carrying the token.
      await conn.write(
        `334 ${
          b64(JSON.stringify({
            status: "401",
            echo: new TextDecoder().decode(fromBase64(initial)),
            TOKEN,
          }))
        }\r\n`,
      );
      await conn.readLine();
      await conn.write("535 5.7.8 Authentication credentials invalid\r\n");
      assert.deepEqual(await drain(conn), ["QUIT"]);
    });
    const error = await rejectsWith(
      SmtpClient.connect(
        plain(server, {
          auth: { username: "joe@example.com", accessToken: TOKEN, mechanism },
        }),
      ),
      { kind: "auth", temporary: false, command: "AUTH", code: 535 },
    );
    assertHidden(error, [TOKEN, b64(TOKEN)]);
    // What is not secret is still reported.
    assert.match(error.message, /"status":"401"/);
  });

  const reports: [string, string, boolean][] = [
    [
      "a JSON report",
      JSON.stringify({
        status: "401\x1b[31m\r\nFAKE LOG LINE\x07",
        scope: "a\u009bb",
      }),
      true,
    ],
    ["raw text", "401\x1b[31m\r\nFAKE LOG LINE\x07 a\u009bb", false],
  ];
  for (const [what, report, quoted] of reports) {
    Deno.test(`SmtpClient strips control characters from a ${mechanism} error challenge (${what}) in the error message`, async () => {
      await using server = await authServer(mechanism, async (conn) => {
        await conn.readLine();
        await conn.write(`334 ${b64(report)}\r\n`);
        await conn.readLine();
        await conn.write("535 5.7.8 Authentication credentials invalid\r\n");
        assert.deepEqual(await drain(conn), ["QUIT"]);
      });
      const error = await rejectsWith(
        SmtpClient.connect(
          plain(server, {
            auth: {
              username: "joe@example.com",
              accessToken: TOKEN,
              mechanism,
            },
          }),
        ),
        { kind: "auth", temporary: false, command: "AUTH", code: 535 },
      );
      assert.doesNotMatch(error.message, RAW_CONTROL);
      if (quoted) {
        assert.match(error.message, /FAKE LOG LINE/);
        assert.match(error.message, /\uFFFD/);
      }
    });
  }
}
