// Nodemailer as one peer of the field benchmarks. The same code runs on
// Deno (field/nodemailer_deno.ts, npm:nodemailer@6; field/nodemailer10_deno.ts,
// npm:nodemailer@10) and on Node (_node/nodemailer_node.mjs and
// _node/nodemailer10_node.mjs, from _node/node_modules): each entry point
// passes the module in. Prints one JSON line, like
// field/ours_client.ts, for the same modes and arguments.

import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { Readable } from "node:stream";

const FROM = "bench@example.com";
const TO = "sink@example.org";

function rss() {
  return process.memoryUsage().rss;
}

function vmHwm() {
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(
      readFileSync("/proc/self/status", "utf8"),
    )?.[1];
    return kb ? Number(kb) * 1024 : null;
  } catch {
    return null;
  }
}

// Nodemailer leaves Nagle's algorithm on: its separate writes of the data
// and of the final "." then wait for the server's delayed ACK. This opens
// the socket with TCP_NODELAY instead, through nodemailer's getSocket hook.
function noDelaySocket(options, callback) {
  const socket = connect({ host: options.host, port: options.port });
  socket.setNoDelay(true);
  socket.once("error", callback);
  socket.once("connect", () => {
    socket.removeListener("error", callback);
    callback(null, { connection: socket });
  });
}

async function throughput(nodemailer, args) {
  const message = readFileSync(args.messageFile);
  const connections = args.connections ?? 1;
  const transporter = nodemailer.createTransport({
    host: args.hostname ?? "127.0.0.1",
    port: args.port,
    secure: false,
    ignoreTLS: true,
    pool: true,
    maxConnections: connections,
    // One connection for the whole run (the default reconnects every 100).
    maxMessages: Infinity,
    ...(args.noDelay ? { getSocket: noDelaySocket } : {}),
  });
  const start = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async (_, index) => {
      const share = Math.floor(args.count / connections) +
        (index < args.count % connections ? 1 : 0);
      for (let i = 0; i < share; i++) {
        await transporter.sendMail({
          envelope: { from: FROM, to: [TO] },
          raw: message,
        });
      }
    }),
  );
  transporter.close();
  return { messages: args.count, seconds: (performance.now() - start) / 1000 };
}

async function roundTrip(nodemailer, args) {
  const events = [];
  let start = 0;
  // Nodemailer's logger gets (entry, message, ...args); entry.tnx tells a
  // server line from a client one.
  const record = (entry, message) => {
    const tnx = entry?.tnx;
    if (tnx === "server" || tnx === "client" || tnx === "message") {
      events.push({
        ms: performance.now() - start,
        type: tnx === "server" ? "server" : "client",
        text: tnx === "message" ? "<message>" : String(message),
      });
    }
  };
  const logger = Object.fromEntries(
    ["trace", "debug", "info", "warn", "error", "fatal"].map((level) => [
      level,
      record,
    ]),
  );
  const transporter = nodemailer.createTransport({
    host: args.hostname ?? "127.0.0.1",
    port: args.port,
    secure: args.tls === "implicit",
    requireTLS: args.tls === "starttls",
    tls: { ca: [readFileSync(args.caFile, "utf8")] },
    auth: { user: args.username, pass: args.password },
    logger,
    debug: true,
  });
  start = performance.now();
  await transporter.sendMail({
    from: FROM,
    to: ["one@example.org", "two@example.org", "three@example.org"],
    subject: "Round trips",
    text: "One message, three recipients.",
  });
  const sent = performance.now() - start;
  transporter.close();
  return {
    sentMs: sent,
    events,
  };
}

async function memory(nodemailer, args) {
  const block = Buffer.from(
    ("The quick brown fox jumps over the lazy dog 0123456789 " +
      "abcdefghijklmnopqrstu\r\n").repeat(820),
  );
  async function* generate() {
    let left = args.size;
    while (left > 0) {
      const piece = Buffer.from(
        block.subarray(0, Math.min(block.length, left)),
      );
      left -= piece.length;
      yield piece;
    }
  }
  const transporter = nodemailer.createTransport({
    host: args.hostname ?? "127.0.0.1",
    port: args.port,
    secure: false,
    ignoreTLS: true,
    pool: true,
    maxConnections: 1,
  });
  // Connect first, so the baseline holds a connected client like ours.
  await transporter.verify();
  const baseline = rss();
  let peak = baseline;
  const timer = setInterval(() => {
    peak = Math.max(peak, rss());
  }, 5);
  const start = performance.now();
  await transporter.sendMail({
    envelope: { from: FROM, to: [TO] },
    raw: Readable.from(generate()),
  });
  const seconds = (performance.now() - start) / 1000;
  clearInterval(timer);
  peak = Math.max(peak, rss());
  transporter.close();
  return { octets: args.size, seconds, baseline, peak, hwm: vmHwm() };
}

// All `count` messages given at once to a pool of `connections`, as ours.
async function pool(nodemailer, args) {
  const message = readFileSync(args.messageFile);
  const start = performance.now();
  const transporter = nodemailer.createTransport({
    host: args.hostname ?? "127.0.0.1",
    port: args.port,
    secure: false,
    ignoreTLS: true,
    pool: true,
    maxConnections: args.connections ?? 1,
    maxMessages: Infinity,
    ...(args.noDelay ? { getSocket: noDelaySocket } : {}),
  });
  await Promise.all(
    Array.from({ length: args.count }, () =>
      transporter.sendMail({
        envelope: { from: FROM, to: [TO] },
        raw: message,
      })),
  );
  transporter.close();
  return { messages: args.count, seconds: (performance.now() - start) / 1000 };
}

// One pooled connection set up by a first message, then `repeat` messages
// timed one by one on it.
async function warm(nodemailer, args) {
  const transporter = nodemailer.createTransport({
    host: args.hostname ?? "127.0.0.1",
    port: args.port,
    pool: true,
    maxConnections: 1,
    maxMessages: Infinity,
    ...(args.tls
      ? {
        secure: args.tls === "implicit",
        requireTLS: args.tls === "starttls",
        tls: { ca: [readFileSync(args.caFile, "utf8")] },
        auth: { user: args.username, pass: args.password },
      }
      : { secure: false, ignoreTLS: true }),
    ...(args.noDelay && args.tls !== "implicit"
      ? { getSocket: noDelaySocket }
      : {}),
  });
  const mail = {
    from: FROM,
    to: "one@example.org",
    subject: "Warm",
    text: "A notification on a warm connection.",
  };
  const start = performance.now();
  await transporter.sendMail(mail);
  const coldMs = performance.now() - start;
  const warmMs = [];
  for (let i = 0; i < (args.repeat ?? 5); i++) {
    const at = performance.now();
    await transporter.sendMail(mail);
    warmMs.push(performance.now() - at);
  }
  transporter.close();
  return { coldMs, warmMs };
}

// `count` distinct messages given at once to a pool: peak RSS.
async function queued(nodemailer, args) {
  const message = readFileSync(args.messageFile);
  const transporter = nodemailer.createTransport({
    host: args.hostname ?? "127.0.0.1",
    port: args.port,
    secure: false,
    ignoreTLS: true,
    pool: true,
    maxConnections: args.connections ?? 5,
    maxMessages: Infinity,
    ...(args.noDelay ? { getSocket: noDelaySocket } : {}),
  });
  const baseline = rss();
  let peak = baseline;
  const timer = setInterval(() => {
    peak = Math.max(peak, rss());
  }, 5);
  const start = performance.now();
  const sends = [];
  for (let i = 0; i < args.count; i++) {
    sends.push(transporter.sendMail({
      envelope: { from: FROM, to: [TO] },
      raw: Buffer.from(message),
    }));
  }
  const afterQueue = rss();
  peak = Math.max(peak, afterQueue);
  await Promise.all(sends);
  const seconds = (performance.now() - start) / 1000;
  clearInterval(timer);
  peak = Math.max(peak, rss());
  transporter.close();
  return {
    messages: args.count,
    seconds,
    afterQueue,
    baseline,
    peak,
    hwm: vmHwm(),
  };
}

/**
 * Runs one mode and prints its JSON line.
 *
 * @param nodemailer The nodemailer module.
 * @param args The parsed command-line JSON.
 */
export async function main(nodemailer, args) {
  const result = args.mode === "pool"
    ? await pool(nodemailer, args)
    : args.mode === "warm"
    ? await warm(nodemailer, args)
    : args.mode === "queued"
    ? await queued(nodemailer, args)
    : args.mode === "throughput"
    ? await throughput(nodemailer, args)
    : args.mode === "roundtrip"
    ? await roundTrip(nodemailer, args)
    : await memory(nodemailer, args);
  console.log(JSON.stringify(result));
}
