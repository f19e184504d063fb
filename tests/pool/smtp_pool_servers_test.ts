// SmtpPool against real servers users have: Postfix's smtp-sink (DATA,
// PIPELINING) and aiosmtpd, counted behind the proxy.

import assert from "node:assert/strict";
import { SmtpError, SmtpPool } from "../../mod.ts";
import { interop, startAiosmtpd, startSmtpSink } from "../_harness/mod.ts";
import { CountingProxy, numbered } from "./_counting_proxy.ts";

const seqOf = (text: string) => Number(/X-Seq: (\d+)/.exec(text)?.[1]);

function busiestWindow(times: number[], per: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let worst = 0;
  for (let i = 0, j = 0; j < sorted.length; j++) {
    while (sorted[j]! - sorted[i]! >= per) i++;
    worst = Math.max(worst, j - i + 1);
  }
  return worst;
}

Deno.test(interop({
  name:
    "SmtpPool delivers each of 200 concurrent sends to smtp-sink exactly once on at most maxConnections connections, and close() QUITs them all",
  requires: ["smtp-sink"],
  async fn() {
    await using sink = await startSmtpSink();
    await using proxy = new CountingProxy(sink.port);
    const pool = new SmtpPool({
      hostname: proxy.hostname,
      port: proxy.port,
      tls: "none",
      maxConnections: 5,
      maxMessagesPerConnection: 25,
    });
    try {
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => pool.send(numbered(i))),
      );
      assert.equal(results.length, 200);
    } finally {
      await pool.close();
    }
    await sink.waitForMessages(200);
    const seqs = (await sink.messages()).map((m) => seqOf(m.text));
    assert.deepEqual(
      seqs.sort((a, b) => a - b),
      Array.from({ length: 200 }, (_, i) => i),
    );
    assert.equal(proxy.maxOpen, 5);
    // One session per 25 messages at least, each ended with QUIT.
    assert.ok(proxy.connections.length >= 8);
    await proxy.until(() => proxy.open === 0);
    for (const connection of proxy.connections) {
      assert.equal(connection.lines.at(-1), "QUIT");
    }
    const stats = sink.stats();
    assert.equal(stats.quits, proxy.connections.length);
  },
}));

Deno.test(interop({
  name:
    "SmtpPool keeps smtp-sink's MAIL arrivals within rateLimit in every window",
  requires: ["smtp-sink"],
  async fn() {
    await using sink = await startSmtpSink({ dump: false });
    await using proxy = new CountingProxy(sink.port);
    await using pool = new SmtpPool({
      hostname: proxy.hostname,
      port: proxy.port,
      tls: "none",
      maxConnections: 4,
      rateLimit: { messages: 5, per: 300 },
    });
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => pool.send(numbered(i))),
    );
    assert.equal(proxy.mailTimes.length, 20);
    // 30 ms for the hop from the client's write to the server's read.
    assert.ok(busiestWindow(proxy.mailTimes, 300 - 30) <= 5);
    assert.equal(busiestWindow(proxy.mailTimes, 50), 5);
  },
}));

Deno.test(interop({
  name:
    "SmtpPool keeps its one connection to aiosmtpd when recipients are refused with 550",
  requires: ["aiosmtpd"],
  async fn() {
    await using server = await startAiosmtpd({
      starttls: false,
      rejectRecipients: { "bad@example.org": "550 5.1.1 No such user" },
    });
    await using proxy = new CountingProxy(server.port);
    await using pool = new SmtpPool({
      hostname: proxy.hostname,
      port: proxy.port,
      tls: "none",
    });
    const raw = "Subject: refusals\r\n\r\nbody\r\n";
    const some = await pool.send({
      envelope: {
        from: "a@example.com",
        to: ["bad@example.org", "good@example.org"],
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
    const after = await pool.send({
      envelope: { from: "a@example.com", to: ["good@example.org"] },
      raw,
    });
    assert.deepEqual(after.accepted, ["good@example.org"]);
    assert.equal(proxy.connections.length, 1);
    assert.ok(proxy.connections[0]!.lines.includes("RSET"));
    const messages = await server.messages();
    assert.deepEqual(messages.map((m) => m.rcptTo), [
      ["good@example.org"],
      ["good@example.org"],
    ]);
  },
}));

Deno.test(interop({
  name: "SmtpPool closes an idle connection to aiosmtpd with QUIT",
  requires: ["aiosmtpd"],
  async fn() {
    await using server = await startAiosmtpd({ starttls: false });
    await using proxy = new CountingProxy(server.port);
    await using pool = new SmtpPool({
      hostname: proxy.hostname,
      port: proxy.port,
      tls: "none",
      idleTimeout: 100,
    });
    await pool.send(numbered(1));
    await proxy.until(() => proxy.open === 0);
    assert.equal(proxy.connections[0]!.lines.at(-1), "QUIT");
    assert.equal((await server.messages()).length, 1);
  },
}));
