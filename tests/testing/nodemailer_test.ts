/**
 * The capture server receives exactly what an independent client sends:
 * nodemailer (Node's most used SMTP client) over STARTTLS and implicit TLS,
 * with each AUTH mechanism it has and with DSN parameters.
 */
import assert from "node:assert/strict";
import nodemailer from "npm:nodemailer@6";
import { startTestServer, type TestServer } from "../../testing.ts";

const RAW = "From: a@example.com\r\nTo: b@example.com\r\nSubject: raw\r\n\r\n" +
  ".dot first\r\nline two\r\n";

function transport(server: TestServer, options: Record<string, unknown>) {
  return nodemailer.createTransport({
    host: server.hostname,
    port: server.port,
    secure: server.tls === "implicit",
    requireTLS: server.tls === "starttls",
    tls: { ca: [server.caCert], servername: "localhost" },
    ...options,
  });
}

Deno.test("startTestServer receives nodemailer's raw message byte for byte over STARTTLS with AUTH PLAIN", async () => {
  await using server = await startTestServer({
    auth: { users: { alice: "pw" }, required: true },
    requireTls: true,
  });
  const mailer = transport(server, {
    auth: { user: "alice", pass: "pw" },
    authMethod: "PLAIN",
  });
  try {
    const info = await mailer.sendMail({
      envelope: {
        from: "a@example.com",
        to: ["b@example.com", "c@example.com"],
      },
      raw: RAW,
    });
    assert.deepEqual(info.accepted, ["b@example.com", "c@example.com"]);
  } finally {
    mailer.close();
  }
  const message = await server.nextMessage();
  assert.equal(message.text, RAW);
  assert.deepEqual(message.envelope.to, ["b@example.com", "c@example.com"]);
  assert.equal(message.envelope.from, "a@example.com");
  assert.equal(message.secure, true);
  assert.equal(message.authUser, "alice");
  assert.equal(message.authMechanism, "PLAIN");
});

for (
  const [label, auth, authMethod, mechanism] of [
    ["LOGIN", { user: "alice", pass: "pw" }, "LOGIN", "LOGIN"],
    ["CRAM-MD5", { user: "alice", pass: "pw" }, "CRAM-MD5", "CRAM-MD5"],
    [
      "XOAUTH2",
      { type: "OAuth2", user: "alice", accessToken: "pw" },
      undefined,
      "XOAUTH2",
    ],
  ] as const
) {
  Deno.test(`startTestServer authenticates nodemailer with ${label} over implicit TLS`, async () => {
    await using server = await startTestServer({
      tls: "implicit",
      auth: { users: { alice: "pw" }, required: true },
    });
    const mailer = transport(server, {
      auth,
      ...(authMethod ? { authMethod } : {}),
    });
    try {
      await mailer.sendMail({
        from: "a@example.com",
        to: "b@example.com",
        subject: "Hello",
        text: "Body",
      });
    } finally {
      mailer.close();
    }
    const message = await server.nextMessage();
    assert.equal(message.secure, true);
    assert.equal(message.authUser, "alice");
    assert.equal(message.authMechanism, mechanism);
    assert.match(message.text, /^Subject: Hello\r$/m);
  });
}

Deno.test("startTestServer refuses nodemailer's wrong XOAUTH2 token after the JSON challenge", async () => {
  await using server = await startTestServer({
    tls: "implicit",
    auth: { users: { alice: "good-token" } },
  });
  const mailer = transport(server, {
    auth: { type: "OAuth2", user: "alice", accessToken: "bad-token" },
  });
  try {
    // After the 535, nodemailer tries to refresh the token, which it cannot.
    await assert.rejects(
      mailer.sendMail({
        from: "a@example.com",
        to: "b@example.com",
        text: "x",
      }),
      /access token/,
    );
  } finally {
    mailer.close();
  }
  assert.equal(server.messages.length, 0);
  const texts = server.transcripts[0]!.map((line) => line.text);
  const challenge = texts.findIndex((text) =>
    text.startsWith("334 eyJzdGF0dXMiOiI0MDEi")
  );
  assert.deepEqual(texts.slice(challenge + 1, challenge + 3), [
    "",
    "535 5.7.8 Authentication credentials invalid",
  ]);
});

Deno.test("startTestServer records nodemailer's DSN and SMTPUTF8 parameters", async () => {
  await using server = await startTestServer();
  const mailer = transport(server, {});
  try {
    await mailer.sendMail({
      from: "a@example.com",
      to: "b@example.com",
      subject: "DSN",
      text: "x",
      dsn: {
        id: "envelope-1",
        return: "headers",
        notify: ["success", "failure"],
        recipient: "a@example.com",
      },
    });
    await mailer.sendMail({
      envelope: { from: "jörg@example.com", to: ["zoë@example.com"] },
      raw: RAW,
    });
  } finally {
    mailer.close();
  }
  const dsn = await server.nextMessage();
  assert.equal(dsn.envelope.mailParams["RET"], "HDRS");
  assert.equal(dsn.envelope.mailParams["ENVID"], "envelope-1");
  assert.deepEqual(dsn.envelope.rcptParams, [
    { NOTIFY: "SUCCESS,FAILURE", ORCPT: "rfc822;a@example.com" },
  ]);
  const utf8 = await server.nextMessage();
  assert.equal(utf8.envelope.from, "jörg@example.com");
  assert.deepEqual(utf8.envelope.to, ["zoë@example.com"]);
  assert.equal(utf8.envelope.mailParams["SMTPUTF8"], true);
});
