/**
 * The sendmail command as a separate process with msmtp's `auth
 * scram-sha-256` / `auth scram-sha-1`, against the capture server offering
 * SCRAM only.
 *
 * @module
 */
import assert from "node:assert/strict";
import { startTestServer } from "../../testing.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;

for (const mechanism of ["SCRAM-SHA-256", "SCRAM-SHA-1"] as const) {
  Deno.test(`sendmail command authenticates with auth ${mechanism.toLowerCase()} from an msmtp config`, async () => {
    await using server = await startTestServer({
      auth: {
        users: { app: "s3cret" },
        mechanisms: [mechanism],
        required: true,
      },
    });
    const dir = await Deno.makeTempDir({ prefix: "sendmail-cli-scram" });
    try {
      await Deno.writeTextFile(`${dir}/ca.pem`, server.caCert);
      await Deno.writeTextFile(
        `${dir}/msmtprc`,
        [
          "account default",
          "host localhost",
          `port ${server.port}`,
          "tls on",
          "tls_starttls on",
          `tls_trust_file ${dir}/ca.pem`,
          `auth ${mechanism.toLowerCase()}`,
          "user app",
          "password s3cret",
          "from app@example.com",
          "",
        ].join("\n"),
      );
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", CLI, "-C", `${dir}/msmtprc`, "ops@example.com"],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).spawn();
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode("Subject: cron\n\ndone\n"));
      await writer.close();
      const { code, stderr } = await child.output();
      assert.equal(code, 0, new TextDecoder().decode(stderr));
      const message = await server.nextMessage();
      assert.equal(message.authUser, "app");
      assert.equal(message.authMechanism, mechanism);
      assert.deepEqual(message.envelope.to, ["ops@example.com"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
