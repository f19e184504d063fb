/**
 * Several processes on one KV file: each due entry is delivered by one of
 * them, and a delivering process killed with SIGKILL loses nothing.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Outbox } from "../../outbox.ts";
import { startTestServer } from "../../testing.ts";
import { ChildLines } from "../_harness/mod.ts";
import { tempKv } from "./_helpers.ts";

const WORKER = new URL("./_deliver_worker.ts", import.meta.url).pathname;

function worker(path: string, url: string, flags: string[] = []): ChildLines {
  return new ChildLines(Deno.execPath(), [
    "run",
    "--unstable-kv",
    "-A",
    WORKER,
    path,
    url,
    ...flags,
  ]);
}

/** The `total` line a worker prints when it is done. */
async function totalOf(
  child: ChildLines,
  timeoutMs: number,
): Promise<Record<string, number>> {
  for (;;) {
    const line = await child.nextLine(timeoutMs);
    if (line === null) throw new Error(`worker ended: ${child.stderr}`);
    const parsed = JSON.parse(line);
    if (parsed.total) return parsed.total;
  }
}

function messageIds(messages: readonly { text: string }[]): string[] {
  return messages.map((m) =>
    /^Message-ID: (<[^>]+>)\r$/m.exec(m.text)?.[1] ?? "?"
  );
}

Deno.test("Outbox delivers 300 messages exactly once with three processes on one KV file", async () => {
  await using server = await startTestServer({ tls: "none" });
  await using temp = await tempKv();
  const expected = new Set<string>();
  {
    await using outbox = await Outbox.open({
      kv: temp.kv,
      transport: server.clientOptions,
    });
    for (let i = 0; i < 300; i++) {
      const entry = await outbox.enqueue({
        from: "app@example.com",
        to: `user${i}@example.com`,
        subject: `n${i}`,
        text: "hello",
      });
      expected.add(entry.messageId);
    }
  }
  const url = `smtp://127.0.0.1:${server.port}?tls=none`;
  await using a = worker(temp.path, url, ["--passes", "5"]);
  await using b = worker(temp.path, url, ["--passes", "5"]);
  await using c = worker(temp.path, url, ["--passes", "5"]);
  const totals = await Promise.all([a, b, c].map((w) => totalOf(w, 60_000)));
  const ids = messageIds(server.messages);
  assert.equal(ids.length, 300);
  assert.deepEqual(new Set(ids), expected);
  assert.equal(totals.reduce((n, t) => n + t.sent!, 0), 300);
  assert.equal(totals.reduce((n, t) => n + t.attempted!, 0), 300);
  // Each process took a share (not a test of fairness: of sharing at all).
  assert.ok(
    totals.filter((t) => t.sent! > 0).length >= 2,
    JSON.stringify(totals),
  );
  await using outbox = await Outbox.open({
    kv: temp.kv,
    transport: server.clientOptions,
  });
  assert.equal((await outbox.list({ state: "sent", limit: 1000 })).length, 300);
});

Deno.test("Outbox loses nothing when a delivering process is killed: another delivers every message after the lease", async () => {
  await using server = await startTestServer({
    tls: "none",
    // Slow to accept: the killed process has sends in flight.
    hooks: { DATA_END: () => [{ delay: 150 }, "default"] },
  });
  await using temp = await tempKv();
  const expected = new Set<string>();
  {
    await using outbox = await Outbox.open({
      kv: temp.kv,
      transport: server.clientOptions,
    });
    for (let i = 0; i < 30; i++) {
      const entry = await outbox.enqueue({
        from: "app@example.com",
        to: `user${i}@example.com`,
        subject: `n${i}`,
        text: "hello",
      });
      expected.add(entry.messageId);
    }
  }
  const url = `smtp://127.0.0.1:${server.port}?tls=none`;
  const lease = ["--lease", "1500", "--concurrency", "5"];
  {
    await using first = worker(temp.path, url, ["--passes", "0", ...lease]);
    await first.waitFor(
      () => server.messages.length >= 3 ? true : undefined,
      20_000,
      "the first deliveries",
    );
    Deno.kill(first.pid, "SIGKILL");
    const status = await first.status;
    assert.equal(status.signal, "SIGKILL");
  }
  const sentBefore = server.messages.length;
  assert.ok(sentBefore < 30, `${sentBefore} sent before the kill`);
  {
    await using outbox = await Outbox.open({
      kv: temp.kv,
      transport: server.clientOptions,
    });
    const sending = await outbox.list({ state: "sending" });
    assert.ok(sending.length > 0, "the killed process held entries");
  }
  await using second = worker(temp.path, url, ["--until-settled", ...lease]);
  await totalOf(second, 60_000);
  const ids = messageIds(server.messages);
  // At least once: every message arrived; those in flight at the kill may
  // have arrived twice.
  assert.deepEqual(new Set(ids), expected);
  await using outbox = await Outbox.open({
    kv: temp.kv,
    transport: server.clientOptions,
  });
  const entries = await outbox.list({ limit: 1000 });
  assert.equal(entries.length, 30);
  assert.deepEqual(new Set(entries.map((e) => e.state)), new Set(["sent"]));
  const duplicates = ids.length - expected.size;
  const flagged = entries.filter((e) => e.maybeDuplicate).length;
  // Every message that arrived twice is flagged as a possible duplicate.
  assert.ok(flagged >= duplicates, `${flagged} flagged, ${duplicates} twice`);
  assert.ok(flagged > 0);
});

Deno.test("Outbox.open says to run with --unstable-kv when Deno KV is missing", async () => {
  const { stdout, code } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-config",
      "-A",
      new URL("./_open_default.ts", import.meta.url).pathname,
    ],
    stdout: "piped",
    stderr: "null",
  }).output();
  assert.equal(code, 0);
  const result = JSON.parse(new TextDecoder().decode(stdout));
  assert.equal(result.name, "TypeError");
  assert.match(result.message, /--unstable-kv/);
});
