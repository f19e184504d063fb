// SmtpPool against the capture server (CHUNKING by default) and, for the
// faults real servers do not produce on cue, the in-memory transport. What
// the server saw is counted behind a proxy (connections open at once, when
// each MAIL arrived) or read from its transcripts.

import assert from "node:assert/strict";
import {
  type SendResult,
  SmtpError,
  SmtpPool,
  type SmtpPoolOptions,
} from "../../mod.ts";
import { memoryTransport, startTestServer } from "../../testing.ts";
import { CountingProxy, numbered } from "./_counting_proxy.ts";
import { linesOf, memorySmtp } from "./_memory_smtp.ts";

const decoder = new TextDecoder();
const seqOf = (text: string) => Number(/X-Seq: (\d+)/.exec(text)?.[1]);
const NO_CHUNKING = ["PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES"];

/** Polls `test` until it holds (a state change with no event to await). */
async function until(test: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (test()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

function memoryPool(
  smtp: { transport: { connect: SmtpPoolOptions["connect"] } },
  extra: Partial<SmtpPoolOptions> = {},
): SmtpPool {
  return new SmtpPool({
    hostname: "mx.test",
    tls: "none",
    connect: smtp.transport.connect!,
    timeouts: { command: 2000, data: 2000, dataEnd: 2000, quit: 500 },
    ...extra,
  });
}

/** Whether the most MAILs in any window of `per` ms exceed `limit`. */
function busiestWindow(times: number[], per: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let worst = 0;
  for (let i = 0, j = 0; j < sorted.length; j++) {
    while (sorted[j]! - sorted[i]! >= per) i++;
    worst = Math.max(worst, j - i + 1);
  }
  return worst;
}

// ——— connections ———

Deno.test("SmtpPool delivers each of 200 concurrent sends exactly once and never has more than maxConnections open, counting those opening", async () => {
  await using server = await startTestServer({ tls: "none" });
  await using proxy = new CountingProxy(server.port);
  await using pool = new SmtpPool({
    hostname: proxy.hostname,
    port: proxy.port,
    tls: "none",
    maxConnections: 4,
    // Connections QUIT and reopen during the run: the cap holds then too.
    maxMessagesPerConnection: 30,
  });
  const sends = Array.from({ length: 200 }, (_, i) => pool.send(numbered(i)));
  // Nothing is open yet: four connections are opening for 200 sends.
  assert.deepEqual(pool.stats, { connections: 4, idle: 0, queued: 200 });
  const results = await Promise.all(sends);
  assert.ok(results.every((r) => r.accepted.length === 1));
  const seqs = server.messages.map((m) => seqOf(m.text)).sort((a, b) => a - b);
  assert.deepEqual(seqs, Array.from({ length: 200 }, (_, i) => i));
  assert.equal(proxy.maxOpen, 4);
  assert.ok(proxy.connections.length >= Math.ceil(200 / 30));
  // Each connection carried at most 30 messages.
  const perConnection = new Map<number, number>();
  for (const m of server.messages) {
    perConnection.set(m.connection, (perConnection.get(m.connection) ?? 0) + 1);
  }
  assert.ok(Math.max(...perConnection.values()) <= 30);
  assert.equal(pool.stats.queued, 0);
});

Deno.test("SmtpPool reuses an idle connection for the next send", async () => {
  await using server = await startTestServer({ tls: "none" });
  await using proxy = new CountingProxy(server.port);
  await using pool = new SmtpPool({
    hostname: proxy.hostname,
    port: proxy.port,
    tls: "none",
  });
  for (let i = 0; i < 3; i++) {
    await pool.send(numbered(i));
    assert.deepEqual(pool.stats, { connections: 1, idle: 1, queued: 0 });
  }
  assert.deepEqual(server.messages.map((m) => m.connection), [1, 1, 1]);
  assert.equal(proxy.connections.length, 1);
});

Deno.test("SmtpPool gives a connection a second send while the first awaits its final reply when the server offers PIPELINING (DATA)", async () => {
  const transport = memoryTransport(async (server) => {
    server.write("220 mx.test\r\n");
    assert.equal(await server.readLine(), "EHLO localhost");
    server.write("250-mx.test\r\n250 PIPELINING\r\n");
    const envelope = [
      "MAIL FROM:<bulk@example.com>",
      "RCPT TO:<rcpt@example.org>",
      "DATA",
    ];
    assert.deepEqual(
      [
        await server.readLine(),
        await server.readLine(),
        await server.readLine(),
      ],
      envelope,
    );
    server.write("250 ok\r\n250 ok\r\n354 go\r\n");
    assert.match(decoder.decode((await server.readData())!), /X-Seq: 1/);
    // No reply to message 1 yet, and message 2's envelope is here.
    assert.deepEqual(
      [
        await server.readLine(),
        await server.readLine(),
        await server.readLine(),
      ],
      envelope,
    );
    server.write("250 first\r\n250 ok\r\n250 ok\r\n354 go\r\n");
    assert.match(decoder.decode((await server.readData())!), /X-Seq: 2/);
    server.write("250 second\r\n");
    assert.equal(await server.readLine(), "QUIT");
    server.write("221 bye\r\n");
    server.close();
  });
  const pool = memoryPool({ transport }, { maxConnections: 1 });
  const [one, two] = await Promise.all([
    pool.send(numbered(1)),
    pool.send(numbered(2)),
  ]);
  assert.equal(one.reply.text, "first");
  assert.equal(two.reply.text, "second");
  await pool.close();
  await transport.finished();
  assert.equal(transport.connections, 1);
});

Deno.test("SmtpPool says QUIT at once after maxMessagesPerConnection and opens a fresh connection", async () => {
  const quits: number[] = [];
  const quit = Promise.withResolvers<void>();
  await using server = await startTestServer({
    tls: "none",
    hooks: {
      QUIT: (ctx) => {
        quits.push(ctx.connection);
        quit.resolve();
      },
    },
  });
  await using pool = new SmtpPool({
    ...server.clientOptions,
    maxMessagesPerConnection: 3,
    idleTimeout: 60_000,
  });
  for (let i = 0; i < 3; i++) await pool.send(numbered(i));
  // Not after the minute of idleTimeout: now.
  await quit.promise;
  assert.deepEqual(quits, [1]);
  for (let i = 3; i < 7; i++) await pool.send(numbered(i));
  assert.deepEqual(
    server.messages.map((m) => m.connection),
    [1, 1, 1, 2, 2, 2, 3],
  );
  await until(() => quits.length === 2, "the second QUIT");
  assert.deepEqual(quits, [1, 2]);
  assert.equal(pool.stats.connections, 1);
});

Deno.test("SmtpPool closes a connection idle for idleTimeout ms with QUIT", async () => {
  let replied = 0;
  const quit = Promise.withResolvers<number>();
  await using server = await startTestServer({
    tls: "none",
    hooks: {
      DATA_END: () => {
        replied = performance.now();
      },
      QUIT: () => quit.resolve(performance.now()),
    },
  });
  await using pool = new SmtpPool({
    ...server.clientOptions,
    idleTimeout: 150,
  });
  await pool.send(numbered(1));
  assert.equal(pool.stats.idle, 1);
  const quitAt = await quit.promise;
  // A timer's lower bound: never before the idle timeout.
  assert.ok(quitAt - replied >= 150, `${quitAt - replied} ms`);
  await until(() => pool.stats.connections === 0, "the connection to close");
  const transcript = server.transcripts[0]!;
  assert.ok(transcript.some((l) => l.type === "server" && /^221/.test(l.text)));
});

Deno.test("SmtpPool loses no message when the server closes an idle connection", async () => {
  await using server = await startTestServer({
    tls: "none",
    hooks: {
      // The server hangs up right after the first message.
      DATA_END: (ctx) =>
        ctx.connection === 1 ? ["default", { close: true }] : undefined,
    },
  });
  await using pool = new SmtpPool(server.clientOptions);
  await pool.send(numbered(1));
  // The pool notices while idle, before anything is given to it.
  await until(
    () => pool.stats.connections === 0,
    "the closed connection to go",
  );
  await pool.send(numbered(2));
  assert.deepEqual(
    server.messages.map((m) => [m.connection, seqOf(m.text)]),
    [[1, 1], [2, 2]],
  );
});

Deno.test("SmtpPool retires a connection that gets 421 while idle, without QUIT on it", async () => {
  const smtp = memorySmtp(
    ["PIPELINING"],
    (at) =>
      at.verb === "DATA_END" && at.connection === 1
        ? {
          reply: "250 queued",
          later: { ms: 30, reply: "421 4.4.2 Idle timeout" },
        }
        : undefined,
  );
  const pool = memoryPool(smtp);
  await pool.send(numbered(1));
  await until(() => pool.stats.connections === 0, "the 421 to retire it");
  await pool.send(numbered(2));
  await pool.close();
  await smtp.transport.finished();
  assert.equal(smtp.transport.connections, 2);
  assert.ok(!linesOf(smtp, 1).includes("QUIT"));
  assert.deepEqual(smtp.delivered.map((d) => [d.connection, seqOf(d.text)]), [[
    2,
    2,
  ]]);
});

Deno.test("SmtpPool retries on a new connection a send whose connection the server dropped as its commands went out (DATA)", async () => {
  const smtp = memorySmtp(
    NO_CHUNKING,
    (at) =>
      at.verb === "MAIL" && at.connection === 1 && at.delivered === 1
        ? { close: true }
        : undefined,
  );
  const pool = memoryPool(smtp);
  await pool.send(numbered(1));
  const result = await pool.send(numbered(2));
  assert.deepEqual(result.accepted, ["rcpt@example.org"]);
  await pool.close();
  await smtp.transport.finished();
  assert.deepEqual(smtp.delivered.map((d) => [d.connection, seqOf(d.text)]), [
    [1, 1],
    [2, 2],
  ]);
  // The first connection never got message 2's data.
  assert.deepEqual(smtp.dataRead.map((d) => seqOf(d.text)), [1, 2]);
});

for (const chunking of [true, false]) {
  Deno.test(`SmtpPool retries once on a new connection a send whose MAIL got 421, and retires that connection (${chunking ? "BDAT" : "DATA"})`, async () => {
    await using server = await startTestServer({
      tls: "none",
      ...(chunking ? {} : { extensions: NO_CHUNKING }),
      hooks: {
        MAIL: (ctx) =>
          ctx.connection === 1 && ctx.count === 2
            ? [{ reply: "421 4.3.2 Service shutting down" }, { close: true }]
            : undefined,
      },
    });
    await using pool = new SmtpPool(server.clientOptions);
    await pool.send(numbered(1));
    const result = await pool.send(numbered(2));
    assert.deepEqual(result.accepted, ["rcpt@example.org"]);
    assert.deepEqual(
      server.messages.map((m) => [m.connection, seqOf(m.text)]),
      [[1, 1], [2, 2]],
    );
    assert.equal(server.transcripts.length, 2);
    assert.equal(pool.stats.connections, 1);
  });
}

Deno.test("SmtpPool fails a send whose retry fails too, with the second failure", async () => {
  await using server = await startTestServer({
    tls: "none",
    hooks: {
      MAIL:
        () => [{ reply: "421 4.3.2 Service shutting down" }, { close: true }],
    },
  });
  await using pool = new SmtpPool(server.clientOptions);
  await assert.rejects(pool.send(numbered(1)), (error) => {
    assert.ok(error instanceof SmtpError);
    assert.equal(error.code, 421);
    return true;
  });
  // Once, then once more on a new connection: no third attempt.
  assert.equal(server.transcripts.length, 2);
  assert.equal(server.messages.length, 0);
});

for (const extensions of [NO_CHUNKING, ["PIPELINING", "CHUNKING"]]) {
  const mode = extensions.includes("CHUNKING") ? "BDAT" : "DATA";
  Deno.test(`SmtpPool rejects with maybeDelivered and sends nothing again when the connection dies after the end of the data (${mode})`, async () => {
    const smtp = memorySmtp(
      extensions,
      (at) =>
        at.verb === "DATA_END" && at.connection === 1
          ? { close: true }
          : undefined,
    );
    const pool = memoryPool(smtp);
    await assert.rejects(pool.send(numbered(1)), (error) => {
      assert.ok(error instanceof SmtpError);
      assert.equal(error.maybeDelivered, true);
      return true;
    });
    await pool.close();
    await smtp.transport.finished();
    assert.equal(smtp.transport.connections, 1);
    assert.deepEqual(smtp.dataRead.map((d) => seqOf(d.text)), [1]);
  });
}

/** The server closes the connection when message 2's MAIL arrives (BDAT). */
function dropsAtSecondMail() {
  return memorySmtp(
    ["PIPELINING", "CHUNKING"],
    (at) =>
      at.verb === "MAIL" && at.connection === 1 && at.delivered === 1
        ? { close: true }
        : undefined,
  );
}

Deno.test("SmtpPool does not resend a send whose last BDAT chunk went out with its envelope when the connection then closed", async () => {
  const smtp = dropsAtSecondMail();
  const pool = memoryPool(smtp);
  await pool.send(numbered(1));
  await assert.rejects(
    pool.send(numbered(2)),
    (error) => error instanceof SmtpError && error.temporary,
  );
  await pool.close();
  await smtp.transport.finished();
  // The server may have read it: it is not sent again anywhere.
  assert.equal(smtp.transport.connections, 1);
  assert.deepEqual(smtp.delivered.map((d) => seqOf(d.text)), [1]);
});

Deno.test("SmtpPool rejects with maybeDelivered when the connection closes after a BDAT LAST sent with its envelope", async () => {
  const smtp = dropsAtSecondMail();
  const pool = memoryPool(smtp);
  await pool.send(numbered(1));
  await assert.rejects(
    pool.send(numbered(2)),
    (error) => error instanceof SmtpError && error.maybeDelivered,
  );
  await pool.close();
  await smtp.transport.finished();
});

Deno.test("SmtpPool retries the send pipelined behind one whose connection died after its data, and only that one (DATA)", async () => {
  const smtp = memorySmtp(
    NO_CHUNKING,
    (at) =>
      at.verb === "DATA_END" && at.connection === 1
        ? { close: true }
        : undefined,
  );
  const pool = memoryPool(smtp, { maxConnections: 1 });
  const [one, two] = await Promise.allSettled([
    pool.send(numbered(1)),
    pool.send(numbered(2)),
  ]);
  assert.equal(one.status, "rejected");
  assert.equal((one as PromiseRejectedResult).reason.maybeDelivered, true);
  assert.equal(two.status, "fulfilled");
  await pool.close();
  await smtp.transport.finished();
  // Message 1 was read once and never again; message 2 went on connection 2.
  assert.deepEqual(
    smtp.dataRead.map((d) => [d.connection, seqOf(d.text)]),
    [[1, 1], [2, 2]],
  );
});

// ——— refusals ———

Deno.test("SmtpPool keeps the connection when the server refuses a recipient or every recipient (RSET, same connection)", async () => {
  await using server = await startTestServer({
    tls: "none",
    hooks: {
      RCPT: (ctx) =>
        ctx.args.includes("bad@")
          ? { reply: "550 5.1.1 No such user" }
          : undefined,
    },
  });
  await using pool = new SmtpPool(server.clientOptions);
  const raw = "Subject: x\r\n\r\nx\r\n";
  const some = await pool.send({
    envelope: {
      from: "a@example.com",
      to: ["good@example.org", "bad@example.org"],
    },
    raw,
  });
  assert.deepEqual(some.accepted, ["good@example.org"]);
  assert.equal(some.rejected[0]?.reply.code, 550);
  await assert.rejects(
    pool.send({
      envelope: { from: "a@example.com", to: ["bad@example.org"] },
      raw,
    }),
    (error) => error instanceof SmtpError && error.code === 550,
  );
  await pool.send({
    envelope: { from: "a@example.com", to: ["good@example.org"] },
    raw,
  });
  assert.equal(server.transcripts.length, 1);
  assert.deepEqual(server.messages.map((m) => m.connection), [1, 1]);
  assert.ok(
    server.transcripts[0]!.some((l) =>
      l.type === "client" && l.text === "RSET"
    ),
  );
});

for (const chunking of [true, false]) {
  Deno.test(`SmtpPool delivers every send queued around one whose every recipient is refused, each with its own envelope (${chunking ? "BDAT" : "DATA"})`, async () => {
    await using server = await startTestServer({
      tls: "none",
      ...(chunking ? {} : { extensions: NO_CHUNKING }),
      hooks: {
        RCPT: (ctx) =>
          ctx.args.includes("nobody@")
            ? { reply: "550 5.1.1 No such user" }
            : undefined,
      },
    });
    await using pool = new SmtpPool({
      ...server.clientOptions,
      maxConnections: 1,
    });
    const to = (i: number) =>
      i === 4 ? "nobody@example.org" : `r${i}@example.org`;
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) =>
        pool.send({
          from: `s${i}@example.com`,
          to: to(i),
          subject: `${i}`,
          text: "body",
        })),
    );
    assert.deepEqual(
      results.map((r) => r.status === "fulfilled"),
      Array.from({ length: 12 }, (_, i) => i !== 4),
    );
    // A send pipelined behind the refused one, before its RSET, would land
    // in its transaction (503 to MAIL, delivered with the sender before).
    assert.deepEqual(
      server.messages.map((m) => [m.envelope.from, m.envelope.to]),
      Array.from({ length: 12 }, (_, i) => i).filter((i) => i !== 4).map((
        i,
      ) => [`s${i}@example.com`, [to(i)]]),
    );
    assert.equal(server.transcripts.length, 1);
  });
}

Deno.test("SmtpPool pauses and uses half its connections after a throttling reply", async () => {
  const mails: { at: number; connection: number; active: number }[] = [];
  const active = new Set<number>();
  let throttledAt = 0;
  await using server = await startTestServer({
    tls: "none",
    hooks: {
      MAIL: (ctx) => {
        if (throttledAt === 0) {
          throttledAt = performance.now();
          return { reply: "451 4.7.1 Too many messages, slow down" };
        }
        active.add(ctx.connection);
        mails.push({
          at: performance.now(),
          connection: ctx.connection,
          active: active.size,
        });
      },
      DATA_END: (ctx) => {
        active.delete(ctx.connection);
      },
    },
  });
  await using pool = new SmtpPool({
    ...server.clientOptions,
    maxConnections: 4,
  });
  const results = await Promise.allSettled(
    Array.from({ length: 24 }, (_, i) => pool.send(numbered(i))),
  );
  const refused = results.filter((r) => r.status === "rejected");
  assert.equal(refused.length, 1);
  const reason = (refused[0] as PromiseRejectedResult).reason;
  assert.ok(
    reason instanceof SmtpError && reason.code === 451 && reason.temporary,
  );
  // Sends already under way finish; then nothing begins for the pause.
  const late = mails.filter((m) => m.at - throttledAt >= 900);
  assert.ok(late.length > 0, "some messages waited for the pause");
  const gap = Math.min(...late.map((m) => m.at)) - throttledAt;
  assert.ok(gap >= 1000, `${gap} ms`);
  // After it, at most two of the four connections carry a transaction at once.
  assert.ok(Math.max(...late.map((m) => m.active)) <= 2);
  assert.equal(server.messages.length, 23);
});

// ——— the rate limit ———

Deno.test("SmtpPool never lets more than rateLimit.messages MAILs reach the server in any window of rateLimit.per ms", async () => {
  await using server = await startTestServer({ tls: "none" });
  await using proxy = new CountingProxy(server.port);
  await using pool = new SmtpPool({
    hostname: proxy.hostname,
    port: proxy.port,
    tls: "none",
    maxConnections: 3,
    rateLimit: { messages: 4, per: 400 },
  });
  await Promise.all(
    Array.from({ length: 16 }, (_, i) => pool.send(numbered(i))),
  );
  assert.equal(proxy.mailTimes.length, 16);
  // Arrival at the server lags the client's write by a loopback hop and an
  // event-loop turn, more for one message than another: windows 40 ms
  // shorter absorb that. Without the limit, all 16 arrive within a few ms.
  assert.ok(busiestWindow(proxy.mailTimes, 400 - 40) <= 4);
  // And the limit was used: four at once at the start.
  assert.equal(busiestWindow(proxy.mailTimes, 100), 4);
  assert.equal(server.messages.length, 16);
});

// ——— abort, probe, close ———

Deno.test("SmtpPool drops a send aborted while queued without touching any connection", async () => {
  const gate = Promise.withResolvers<void>();
  await using server = await startTestServer({
    tls: "none",
    hooks: {
      DATA_END: async (ctx) => {
        if (ctx.connection === 1 && ctx.session.messages === 0) {
          await gate.promise;
        }
      },
    },
  });
  await using pool = new SmtpPool({
    ...server.clientOptions,
    maxConnections: 1,
  });
  const controller = new AbortController();
  const sends = [
    pool.send(numbered(1)),
    pool.send(numbered(2)),
    pool.send(numbered(3), { signal: controller.signal }),
  ];
  // With BDAT a connection holds one send: the other two wait in the pool.
  await until(() => pool.stats.queued === 2, "the first send under way");
  controller.abort(new Error("not needed any more"));
  await assert.rejects(sends[2]!, /not needed any more/);
  assert.equal(pool.stats.queued, 1);
  gate.resolve();
  await Promise.all(sends.slice(0, 2));
  assert.deepEqual(server.messages.map((m) => seqOf(m.text)), [1, 2]);
  assert.equal(server.transcripts.length, 1);
});

Deno.test("SmtpPool sends a NOOP on a connection idle for 10 s before reusing it, and replaces it without failing the message when the NOOP fails", async () => {
  const clock = performance.now.bind(performance);
  let skew = 0;
  performance.now = () => clock() + skew;
  try {
    const smtp = memorySmtp(
      ["PIPELINING"],
      (at) =>
        at.verb === "NOOP" && at.connection === 1 ? { close: true } : undefined,
    );
    const pool = memoryPool(smtp, { idleTimeout: 60_000 });
    await pool.send(numbered(1));
    skew = 10_000;
    const result: SendResult = await pool.send(numbered(2));
    assert.deepEqual(result.accepted, ["rcpt@example.org"]);
    await pool.close();
    await smtp.transport.finished();
    assert.deepEqual(linesOf(smtp, 1).slice(-1), ["NOOP"]);
    assert.deepEqual(smtp.delivered.map((d) => [d.connection, seqOf(d.text)]), [
      [1, 1],
      [2, 2],
    ]);
  } finally {
    delete (performance as { now?: unknown }).now;
  }
});

Deno.test("SmtpPool keeps a connection idle for 10 s whose NOOP succeeds", async () => {
  const clock = performance.now.bind(performance);
  let skew = 0;
  performance.now = () => clock() + skew;
  try {
    const smtp = memorySmtp(["PIPELINING"]);
    const pool = memoryPool(smtp, { idleTimeout: 60_000 });
    await pool.send(numbered(1));
    await pool.send(numbered(2));
    skew = 10_000;
    await pool.send(numbered(3));
    await pool.close();
    await smtp.transport.finished();
    assert.equal(smtp.transport.connections, 1);
    // Only the reuse after the long idle is checked first.
    assert.equal(linesOf(smtp, 1).filter((l) => l === "NOOP").length, 1);
    assert.equal(smtp.delivered.length, 3);
  } finally {
    delete (performance as { now?: unknown }).now;
  }
});

Deno.test("SmtpPool.close() waits for sends under way, rejects queued ones with kind closed, QUITs every connection and leaves nothing open", async () => {
  const first = Promise.withResolvers<void>();
  await using server = await startTestServer({
    tls: "none",
    hooks: {
      MAIL: () => {
        first.resolve();
      },
      DATA_END: () => [{ delay: 50 }, "default"],
    },
  });
  const pool = new SmtpPool({ ...server.clientOptions, maxConnections: 2 });
  const sends = Array.from({ length: 10 }, (_, i) => pool.send(numbered(i)));
  await first.promise;
  const closing = pool.close();
  assert.equal(pool.close(), closing);
  const results = await Promise.allSettled(sends);
  await closing;
  const sent = results.filter((r) => r.status === "fulfilled").length;
  const closed =
    results.filter((r) =>
      r.status === "rejected" && r.reason instanceof SmtpError &&
      r.reason.kind === "closed"
    ).length;
  assert.ok(sent >= 1, "the send under way finished");
  assert.equal(sent + closed, 10);
  assert.equal(server.messages.length, sent);
  for (const transcript of server.transcripts) {
    assert.ok(
      transcript.some((l) => l.type === "client" && l.text === "QUIT"),
      "QUIT on every connection",
    );
  }
  assert.deepEqual(pool.stats, { connections: 0, idle: 0, queued: 0 });
  await assert.rejects(
    pool.send(numbered(11)),
    (error) => error instanceof SmtpError && error.kind === "closed",
  );
});

/**
 * Counts the timers started and neither fired nor cleared (the sanitizers
 * of this Deno do not report a pending timer).
 */
function trackTimers(): { pending(): number; [Symbol.dispose](): void } {
  const { setTimeout: set, clearTimeout: clear } = globalThis;
  const live = new Set<unknown>();
  globalThis.setTimeout = ((fn: () => void, ms?: number) => {
    const id: unknown = set(() => {
      live.delete(id);
      fn();
    }, ms);
    live.add(id);
    return id;
  }) as typeof setTimeout;
  globalThis.clearTimeout = ((id?: number) => {
    live.delete(id);
    clear(id);
  }) as typeof clearTimeout;
  return {
    pending: () => live.size,
    [Symbol.dispose]() {
      globalThis.setTimeout = set;
      globalThis.clearTimeout = clear;
    },
  };
}

Deno.test("SmtpPool.close() leaves no timer running: idle, pause after a throttling reply, reply deadlines", async () => {
  using timers = trackTimers();
  const smtp = memorySmtp(
    ["PIPELINING"],
    (at) =>
      at.verb === "MAIL" && at.delivered === 1
        ? { reply: "451 4.7.1 Too many messages" }
        : undefined,
  );
  const pool = memoryPool(smtp, { idleTimeout: 60_000, maxConnections: 2 });
  await pool.send(numbered(1)); // then idle, its timer running
  await assert.rejects(pool.send(numbered(2)), /451/); // a pause of 1 s
  const queued = pool.send(numbered(3)); // waits for the pause
  assert.ok(timers.pending() > 0);
  await pool.close();
  await assert.rejects(
    queued,
    (error) => error instanceof SmtpError && error.kind === "closed",
  );
  await smtp.transport.finished();
  assert.equal(timers.pending(), 0);
});

Deno.test("SmtpPool.close() abandons connections still opening and rejects everything queued", async () => {
  await using server = await startTestServer({
    tls: "none",
    hooks: { connect: () => ({ delay: 100 }) },
  });
  const pool = new SmtpPool(server.clientOptions);
  const sends = Array.from({ length: 3 }, (_, i) => pool.send(numbered(i)));
  await pool.close();
  for (const result of await Promise.allSettled(sends)) {
    assert.equal(result.status, "rejected");
    assert.equal((result as PromiseRejectedResult).reason.kind, "closed");
  }
  assert.equal(server.messages.length, 0);
  assert.equal(pool.stats.connections, 0);
});

Deno.test("SmtpPool rejects queued sends with the reason when its signal aborts", async () => {
  await using server = await startTestServer({
    tls: "none",
    hooks: { connect: () => ({ delay: 100 }) },
  });
  const controller = new AbortController();
  const pool = new SmtpPool({
    ...server.clientOptions,
    signal: controller.signal,
  });
  const send = pool.send(numbered(1));
  controller.abort(new Error("shutting down"));
  await assert.rejects(send, /shutting down/);
  await assert.rejects(pool.send(numbered(2)), /shutting down/);
  await pool.close();
  assert.equal(pool.stats.connections, 0);
});

Deno.test("SmtpPool fails every queued send when no connection can be opened", async () => {
  const transport = memoryTransport(async (server) => {
    server.write("554 5.3.2 Not accepting mail\r\n");
    await server.readLine();
    server.close();
  });
  const pool = memoryPool({ transport }, { maxConnections: 2 });
  const results = await Promise.allSettled(
    Array.from({ length: 5 }, (_, i) => pool.send(numbered(i))),
  );
  for (const result of results) {
    assert.equal(result.status, "rejected");
    assert.equal((result as PromiseRejectedResult).reason.code, 554);
  }
  await pool.close();
  await transport.finished();
  assert.equal(transport.connections, 2);
});

// ——— misuse ———

Deno.test("SmtpPool throws RangeError or TypeError at construction for invalid options", () => {
  const base = { hostname: "mx.test" };
  for (
    const options of [
      { maxConnections: 0 },
      { maxConnections: 2.5 },
      { maxMessagesPerConnection: 0 },
      { idleTimeout: -1 },
      { rateLimit: { messages: 0, per: 1000 } },
      { rateLimit: { messages: 5, per: 0 } },
      { port: 0 },
      { timeouts: { command: -1 } },
    ]
  ) {
    assert.throws(() => new SmtpPool({ ...base, ...options }), RangeError);
  }
  for (
    const options of [
      { maxConnections: "5" },
      { rateLimit: "10/s" },
      { maxConnection: 5 },
      { tls: "always" },
    ]
  ) {
    assert.throws(
      () => new SmtpPool({ ...base, ...options } as SmtpPoolOptions),
      TypeError,
    );
  }
  assert.throws(() => new SmtpPool("http://mx.test"), TypeError);
  assert.throws(() => new SmtpPool(null as unknown as string), TypeError);
});

Deno.test("SmtpPool.send() throws TypeError for bad send options before anything is queued", async () => {
  const pool = new SmtpPool({ hostname: "mx.test", tls: "none" });
  await assert.rejects(
    pool.send(numbered(1), { requireTls: "yes" as unknown as boolean }),
    TypeError,
  );
  await assert.rejects(pool.send(null as unknown as never), TypeError);
  assert.deepEqual(pool.stats, { connections: 0, idle: 0, queued: 0 });
  await pool.close();
});

Deno.test("SmtpPool accepts an smtp:// URL", async () => {
  await using server = await startTestServer({ tls: "none" });
  await using pool = new SmtpPool(
    `smtp://${server.hostname}:${server.port}?tls=none`,
  );
  await pool.send(numbered(1));
  assert.equal(
    decoder.decode(server.messages[0]!.raw).includes("X-Seq: 1"),
    true,
  );
});
