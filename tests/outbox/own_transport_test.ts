import assert from "node:assert/strict";
import { ownTransport } from "../../src/outbox/_own_transport.ts";
import { SmtpPool } from "../../mod.ts";
import { startTestServer } from "../../testing.ts";

const message = (to: string) => ({
  envelope: { from: "app@example.com", to: [to] },
  raw: "Subject: x\r\n\r\nhi\r\n",
});

Deno.test("ownTransport builds an SmtpPool that reuses its connection across sends and QUITs on close", async () => {
  await using server = await startTestServer({ tls: "none" });
  const transport = ownTransport(server.clientOptions);
  assert.ok(transport instanceof SmtpPool);
  await transport.send(message("a@example.com"));
  await transport.send(message("b@example.com"));
  await transport.close();
  assert.deepEqual(server.messages.map((m) => m.connection), [1, 1]);
  assert.ok(
    server.transcripts[0]!.some((l) =>
      l.type === "client" && l.text === "QUIT"
    ),
  );
});

Deno.test("ownTransport takes a URL and the pool's options, and refuses misused ones at once", async () => {
  assert.throws(
    () => ownTransport({ hostname: "127.0.0.1", colour: 1 } as never),
    TypeError,
  );
  assert.throws(() => ownTransport("ftp://example.com"), TypeError);
  assert.throws(
    () => ownTransport({ hostname: "127.0.0.1", maxConnections: 0 }),
    RangeError,
  );
  await using server = await startTestServer({ tls: "none" });
  const transport = ownTransport(
    `smtp://${server.hostname}:${server.port}?tls=none`,
  );
  await transport.send(message("a@example.com"));
  await transport.close();
  await assert.rejects(transport.send(message("b@example.com")), {
    name: "SmtpError",
    kind: "closed",
  });
  assert.equal(server.messages.length, 1);
});
