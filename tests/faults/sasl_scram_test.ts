// SCRAM against scripted servers: the whole SMTP exchange, and servers that
// cannot prove they know the password (a wrong or missing signature), fail
// the exchange (e=) or ask for a ruinous iteration count.

import assert from "node:assert/strict";
import { SmtpClient } from "../../mod.ts";
import { fromBase64, toBase64 } from "../../src/protocol/_base64.ts";
import {
  type ScriptedConnection,
  startScriptedServer,
} from "../_harness/mod.ts";
import { scramServer } from "../sasl/_scram_server.ts";
import { drain, plain, rejectsWith } from "./_helpers.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const b64 = (text: string): string => toBase64(encoder.encode(text));
const unb64 = (text: string): string => decoder.decode(fromBase64(text));

const auth = { username: "joe", password: "pencil-Pa55" };

/** A scripted server offering `offer` that runs `exchange` after EHLO. */
function authServer(
  offer: string,
  exchange: (conn: ScriptedConnection) => Promise<void>,
) {
  return startScriptedServer(async (conn) => {
    await conn.write("220 scram.test ESMTP\r\n");
    assert.equal(await conn.readLine(), "EHLO localhost");
    await conn.write(`250-scram.test\r\n250 AUTH ${offer}\r\n`);
    await exchange(conn);
  });
}

/** Reads `AUTH SCRAM-SHA-256 <client-first>`, returns the client-first. */
async function readAuth(conn: ScriptedConnection): Promise<string> {
  const line = (await conn.readLine()) ?? "";
  const match = /^AUTH SCRAM-SHA-256 (\S+)$/.exec(line);
  assert.ok(match, line);
  return unb64(match[1]!);
}

Deno.test("SmtpClient authenticates with SCRAM-SHA-256 before PLAIN when both are offered", async () => {
  let proven = false;
  await using server = await authServer(
    "PLAIN LOGIN SCRAM-SHA-1 SCRAM-SHA-256",
    async (conn) => {
      const scram = scramServer({ password: auth.password, hash: "sha256" });
      await conn.write(`334 ${b64(scram.first(await readAuth(conn)))}\r\n`);
      const final = scram.final(unb64((await conn.readLine()) ?? ""));
      assert.ok(final, "the proof is wrong");
      proven = true;
      await conn.write(`334 ${b64(final)}\r\n`);
      assert.equal(await conn.readLine(), "");
      await conn.write("235 2.7.0 Authentication successful\r\n");
      assert.deepEqual(await drain(conn), ["QUIT"]);
    },
  );
  const client = await SmtpClient.connect(plain(server, { auth }));
  await client.quit();
  await server.finished();
  assert.ok(proven);
});

Deno.test("SmtpClient fails with an auth error when a SCRAM server answers 235 without its signature", async () => {
  await using server = await authServer("SCRAM-SHA-256", async (conn) => {
    const scram = scramServer({ password: auth.password, hash: "sha256" });
    await conn.write(`334 ${b64(scram.first(await readAuth(conn)))}\r\n`);
    assert.ok(scram.final(unb64((await conn.readLine()) ?? "")));
    // Success, skipping the server-final-message.
    await conn.write("235 2.7.0 Authentication successful\r\n");
    assert.deepEqual(await drain(conn), ["QUIT"]);
  });
  await rejectsWith(
    SmtpClient.connect(plain(server, { auth })),
    {
      kind: "auth",
      temporary: false,
      command: "AUTH",
      message: /without proving it knows the password/,
    },
  );
  await server.finished();
});

Deno.test("SmtpClient cancels and fails when the SCRAM server signature is wrong", async () => {
  await using server = await authServer("SCRAM-SHA-256", async (conn) => {
    // A server that does not know the password: it accepts any proof.
    const scram = scramServer({ password: "something else", hash: "sha256" });
    await conn.write(`334 ${b64(scram.first(await readAuth(conn)))}\r\n`);
    await conn.readLine();
    await conn.write(`334 ${b64(`v=${toBase64(new Uint8Array(32))}`)}\r\n`);
    assert.equal(await conn.readLine(), "*");
    await conn.write("501 5.0.0 Authentication cancelled\r\n");
    assert.deepEqual(await drain(conn), ["QUIT"]);
  });
  const error = await rejectsWith(
    SmtpClient.connect(plain(server, { auth })),
    {
      kind: "auth",
      temporary: false,
      command: "AUTH",
      message: /the server's signature is wrong.*not the server it claims/,
    },
  );
  assert.ok(!error.message.includes(auth.password));
  await server.finished();
});

Deno.test("SmtpClient cancels and reports the SCRAM server's e= value", async () => {
  await using server = await authServer("SCRAM-SHA-256", async (conn) => {
    const scram = scramServer({ password: auth.password, hash: "sha256" });
    await conn.write(`334 ${b64(scram.first(await readAuth(conn)))}\r\n`);
    await conn.readLine();
    await conn.write(`334 ${b64("e=invalid-proof")}\r\n`);
    assert.equal(await conn.readLine(), "*");
    await conn.write("501 5.0.0 Authentication cancelled\r\n");
    assert.deepEqual(await drain(conn), ["QUIT"]);
  });
  await rejectsWith(
    SmtpClient.connect(plain(server, { auth })),
    {
      kind: "auth",
      temporary: false,
      command: "AUTH",
      message: /server failed the exchange: "invalid-proof"$/,
    },
  );
  await server.finished();
});

Deno.test("SmtpClient refuses a SCRAM iteration count that would burn its CPU, computing nothing", async () => {
  await using server = await authServer("SCRAM-SHA-256", async (conn) => {
    const first = await readAuth(conn);
    const nonce = /r=([^,]+)$/.exec(first)![1]!;
    await conn.write(
      `334 ${b64(`r=${nonce}srv,s=${b64("salt")},i=2000000000`)}\r\n`,
    );
    assert.equal(await conn.readLine(), "*");
    await conn.write("501 5.0.0 Authentication cancelled\r\n");
    assert.deepEqual(await drain(conn), ["QUIT"]);
  });
  await rejectsWith(
    SmtpClient.connect(plain(server, { auth })),
    {
      kind: "auth",
      temporary: false,
      command: "AUTH",
      message: /asks for 2000000000 iterations, more than the 1000000/,
    },
  );
  await server.finished();
});

/** Reads `AUTH SCRAM-SHA-256 …` and refuses it as Dovecot does an account without SCRAM credentials. */
async function refuseScram(conn: ScriptedConnection): Promise<void> {
  const scram = scramServer({ password: auth.password, hash: "sha256" });
  await conn.write(`334 ${b64(scram.first(await readAuth(conn)))}\r\n`);
  await conn.readLine();
  await conn.write("535 5.7.8 Error: authentication failed\r\n");
}

Deno.test("SmtpClient tries PLAIN once when the server refuses the SCRAM it chose (an account without SCRAM credentials)", async () => {
  let plainLine = "";
  await using server = await authServer("SCRAM-SHA-256 PLAIN", async (conn) => {
    await refuseScram(conn);
    plainLine = (await conn.readLine()) ?? "";
    await conn.write("235 2.7.0 Authentication successful\r\n");
    assert.deepEqual(await drain(conn), ["QUIT"]);
  });
  const log: string[] = [];
  const client = await SmtpClient.connect(
    plain(server, { auth, logger: (entry) => log.push(entry.text) }),
  );
  await client.quit();
  await server.finished();
  assert.equal(plainLine, `AUTH PLAIN ${b64(`\0joe\0${auth.password}`)}`);
  assert.ok(
    log.includes("AUTH SCRAM-SHA-256 refused; trying PLAIN"),
    log.join("\n"),
  );
  assert.ok(!log.join("\n").includes(auth.password));
});

Deno.test("SmtpClient reports the PLAIN refusal after SCRAM and PLAIN are both refused, and tries nothing more", async () => {
  let lines: string[] = [];
  await using server = await authServer(
    "SCRAM-SHA-256 SCRAM-SHA-1 PLAIN LOGIN CRAM-MD5",
    async (conn) => {
      await refuseScram(conn);
      assert.match((await conn.readLine()) ?? "", /^AUTH PLAIN /);
      await conn.write("535 5.7.8 Error: authentication failed\r\n");
      lines = await drain(conn);
    },
  );
  await rejectsWith(SmtpClient.connect(plain(server, { auth })), {
    kind: "auth",
    temporary: false,
    command: "AUTH",
    message: /^Cannot authenticate with PLAIN: server replied 535/,
  });
  await server.finished();
  assert.deepEqual(lines, ["QUIT"]);
});

Deno.test("SmtpClient does not fall back from a SCRAM the caller named, nor after a temporary refusal", async () => {
  for (
    const [options, reply] of [
      [{ ...auth, mechanism: "SCRAM-SHA-256" as const }, "535 5.7.8 no"],
      [auth, "454 4.7.0 Temporary authentication failure"],
    ] as const
  ) {
    let lines: string[] = [];
    await using server = await authServer(
      "SCRAM-SHA-256 PLAIN",
      async (conn) => {
        await readAuth(conn);
        await conn.write(`${reply}\r\n`);
        lines = await drain(conn);
      },
    );
    await rejectsWith(SmtpClient.connect(plain(server, { auth: options })), {
      kind: "auth",
      temporary: reply.startsWith("4"),
      command: "AUTH",
      message: /^Cannot authenticate with SCRAM-SHA-256/,
    });
    await server.finished();
    assert.deepEqual(lines, ["QUIT"]);
  }
});
