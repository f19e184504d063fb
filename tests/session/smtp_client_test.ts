import assert from "node:assert/strict";
import { SmtpClient, SmtpError } from "../../mod.ts";
import { startTestServer } from "../../testing.ts";

const envelope = { from: "a@example.com", to: ["b@example.com"] };

for (const path of ["DATA", "BDAT"] as const) {
  Deno.test(`SmtpClient.send() closes a file-backed message when the server drops the connection mid-${path}`, async () => {
    const file = await Deno.makeTempFile();
    try {
      await Deno.writeFile(file, new Uint8Array(64 * 1024 * 1024).fill(0x61));
      await using server = await startTestServer({
        hooks: path === "DATA"
          ? { DATA: () => [{ reply: "354 go ahead" }, { close: true }] }
          : { BDAT: () => ({ close: true }) },
      });
      await using client = await SmtpClient.connect({
        ...server.clientOptions,
        chunking: path === "BDAT",
      });
      const opened = await Deno.open(file);
      const error = await client.send({ envelope, raw: opened.readable })
        .then(() => assert.fail("sent"), (e) => e);
      assert.ok(error instanceof SmtpError, String(error));
      assert.equal(error.temporary, true);
      // The message source was cancelled, which closed the file.
      assert.throws(() => opened.close(), Deno.errors.BadResource);
    } finally {
      await Deno.remove(file);
    }
  });
}

Deno.test("SmtpClient.send() closes a file-backed message when it fails before DATA", async () => {
  const file = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(file, "Subject: x\r\n\r\nbody\r\n");
    await using server = await startTestServer({
      hooks: { MAIL: () => ({ reply: "550 5.7.1 Not you" }) },
    });
    await using client = await SmtpClient.connect(server.clientOptions);
    const opened = await Deno.open(file);
    const error = await client.send({ envelope, raw: opened.readable })
      .then(() => assert.fail("sent"), (e) => e);
    assert.equal(error.code, 550);
    assert.throws(() => opened.close(), Deno.errors.BadResource);
  } finally {
    await Deno.remove(file);
  }
});

/** A message stream that yields `size` bytes of a body, then fails. */
function failingAfter(
  size: number,
  failure: Error,
): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent) return controller.error(failure);
      sent = true;
      const bytes = new Uint8Array(size).fill(0x61);
      bytes.set(new TextEncoder().encode("Subject: x\r\n\r\n"));
      controller.enqueue(bytes);
    },
  });
}

Deno.test("SmtpClient.send() with DATA rejects with the source's error, delivers nothing and closes the session when the message stream fails", async () => {
  await using server = await startTestServer();
  await using client = await SmtpClient.connect({
    ...server.clientOptions,
    chunking: false,
  });
  const failure = new Error("disk read failed");
  const error = await client.send({ envelope, raw: failingAfter(100, failure) })
    .then(() => assert.fail("sent"), (e) => e);
  assert.equal(error, failure);
  // A truncated DATA message cannot be ended without delivering it: the
  // connection was dropped instead of sending the final dot.
  assert.equal(server.messages.length, 0);
  const next = await client.noop().then(() => assert.fail("noop"), (e) => e);
  assert.ok(next instanceof SmtpError);
  assert.equal(next.kind, "closed");
});

for (const size of [100, 200_000]) {
  Deno.test(`SmtpClient.send() with BDAT rejects with the source's error and keeps the session when the stream fails after ${size} bytes`, async () => {
    await using server = await startTestServer();
    await using client = await SmtpClient.connect(server.clientOptions);
    assert.equal(client.capabilities.chunking, true);
    const failure = new Error("disk read failed");
    const error = await client.send({
      envelope,
      raw: failingAfter(size, failure),
    })
      .then(() => assert.fail("sent"), (e) => e);
    assert.equal(error, failure);
    assert.equal(server.messages.length, 0);
    // A BDAT transaction is abandoned with RSET: the session goes on.
    await client.send({ envelope, raw: "Subject: next\r\n\r\nok\r\n" });
    assert.equal(
      (await server.nextMessage()).text,
      "Subject: next\r\n\r\nok\r\n",
    );
  });
}
