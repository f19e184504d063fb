/**
 * Our client as one peer of the field benchmarks, run as its own process:
 * `deno run -A bench/field/ours_client.ts '<json>'` (or `node` / `bun` on the
 * same file: it uses no Deno API but in `memory` mode, and the session then
 * connects with `nodeConnect`). It prints one JSON line
 * with its timings. Modes:
 *
 * - `throughput`: `count` messages from `messageFile` over `connections`
 *   sessions (each its own `SmtpClient`), no TLS.
 * - `phases`: like `throughput` on one connection, timing each step of a
 *   transaction from the transcript's timestamps (average µs per message).
 * - `roundtrip`: one message to three recipients with STARTTLS or implicit
 *   TLS and AUTH; times `send()` and `quit()` and every reply's arrival.
 * - `memory`: one `size`-octet raw message streamed from a generator;
 *   peak RSS over the baseline.
 * - `pool`: `count` messages given at once to an `SmtpPool` of
 *   `connections` connections (it pipelines each connection's sends).
 * - `warm`: an `SmtpPool` of one connection with `tls` and AUTH (or
 *   plaintext without `tls`): one send sets it up, then `repeat` sends
 *   on the warm connection are timed one by one.
 * - `queued`: `count` distinct 1 KiB messages (`messageFile`) given at
 *   once to an `SmtpPool`; peak RSS over the baseline until all are sent.
 *
 * @module
 */

import { readFile } from "node:fs/promises";
import process from "node:process";
import { sendmail, SmtpClient, SmtpPool } from "../../mod.ts";
import { FROM, textBlock, TO } from "./_message.ts";
import { RssSampler } from "./_rss.ts";

interface Args {
  mode:
    | "throughput"
    | "phases"
    | "roundtrip"
    | "memory"
    | "pool"
    | "warm"
    | "queued";
  repeat?: number;
  port: number;
  hostname?: string;
  count?: number;
  connections?: number;
  messageFile?: string;
  tls?: "starttls" | "implicit";
  caFile?: string;
  username?: string;
  password?: string;
  size?: number;
  /** Round trips through `sendmail()` (connect, send, QUIT) instead. */
  oneShot?: boolean;
}

const args: Args = JSON.parse(process.argv[2] ?? "{}");
const hostname = args.hostname ?? "127.0.0.1";

async function throughput(): Promise<unknown> {
  const message = await readFile(args.messageFile!);
  const count = args.count!;
  const connections = args.connections ?? 1;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async (_, index) => {
      const share = Math.floor(count / connections) +
        (index < count % connections ? 1 : 0);
      const client = await SmtpClient.connect({
        hostname,
        port: args.port,
        tls: "none",
      });
      try {
        for (let i = 0; i < share; i++) {
          await client.send({
            envelope: { from: FROM, to: [TO] },
            raw: message,
          });
        }
      } finally {
        await client.quit();
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  return { messages: count, seconds };
}

async function phases(): Promise<unknown> {
  const message = await readFile(args.messageFile!);
  const marks: { label: string; at: number }[] = [];
  const label = (type: string, text: string): string =>
    type === "info" && /octets of message data sent/.test(text)
      ? "message data written"
      : type === "client"
      ? `${/^[A-Z]+/.exec(text)?.[0]} written`
      : type === "server"
      ? `${text.slice(0, 3)} received`
      : type;
  const client = await SmtpClient.connect({
    hostname,
    port: args.port,
    tls: "none",
    logger: (event) =>
      marks.push({
        label: label(event.type, event.text),
        at: performance.now(),
      }),
  });
  const count = args.count!;
  let firstMark = 0;
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    // The first third warms up; the rest is measured.
    if (i === Math.floor(count / 3)) firstMark = marks.length;
    await client.send({ envelope: { from: FROM, to: [TO] }, raw: message });
    marks.push({ label: "send() resolved", at: performance.now() });
  }
  const seconds = (performance.now() - start) / 1000;
  await client.quit();
  const steps = new Map<string, { total: number; n: number; order: number }>();
  const measured = marks.slice(firstMark);
  for (let i = 1; i < measured.length; i++) {
    const from = measured[i - 1]!;
    const to = measured[i]!;
    const key = `${from.label} → ${to.label}`;
    const step = steps.get(key) ?? { total: 0, n: 0, order: steps.size };
    step.total += to.at - from.at;
    step.n++;
    steps.set(key, step);
  }
  const messages = count - Math.floor(count / 3);
  return {
    messages: count,
    seconds,
    steps: [...steps].map(([step, { total, n }]) => ({
      step,
      perMessageUs: (total * 1000) / messages,
      n,
    })),
  };
}

async function roundTrip(): Promise<unknown> {
  const caCert = await readFile(args.caFile!, "utf8");
  const events: { ms: number; type: string; text: string }[] = [];
  const options = {
    hostname,
    port: args.port,
    tls: args.tls!,
    caCerts: [caCert],
    auth: { username: args.username!, password: args.password! },
    logger: (event: { type: string; text: string }) =>
      events.push({
        ms: performance.now() - start,
        type: event.type,
        text: event.text,
      }),
  };
  const mail = {
    from: FROM,
    to: ["one@example.org", "two@example.org", "three@example.org"],
    subject: "Round trips",
    text: "One message, three recipients.",
  };
  const start = performance.now();
  if (args.oneShot) {
    // sendmail() resolves once the session is over (QUIT answered).
    await sendmail(options, mail);
    const done = performance.now() - start;
    return { sentMs: done, quitMs: done, events };
  }
  const client = await SmtpClient.connect(options);
  const connected = performance.now() - start;
  await client.send(mail);
  const sent = performance.now() - start;
  await client.quit();
  const quit = performance.now() - start;
  return { connectedMs: connected, sentMs: sent, quitMs: quit, events };
}

async function memory(): Promise<unknown> {
  const size = args.size!;
  const block = textBlock();
  async function* generate(): AsyncGenerator<Uint8Array> {
    let left = size;
    while (left > 0) {
      const piece = block.slice(0, Math.min(block.length, left));
      left -= piece.length;
      yield piece;
    }
  }
  const client = await SmtpClient.connect({
    hostname,
    port: args.port,
    tls: "none",
  });
  // Baseline: the client loaded and connected, nothing sent yet.
  const sampler = new RssSampler();
  const start = performance.now();
  await client.send({
    envelope: { from: FROM, to: [TO] },
    raw: ReadableStream.from(generate()),
  });
  const seconds = (performance.now() - start) / 1000;
  const rss = sampler.stop();
  await client.quit();
  return { octets: size, seconds, ...rss };
}

/** A pool that never reconnects during a run (as nodemailer's is set). */
function benchPool(connections: number): SmtpPool {
  return new SmtpPool({
    hostname,
    port: args.port,
    tls: "none",
    maxConnections: connections,
    maxMessagesPerConnection: Number.MAX_SAFE_INTEGER,
  });
}

async function pool(): Promise<unknown> {
  const message = await readFile(args.messageFile!);
  const count = args.count!;
  const start = performance.now();
  const transport = benchPool(args.connections ?? 1);
  await Promise.all(
    Array.from(
      { length: count },
      () =>
        transport.send({ envelope: { from: FROM, to: [TO] }, raw: message }),
    ),
  );
  await transport.close();
  return { messages: count, seconds: (performance.now() - start) / 1000 };
}

async function warm(): Promise<unknown> {
  const tls = args.tls;
  const transport = new SmtpPool({
    hostname,
    port: args.port,
    maxConnections: 1,
    ...(tls
      ? {
        tls,
        caCerts: [await readFile(args.caFile!, "utf8")],
        auth: { username: args.username!, password: args.password! },
      }
      : { tls: "none" as const }),
  });
  const mail = {
    from: FROM,
    to: "one@example.org",
    subject: "Warm",
    text: "A notification on a warm connection.",
  };
  const start = performance.now();
  await transport.send(mail);
  const coldMs = performance.now() - start;
  const warmMs: number[] = [];
  for (let i = 0; i < (args.repeat ?? 5); i++) {
    const at = performance.now();
    await transport.send(mail);
    warmMs.push(performance.now() - at);
  }
  await transport.close();
  return { coldMs, warmMs };
}

async function queued(): Promise<unknown> {
  const message = await readFile(args.messageFile!);
  const count = args.count!;
  const transport = benchPool(args.connections ?? 5);
  // Baseline: the pool made, no message yet.
  const sampler = new RssSampler();
  const start = performance.now();
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    // Each its own 1 KiB, as a list of distinct messages would be.
    sends.push(
      transport.send({
        envelope: { from: FROM, to: [TO] },
        raw: new Uint8Array(message),
      }),
    );
  }
  sampler.sample();
  const afterQueue = Deno.memoryUsage().rss;
  const queuedAfter = transport.stats.queued;
  await Promise.all(sends);
  const seconds = (performance.now() - start) / 1000;
  const rss = sampler.stop();
  await transport.close();
  return { messages: count, queued: queuedAfter, seconds, afterQueue, ...rss };
}

const result = args.mode === "pool"
  ? await pool()
  : args.mode === "warm"
  ? await warm()
  : args.mode === "queued"
  ? await queued()
  : args.mode === "throughput"
  ? await throughput()
  : args.mode === "phases"
  ? await phases()
  : args.mode === "roundtrip"
  ? await roundTrip()
  : await memory();
console.log(JSON.stringify(result));
