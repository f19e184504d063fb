import assert from "node:assert/strict";
import { SmtpPool } from "../mod.ts";
import { startTestServer } from "../testing.ts";
import { createHandler } from "../examples/notify_handler.ts";
import { parseRate, parseRecipients, sendBulk } from "../examples/bulk.ts";

const notify = (to: string, subject = "Disk", text = "91%") =>
  new Request("http://localhost/notify", {
    method: "POST",
    body: JSON.stringify({ to, subject, text }),
  });

Deno.test("notify handler sends a mail and answers 202 with its Message-ID", async () => {
  await using server = await startTestServer({
    auth: { users: { app: "pw" } },
  });
  await using pool = new SmtpPool({
    ...server.clientOptions,
    auth: { username: "app", password: "pw" },
  });
  const handler = createHandler(pool, "alerts@example.com");
  const response = await handler(notify("ops@example.com"));
  assert.equal(response.status, 202);
  const { messageId } = await response.json();
  const message = await server.nextMessage();
  assert.deepEqual(message.envelope.to, ["ops@example.com"]);
  assert.equal(message.authUser, "app");
  assert.ok(message.text.includes(`Message-ID: ${messageId}\r\n`));
});

Deno.test("notify handler answers 400 for a header-injection attempt and sends nothing", async () => {
  await using server = await startTestServer();
  await using pool = new SmtpPool(server.clientOptions);
  const handler = createHandler(pool, "alerts@example.com");
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
  await using pool = new SmtpPool(server.clientOptions);
  const handler = createHandler(pool, "alerts@example.com");
  const response = await handler(notify("ops@example.com", "s", "t"));
  assert.equal(response.status, 503);
  assert.equal((await response.json()).temporary, true);
});

Deno.test("notify handler sends the next notification on the connection the first one opened", async () => {
  await using server = await startTestServer({
    auth: { users: { app: "pw" } },
  });
  await using pool = new SmtpPool({
    ...server.clientOptions,
    auth: { username: "app", password: "pw" },
  });
  const handler = createHandler(pool, "alerts@example.com");
  for (const to of ["a@example.com", "b@example.com", "c@example.com"]) {
    const response = await handler(notify(to));
    assert.equal(response.status, 202);
    await response.body?.cancel();
  }
  // One session: one STARTTLS, one AUTH, three messages.
  assert.equal(server.transcripts.length, 1);
  assert.deepEqual(server.messages.map((m) => m.connection), [1, 1, 1]);
  assert.deepEqual(
    server.messages.map((m) => m.envelope.to[0]),
    ["a@example.com", "b@example.com", "c@example.com"],
  );
});

Deno.test("notify handler answers 503 when the send does not finish within its deadline", async () => {
  await using server = await startTestServer({
    hooks: { DATA_END: () => [{ delay: 1000 }, "default"] },
  });
  await using pool = new SmtpPool(server.clientOptions);
  const handler = createHandler(pool, "alerts@example.com", { timeout: 100 });
  const response = await handler(notify("ops@example.com"));
  assert.equal(response.status, 503);
  const body = await response.json();
  assert.equal(body.temporary, true);
  assert.match(body.error, /within 100 ms/);
});

Deno.test("sendBulk sends to every recipient through the pool, reports progress and lists the failures in order", async () => {
  await using server = await startTestServer({
    hooks: {
      RCPT: (ctx) =>
        ctx.args.includes("nobody@")
          ? { reply: "550 5.1.1 No such user" }
          : undefined,
    },
  });
  await using pool = new SmtpPool({
    ...server.clientOptions,
    maxConnections: 2,
  });
  const recipients = Array.from(
    { length: 12 },
    (_, i) => i === 4 ? "nobody@example.org" : `r${i}@example.org`,
  );
  const seen: number[] = [];
  const failures = await sendBulk(
    pool,
    recipients,
    (to) => ({ from: "news@example.com", to, subject: "News", text: "Hi" }),
    (progress) => {
      assert.equal(progress.total, 12);
      seen.push(progress.sent + progress.failed);
    },
    5,
  );
  assert.deepEqual(seen, Array.from({ length: 12 }, (_, i) => i + 1));
  assert.deepEqual(failures.map((f) => f.recipient), ["nobody@example.org"]);
  assert.equal(server.messages.length, 11);
});

Deno.test("parseRate reads N/s, N/min and N/h and refuses anything else", () => {
  assert.deepEqual(parseRate("10/s"), { messages: 10, per: 1000 });
  assert.deepEqual(parseRate("600/min"), { messages: 600, per: 60_000 });
  assert.deepEqual(parseRate(" 5000 / h "), { messages: 5000, per: 3_600_000 });
  for (const bad of ["10", "10/day", "x/s", "-1/s", "1.5/s"]) {
    assert.throws(() => parseRate(bad), TypeError);
  }
});

Deno.test("parseRecipients skips blank lines and comments", () => {
  assert.deepEqual(
    parseRecipients(
      "# list\r\na@example.com\n\n  b@example.com  \n#c@example.com\n",
    ),
    ["a@example.com", "b@example.com"],
  );
});

Deno.test("examples/bulk.ts sends a list at the given rate and prints its progress", async () => {
  await using server = await startTestServer({ tls: "none" });
  const list = await Deno.makeTempFile({ suffix: ".txt" });
  try {
    await Deno.writeTextFile(
      list,
      "# test list\n" +
        Array.from({ length: 6 }, (_, i) => `r${i}@example.org`).join("\n"),
    );
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net",
        "--allow-env",
        "--allow-read",
        "examples/bulk.ts",
        list,
      ],
      env: {
        SMTP_URL: `smtp://${server.hostname}:${server.port}?tls=none`,
        BULK_FROM: "news@example.com",
        BULK_RATE: "20/s",
      },
      cwd: new URL("..", import.meta.url),
    }).output();
    const err = new TextDecoder().decode(stderr);
    assert.equal(code, 0, err);
    assert.match(
      new TextDecoder().decode(stdout),
      /^Sent 6 of 6 in [\d.]+ s$/m,
    );
    assert.match(err, /^6\/6 \(0 failed\), [\d.]+ msg\/s$/m);
    assert.deepEqual(
      server.messages.map((m) => m.envelope.to[0]).sort(),
      Array.from({ length: 6 }, (_, i) => `r${i}@example.org`),
    );
    assert.ok(
      server.messages.every((m) => m.envelope.from === "news@example.com"),
    );
  } finally {
    await Deno.remove(list);
  }
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
