/**
 * The library in a Cloudflare Worker: what a Worker that sends one mail
 * (bench/worker/send_one.ts) weighs once bundled, minified and gzipped
 * (target: at most 40 KB), and how long workerd takes to start with it —
 * to answer a first request, and to be ready to send (connected, EHLO
 * answered, on a plaintext loopback capture server) — beside the cold
 * start of the same client on Deno (bench/cold/cold_client.mjs, as
 * bench/cold_start.ts runs it), measured interleaved in the same run.
 * nodemailer does not run on Workers (it needs node:net, node:tls and
 * node:dns): its bundle is shown for scale only, built for Node.
 *
 *   deno run -A bench/worker.ts [--reps 15]
 *
 * workerd comes from `.ci/_runtimes/workerd` (`bash .ci/install_runtimes`).
 *
 * @module
 */
import { startTestServer } from "../testing.ts";
import { freePort } from "../tests/_harness/net.ts";
import { workerdBinary } from "../tests/_harness/workerd.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const flag = Deno.args.indexOf("--reps");
const REPS = flag === -1 ? 15 : Number(Deno.args[flag + 1]);
const WORKER = `${ROOT}bench/worker/send_one.ts`;
const CLIENT = `${ROOT}bench/cold/cold_client.mjs`;

const decoder = new TextDecoder();

async function run(args: string[], cwd = ROOT): Promise<void> {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(`deno ${args[0]} failed: ${decoder.decode(stderr)}`);
  }
}

async function gzipSize(bytes: Uint8Array): Promise<number> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream("gzip"));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

const dir = await Deno.makeTempDir({ prefix: "sendmail_bench_worker_" });
try {
  // --- Size -------------------------------------------------------------
  const bundle = (minify: boolean) =>
    run([
      "bundle",
      "--platform=browser",
      "--external",
      "cloudflare:sockets",
      ...(minify ? ["--minify"] : []),
      "-o",
      `${dir}/${minify ? "worker.min.js" : "worker.js"}`,
      WORKER,
    ]);
  await bundle(false);
  await bundle(true);
  const plain = await Deno.readFile(`${dir}/worker.js`);
  const minified = await Deno.readFile(`${dir}/worker.min.js`);
  const sizes = [
    { what: "bundled", bytes: plain.byteLength },
    { what: "bundled + minified", bytes: minified.byteLength },
    { what: "bundled + minified + gzipped", bytes: await gzipSize(minified) },
  ];
  // For scale: nodemailer bundled for Node (node:* left to the runtime).
  let nodemailer: number | undefined;
  try {
    await Deno.writeTextFile(
      `${dir}/nodemailer_entry.ts`,
      `import nodemailer from "npm:nodemailer@6";\nexport default nodemailer;\n`,
    );
    await run([
      "bundle",
      "--platform=deno",
      "--minify",
      "-o",
      `${dir}/nodemailer.min.js`,
      `${dir}/nodemailer_entry.ts`,
    ], dir);
    nodemailer = await gzipSize(
      await Deno.readFile(`${dir}/nodemailer.min.js`),
    );
  } catch (error) {
    console.error(`(nodemailer not bundled: ${error})`);
  }

  // --- Start ------------------------------------------------------------
  const binary = workerdBinary();
  if (!binary) {
    throw new Error("workerd is not installed (bash .ci/install_runtimes)");
  }
  await Deno.writeFile(`${dir}/worker.js`, minified);
  const server = await startTestServer({ tls: "none" });
  const firstAnswer: number[] = [];
  const readyToSend: number[] = [];
  const deno: { importMs: number[]; readyMs: number[]; wallMs: number[] } = {
    importMs: [],
    readyMs: [],
    wallMs: [],
  };
  try {
    for (let rep = 0; rep < REPS; rep++) {
      // workerd: spawn, then poll until the Worker answers; then until it
      // is ready to send (a fresh workerd each time for both).
      for (const path of ["/", "/ready"]) {
        const port = freePort();
        await Deno.writeTextFile(
          `${dir}/config.capnp`,
          `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "internet", network = (allow = ["local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "2025-09-01",
);
`,
        );
        const t0 = performance.now();
        const child = new Deno.Command(binary, {
          args: ["serve", "config.capnp"],
          cwd: dir,
          stdin: "null",
          stdout: "null",
          stderr: "null",
        }).spawn();
        try {
          for (;;) {
            try {
              const response = await fetch(
                `http://127.0.0.1:${port}${path}?port=${server.port}`,
              );
              await response.text();
              if (response.ok) break;
            } catch {
              // not listening yet
            }
            await new Promise((resolve) => setTimeout(resolve, 2));
          }
          (path === "/" ? firstAnswer : readyToSend).push(
            performance.now() - t0,
          );
        } finally {
          child.kill("SIGTERM");
          await child.status;
        }
      }
      // Deno, from the sources, as bench/cold_start.ts runs it.
      const started = performance.now();
      const { code, stdout, stderr } = await new Deno.Command(
        Deno.execPath(),
        {
          args: [
            "run",
            "-A",
            CLIENT,
            JSON.stringify({
              client: "ours",
              module: `${ROOT}mod.ts`,
              port: server.port,
            }),
          ],
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        },
      ).output();
      deno.wallMs.push(performance.now() - started);
      if (code !== 0) throw new Error(decoder.decode(stderr));
      const line = decoder.decode(stdout).trim().split("\n").at(-1)!;
      const { importMs, readyMs } = JSON.parse(line);
      deno.importMs.push(importMs);
      deno.readyMs.push(readyMs);
    }
    if (server.transcripts.length < REPS * 2) {
      throw new Error("Not every start reached the capture server");
    }
  } finally {
    await server.close();
  }

  // --- Report -----------------------------------------------------------
  const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)]!;
  };
  const kb = (bytes: number) =>
    `${bytes.toLocaleString("en-US")} B (${(bytes / 1000).toFixed(1)} KB)`;
  console.log(
    `Worker that sends one mail (bench/worker/send_one.ts), deno bundle:`,
  );
  console.log(`| bundle | size |`);
  console.log(`|---|---:|`);
  for (const { what, bytes } of sizes) {
    console.log(`| ${what} | ${kb(bytes)} |`);
  }
  if (nodemailer !== undefined) {
    console.log(
      `| for scale: nodemailer 6 bundled for Node, minified + gzipped (does not run on Workers) | ${
        kb(nodemailer)
      } |`,
    );
  }
  const gz = sizes.at(-1)!.bytes;
  console.log(`target ≤ 40 KB gzipped: ${gz <= 40_000 ? "met" : "MISSED"}`);
  console.log();
  console.log(`Start (median of ${REPS}, interleaved):`);
  console.log(
    `| runtime | first answer or import (ms) | ready to send (ms) | process start to ready, and exit (ms) |`,
  );
  console.log(`|---|---:|---:|---:|`);
  console.log(
    `| workerd + the Worker (from process start: an HTTP answer) | ${
      median(firstAnswer).toFixed(1)
    } | ${median(readyToSend).toFixed(1)} | — |`,
  );
  console.log(
    `| Deno: @x/sendmail (sources; from the script's first line, as bench/cold_start.ts) | ${
      median(deno.importMs).toFixed(1)
    } | ${median(deno.readyMs).toFixed(1)} | ${
      median(deno.wallMs).toFixed(1)
    } |`,
  );
  console.log(
    `workerd ready ÷ Deno process start to ready and exit: ${
      (median(readyToSend) / median(deno.wallMs)).toFixed(2)
    }`,
  );
} finally {
  await Deno.remove(dir, { recursive: true });
}
