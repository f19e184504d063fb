// The capture server driven by the project's own client.
import assert from "node:assert/strict";
import { sendmail, SmtpClient, SmtpError } from "../../mod.ts";
import { startTestServer } from "../../testing.ts";
import { interop } from "../_harness/interop.ts";

const raw = (to: string[], body = "Subject: t\r\n\r\nbody\r\n") => ({
  envelope: { from: "a@example.com", to },
  raw: body,
});

for (const tls of ["starttls", "implicit"] as const) {
  for (const mechanism of ["PLAIN", "LOGIN", "CRAM-MD5"] as const) {
    Deno.test(`startTestServer accepts SmtpClient with ${mechanism} over ${tls}`, async () => {
      await using server = await startTestServer({
        tls,
        auth: { users: { joe: "pässword" }, required: true },
      });
      await sendmail(
        {
          ...server.clientOptions,
          auth: { username: "joe", password: "pässword", mechanism },
        },
        raw(["b@example.com"]),
      );
      const message = await server.nextMessage();
      assert.equal(message.secure, true);
      assert.equal(message.authUser, "joe");
      assert.equal(message.authMechanism, mechanism);
      assert.equal(message.text, "Subject: t\r\n\r\nbody\r\n");
      // The server's transcript never holds the credential either.
      assert.ok(!JSON.stringify(message.transcript).includes("pässword"));
    });
  }
}

for (const mechanism of ["XOAUTH2", "OAUTHBEARER"] as const) {
  Deno.test(`startTestServer accepts SmtpClient with ${mechanism} and an access token`, async () => {
    await using server = await startTestServer({
      auth: { users: { "me@example.com": "token-123" }, required: true },
    });
    await sendmail(
      {
        ...server.clientOptions,
        auth: {
          username: "me@example.com",
          accessToken: "token-123",
          mechanism,
        },
      },
      raw(["b@example.com"]),
    );
    const message = await server.nextMessage();
    assert.equal(message.authUser, "me@example.com");
    assert.equal(message.authMechanism, mechanism);
  });
}

Deno.test("startTestServer refuses a bad OAUTHBEARER token and SmtpClient reports the server's error", async () => {
  await using server = await startTestServer({
    auth: { users: { "me@example.com": "good" } },
  });
  const error = await SmtpClient.connect({
    ...server.clientOptions,
    auth: {
      username: "me@example.com",
      accessToken: "bad",
      mechanism: "OAUTHBEARER",
    },
  }).then(() => assert.fail("connected"), (e) => e);
  assert.ok(error instanceof SmtpError);
  assert.equal(error.kind, "auth");
  assert.equal(error.code, 535);
  assert.ok(!error.message.includes("bad\u0001"));
});

Deno.test("startTestServer scripted replies reach SmtpClient as typed results", async () => {
  await using server = await startTestServer({
    hooks: {
      RCPT: ({ args }) =>
        args.includes("<gone@example.com>")
          ? { reply: "550 5.1.1 No such user" }
          : "default",
      DATA_END: ({ count }) =>
        count === 2 ? { reply: "452 4.3.1 Insufficient storage" } : "default",
    },
  });
  await using client = await SmtpClient.connect(server.clientOptions);
  const first = await client.send(raw(["ok@example.com", "gone@example.com"]));
  assert.deepEqual(first.accepted, ["ok@example.com"]);
  assert.equal(first.rejected[0]?.reply.enhancedCode, "5.1.1");
  assert.equal(first.rejected[0]?.reply.text, "No such user");
  const error = await client.send(raw(["ok@example.com"])).then(
    () => assert.fail("sent"),
    (e) => e,
  );
  assert.ok(error instanceof SmtpError);
  assert.equal(error.code, 452);
  assert.equal(error.temporary, true);
  // The session is still usable after the refused message.
  await client.send(raw(["ok@example.com"]));
  assert.equal(
    server.messages.length,
    2,
    "the refused message is not recorded",
  );
});

Deno.test("startTestServer records DSN and SMTPUTF8 parameters sent by SmtpClient", async () => {
  await using server = await startTestServer();
  await using client = await SmtpClient.connect(server.clientOptions);
  await client.send(
    {
      envelope: { from: "jö@example.com", to: ["b@example.com"] },
      raw: "Subject: u\r\n\r\nx\r\n",
    },
    { dsn: { notify: ["failure"], ret: "hdrs", envelopeId: "env-1" } },
  );
  const message = await server.nextMessage();
  assert.equal(message.envelope.mailParams.SMTPUTF8, true);
  assert.equal(message.envelope.mailParams.RET, "HDRS");
  assert.equal(message.envelope.mailParams.ENVID, "env-1");
  assert.equal(message.envelope.rcptParams[0]?.NOTIFY, "FAILURE");
});

Deno.test("deno task demo prints the transcript and the delivered message", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["task", "demo"],
    cwd: new URL("../../", import.meta.url),
    env: { NO_COLOR: "1" },
  }).output();
  const out = new TextDecoder().decode(stdout);
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  assert.match(out, /^C: STARTTLS$/m);
  assert.match(out, /^C: AUTH PLAIN \[redacted\]$/m);
  assert.match(out, /^TLS: +true +AUTH user: demo$/m);
  assert.match(out, /^Subject: =\?UTF-8\?/m);
  assert.match(
    out,
    /^Content-Disposition: attachment; filename="coverage.csv"$/m,
  );
  assert.doesNotMatch(out, /demo-password/);
});

Deno.test(interop({
  name:
    "deno task demo runs with an empty DENO_DIR and no network but loopback",
  // A network namespace with only a loopback interface: no registry, no DNS.
  requires: ["unshare", "ip", "root"],
  async fn() {
    const denoDir = await Deno.makeTempDir();
    try {
      const { code, stdout, stderr } = await new Deno.Command("unshare", {
        args: [
          "-n",
          "sh",
          "-c",
          `ip link set lo up && exec "${Deno.execPath()}" task demo`,
        ],
        cwd: new URL("../../", import.meta.url),
        env: { NO_COLOR: "1", DENO_DIR: denoDir },
      }).output();
      const out = new TextDecoder().decode(stdout);
      const err = new TextDecoder().decode(stderr);
      assert.equal(code, 0, err);
      assert.doesNotMatch(err, /Download/);
      assert.match(out, /^TLS: +true +AUTH user: demo$/m);
    } finally {
      await Deno.remove(denoDir, { recursive: true });
    }
  },
}));
