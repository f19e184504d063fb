// Issue 11 item 6: a bare CR inside a header line of the command's input
// becomes a line break on the wire; it must not smuggle a Bcc field past
// Bcc removal (nor a recipient past -t).

import assert from "node:assert/strict";
import { startTestServer } from "../../testing.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;

Deno.test("sendmail command -t removes a Bcc field hidden behind a bare CR in another header", async () => {
  await using server = await startTestServer({ tls: "none" });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      CLI,
      "--url",
      `smtp://${server.hostname}:${server.port}?tls=none`,
      "-t",
      "-f",
      "app@example.com",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(
    new TextEncoder().encode(
      "To: ops@example.com\nSubject: hi\rBcc: secret@example.com\n\nbody\n",
    ),
  );
  await writer.close();
  const { code, stderr } = await child.output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const message = await server.nextMessage();
  // The hidden field is a Bcc like any other: its recipient gets the
  // message, and the field itself is removed.
  assert.deepEqual([...message.envelope.to].sort(), [
    "ops@example.com",
    "secret@example.com",
  ]);
  assert.doesNotMatch(message.text, /^Bcc:/im);
  assert.match(message.text, /^Subject: hi\r$/m);
});
