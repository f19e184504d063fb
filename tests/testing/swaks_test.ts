/**
 * The capture server receives exactly what an independent client sends:
 * swaks (Perl, OpenSSL) over plaintext, STARTTLS and implicit TLS, with AUTH
 * and pipelining. Skipped without swaks, except when SENDMAIL_INTEROP=required.
 */
import assert from "node:assert/strict";
import { startTestServer, type TestServerOptions } from "../../testing.ts";
import { interop } from "../_harness/interop.ts";

const decoder = new TextDecoder();

// CRLF line endings, a line that starts with a dot (swaks stuffs it, the
// server must un-stuff it), 8-bit UTF-8.
const MESSAGE =
  "From: a@example.com\r\nTo: b@example.com\r\nSubject: swaks\r\n" +
  "X-Note: café\r\n\r\n.a line starting with a dot\r\n..two dots\r\nend\r\n";

async function swaks(
  options: TestServerOptions,
  args: string[],
): Promise<
  {
    code: number;
    output: string;
    server: Awaited<ReturnType<typeof startTestServer>>;
  }
> {
  const server = await startTestServer(options);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/ca.pem`, server.caCert);
    // swaks ends DATA with CRLF "." CRLF, so the file has no final CRLF.
    await Deno.writeTextFile(`${dir}/message.eml`, MESSAGE.slice(0, -2));
    const { code, stdout, stderr } = await new Deno.Command("swaks", {
      args: [
        "--server",
        "127.0.0.1",
        "--port",
        String(server.port),
        "--helo",
        "swaks.test",
        "--from",
        "a@example.com",
        "--to",
        "b@example.com,c@example.com",
        "--data",
        `@${dir}/message.eml`,
        "--timeout",
        "10",
        ...args.map((arg) => arg.replace("CA_FILE", `${dir}/ca.pem`)),
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      code,
      output: decoder.decode(stdout) + decoder.decode(stderr),
      server,
    };
  } catch (error) {
    await server.close();
    throw error;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test(interop({
  requires: ["swaks"],
  name: "startTestServer receives exactly what swaks sends in plaintext",
  async fn() {
    const { code, output, server } = await swaks({ tls: "none" }, []);
    await using _ = server;
    assert.equal(code, 0, output);
    const message = await server.nextMessage();
    assert.deepEqual(message.envelope, {
      from: "a@example.com",
      to: ["b@example.com", "c@example.com"],
      mailParams: {},
      rcptParams: [{}, {}],
    });
    assert.equal(message.text, MESSAGE);
    assert.equal(message.helo, "swaks.test");
    assert.equal(message.esmtp, true);
    assert.equal(message.secure, false);
    assert.equal(message.authUser, undefined);
  },
}));

for (const mechanism of ["PLAIN", "LOGIN", "CRAM-MD5"]) {
  Deno.test(interop({
    requires: ["swaks"],
    name:
      `startTestServer authenticates swaks with ${mechanism} over verified STARTTLS`,
    async fn() {
      const { code, output, server } = await swaks(
        {
          auth: { users: { alice: "wonder land" }, required: true },
          requireTls: true,
        },
        [
          "--tls",
          "--tls-verify",
          "--tls-ca-path",
          "CA_FILE",
          "--auth",
          mechanism,
          "--auth-user",
          "alice",
          "--auth-password",
          "wonder land",
        ],
      );
      await using _ = server;
      assert.equal(code, 0, output);
      assert.match(output, /TLS started with cipher/);
      const message = await server.nextMessage();
      assert.equal(message.secure, true);
      assert.equal(message.authUser, "alice");
      assert.equal(message.authMechanism, mechanism);
      assert.equal(message.text, MESSAGE);
      assert.deepEqual(message.envelope.to, ["b@example.com", "c@example.com"]);
    },
  }));
}

Deno.test(interop({
  requires: ["swaks"],
  name: "startTestServer serves swaks over implicit TLS with pipelining",
  async fn() {
    const { code, output, server } = await swaks(
      { tls: "implicit" },
      ["--tlsc", "--tls-verify", "--tls-ca-path", "CA_FILE", "--pipeline"],
    );
    await using _ = server;
    assert.equal(code, 0, output);
    const message = await server.nextMessage();
    assert.equal(message.secure, true);
    assert.equal(message.text, MESSAGE);
    // swaks sent MAIL, both RCPTs and DATA in one go; the replies came in order.
    assert.ok(
      output.includes(
        " ~> MAIL FROM:<a@example.com>\n ~> RCPT TO:<b@example.com>\n" +
          " ~> RCPT TO:<c@example.com>\n ~> DATA\n" +
          "<~  250 2.1.0 Sender OK\n<~  250 2.1.5 Recipient OK\n" +
          "<~  250 2.1.5 Recipient OK\n<~  354 End data with <CR><LF>.<CR><LF>\n",
      ),
      output,
    );
  },
}));

Deno.test(interop({
  requires: ["swaks"],
  name:
    "startTestServer refuses swaks with a wrong password and records nothing",
  async fn() {
    const { code, output, server } = await swaks(
      { tls: "none", auth: { users: { alice: "right" }, required: true } },
      ["--auth", "PLAIN", "--auth-user", "alice", "--auth-password", "wrong"],
    );
    await using _ = server;
    assert.notEqual(code, 0);
    assert.match(output, /535 5\.7\.8 Authentication credentials invalid/);
    assert.equal(server.messages.length, 0);
  },
}));
