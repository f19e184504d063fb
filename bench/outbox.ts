// The outbox, measured in one run on an SQLite KV file in a temporary
// directory, against Postfix's smtp-sink:
//
// 1. enqueue latency (p50/p99) of a 10 KiB message, raw and composed;
// 2. delivery throughput through the outbox beside direct sends on the
//    same transport (one SmtpClient, the same number of sends in flight),
//    alternated, medians of the repetitions;
// 3. resident memory while 10,000 messages are enqueued and delivered.
//
//   deno task bench:outbox [--messages 2000] [--reps 3] [--in-flight 10,30]
//     [--memory 10000] [--latency 2000] [--out FILE]

import { SmtpClient } from "../mod.ts";
import { Outbox } from "../outbox.ts";
import { startSmtpSink } from "../tests/_harness/mod.ts";

const arg = (name: string, fallback: number): number => {
  const i = Deno.args.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(Deno.args[i + 1]);
};
const outIndex = Deno.args.indexOf("--out");
const outFile = outIndex === -1 ? undefined : Deno.args[outIndex + 1];
const MESSAGES = arg("messages", 2000);
const REPS = arg("reps", 3);
const MEMORY = arg("memory", 10_000);
const LATENCY = arg("latency", 2000);
const CONCURRENCY = 10;
/** The sends in flight of the throughput runs (`--in-flight 10,30`). */
const IN_FLIGHT = (() => {
  const i = Deno.args.indexOf("--in-flight");
  return i === -1 ? [10, 30] : Deno.args[i + 1]!.split(",").map(Number);
})();

const lines: string[] = [];
const print = (line = "") => {
  console.log(line);
  lines.push(line);
};

const dir = await Deno.makeTempDir({ prefix: "sendmail_outbox_bench_" });
let files = 0;
async function freshKv(): Promise<Deno.Kv> {
  return await Deno.openKv(`${dir}/bench${files++}.sqlite3`);
}

function rawOf(size: number, i: number) {
  const head = `From: app@example.com\r\nTo: user${i}@example.com\r\n` +
    `Subject: bench ${i}\r\nMessage-ID: <bench-${i}-${files}@example.com>\r\n\r\n`;
  const line = "x".repeat(76) + "\r\n";
  const body = line.repeat(Math.max(1, Math.floor((size - head.length) / 78)));
  return {
    envelope: { from: "app@example.com", to: [`user${i}@example.com`] },
    raw: head + body,
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

await using sink = await startSmtpSink({ dump: false });
const url = `smtp://127.0.0.1:${sink.port}?tls=none`;
const noSend = {
  send: () => Promise.reject(new Error("not sending")),
  close: () => Promise.resolve(),
};

print(`# Outbox benchmarks`);
print();
print(
  `One run of \`deno task bench:outbox${
    Deno.args.filter((a) => a !== "--out" && a !== outFile).map((a) => ` ${a}`)
      .join("")
  }\` on ${new Date().toISOString()}: Deno ${Deno.version.deno}, ` +
    `${navigator.hardwareConcurrency} CPUs, KV on an SQLite file (${
      dir.startsWith("/tmp") ? "/tmp" : dir
    }), ` +
    `Postfix smtp-sink on loopback.`,
);
print();

// ——— 1. enqueue latency ———
{
  const kv = await freshKv();
  const outbox = await Outbox.open({ kv, transport: noSend });
  const results: [string, number[]][] = [];
  for (const kind of ["RawMessage", "Mail"] as const) {
    const times: number[] = [];
    for (let i = 0; i < LATENCY + 50; i++) {
      const message = kind === "RawMessage" ? rawOf(10 * 1024, i) : {
        from: "app@example.com",
        to: `user${i}@example.com`,
        subject: `bench ${i}`,
        text: ("x".repeat(76) + "\n").repeat(131),
      };
      const start = performance.now();
      await outbox.enqueue(message);
      const ms = performance.now() - start;
      if (i >= 50) times.push(ms); // the first ones warm up
    }
    times.sort((a, b) => a - b);
    results.push([kind, times]);
  }
  await outbox.close();
  kv.close();
  print(`## enqueue latency, 10 KiB message (${LATENCY} calls each)`);
  print();
  print(`| message | p50 ms | p90 ms | p99 ms | max ms |`);
  print(`| --- | ---: | ---: | ---: | ---: |`);
  for (const [kind, times] of results) {
    print(
      `| ${kind} | ${percentile(times, 0.5).toFixed(2)} | ${
        percentile(times, 0.9).toFixed(2)
      } | ${percentile(times, 0.99).toFixed(2)} | ${
        times.at(-1)!.toFixed(2)
      } |`,
    );
  }
  print();
}

// ——— 2. delivery throughput beside direct sends ———
for (const CONCURRENCY of IN_FLIGHT) {
  const direct: number[] = [];
  const through: number[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    // Direct: the same messages, CONCURRENCY sends in flight on one client.
    {
      const client = await SmtpClient.connect(url);
      const messages = Array.from(
        { length: MESSAGES },
        (_, i) => rawOf(1024, i),
      );
      const start = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < messages.length) await client.send(messages[next++]!);
        }),
      );
      direct.push(MESSAGES / ((performance.now() - start) / 1000));
      await client.quit();
    }
    // Through the outbox: enqueued first (not timed), then one deliver()
    // pass on a client of its own, CONCURRENCY in flight.
    {
      const kv = await freshKv();
      const client = await SmtpClient.connect(url);
      const outbox = await Outbox.open({
        kv,
        transport: client,
        concurrency: CONCURRENCY,
      });
      for (let i = 0; i < MESSAGES; i++) await outbox.enqueue(rawOf(1024, i));
      const start = performance.now();
      const result = await outbox.deliver();
      through.push(result.sent / ((performance.now() - start) / 1000));
      if (result.sent !== MESSAGES) {
        throw new Error(`Only ${result.sent} of ${MESSAGES} sent`);
      }
      await outbox.close();
      await client.quit();
      kv.close();
    }
  }
  const d = median(direct);
  const o = median(through);
  print(
    `## delivery throughput, ${MESSAGES} messages of 1 KiB, ${CONCURRENCY} in flight, median of ${REPS}`,
  );
  print();
  print(`| path | msg/s | runs |`);
  print(`| --- | ---: | --- |`);
  print(
    `| direct SmtpClient.send() | ${d.toFixed(0)} | ${
      direct.map((v) => v.toFixed(0)).join(", ")
    } |`,
  );
  print(
    `| Outbox.deliver() on the same kind of client | ${o.toFixed(0)} | ${
      through.map((v) => v.toFixed(0)).join(", ")
    } |`,
  );
  print(`| outbox ÷ direct | ${(100 * o / d).toFixed(0)} % | |`);
  print();
}

// ——— 3. memory over 10,000 messages ———
{
  const kv = await freshKv();
  const outbox = await Outbox.open({
    kv,
    transport: url,
    concurrency: CONCURRENCY,
  });
  const gc = (globalThis as { gc?: () => void }).gc;
  const sample = (): [number, number] => {
    gc?.();
    const usage = Deno.memoryUsage();
    return [usage.rss / 1024 / 1024, usage.heapUsed / 1024 / 1024];
  };
  const samples: [string, [number, number]][] = [["start", sample()]];
  const mib = sample;
  const step = MEMORY / 5;
  for (let i = 0; i < MEMORY; i++) {
    await outbox.enqueue(rawOf(10 * 1024, i));
    if ((i + 1) % step === 0) samples.push([`enqueued ${i + 1}`, mib()]);
  }
  let sent = 0;
  while (sent < MEMORY) {
    const result = await outbox.deliver({ limit: step });
    sent += result.sent;
    if (result.attempted === 0) break;
    samples.push([`delivered ${sent}`, mib()]);
  }
  await outbox.close();
  kv.close();
  // The same messages sent directly, a client per step as the outbox's own
  // transport has one per pass: what the session itself keeps.
  const direct: [string, [number, number]][] = [["start", mib()]];
  for (let done = 0; done < MEMORY; done += step) {
    const client = await SmtpClient.connect(url);
    let next = done;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < done + step) await client.send(rawOf(10 * 1024, next++));
      }),
    );
    await client.quit();
    direct.push([`sent directly ${done + step}`, mib()]);
  }
  samples.push(...direct);
  print(
    `## resident memory, ${MEMORY} messages of 10 KiB enqueued then delivered, then as many sent directly`,
  );
  print();
  print(
    `| point | RSS MiB | JS heap used MiB${gc ? " (after a GC)" : ""} |`,
  );
  print(`| --- | ---: | ---: |`);
  for (const [point, [rss, heap]] of samples) {
    print(`| ${point} | ${rss.toFixed(1)} | ${heap.toFixed(1)} |`);
  }
  print();
}

await Deno.remove(dir, { recursive: true });
if (outFile) await Deno.writeTextFile(outFile, lines.join("\n") + "\n");
