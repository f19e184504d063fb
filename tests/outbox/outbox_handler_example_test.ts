import assert from "node:assert/strict";
import { Outbox } from "../../outbox.ts";
import { startTestServer } from "../../testing.ts";
import { createHandler } from "../../examples/outbox_handler.ts";
import { tempKv } from "./_helpers.ts";

const post = (body: unknown, headers: Record<string, string> = {}) =>
  new Request("http://localhost/notify", {
    method: "POST",
    body: JSON.stringify(body),
    headers,
  });

Deno.test("outbox handler answers 202 before the mail is sent, and listen() sends it", async () => {
  // A slow relay: the request must not wait for it.
  await using server = await startTestServer({
    tls: "none",
    hooks: { MAIL: () => [{ delay: 300 }, "default"] },
  });
  await using temp = await tempKv();
  await using outbox = await Outbox.open({
    kv: temp.kv,
    transport: server.clientOptions,
    pollInterval: 100,
  });
  const controller = new AbortController();
  const listening = outbox.listen({ signal: controller.signal });
  try {
    const handler = createHandler(outbox, "alerts@example.com");
    const response = await handler(
      post({ to: "ops@example.com", subject: "Disk", text: "91%" }),
    );
    assert.equal(response.status, 202);
    const { id, messageId } = await response.json();
    assert.equal(server.messages.length, 0);
    const message = await server.nextMessage(5000);
    assert.deepEqual(message.envelope.to, ["ops@example.com"]);
    assert.ok(message.text.includes(`Message-ID: ${messageId}\r\n`));
    // The status endpoint shows it sent once the outcome is recorded.
    let state = "";
    for (let i = 0; i < 100 && state !== "sent"; i++) {
      const status = await handler(
        new Request(`http://localhost/notify/${encodeURIComponent(id)}`),
      );
      state = (await status.json()).state;
      if (state !== "sent") await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(state, "sent");
  } finally {
    controller.abort();
    await listening;
  }
});

Deno.test("outbox handler stores a retried request once with an Idempotency-Key, and answers 400 for a bad address", async () => {
  await using server = await startTestServer({ tls: "none" });
  await using temp = await tempKv();
  await using outbox = await Outbox.open({
    kv: temp.kv,
    transport: server.clientOptions,
  });
  const handler = createHandler(outbox, "alerts@example.com");
  const body = { to: "ops@example.com", subject: "Disk", text: "91%" };
  const first = await handler(post(body, { "Idempotency-Key": "k1" }));
  const again = await handler(post(body, { "Idempotency-Key": "k1" }));
  assert.equal(first.status, 202);
  assert.equal(again.status, 202);
  assert.deepEqual(await again.json(), await first.json());
  const bad = await handler(
    post({
      to: "ops@example.com\r\nBcc: x@evil.example",
      subject: "s",
      text: "t",
    }),
  );
  assert.equal(bad.status, 400);
  await bad.body?.cancel();
  assert.equal((await outbox.deliver()).sent, 1);
  assert.equal(server.messages.length, 1);
});
