/**
 * Measures what a scenario leaves on the heap, in a process of its own
 * started with --v8-flags=--expose-gc: prints one JSON line
 * `{ "heldMiB": n, ... }`. Used by memory_test.ts (issue 11 items 5 and 8).
 *
 * Run: deno run -A --v8-flags=--expose-gc tests/faults/_memory_probe.ts <scenario>
 *
 * @module
 */
import { SmtpClient } from "../../mod.ts";
import { startTestServer } from "../../testing.ts";
import { startSmtpSink } from "../_harness/mod.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --v8-flags=--expose-gc");

/** JS heap plus array buffers (message bytes live outside the heap). */
function used(): number {
  const { heapUsed, external } = Deno.memoryUsage();
  return heapUsed + external;
}

function heap(): number {
  for (let i = 0; i < 3; i++) gc!();
  return used();
}

const MiB = 1024 * 1024;
const encoder = new TextEncoder();

async function rejectedRecipients(): Promise<Record<string, number>> {
  // Every RCPT refused with a thousand-line reply of 1,000 bytes a line.
  const line = "x".repeat(990);
  let reply = "";
  for (let i = 0; i < 999; i++) reply += `550-5.1.1 ${line}\r\n`;
  reply += `550 5.1.1 ${line}\r\n`;
  await using server = await startTestServer({
    tls: "none",
    hooks: {
      RCPT: ({ args }) =>
        args.startsWith("TO:<ok@") ? "default" : { reply: reply.trimEnd() },
    },
  });
  const to = [
    "ok@example.com",
    ...Array.from({ length: 40 }, (_, i) => `r${i}@example.com`),
  ];
  const before = heap();
  const client = await SmtpClient.connect(server.clientOptions);
  const result = await client.send({
    envelope: { from: "a@example.com", to },
    raw: "Subject: x\r\n\r\nx\r\n",
  });
  await client.quit();
  const held = heap() - before;
  return {
    heldMiB: held / MiB,
    rejected: result.rejected.length,
    // The server sent 40 MB of reply text.
    sentMiB: (40 * reply.length) / MiB,
  };
}

/** Writes every byte (Deno's write may take only part of a buffer). */
async function writeAll(conn: Deno.TcpConn, bytes: Uint8Array): Promise<void> {
  for (let n = 0; n < bytes.length;) n += await conn.write(bytes.subarray(n));
}

async function rawSession(
  port: number,
  script: (conn: Deno.TcpConn) => Promise<void>,
): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await script(conn);
  } finally {
    conn.close();
  }
}

async function readUntil(conn: Deno.TcpConn, pattern: RegExp) {
  const buffer = new Uint8Array(65536);
  let text = "";
  while (!pattern.test(text)) {
    const n = await conn.read(buffer);
    if (n === null) throw new Error(`closed before ${pattern}: ${text}`);
    text += new TextDecoder().decode(buffer.subarray(0, n));
  }
  return text;
}

async function oversized(
  mode: "DATA" | "BDAT",
): Promise<Record<string, number>> {
  await using server = await startTestServer({
    tls: "none",
    extensions: ["PIPELINING", "SIZE 1000000", "CHUNKING"],
  });
  const size = 48 * MiB;
  const block = encoder.encode(("y".repeat(998) + "\r\n").repeat(64));
  let peak = 0;
  const before = heap();
  await rawSession(server.port, async (conn) => {
    await readUntil(conn, /^220 /m);
    await writeAll(conn, encoder.encode("EHLO hostile.test\r\n"));
    await readUntil(conn, /^250 /m);
    await writeAll(
      conn,
      encoder.encode(
        "MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n",
      ),
    );
    await readUntil(conn, /^250 [\s\S]*^250 /m);
    await writeAll(
      conn,
      encoder.encode(mode === "DATA" ? "DATA\r\n" : `BDAT ${size} LAST\r\n`),
    );
    if (mode === "DATA") await readUntil(conn, /^354 /m);
    for (let sent = 0; sent < size; sent += block.length) {
      await writeAll(
        conn,
        block.subarray(0, Math.min(block.length, size - sent)),
      );
      if (sent % (4 * MiB) < block.length) {
        // What the server holds mid-message (garbage collected first).
        peak = Math.max(peak, heap() - before);
      }
    }
    if (mode === "DATA") await writeAll(conn, encoder.encode("\r\n.\r\n"));
    const reply = await readUntil(conn, /^552 /m);
    if (!/552/.test(reply)) throw new Error(reply);
    await writeAll(conn, encoder.encode("QUIT\r\n"));
    await readUntil(conn, /^221 /m);
  });
  const held = heap() - before;
  return {
    heldMiB: held / MiB,
    peakMiB: peak / MiB,
    sentMiB: size / MiB,
    stored: server.messages.length,
  };
}

async function noops(): Promise<Record<string, number>> {
  await using server = await startTestServer({ tls: "none" });
  const count = 100_000;
  const before = heap();
  await rawSession(server.port, async (conn) => {
    await readUntil(conn, /^220 /m);
    const batch = encoder.encode("NOOP\r\n".repeat(1000));
    for (let i = 0; i < count / 1000; i++) await writeAll(conn, batch);
    await writeAll(conn, encoder.encode("QUIT\r\n"));
    await readUntil(conn, /^221 /m);
  });
  const transcript = server.transcripts[0]!;
  const marker = transcript.find((line) => line.dropped !== undefined);
  return {
    heldMiB: (heap() - before) / MiB,
    entries: transcript.length,
    dropped: marker?.dropped ?? 0,
    noops: count,
  };
}

async function longLivedClient(): Promise<Record<string, number>> {
  // smtp-sink keeps nothing: what grows is the client's.
  await using sink = await startSmtpSink({ dump: false });
  const client = await SmtpClient.connect({
    hostname: sink.hostname,
    port: sink.port,
    tls: "none",
  });
  const message = {
    envelope: { from: "a@example.com", to: ["b@example.com"] },
    raw: "Subject: x\r\n\r\n" + "y".repeat(1000) + "\r\n",
  };
  const batch = async (n: number) => {
    for (let i = 0; i < n; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, () => client.send(message)),
      );
    }
  };
  await batch(2_000); // warm-up
  const before = heap();
  const sends = 10_000;
  await batch(sends);
  const grown = heap() - before;
  await client.quit();
  return { heldMiB: grown / MiB, bytesPerSend: grown / sends, sends };
}

const scenario = Deno.args[0];
const result = scenario === "rejected-recipients"
  ? await rejectedRecipients()
  : scenario === "oversized-data"
  ? await oversized("DATA")
  : scenario === "oversized-bdat"
  ? await oversized("BDAT")
  : scenario === "noops"
  ? await noops()
  : scenario === "long-lived-client"
  ? await longLivedClient()
  : undefined;
if (!result) throw new Error(`unknown scenario ${scenario}`);
console.log(JSON.stringify(result));
