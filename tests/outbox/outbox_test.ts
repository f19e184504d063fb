import assert from "node:assert/strict";
import { Outbox } from "../../outbox.ts";
import { startTestServer } from "../../testing.ts";
import { SmtpError } from "../../mod.ts";
import {
  acceptedAll,
  bytesOf,
  HeldTransport,
  keysByKind,
  streamOf,
  tempKv,
  textOf,
} from "./_helpers.ts";

const FROM = "app@example.com";
const mail = (to: string | string[], subject = "Hello") => ({
  from: FROM,
  to,
  subject,
  text: "Hello there",
});

/** Message-IDs of what a capture server received, counted. */
function countIds(messages: readonly { text: string }[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { text } of messages) {
    const id = /^Message-ID: (<[^>]+>)\r$/m.exec(text)?.[1] ?? "?";
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

Deno.test("Outbox delivers an enqueued message once and get() shows it sent with the reply", async () => {
  await using server = await startTestServer({ tls: "none" });
  await using temp = await tempKv();
  await using outbox = await Outbox.open({
    kv: temp.kv,
    transport: server.clientOptions,
  });
  const queued = await outbox.enqueue(mail("ada@example.com"));
  assert.equal(queued.state, "queued");
  assert.equal(queued.attempts, 0);
  assert.match(queued.messageId, /^<[^@]+@example\.com>$/);
  assert.deepEqual(queued.envelope, { from: FROM, to: ["ada@example.com"] });
  assert.deepEqual(queued.recipients, [
    { address: "ada@example.com", state: "pending" },
  ]);
  assert.ok(queued.nextAttemptAt instanceof Date);

  assert.deepEqual(await outbox.deliver(), {
    attempted: 1,
    sent: 1,
    retried: 0,
    failed: 0,
  });
  assert.deepEqual(await outbox.deliver(), {
    attempted: 0,
    sent: 0,
    retried: 0,
    failed: 0,
  });
  assert.equal(server.messages.length, 1);
  const [received] = server.messages;
  assert.deepEqual(received!.envelope.to, ["ada@example.com"]);
  assert.ok(received!.text.includes(`Message-ID: ${queued.messageId}\r\n`));

  const sent = await outbox.get(queued.id);
  assert.equal(sent?.state, "sent");
  assert.equal(sent?.attempts, 1);
  assert.equal(sent?.nextAttemptAt, undefined);
  assert.equal(sent?.recipients[0]?.state, "accepted");
  assert.equal(sent?.recipients[0]?.reply?.code, 250);
  assert.equal(sent?.lastError, undefined);
  // The bytes of a sent message are not kept.
  assert.equal((await keysByKind(temp.kv)).body, undefined);
});

Deno.test("Outbox keeps every entry across a close and delivers each exactly once after reopening", async () => {
  await using server = await startTestServer({ tls: "none" });
  await using temp = await tempKv();
  const ids: string[] = [];
  {
    const outbox = await Outbox.open({
      kv: temp.kv,
      transport: server.clientOptions,
    });
    for (let i = 0; i < 20; i++) {
      const entry = await outbox.enqueue(
        mail(`user${i}@example.com`, `n${i}`),
      );
      ids.push(entry.messageId);
    }
    await outbox.close();
  }
  const kv = await temp.reopen();
  await using outbox = await Outbox.open({
    kv,
    transport: server.clientOptions,
  });
  assert.equal((await outbox.list({ state: "queued" })).length, 20);
  const result = await outbox.deliver();
  assert.deepEqual(result, { attempted: 20, sent: 20, retried: 0, failed: 0 });
  const counts = countIds(server.messages);
  assert.equal(server.messages.length, 20);
  for (const id of ids) assert.equal(counts.get(id), 1, id);
  assert.equal((await outbox.list({ state: "sent" })).length, 20);
});

Deno.test("Outbox retries a 451 on the schedule and then sends", async () => {
  let mails = 0;
  await using server = await startTestServer({
    tls: "none",
    hooks: {
      MAIL: () =>
        ++mails === 1 ? { reply: "451 4.3.0 Try again later" } : "default",
    },
  });
  await using temp = await tempKv();
  await using outbox = await Outbox.open({
    kv: temp.kv,
    transport: server.clientOptions,
    retry: { delays: [400] },
  });
  const { id } = await outbox.enqueue(mail("ada@example.com"));
  assert.deepEqual(await outbox.deliver(), {
    attempted: 1,
    sent: 0,
    retried: 1,
    failed: 0,
  });
  const waiting = await outbox.get(id);
  assert.equal(waiting?.state, "queued");
  assert.equal(waiting?.attempts, 1);
  assert.equal(waiting?.lastError?.code, 451);
  assert.equal(waiting?.lastError?.temporary, true);
  const wait = waiting!.nextAttemptAt!.getTime() - waiting!.updatedAt.getTime();
  assert.ok(wait >= 400 && wait <= 440, `waits ${wait} ms`);
  // Not due yet: nothing is attempted.
  assert.equal((await outbox.deliver()).attempted, 0);
  await new Promise((resolve) => setTimeout(resolve, 450));
  assert.deepEqual(await outbox.deliver(), {
    attempted: 1,
    sent: 1,
    retried: 0,
    failed: 0,
  });
  const sent = await outbox.get(id);
  assert.equal(sent?.state, "sent");
  assert.equal(sent?.attempts, 2);
  assert.equal(server.messages.length, 1);
});

Deno.test("Outbox never retries a 550: the entry fails with the reply", async () => {
  await using server = await startTestServer({
    tls: "none",
    hooks: { RCPT: () => ({ reply: "550 5.1.1 No such user" }) },
  });
  await using temp = await tempKv();
  await using outbox = await Outbox.open({
    kv: temp.kv,
    transport: server.clientOptions,
    retry: { delays: [0] },
  });
  const { id } = await outbox.enqueue(mail("nobody@example.com"));
  assert.deepEqual(await outbox.deliver(), {
    attempted: 1,
    sent: 0,
    retried: 0,
    failed: 1,
  });
  assert.equal((await outbox.deliver()).attempted, 0);
  const failed = await outbox.get(id);
  assert.equal(failed?.state, "failed");
  assert.equal(failed?.attempts, 1);
  assert.equal(failed?.nextAttemptAt, undefined);
  assert.equal(failed?.recipients[0]?.state, "rejected");
  assert.equal(failed?.recipients[0]?.reply?.code, 550);
  assert.equal(failed?.lastError?.code, 550);
  assert.equal(failed?.lastError?.enhancedCode, "5.1.1");
  assert.equal(failed?.lastError?.temporary, false);
  assert.equal(server.messages.length, 0);
  // One RCPT was ever sent.
  const rcpts = server.transcripts.flat().filter((l) =>
    l.type === "client" && l.text.startsWith("RCPT")
  );
  assert.equal(rcpts.length, 1);
});

Deno.test("Outbox retries only the recipient refused with a 450 when another got 550 and a third was accepted", async () => {
  let busy = 0;
  await using server = await startTestServer({
    tls: "none",
    hooks: {
      RCPT: ({ args }) => {
        if (args.includes("<gone@example.com>")) {
          return { reply: "550 5.1.1 No such user" };
        }
        if (args.includes("<busy@example.com>") && busy++ === 0) {
          return { reply: "450 4.2.1 Mailbox busy" };
        }
        return "default";
      },
    },
  });
  await using temp = await tempKv();
  await using outbox = await Outbox.open({
    kv: temp.kv,
    transport: server.clientOptions,
    retry: { delays: [0] },
  });
  const { id } = await outbox.enqueue(
    mail(["ok@example.com", "busy@example.com", "gone@example.com"]),
  );
  assert.deepEqual(await outbox.deliver(), {
    attempted: 1,
    sent: 0,
    retried: 1,
    failed: 0,
  });
  const partial = await outbox.get(id);
  assert.equal(partial?.state, "queued");
  assert.deepEqual(
    partial?.recipients.map((r) => [r.address, r.state, r.reply?.code]),
    [
      ["ok@example.com", "accepted", 250],
      ["busy@example.com", "pending", 450],
      ["gone@example.com", "rejected", 550],
    ],
  );
  assert.equal(partial?.lastError?.code, 450);
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.deepEqual(await outbox.deliver(), {
    attempted: 1,
    sent: 1,
    retried: 0,
    failed: 0,
  });
  // What the server saw: the first transaction delivered to the accepted
  // recipient only, the second to the deferred one only.
  assert.deepEqual(server.messages.map((m) => m.envelope.to), [
    ["ok@example.com"],
    ["busy@example.com"],
  ]);
  // Every RCPT the server saw, in order, whatever the connection.
  const rcpts = server.transcripts.flatMap((t) =>
    t.filter((l) => l.type === "client" && l.text.startsWith("RCPT")).map(
      (l) => l.text,
    )
  );
  assert.deepEqual(rcpts, [
    "RCPT TO:<ok@example.com>",
    "RCPT TO:<busy@example.com>",
    "RCPT TO:<gone@example.com>",
    "RCPT TO:<busy@example.com>",
  ]);
  const [first, second] = server.messages;
  const messageId = (await outbox.get(id))!.messageId;
  assert.ok(first!.text.includes(`Message-ID: ${messageId}\r\n`));
  assert.equal(first!.text, second!.text);
  const sent = await outbox.get(id);
  assert.equal(sent?.state, "sent");
  assert.deepEqual(sent?.recipients.map((r) => r.state), [
    "accepted",
    "accepted",
    "rejected",
  ]);
});

Deno.test("Outbox tries each recipient alone when all were refused and not all for now", async () => {
  // The mailbox is full for the whole first delivery pass.
  let firstPass = true;
  await using server = await startTestServer({
    tls: "none",
    hooks: {
      RCPT: ({ args }) =>
        args.includes("<gone@example.com>")
          ? { reply: "550 5.1.1 No such user" }
          : firstPass
          ? { reply: "452 4.2.2 Mailbox full" }
          : "default",
    },
  });
  await using temp = await tempKv();
  await using outbox = await Outbox.open({
    kv: temp.kv,
    transport: server.clientOptions,
    retry: { delays: [0] },
  });
  const { id } = await outbox.enqueue(
    mail(["gone@example.com", "full@example.com"]),
  );
  // The pass learns which refusal was final: the first transaction names
  // only gone@'s 550, one transaction per recipient tells the rest.
  assert.equal((await outbox.deliver()).retried, 1);
  firstPass = false;
  const entry = await outbox.get(id);
  assert.deepEqual(entry?.recipients.map((r) => [r.state, r.reply?.code]), [
    ["rejected", 550],
    ["pending", 452],
  ]);
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal((await outbox.deliver()).sent, 1);
  assert.deepEqual(server.messages.map((m) => m.envelope.to), [[
    "full@example.com",
  ]]);
});

Deno.test("Outbox delivers a message with a 1 MiB attachment byte-identical", async () => {
  await using server = await startTestServer({ tls: "none" });
  await using temp = await tempKv();
  await using outbox = await Outbox.open({
    kv: temp.kv,
    transport: server.clientOptions,
  });
  const attachment = bytesOf(1024 * 1024);
  const { id } = await outbox.enqueue({
    ...mail("ada@example.com"),
    attachments: [{
      filename: "data.bin",
      content: streamOf(attachment, 50_000),
    }],
  });
  const kinds = await keysByKind(temp.kv);
  // 1 MiB in base64 is about 1.4 MB: more than 64 KiB values, in chunks.
  assert.ok((kinds.body?.length ?? 0) > 20, `${kinds.body?.length} chunks`);
  assert.equal(kinds.upload, undefined);
  assert.equal((await outbox.deliver()).sent, 1);
  const [received] = server.messages;
  const text = received!.text;
  const part = text.split(/\r\n--[^\r\n]+/).find((p) =>
    p.includes('filename="data.bin"')
  )!;
  const base64 = part.slice(part.indexOf("\r\n\r\n") + 4).replace(/\s+/g, "");
  const decoded = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  assert.deepEqual(decoded, attachment);
  assert.equal((await outbox.get(id))?.state, "sent");
  assert.equal((await keysByKind(temp.kv)).body, undefined);
});

Deno.test("Outbox sends a raw message of 1 MiB exactly as stored", async () => {
  await using server = await startTestServer({ tls: "none" });
  await using temp = await tempKv();
  await using outbox = await Outbox.open({
    kv: temp.kv,
    transport: server.clientOptions,
  });
  const head = new TextEncoder().encode(
    "From: app@example.com\r\nTo: ada@example.com\r\nMessage-ID: <raw-1@example.com>\r\nSubject: big\r\n\r\n",
  );
  const body = textOf(78 * 13_444); // just over 1 MiB, whole CRLF lines
  const raw = new Uint8Array(head.length + body.length);
  raw.set(head);
  raw.set(body, head.length);
  const entry = await outbox.enqueue({
    envelope: { from: FROM, to: ["ada@example.com"] },
    raw: streamOf(raw, 70_000),
  });
  assert.equal(entry.messageId, "<raw-1@example.com>");
  assert.equal((await outbox.deliver()).sent, 1);
  assert.deepEqual(server.messages[0]!.raw, raw);
});

Deno.test("Outbox retries a send whose connection dropped after the data, with the same Message-ID, and marks it maybeDuplicate", async () => {
  let ends = 0;
  await using server = await startTestServer({
    tls: "none",
    extensions: ["PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES"],
    hooks: {
      DATA_END: () => ++ends === 1 ? [{ close: true }] : "default",
    },
  });
  await using temp = await tempKv();
  await using outbox = await Outbox.open({
    kv: temp.kv,
    transport: server.clientOptions,
    retry: { delays: [0] },
  });
  const { id, messageId } = await outbox.enqueue(mail("ada@example.com"));
  assert.equal((await outbox.deliver()).retried, 1);
  const retried = await outbox.get(id);
  assert.equal(retried?.maybeDuplicate, true);
  assert.equal(retried?.lastError?.temporary, true);
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal((await outbox.deliver()).sent, 1);
  assert.equal(server.messages.length, 1);
  assert.ok(server.messages[0]!.text.includes(`Message-ID: ${messageId}\r\n`));
  // The first connection carried the whole message too.
  assert.ok(
    server.transcripts[0]!.some((l) =>
      l.type === "info" && /octets|bytes/.test(l.text)
    ),
  );
  assert.equal((await outbox.get(id))?.maybeDuplicate, true);
});

Deno.test("Outbox gives up after maxAttempts temporary failures", async () => {
  await using server = await startTestServer({
    tls: "none",
    hooks: { RCPT: () => ({ reply: "451 4.4.5 Try later" }) },
  });
  await using temp = await tempKv();
  await using outbox = await Outbox.open({
    kv: temp.kv,
    transport: server.clientOptions,
    retry: { delays: [0], maxAttempts: 3 },
  });
  const { id } = await outbox.enqueue(mail("ada@example.com"));
  const verdicts = [];
  for (let i = 0; i < 4; i++) {
    verdicts.push(await outbox.deliver());
    await new Promise((resolve) => setTimeout(resolve, 3));
  }
  assert.deepEqual(verdicts.map((v) => [v.retried, v.failed]), [
    [1, 0],
    [1, 0],
    [0, 1],
    [0, 0],
  ]);
  const failed = await outbox.get(id);
  assert.equal(failed?.state, "failed");
  assert.equal(failed?.attempts, 3);
  assert.equal(failed?.recipients[0]?.state, "rejected");
  assert.equal(failed?.lastError?.temporary, false);
  assert.match(failed?.lastError?.message ?? "", /gave up after 3 attempts/);
});

Deno.test("Outbox fails an entry whose temporary failure comes after maxAge", async () => {
  await using server = await startTestServer({
    tls: "none",
    hooks: { MAIL: () => ({ reply: "421 4.3.2 Shutting down" }) },
  });
  await using temp = await tempKv();
  await using outbox = await Outbox.open({
    kv: temp.kv,
    transport: server.clientOptions,
    retry: { delays: [60_000], maxAttempts: 100, maxAge: 400 },
  });
  const { id } = await outbox.enqueue(mail("ada@example.com"));
  assert.equal((await outbox.deliver()).retried, 1);
  // The next attempt is due at the end of the age, not a minute later.
  const queued = await outbox.get(id);
  assert.ok(
    queued!.nextAttemptAt!.getTime() <= queued!.createdAt.getTime() + 400,
  );
  await new Promise((resolve) => setTimeout(resolve, 450));
  assert.equal((await outbox.deliver()).failed, 1);
  assert.equal((await outbox.get(id))?.state, "failed");
});

Deno.test("Outbox.enqueue stores one entry for one id and does not read the second message", async () => {
  await using temp = await tempKv();
  await using outbox = await Outbox.open({
    kv: temp.kv,
    transport: { hostname: "127.0.0.1", port: 9, tls: "none" },
  });
  const first = await outbox.enqueue(mail("ada@example.com", "first"), {
    id: "order-1",
  });
  let pulled = false;
  let cancelled = false;
  const again = await outbox.enqueue({
    envelope: { from: FROM, to: ["bob@example.com"] },
    raw: new ReadableStream({
      pull() {
        pulled = true;
      },
      cancel() {
        cancelled = true;
      },
    }, { highWaterMark: 0 }),
  }, { id: "order-1" });
  assert.deepEqual(again, first);
  assert.equal(pulled, false);
  assert.equal(cancelled, true);
  assert.equal((await outbox.list()).length, 1);
  assert.equal((await keysByKind(temp.kv)).entry?.length, 1);
});

Deno.test("Outbox.enqueue keeps one entry when two enqueues of one id race", async () => {
  await using temp = await tempKv();
  await using a = await Outbox.open({
    kv: temp.kv,
    transport: "smtp://127.0.0.1:9?tls=none",
  });
  const other = await Deno.openKv(temp.path);
  try {
    await using b = await Outbox.open({
      kv: other,
      transport: "smtp://127.0.0.1:9?tls=none",
    });
    const big = { ...mail("ada@example.com"), text: "x".repeat(700_000) };
    const [x, y] = await Promise.all([
      a.enqueue(big, { id: "same" }),
      b.enqueue(big, { id: "same" }),
    ]);
    assert.equal(x.messageId, y.messageId);
    const kinds = await keysByKind(temp.kv);
    assert.equal(kinds.entry?.length, 1);
    const stored = await temp.kv.get<{ body: { token: string } }>([
      "sendmail.outbox",
      "entry",
      "same",
    ]);
    // Only the winner's chunks are left.
    const tokens = new Set(kinds.body!.map((key) => key[2]));
    assert.deepEqual([...tokens], [stored.value!.body.token]);
    assert.equal(kinds.upload, undefined);
  } finally {
    other.close();
  }
});

Deno.test("Outbox.enqueue refuses a message without recipient or with a bad address and stores nothing", async () => {
  await using temp = await tempKv();
  await using outbox = await Outbox.open({
    kv: temp.kv,
    transport: "smtp://127.0.0.1:9?tls=none",
  });
  await assert.rejects(
    outbox.enqueue({ from: FROM, subject: "x", text: "y" }),
    TypeError,
  );
  await assert.rejects(
    outbox.enqueue({ envelope: { from: FROM, to: [] }, raw: "x" }),
    { name: "TypeError", message: /no recipient/ },
  );
  await assert.rejects(
    outbox.enqueue({
      envelope: { from: FROM, to: ["a b@example.com"] },
      raw: "x",
    }),
    TypeError,
  );
  await assert.rejects(
    outbox.enqueue({
      envelope: { from: FROM, to: ["ada@example.com\r\nRCPT TO:<x@evil>"] },
      raw: "x",
    }),
    TypeError,
  );
  await assert.rejects(outbox.enqueue(mail("not an address")), TypeError);
  await assert.rejects(
    outbox.enqueue(mail("ada@example.com"), { id: "a\nb" }),
    TypeError,
  );
  await assert.rejects(
    outbox.enqueue(mail("ada@example.com"), {
      sendOptions: { signal: AbortSignal.timeout(1) } as never,
    }),
    TypeError,
  );
  await assert.rejects(
    outbox.enqueue(mail("ada@example.com"), { delay: -1 }),
    RangeError,
  );
  assert.deepEqual(await keysByKind(temp.kv), {});
});

Deno.test("Outbox.enqueue refuses a message over maxMessageSize and keeps none of its chunks", async () => {
  await using temp = await tempKv();
  await using outbox = await Outbox.open({
    kv: temp.kv,
    transport: "smtp://127.0.0.1:9?tls=none",
    maxMessageSize: 1024 * 1024,
  });
  const envelope = { from: FROM, to: ["ada@example.com"] };
  // Size known at once.
  await assert.rejects(
    outbox.enqueue({ envelope, raw: new Uint8Array(1024 * 1024 + 1) }),
    RangeError,
  );
  // Size known only once streamed: over 8 chunks were written by then.
  let cancelled = false;
  const source = streamOf(textOf(2 * 1024 * 1024), 64 * 1024);
  const reader = source.getReader();
  await assert.rejects(
    outbox.enqueue({
      envelope,
      raw: new ReadableStream({
        async pull(controller) {
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        },
        cancel() {
          cancelled = true;
        },
      }),
    }),
    { name: "RangeError", message: /maxMessageSize/ },
  );
  assert.equal(cancelled, true);
  // A Mail whose attachment makes it too large.
  await assert.rejects(
    outbox.enqueue({
      ...mail("ada@example.com"),
      attachments: [{ filename: "a.bin", content: new Uint8Array(900_000) }],
    }),
    RangeError,
  );
  assert.deepEqual(await keysByKind(temp.kv), {});
});

Deno.test("Outbox.enqueue deletes what it wrote when the message stream fails", async () => {
  await using temp = await tempKv();
  await using outbox = await Outbox.open({
    kv: temp.kv,
    transport: "smtp://127.0.0.1:9?tls=none",
  });
  let sent = 0;
  const failing = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent++ === 12) throw new Error("disk gone");
      controller.enqueue(textOf(64 * 1024, sent));
    },
  });
  await assert.rejects(
    outbox.enqueue({
      envelope: { from: FROM, to: ["ada@example.com"] },
      raw: failing,
    }),
    /disk gone/,
  );
  assert.deepEqual(await keysByKind(temp.kv), {});
});

Deno.test("Outbox.enqueue with a delay waits before the first attempt", async () => {
  await using server = await startTestServer({ tls: "none" });
  await using temp = await tempKv();
  await using outbox = await Outbox.open({
    kv: temp.kv,
    transport: server.clientOptions,
  });
  const entry = await outbox.enqueue(mail("ada@example.com"), { delay: 400 });
  assert.ok(
    entry.nextAttemptAt!.getTime() - entry.createdAt.getTime() >= 400,
  );
  assert.equal((await outbox.deliver()).attempted, 0);
  await new Promise((resolve) => setTimeout(resolve, 450));
  assert.equal((await outbox.deliver()).sent, 1);
});

Deno.test("Outbox.enqueue keeps DSN options and sends them on every attempt", async () => {
  let mails = 0;
  await using server = await startTestServer({
    tls: "none",
    hooks: {
      MAIL: () => ++mails === 1 ? { reply: "451 4.3.0 later" } : "default",
    },
  });
  await using temp = await tempKv();
  await using outbox = await Outbox.open({
    kv: temp.kv,
    transport: server.clientOptions,
    retry: { delays: [0] },
  });
  await outbox.enqueue(mail("ada@example.com"), {
    sendOptions: { dsn: { notify: ["failure", "delay"], envelopeId: "e-42" } },
  });
  await outbox.deliver();
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal((await outbox.deliver()).sent, 1);
  const [received] = server.messages;
  assert.equal(received!.envelope.mailParams.ENVID, "e-42");
  assert.equal(received!.envelope.rcptParams[0]!.NOTIFY, "FAILURE,DELAY");
});

Deno.test("Outbox makes an entry due again when the delivery holding it outlives its lease", async () => {
  await using temp = await tempKv();
  const held = new HeldTransport();
  await using slow = await Outbox.open({
    kv: temp.kv,
    transport: held,
    leaseDuration: 500,
  });
  const { id } = await slow.enqueue(mail("ada@example.com"));
  const stuck = slow.deliver();
  await held.waitForCalls(1);
  assert.equal((await slow.get(id))?.state, "sending");

  const other = await Deno.openKv(temp.path);
  try {
    const quick = new HeldTransport();
    await using second = await Outbox.open({ kv: other, transport: quick });
    // Within the lease nobody else takes it.
    assert.equal((await second.deliver()).attempted, 0);
    await new Promise((resolve) => setTimeout(resolve, 550));
    const pass = second.deliver();
    await quick.waitForCalls(1);
    quick.calls[0]!.settle(acceptedAll(["ada@example.com"]));
    assert.deepEqual(await pass, {
      attempted: 1,
      sent: 1,
      retried: 0,
      failed: 0,
    });
    const sent = await second.get(id);
    assert.equal(sent?.state, "sent");
    assert.equal(sent?.attempts, 2);
    assert.equal(sent?.maybeDuplicate, true);
  } finally {
    other.close();
  }
  // The first delivery's late outcome is not recorded over the second's.
  held.calls[0]!.settle(
    new SmtpError("Cannot send message data: server replied 451", {
      reply: { code: 451, lines: ["later"], text: "later" },
      command: "DATA",
    }),
  );
  assert.deepEqual(await stuck, {
    attempted: 1,
    sent: 0,
    retried: 0,
    failed: 0,
  });
  assert.equal((await slow.get(id))?.state, "sent");
});

Deno.test("Outbox.cancel takes a queued entry out and deletes its bytes; it refuses other states", async () => {
  await using server = await startTestServer({ tls: "none" });
  await using temp = await tempKv();
  await using outbox = await Outbox.open({
    kv: temp.kv,
    transport: server.clientOptions,
  });
  const { id } = await outbox.enqueue(mail("ada@example.com"), { delay: 1 });
  const cancelled = await outbox.cancel(id);
  assert.equal(cancelled.state, "cancelled");
  assert.equal(cancelled.nextAttemptAt, undefined);
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal((await outbox.deliver()).attempted, 0);
  assert.equal(server.messages.length, 0);
  assert.equal((await keysByKind(temp.kv)).body, undefined);
  await assert.rejects(outbox.cancel(id), /it is cancelled/);
  await assert.rejects(outbox.cancel("missing"), /there is none/);
  await assert.rejects(outbox.retry(id), /it is cancelled/);
});

Deno.test("Outbox.retry queues a failed entry again and it is sent", async () => {
  let refuse = true;
  await using server = await startTestServer({
    tls: "none",
    hooks: {
      RCPT: () => refuse ? { reply: "550 5.7.1 Relaying denied" } : "default",
    },
  });
  await using temp = await tempKv();
  await using outbox = await Outbox.open({
    kv: temp.kv,
    transport: server.clientOptions,
  });
  const { id } = await outbox.enqueue(mail("ada@example.com"));
  assert.equal((await outbox.deliver()).failed, 1);
  refuse = false;
  const queued = await outbox.retry(id);
  assert.equal(queued.state, "queued");
  assert.equal(queued.attempts, 0);
  assert.equal(queued.recipients[0]?.state, "pending");
  assert.equal((await outbox.deliver()).sent, 1);
  assert.equal(server.messages.length, 1);
  await assert.rejects(outbox.retry(id), /it is sent/);
});

Deno.test("Outbox.list filters by state and limits, oldest first: enqueued, then settled", async () => {
  await using temp = await tempKv();
  await using outbox = await Outbox.open({
    kv: temp.kv,
    transport: "smtp://127.0.0.1:9?tls=none",
  });
  for (let i = 0; i < 5; i++) {
    await outbox.enqueue(mail("ada@example.com"), { id: `e${i}`, delay: 1e6 });
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await outbox.cancel("e1");
  // Open entries by enqueue time, settled ones by settlement time.
  assert.deepEqual((await outbox.list()).map((e) => e.id), [
    "e0",
    "e2",
    "e3",
    "e4",
    "e1",
  ]);
  assert.deepEqual((await outbox.list({ limit: 2 })).map((e) => e.id), [
    "e0",
    "e2",
  ]);
  assert.deepEqual(
    (await outbox.list({ state: "queued", limit: 2 })).map((
      e,
    ) => e.id),
    ["e0", "e2"],
  );
  assert.deepEqual(
    (await outbox.list({ state: "cancelled" })).map((e) => e.id),
    ["e1"],
  );
  await assert.rejects(outbox.list({ state: "done" as never }), TypeError);
});

Deno.test("Outbox.deliver stops taking entries when the server cannot be reached", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  await using temp = await tempKv();
  await using outbox = await Outbox.open({
    kv: temp.kv,
    transport: { hostname: "127.0.0.1", port, tls: "none" },
    concurrency: 1,
    retry: { delays: [60_000] },
  });
  for (let i = 0; i < 5; i++) await outbox.enqueue(mail("ada@example.com"));
  assert.deepEqual(await outbox.deliver(), {
    attempted: 1,
    sent: 0,
    retried: 1,
    failed: 0,
  });
  const [entry] = await outbox.list({ state: "queued", limit: 5 }).then((l) =>
    l.filter((e) => e.attempts === 1)
  );
  assert.equal(entry?.lastError?.temporary, true);
  assert.equal((await outbox.list({ state: "queued" })).length, 5);
});

Deno.test("Outbox.deliver attempts at most limit entries", async () => {
  await using server = await startTestServer({ tls: "none" });
  await using temp = await tempKv();
  await using outbox = await Outbox.open({
    kv: temp.kv,
    transport: server.clientOptions,
  });
  for (let i = 0; i < 7; i++) await outbox.enqueue(mail("ada@example.com"));
  assert.equal((await outbox.deliver({ limit: 3 })).sent, 3);
  assert.equal((await outbox.deliver({ limit: 3 })).sent, 3);
  assert.equal((await outbox.deliver({ limit: 3 })).sent, 1);
  assert.equal(server.messages.length, 7);
});

Deno.test("Outbox.listen delivers what is enqueued, also by another outbox on the KV, until aborted", async () => {
  await using server = await startTestServer({ tls: "none" });
  await using temp = await tempKv();
  await using outbox = await Outbox.open({
    kv: temp.kv,
    transport: server.clientOptions,
    pollInterval: 50,
  });
  const controller = new AbortController();
  const listening = outbox.listen({ signal: controller.signal });
  await outbox.enqueue(mail("ada@example.com", "one"));
  await server.nextMessage(2000);
  const other = await Deno.openKv(temp.path);
  try {
    await using producer = await Outbox.open({
      kv: other,
      transport: server.clientOptions,
    });
    await producer.enqueue(mail("bob@example.com", "two"));
    const second = await server.nextMessage(2000);
    assert.deepEqual(second.envelope.to, ["bob@example.com"]);
  } finally {
    other.close();
  }
  controller.abort();
  await listening;
  assert.equal(server.messages.length, 2);
});

Deno.test("Outbox.close closes the transport it built, not a KV or transport it was given", async () => {
  await using temp = await tempKv();
  let closed = 0;
  const transport = {
    send: () => Promise.reject(new Error("unused")),
    close: () => {
      closed++;
      return Promise.resolve();
    },
  };
  const outbox = await Outbox.open({ kv: temp.kv, transport });
  await outbox.enqueue(mail("ada@example.com"));
  await outbox.close();
  await outbox.close();
  assert.equal(closed, 0);
  assert.equal((await temp.kv.get(["x"])).versionstamp, null);
  await assert.rejects(outbox.enqueue(mail("ada@example.com")), /closed/);
  await assert.rejects(outbox.deliver(), /closed/);
});

Deno.test("Outbox.close waits for the sends in flight and records them", async () => {
  await using temp = await tempKv();
  const held = new HeldTransport();
  const outbox = await Outbox.open({ kv: temp.kv, transport: held });
  const { id } = await outbox.enqueue(mail("ada@example.com"));
  await outbox.enqueue(mail("bob@example.com"));
  const pass = outbox.deliver();
  await held.waitForCalls(2);
  const closing = outbox.close();
  held.calls[0]!.settle(acceptedAll(held.calls[0]!.to));
  held.calls[1]!.settle(acceptedAll(held.calls[1]!.to));
  await closing;
  assert.equal((await pass).sent, 2);
  const reopened = await Outbox.open({ kv: temp.kv, transport: held });
  assert.equal((await reopened.get(id))?.state, "sent");
  await reopened.close();
});

Deno.test("Outbox.open refuses unknown or misused options", async () => {
  await assert.rejects(
    Outbox.open({ transport: "smtp://127.0.0.1", colour: 1 } as never),
    TypeError,
  );
  await assert.rejects(
    Outbox.open({ transport: "smtp://127.0.0.1", leaseDuration: 0 }),
    RangeError,
  );
  await assert.rejects(
    Outbox.open({ transport: "smtp://127.0.0.1", retry: { delays: [] } }),
    TypeError,
  );
  await assert.rejects(
    Outbox.open({ transport: "smtp://127.0.0.1", retry: { maxAttempts: 0 } }),
    RangeError,
  );
  await assert.rejects(
    Outbox.open({ transport: { hostname: "127.0.0.1", colour: 1 } as never }),
    TypeError,
  );
  await assert.rejects(Outbox.open({} as never), TypeError);
});

Deno.test("Outbox deletes settled entries after their retention", async () => {
  await using server = await startTestServer({ tls: "none" });
  await using temp = await tempKv();
  await using outbox = await Outbox.open({
    kv: temp.kv,
    transport: server.clientOptions,
  });
  const { id } = await outbox.enqueue(mail("ada@example.com"));
  assert.equal((await outbox.deliver()).sent, 1);
  assert.equal((await outbox.get(id))?.state, "sent");
  // A pass sweeps what is older than the retention.
  await using later = await Outbox.open({
    kv: temp.kv,
    transport: server.clientOptions,
    retention: 0,
  });
  await new Promise((resolve) => setTimeout(resolve, 2));
  await later.deliver();
  assert.equal(await later.get(id), undefined);
  assert.deepEqual(await keysByKind(temp.kv), {});
});
