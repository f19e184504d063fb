// DKIM signing in bounded memory, and what it costs beside plain sending,
// measured side by side in one run: a message with a large Blob attachment
// (256 MiB by default) sent to smtp-sink (which discards it) by an
// SmtpClient without `dkim`, with `dkim` (rsa-sha256, relaxed/relaxed and
// simple/simple), and signed alone (the session's signing step, no
// network). Each
// measurement is its own process, the modes alternating, so peaks and JIT
// state do not carry over; figures are medians.
//
//   deno run -A bench/dkim_memory.ts [MiB] [repetitions]
//
// Deno has no file-backed Blob (node:fs openAsBlob reads the whole file),
// so the attachment is a Blob subclass whose stream() reads a file, as a
// browser File or Node's openAsBlob do: the process never holds it.

import { startSmtpSink } from "../tests/_harness/smtp_sink.ts";
import { SmtpClient } from "../mod.ts";
import { prepareDkim, signPrepared } from "../src/dkim/_sign_prepared.ts";
import { composeMessage, type Mail } from "../mime.ts";
import { RssSampler } from "./field/_rss.ts";

type Mode = "plain" | "dkim-relaxed" | "dkim-simple" | "sign-only";
const MODES: Mode[] = ["plain", "dkim-relaxed", "dkim-simple", "sign-only"];

interface ChildArgs {
  mode: Mode;
  port: number;
  file: string;
  size: number;
  keyFile: string;
}

interface ChildResult {
  mode: Mode;
  seconds: number;
  octets: number;
  baseline: number;
  peak: number;
  hwm: number | null;
}

/** A Blob read from a file on each stream(): never held in memory. */
class FileBlob extends Blob {
  readonly #path: string;
  readonly #size: number;
  constructor(path: string, size: number) {
    super([]);
    this.#path = path;
    this.#size = size;
  }
  override get size(): number {
    return this.#size;
  }
  override stream(): ReadableStream<Uint8Array<ArrayBuffer>> {
    return Deno.openSync(this.#path).readable;
  }
}

async function child(args: ChildArgs): Promise<ChildResult> {
  const sampler = new RssSampler(5);
  const mail: Mail = {
    from: "Ada <ada@example.com>",
    to: "sink@example.org",
    subject: "A large attachment",
    text: "See attached.",
    attachments: [{
      filename: "large.bin",
      content: new FileBlob(args.file, args.size),
    }],
  };
  const dkim = {
    domainName: "example.com",
    keySelector: "bench",
    privateKey: await Deno.readTextFile(args.keyFile),
    canonicalization: args.mode === "dkim-simple"
      ? "simple/simple" as const
      : "relaxed/relaxed" as const,
  };
  const start = performance.now();
  let octets = 0;
  if (args.mode === "sign-only") {
    // What the session does with `dkim`, without the network.
    const signed = await signPrepared(composeMessage(mail), prepareDkim(dkim));
    for await (const chunk of signed.readable) {
      octets += chunk.length;
      sampler.sample();
    }
  } else {
    const client = await SmtpClient.connect({
      hostname: "127.0.0.1",
      port: args.port,
      tls: "none",
      ...(args.mode === "plain" ? {} : { dkim }),
      logger: (event) => {
        const sent = /^(\d+) octets of message data sent/.exec(event.text);
        if (sent) octets = Number(sent[1]);
      },
    });
    await client.send(mail);
    await client.quit();
  }
  const seconds = (performance.now() - start) / 1000;
  const { baseline, peak, hwm } = sampler.stop();
  return { mode: args.mode, seconds, octets, baseline, peak, hwm };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const mib = (n: number) => (n / 1024 / 1024).toFixed(1);

async function main(): Promise<void> {
  const sizeMiB = Number(Deno.args[0] ?? 256);
  const repetitions = Number(Deno.args[1] ?? 3);
  const size = sizeMiB * 1024 * 1024;
  const dir = await Deno.makeTempDir({ prefix: "sendmail_dkim_bench_" });
  try {
    const file = `${dir}/attachment.bin`;
    {
      using out = await Deno.open(file, { write: true, create: true });
      const chunk = crypto.getRandomValues(new Uint8Array(65536));
      for (let at = 0; at < size; at += chunk.length) {
        await out.write(chunk);
      }
    }
    const pair = await crypto.subtle.generateKey(
      {
        name: "RSASSA-PKCS1-v1_5",
        modulusLength: 2048,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: "SHA-256",
      },
      true,
      ["sign"],
    ) as CryptoKeyPair;
    const der = new Uint8Array(
      await crypto.subtle.exportKey("pkcs8", pair.privateKey),
    );
    const keyFile = `${dir}/key.pem`;
    await Deno.writeTextFile(
      keyFile,
      `-----BEGIN PRIVATE KEY-----\n${
        btoa(String.fromCharCode(...der))
      }\n-----END PRIVATE KEY-----\n`,
    );
    await using sink = await startSmtpSink({ dump: false });
    const results: ChildResult[] = [];
    for (let r = 0; r < repetitions; r++) {
      for (const mode of MODES) {
        const args: ChildArgs = { mode, port: sink.port, file, size, keyFile };
        const { code, stdout, stderr } = await new Deno.Command(
          Deno.execPath(),
          {
            args: [
              "run",
              "-A",
              import.meta.filename!,
              "--child",
              JSON.stringify(args),
            ],
            stdout: "piped",
            stderr: "piped",
          },
        ).output();
        if (code !== 0) throw new Error(new TextDecoder().decode(stderr));
        results.push(JSON.parse(new TextDecoder().decode(stdout)));
      }
    }
    console.log(
      `${sizeMiB} MiB Blob attachment, ${repetitions} repetition(s), medians; ${navigator.hardwareConcurrency} CPUs, load ${
        Deno.loadavg().map((l) => l.toFixed(2)).join(" ")
      }\n`,
    );
    console.log(
      "| mode | message MiB | seconds | MB/s | × plain time | baseline RSS MiB | peak RSS MiB | peak − baseline MiB | VmHWM MiB |",
    );
    console.log(
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    );
    const plain = median(
      results.filter((r) => r.mode === "plain").map((r) => r.seconds),
    );
    for (const mode of MODES) {
      const runs = results.filter((r) => r.mode === mode);
      const seconds = median(runs.map((r) => r.seconds));
      const octets = runs[0]!.octets;
      const baseline = median(runs.map((r) => r.baseline));
      const peak = Math.max(...runs.map((r) => r.peak));
      const growth = Math.max(...runs.map((r) => r.peak - r.baseline));
      const hwm = Math.max(...runs.map((r) => r.hwm ?? 0));
      console.log(
        `| ${mode} | ${mib(octets)} | ${seconds.toFixed(2)} | ${
          (octets / 1e6 / seconds).toFixed(0)
        } | ${(seconds / plain).toFixed(2)} | ${mib(baseline)} | ${
          mib(peak)
        } | ${mib(growth)} | ${hwm ? mib(hwm) : "—"} |`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (Deno.args[0] === "--child") {
  console.log(JSON.stringify(await child(JSON.parse(Deno.args[1]!))));
} else {
  await main();
}
