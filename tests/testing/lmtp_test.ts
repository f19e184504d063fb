import assert from "node:assert/strict";
import { SmtpClient, SmtpError } from "../../mod.ts";
import { startTestServer } from "../../testing.ts";
import { interop, PYTHON } from "../_harness/mod.ts";

const message = (to: string[]) => ({
  envelope: { from: "a@example.com", to },
  raw: "Subject: lmtp\r\n\r\nhello\r\n",
});

for (const chunking of [false, true]) {
  Deno.test(
    `startTestServer with lmtp answers each recipient after the data from the DATA_END hook (${
      chunking ? "BDAT" : "DATA"
    })`,
    async () => {
      await using server = await startTestServer({
        lmtp: true,
        hooks: {
          DATA_END: ({ args }) =>
            args === "full@example.com"
              ? { reply: "552 5.2.2 over quota" }
              : "default",
        },
      });
      await using client = await SmtpClient.connect({
        ...server.clientOptions,
        lmtp: true,
        chunking,
      });
      const result = await client.send(
        message(["a@example.com", "full@example.com", "c@example.com"]),
      );
      assert.deepEqual(result.accepted, ["a@example.com", "c@example.com"]);
      assert.deepEqual(
        result.rejected.map((r) => [r.recipient, r.reply.code]),
        [
          ["full@example.com", 552],
        ],
      );
      const stored = await server.nextMessage();
      assert.deepEqual(stored.envelope.to, ["a@example.com", "c@example.com"]);
      assert.equal(stored.transfer, chunking ? "BDAT" : "DATA");
    },
  );
}

Deno.test("startTestServer with lmtp refuses EHLO, and SmtpClient without lmtp fails clearly", async () => {
  await using server = await startTestServer({ lmtp: true });
  await assert.rejects(
    SmtpClient.connect(server.clientOptions),
    (error) =>
      error instanceof SmtpError && error.command === "HELO" &&
      error.code === 500,
  );
  const lines = server.transcripts[0]!.map((l) => l.text);
  assert.ok(lines.some((l) => /^500 .*EHLO/.test(l)), lines.join("\n"));
});

Deno.test(interop({
  name:
    "startTestServer with lmtp gives Python's smtplib.LMTP one reply per recipient",
  requires: ["python3"],
  async fn() {
    await using server = await startTestServer({
      lmtp: true,
      tls: "none",
      hooks: {
        DATA_END: ({ args }) =>
          args === "b@example.com" ? { reply: "450 4.2.1 busy" } : "default",
      },
    });
    const script = `
import smtplib, sys
lmtp = smtplib.LMTP("127.0.0.1", ${server.port})
lmtp.ehlo("python.test")
lmtp.mail("a@example.com")
for r in ["a@example.com", "b@example.com"]:
    lmtp.rcpt(r)
code, text = lmtp.data(b"Subject: py\\r\\n\\r\\nhi\\r\\n")
second = lmtp.getreply()
print(code, second[0])
lmtp.quit()
`;
    const { code, stdout, stderr } = await new Deno.Command(PYTHON, {
      args: ["-c", script],
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    assert.equal(new TextDecoder().decode(stdout).trim(), "250 450");
    const stored = await server.nextMessage();
    assert.deepEqual(stored.envelope.to, ["a@example.com"]);
    assert.equal(stored.helo, "python.test");
  },
}));
