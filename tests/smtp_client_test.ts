import assert from "node:assert/strict";
import { SmtpClient, SmtpError } from "../mod.ts";
import { startTestServer } from "../testing.ts";

Deno.test("SmtpClient.send() closes a file-backed message when the server drops the connection mid-DATA", async () => {
  const path = await Deno.makeTempFile();
  try {
    await Deno.writeFile(path, new Uint8Array(64 * 1024 * 1024).fill(0x61));
    await using server = await startTestServer({
      hooks: { DATA: () => [{ reply: "354 go ahead" }, { close: true }] },
    });
    await using client = await SmtpClient.connect(server.clientOptions);
    const file = await Deno.open(path);
    const error = await client.send({
      envelope: { from: "a@example.com", to: ["b@example.com"] },
      raw: file.readable,
    }).then(() => assert.fail("sent"), (e) => e);
    assert.ok(error instanceof SmtpError, String(error));
    assert.equal(error.temporary, true);
    // The message source was cancelled, which closed the file.
    assert.throws(() => file.close(), Deno.errors.BadResource);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("SmtpClient.send() closes a file-backed message when it fails before DATA", async () => {
  const path = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(path, "Subject: x\r\n\r\nbody\r\n");
    await using server = await startTestServer({
      hooks: { MAIL: () => ({ reply: "550 5.7.1 Not you" }) },
    });
    await using client = await SmtpClient.connect(server.clientOptions);
    const file = await Deno.open(path);
    const error = await client.send({
      envelope: { from: "a@example.com", to: ["b@example.com"] },
      raw: file.readable,
    }).then(() => assert.fail("sent"), (e) => e);
    assert.equal(error.code, 550);
    assert.throws(() => file.close(), Deno.errors.BadResource);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("SmtpClient.send() rejects with the source's error and delivers nothing when the message stream fails", async () => {
  await using server = await startTestServer();
  await using client = await SmtpClient.connect(server.clientOptions);
  const failure = new Error("disk read failed");
  let pulls = 0;
  const raw = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulls++ === 0) {
        controller.enqueue(
          new TextEncoder().encode("Subject: x\r\n\r\npartial"),
        );
      } else controller.error(failure);
    },
  });
  const error = await client.send({
    envelope: { from: "a@example.com", to: ["b@example.com"] },
    raw,
  }).then(() => assert.fail("sent"), (e) => e);
  assert.equal(error, failure);
  // The truncated message was never ended with a dot: nothing was delivered.
  assert.equal(server.messages.length, 0);
  const next = await client.noop().then(() => assert.fail("noop"), (e) => e);
  assert.ok(next instanceof SmtpError);
  assert.equal(next.kind, "closed");
});
