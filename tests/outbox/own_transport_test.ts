import assert from "node:assert/strict";
import { ownTransport } from "../../src/outbox/_own_transport.ts";
import { startTestServer } from "../../testing.ts";

const message = (to: string) => ({
  envelope: { from: "app@example.com", to: [to] },
  raw: "Subject: x\r\n\r\nhi\r\n",
});

Deno.test("ownTransport sends a pass's messages on one connection and QUITs when the pass ends", async () => {
  await using server = await startTestServer({ tls: "none" });
  const transport = ownTransport(server.clientOptions);
  const release = transport.hold!();
  await Promise.all([
    transport.send(message("a@example.com")),
    transport.send(message("b@example.com")),
    transport.send(message("c@example.com")),
  ]);
  release();
  await transport.close();
  assert.deepEqual(server.messages.map((m) => m.connection), [1, 1, 1]);
  assert.equal(server.transcripts.length, 1);
  assert.ok(
    server.transcripts[0]!.some((l) =>
      l.type === "client" && l.text === "QUIT"
    ),
  );
});

Deno.test("ownTransport connects again for the next pass, and after the server dropped it", async () => {
  await using server = await startTestServer({
    tls: "none",
    hooks: {
      DATA_END: ({ connection }) =>
        connection === 2
          ? ["default", { reply: "421 4.3.2 Going down" }, { close: true }]
          : "default",
    },
  });
  const transport = ownTransport(
    `smtp://${server.hostname}:${server.port}?tls=none`,
  );
  let release = transport.hold!();
  await transport.send(message("a@example.com"));
  release();
  release = transport.hold!();
  await transport.send(message("b@example.com"));
  // The server went away after that message: wait until the client knows.
  await new Promise((resolve) => setTimeout(resolve, 50));
  await transport.send(message("c@example.com"));
  release();
  await transport.close();
  assert.deepEqual(server.messages.map((m) => m.connection), [1, 2, 3]);
});

Deno.test("ownTransport refuses misused options at once and strips pool options", async () => {
  assert.throws(
    () => ownTransport({ hostname: "127.0.0.1", colour: 1 } as never),
    TypeError,
  );
  assert.throws(() => ownTransport("ftp://example.com"), TypeError);
  await using server = await startTestServer({ tls: "none" });
  const transport = ownTransport({
    ...server.clientOptions,
    maxConnections: 2,
    idleTimeout: 10,
  } as never);
  const release = transport.hold!();
  await transport.send(message("a@example.com"));
  release();
  await transport.close();
  await assert.rejects(transport.send(message("b@example.com")), {
    name: "SmtpError",
    kind: "closed",
  });
  assert.equal(server.messages.length, 1);
});
