/**
 * The sendmail command as a separate process, configured by an msmtp file,
 * against the capture server: STARTTLS and implicit TLS verified with
 * `tls_trust_file`, AUTH, and the exit status of a refused login.
 *
 * @module
 */
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../../testing.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;
const decoder = new TextDecoder();

async function writeConfig(
  server: TestServer,
  password: string,
): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "sendmail-cli" });
  await Deno.writeTextFile(`${dir}/ca.pem`, server.caCert);
  const implicit = server.tls === "implicit";
  await Deno.writeTextFile(
    `${dir}/msmtprc`,
    [
      "defaults",
      "tls on",
      `tls_trust_file ${dir}/ca.pem`,
      "",
      "account capture",
      "host localhost",
      `port ${server.port}`,
      `tls_starttls ${implicit ? "off" : "on"}`,
      "auth on",
      "user app",
      `password ${password}`,
      "from app@example.com",
      "",
      "account default : capture",
      "",
    ].join("\n"),
  );
  return dir;
}

async function run(args: string[], input: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  return {
    code,
    stdout: decoder.decode(stdout),
    stderr: decoder.decode(stderr),
  };
}

const MESSAGE =
  "To: Ops <ops@example.com>\nBcc: audit@example.com\nSubject: cron\n\nbackup done\n";

for (const tls of ["starttls", "implicit"] as const) {
  Deno.test(`sendmail command delivers with -t over ${tls} and AUTH from an msmtp config`, async () => {
    await using server = await startTestServer({
      tls,
      auth: { users: { app: "s3cret" }, required: true },
    });
    const dir = await writeConfig(server, "s3cret");
    try {
      const { code, stderr } = await run(
        ["-C", `${dir}/msmtprc`, "-t", "-v"],
        MESSAGE,
      );
      assert.equal(code, 0, stderr);
      const message = await server.nextMessage();
      assert.equal(message.secure, true);
      assert.equal(message.authUser, "app");
      assert.equal(message.envelope.from, "app@example.com");
      assert.deepEqual(message.envelope.to, [
        "ops@example.com",
        "audit@example.com",
      ]);
      assert.doesNotMatch(
        message.text,
        /audit@example\.com/,
        "Bcc is removed from the header",
      );
      assert.match(message.text, /\r\n\r\nbackup done\r\n$/);
      // -v prints the transcript on stderr, never the password.
      assert.match(stderr, /AUTH PLAIN \[redacted\]/);
      assert.doesNotMatch(stderr, /s3cret/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("sendmail command exits 77 when the server refuses the login", async () => {
  await using server = await startTestServer({
    auth: { users: { app: "right" } },
  });
  const dir = await writeConfig(server, "wrong-password");
  try {
    const { code, stderr } = await run(["-C", `${dir}/msmtprc`, "-t"], MESSAGE);
    assert.equal(code, 77, stderr);
    assert.doesNotMatch(stderr, /wrong-password/);
    assert.equal(server.messages.length, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sendmail command exits 75 when the server fails temporarily", async () => {
  await using server = await startTestServer({
    auth: { users: { app: "s3cret" } },
    hooks: { MAIL: () => ({ reply: "451 4.3.0 Try again later" }) },
  });
  const dir = await writeConfig(server, "s3cret");
  try {
    const { code, stderr } = await run(["-C", `${dir}/msmtprc`, "-t"], MESSAGE);
    assert.equal(code, 75, stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sendmail command delivers over LMTP from an msmtp config with protocol lmtp", async () => {
  await using server = await startTestServer({
    tls: "none",
    lmtp: true,
    hooks: {
      // The second recipient is refused after the data, as LMTP allows.
      DATA_END: ({ args }) =>
        args === "audit@example.com"
          ? { reply: "452 4.2.2 mailbox full" }
          : "default",
    },
  });
  const dir = await Deno.makeTempDir({ prefix: "sendmail-cli" });
  try {
    await Deno.writeTextFile(
      `${dir}/msmtprc`,
      [
        "account default",
        "host localhost",
        `port ${server.port}`,
        "protocol lmtp",
        "from app@example.com",
        "",
      ].join("\n"),
    );
    const { code, stderr } = await run(
      ["-C", `${dir}/msmtprc`, "-t"],
      MESSAGE,
    );
    // One recipient refused (temporarily): exit 75, the other delivered.
    assert.equal(code, 75, stderr);
    assert.match(stderr, /audit@example\.com refused: server replied 452/);
    const message = await server.nextMessage();
    assert.deepEqual(message.envelope.to, ["ops@example.com"]);
    assert.ok(
      server.transcripts[0]!.some((l) => l.text.startsWith("LHLO ")),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
