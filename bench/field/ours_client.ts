/**
 * Our client as one peer of the field benchmarks, run as its own process:
 * `deno run -A bench/field/ours_client.ts '<json>'`. It prints one JSON line
 * with its timings. Modes:
 *
 * - `throughput`: `count` messages from `messageFile` over `connections`
 *   sessions (each its own `SmtpClient`), no TLS.
 * - `roundtrip`: one message to three recipients with STARTTLS or implicit
 *   TLS and AUTH; times `send()` and `quit()` and every reply's arrival.
 * - `memory`: one `size`-octet raw message streamed from a generator;
 *   peak RSS over the baseline.
 *
 * @module
 */

import { SmtpClient } from "../../mod.ts";
import { FROM, textBlock, TO } from "./_message.ts";
import { RssSampler } from "./_rss.ts";

interface Args {
  mode: "throughput" | "roundtrip" | "memory";
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
}

const args: Args = JSON.parse(Deno.args[0] ?? "{}");
const hostname = args.hostname ?? "127.0.0.1";

async function throughput(): Promise<unknown> {
  const message = await Deno.readFile(args.messageFile!);
  const count = args.count!;
  const connections = args.connections ?? 1;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async (_, index) => {
      const share = Math.floor(count / connections) +
        (index < count % connections ? 1 : 0);
      await using client = await SmtpClient.connect({
        hostname,
        port: args.port,
        tls: "none",
      });
      for (let i = 0; i < share; i++) {
        await client.send({ envelope: { from: FROM, to: [TO] }, raw: message });
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  return { messages: count, seconds };
}

async function roundTrip(): Promise<unknown> {
  const caCert = await Deno.readTextFile(args.caFile!);
  const events: { ms: number; type: string; text: string }[] = [];
  const start = performance.now();
  const client = await SmtpClient.connect({
    hostname,
    port: args.port,
    tls: args.tls!,
    caCerts: [caCert],
    auth: { username: args.username!, password: args.password! },
    logger: (event) =>
      events.push({
        ms: performance.now() - start,
        type: event.type,
        text: event.text,
      }),
  });
  const connected = performance.now() - start;
  await client.send({
    from: FROM,
    to: ["one@example.org", "two@example.org", "three@example.org"],
    subject: "Round trips",
    text: "One message, three recipients.",
  });
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

const result = args.mode === "throughput"
  ? await throughput()
  : args.mode === "roundtrip"
  ? await roundTrip()
  : await memory();
console.log(JSON.stringify(result));
