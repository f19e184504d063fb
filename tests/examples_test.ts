import assert from "node:assert/strict";
import { startTestServer } from "../testing.ts";
import { createHandler } from "../examples/notify_handler.ts";

Deno.test("notify handler sends a mail and answers 202 with its Message-ID", async () => {
  await using server = await startTestServer({
    auth: { users: { app: "pw" } },
  });
  const handler = createHandler(
    { ...server.clientOptions, auth: { username: "app", password: "pw" } },
    "alerts@example.com",
  );
  const response = await handler(
    new Request("http://localhost/notify", {
      method: "POST",
      body: JSON.stringify({
        to: "ops@example.com",
        subject: "Disk",
        text: "91%",
      }),
    }),
  );
  assert.equal(response.status, 202);
  const { messageId } = await response.json();
  const message = await server.nextMessage();
  assert.deepEqual(message.envelope.to, ["ops@example.com"]);
  assert.equal(message.authUser, "app");
  assert.ok(message.text.includes(`Message-ID: ${messageId}\r\n`));
});

Deno.test("notify handler answers 400 for a header-injection attempt and sends nothing", async () => {
  await using server = await startTestServer();
  const handler = createHandler(server.clientOptions, "alerts@example.com");
  const response = await handler(
    new Request("http://localhost/notify", {
      method: "POST",
      body: JSON.stringify({
        to: "ops@example.com\r\nBcc: x@evil.example",
        subject: "s",
        text: "t",
      }),
    }),
  );
  assert.equal(response.status, 400);
  await response.body?.cancel();
  assert.equal(server.messages.length, 0);
});

Deno.test("notify handler answers 503 when the server fails temporarily", async () => {
  await using server = await startTestServer({
    hooks: { MAIL: () => ({ reply: "451 4.3.0 Try again later" }) },
  });
  const handler = createHandler(server.clientOptions, "alerts@example.com");
  const response = await handler(
    new Request("http://localhost/notify", {
      method: "POST",
      body: JSON.stringify({ to: "ops@example.com", subject: "s", text: "t" }),
    }),
  );
  assert.equal(response.status, 503);
  assert.equal((await response.json()).temporary, true);
});

Deno.test("examples/smtp_url.ts sends to the server named by SMTP_URL", async () => {
  await using server = await startTestServer({ tls: "none" });
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-env",
      "examples/smtp_url.ts",
      "you@example.com",
    ],
    env: {
      SMTP_URL: `smtp://${server.hostname}:${server.port}?tls=none`,
      SMTP_FROM: "me@example.com",
    },
    cwd: new URL("..", import.meta.url),
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  assert.match(
    new TextDecoder().decode(stdout),
    /^Sent <.+> to you@example\.com$/m,
  );
  const message = await server.nextMessage();
  assert.equal(message.envelope.from, "me@example.com");
  assert.deepEqual(message.envelope.to, ["you@example.com"]);
});
