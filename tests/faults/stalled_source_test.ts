// Issue 11 items 2 and 3: a message source that stops producing, or that
// yields strings, against both transfer modes. Every case settles within
// its timeout with the right error, cancels the source, and leaves quit()
// free to return.

import assert from "node:assert/strict";
import { SmtpClient, SmtpError } from "../../mod.ts";
import { startTestServer } from "../../testing.ts";
import { raw } from "./_helpers.ts";

/** A source that gives `head` (if any), then never produces again. */
function stalling(head?: string): {
  stream: ReadableStream<Uint8Array>;
  cancelled: Promise<unknown>;
} {
  const cancelled = Promise.withResolvers<unknown>();
  let sent = false;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (!sent && head !== undefined) {
        sent = true;
        controller.enqueue(new TextEncoder().encode(head));
        return;
      }
      return new Promise(() => {}); // never settles
    },
    cancel(reason) {
      cancelled.resolve(reason);
    },
  }, { highWaterMark: 0 });
  return { stream, cancelled: cancelled.promise };
}

const HEAD = "Subject: stalled\r\n\r\n" + "x".repeat(70_000) + "\r\n";

for (const mode of ["DATA", "BDAT"] as const) {
  const options = (
    server: Awaited<ReturnType<typeof startTestServer>>,
    timeouts = {},
  ) => ({
    ...server.clientOptions,
    chunking: mode === "BDAT",
    timeouts: { data: 300, quit: 500, ...timeouts },
  });

  for (const where of ["at once", "after 70 KB"]) {
    Deno.test(`SmtpClient.send() rejects with the signal's reason and cancels a source that stalls ${where} (${mode})`, async () => {
      await using server = await startTestServer();
      const client = await SmtpClient.connect(
        options(server, { data: 60_000 }),
      );
      const { stream, cancelled } = stalling(
        where === "at once" ? undefined : HEAD,
      );
      const controller = new AbortController();
      const reason = new Error("stop waiting");
      setTimeout(() => controller.abort(reason), 100);
      await assert.rejects(
        client.send(raw(stream), { signal: controller.signal }),
        (error) => error === reason,
      );
      assert.equal(await cancelled, reason);
      // quit() is not held behind the stalled send.
      await client.quit();
      assert.equal(server.messages.length, 0);
    });

    Deno.test(`SmtpClient.send() times out with the data timeout on a source that stalls ${where} (${mode})`, async () => {
      await using server = await startTestServer();
      const client = await SmtpClient.connect(options(server));
      const { stream, cancelled } = stalling(
        where === "at once" ? undefined : HEAD,
      );
      await assert.rejects(
        client.send(raw(stream)),
        (error) =>
          error instanceof SmtpError && error.kind === "timeout" &&
          error.temporary && !error.maybeDelivered &&
          /message source produced nothing within 300 ms/.test(error.message),
      );
      await cancelled;
      await client.quit();
      assert.equal(server.messages.length, 0);
    });

    Deno.test(`SmtpClient.send() ends with the server's 421 while a source stalls ${where} (${mode})`, async () => {
      // The server gives up on the client: 421 and close, as a server's
      // own timeout does.
      await using server = await startTestServer({
        hooks: mode === "DATA"
          ? {
            DATA: () => [
              { reply: "354 go" },
              { delay: 150 },
              { reply: "421 4.4.2 timeout" },
              { close: true },
            ],
          }
          : {
            RCPT: () => [
              "default",
              { delay: 150 },
              { reply: "421 4.4.2 timeout" },
              { close: true },
            ],
          },
      });
      const client = await SmtpClient.connect(
        options(server, { data: 60_000, command: 60_000 }),
      );
      const { stream, cancelled } = stalling(HEAD);
      const error = await client.send(raw(stream)).then(
        () => assert.fail("sent"),
        (e) => e,
      );
      assert.ok(error instanceof SmtpError, String(error));
      assert.equal(error.temporary, true);
      await cancelled;
      await client.quit();
    });
  }

  Deno.test(`SmtpClient.send() refuses a stream of strings with a TypeError before the envelope (${mode})`, async () => {
    await using server = await startTestServer();
    await using client = await SmtpClient.connect(options(server));
    const strings = ReadableStream.from([
      "Subject: text\r\n\r\n",
      "body\r\n",
    ]) as unknown as ReadableStream<Uint8Array>;
    await assert.rejects(
      client.send(raw(strings)),
      (error) => error instanceof TypeError && /a string/.test(error.message),
    );
    // Nothing of the transaction reached the server; the session is fine.
    const lines = server.transcripts[0]!.map((l) => l.text);
    assert.ok(
      !lines.some((l) => /^(MAIL|BDAT|DATA)/.test(l)),
      lines.join("\n"),
    );
    assert.equal((await client.noop()).code, 250);
    assert.equal(server.messages.length, 0);
  });

  Deno.test(`SmtpClient.send() refuses a string chunk after bytes with a TypeError and never sends it (${mode})`, async () => {
    await using server = await startTestServer();
    const client = await SmtpClient.connect(options(server));
    const mixed = ReadableStream.from([
      new TextEncoder().encode("Subject: mixed\r\n\r\n" + "y".repeat(70_000)),
      "a string",
    ]) as ReadableStream<Uint8Array>;
    await assert.rejects(
      client.send(raw(mixed)),
      (error) => error instanceof TypeError,
    );
    await client.quit();
    // No NUL bytes, no truncated message delivered.
    assert.equal(server.messages.length, 0);
  });
}
