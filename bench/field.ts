/**
 * The field benchmarks: our client beside Postfix's smtp-source, nodemailer
 * (on Deno and on Node) and Python's smtplib, on this machine, in one run.
 * Writes `bench/RESULTS.md` (or `--out FILE`).
 *
 *   deno task bench:field            # everything, about four minutes
 *   deno run -A bench/field.ts --quick --out /tmp/RESULTS.md   # smoke run
 *   deno run -A bench/field.ts --only throughput,roundtrip,memory,micro,pool
 *
 * Every client runs in its own process (bench/field/*_client.*), prints one
 * JSON line, and is timed by itself from before it connects to after it is
 * done; smtp-source, which cannot time itself, is timed from spawn to exit.
 *
 * @module
 */

import {
  freePort,
  startNodeSmtpServer,
  waitForPort,
} from "../tests/_harness/mod.ts";
import { startTestServer } from "../testing.ts";
import { DelayProxy } from "./field/_delay_proxy.ts";
import { FROM, smallMessage, TO } from "./field/_message.ts";
import { type ProfileRow, summarise } from "./field/profile_summary.ts";

// ——— settings ———

const flags = parseFlags(Deno.args);
const QUICK = flags.has("quick");
const ONLY = new Set(
  (flags.get("only") ?? "micro,throughput,roundtrip,memory,pool").split(","),
);
const OUT = flags.get("out") ?? new URL("./RESULTS.md", import.meta.url);
/** Messages per throughput run. */
const COUNT = Number(flags.get("count") ?? (QUICK ? 2000 : 10_000));
/** Nodemailer with Nagle's algorithm manages ~22 msg/s: fewer for it. */
const SLOW_COUNT = QUICK ? 40 : 200;
/** Repetitions; the median is reported. */
const REPS = Number(flags.get("reps") ?? (QUICK ? 1 : 3));
/** The delay of the round-trip proxy, ms. */
const DELAY = Number(flags.get("delay") ?? 50);
/** Sends given at once to a pool in the memory benchmark of the pool. */
const QUEUED = 10_000;
/** Size of the memory benchmark's message. */
const BIG = QUICK ? 128 * 1024 * 1024 : 1024 * 1024 * 1024;

const ROOT = new URL("../", import.meta.url);
const path = (relative: string) => new URL(relative, ROOT).pathname;
const NODE_DIR = path("bench/_node/");
const PYTHON = "/usr/bin/python3";
const SMTP_SINK = "/usr/sbin/smtp-sink";
const SMTP_SOURCE = "/usr/sbin/smtp-source";
const USER = { username: "bench@example.com", password: "bench-secret" };

interface Peer {
  name: string;
  command: string;
  args: string[];
  /** Extra JSON arguments for this peer. */
  extra?: Record<string, unknown>;
  /** Runs fewer messages (too slow for the full count). */
  slow?: boolean;
}

const OURS: Peer = {
  name: "@x/sendmail (Deno)",
  command: Deno.execPath(),
  args: ["run", "-A", path("bench/field/ours_client.ts")],
};
const NM_DENO: Peer = {
  name: "nodemailer (Deno)",
  command: Deno.execPath(),
  args: ["run", "-A", path("bench/field/nodemailer_deno.ts")],
};
const NM_NODE: Peer = {
  name: "nodemailer (Node)",
  command: "node",
  args: [path("bench/_node/nodemailer_node.mjs")],
};
const PY: Peer = {
  name: "Python smtplib",
  command: PYTHON,
  args: [path("bench/field/smtplib_client.py")],
};
/** Our client on Node and Bun (nodeConnect), from `.ci/_runtimes`. */
function runtimePeer(name: string, binary: string, flags: string[]): Peer[] {
  try {
    Deno.statSync(binary);
  } catch {
    return [];
  }
  return [{
    name: `@x/sendmail (${name}, nodeConnect)`,
    command: binary,
    args: [...flags, path("bench/field/ours_client.ts")],
  }];
}
const RUNTIMES_DIR = path(".ci/_runtimes/");
const OURS_NODE22 = runtimePeer(
  "Node 22",
  `${RUNTIMES_DIR}node22/node_modules/.bin/node`,
  ["--experimental-strip-types", "--no-warnings"],
);
const OURS_NODE24 = runtimePeer(
  "Node 24",
  `${RUNTIMES_DIR}node24/node_modules/.bin/node`,
  ["--no-warnings"],
);
const OURS_BUN = runtimePeer(
  "Bun",
  `${RUNTIMES_DIR}bun/node_modules/.bin/bun`,
  ["run"],
);
const ONE_SHOT: Peer = {
  ...OURS,
  name: "@x/sendmail sendmail()",
  extra: { oneShot: true },
};
const BARE: Peer = {
  name: "reference: bare Deno socket, 2 round trips per message",
  command: Deno.execPath(),
  args: ["run", "-A", path("bench/field/bare_client.ts")],
};
/** Our pool: every message given at once (bench/field/ours_client.ts `pool`). */
const OURS_POOL: Peer = {
  ...OURS,
  name: "@x/sendmail SmtpPool (Deno)",
  extra: { mode: "pool" },
};
const NM10_DENO: Peer = {
  name: "nodemailer 10 pool (Deno), TCP_NODELAY",
  command: Deno.execPath(),
  args: ["run", "-A", path("bench/field/nodemailer10_deno.ts")],
  extra: { mode: "pool", noDelay: true },
};
const NM10_NODE: Peer = {
  name: "nodemailer 10 pool (Node), TCP_NODELAY",
  command: "node",
  args: [path("bench/_node/nodemailer10_node.mjs")],
  extra: { mode: "pool", noDelay: true },
};
const noDelay = (peer: Peer): Peer => ({
  ...peer,
  name: `${peer.name}, TCP_NODELAY`,
  extra: { noDelay: true },
});
const nagle = (peer: Peer): Peer => ({
  ...peer,
  name: `${peer.name}, defaults`,
  slow: true,
});

// ——— helpers ———

function parseFlags(args: string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("--")) throw new TypeError(`Unknown argument ${arg}`);
    const [key, value] = arg.slice(2).split("=", 2) as [string, string?];
    if (value !== undefined) map.set(key, value);
    else if (args[i + 1] && !args[i + 1]!.startsWith("--")) {
      map.set(key, args[++i]!);
    } else map.set(key, "");
  }
  return map;
}

function log(text: string): void {
  console.error(`[field] ${text}`);
}

async function run(
  command: string,
  args: string[],
  timeoutMs = 600_000,
): Promise<string> {
  const child = new Deno.Command(command, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const { code, stdout, stderr } = await child.output();
  clearTimeout(timer);
  const out = new TextDecoder().decode(stdout);
  if (code !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} exited with ${code}: ${
        new TextDecoder().decode(stderr).slice(-2000)
      }`,
    );
  }
  return out;
}

async function runPeer<T>(
  peer: Peer,
  args: Record<string, unknown>,
): Promise<T> {
  const out = await run(peer.command, [
    ...peer.args,
    JSON.stringify({ ...args, ...peer.extra }),
  ]);
  const line = out.trim().split("\n").at(-1) ?? "";
  return JSON.parse(line) as T;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? sorted[mid]!
    : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function firstLine(text: string): string {
  return text.split("\n")[0]!.trim();
}

async function tryRun(command: string, args: string[]): Promise<string> {
  try {
    return firstLine(await run(command, args, 10_000));
  } catch {
    return "unknown";
  }
}

/** smtp-sink on a free port, without dump files or counters. */
async function startSink(): Promise<{ port: number; stop(): Promise<void> }> {
  const port = freePort();
  const args = Deno.uid() === 0 ? ["-u", "nobody"] : [];
  const child = new Deno.Command(SMTP_SINK, {
    args: [...args, `127.0.0.1:${port}`, "1024"],
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  await waitForPort("127.0.0.1", port);
  return {
    port,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

// ——— the machine ———

async function machine(): Promise<Record<string, string>> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const meminfo = await Deno.readTextFile("/proc/meminfo").catch(() => "");
  const model = /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? "unknown";
  const memKb = Number(/MemTotal:\s+(\d+)/.exec(meminfo)?.[1] ?? 0);
  const nodemailerNode = await Deno.readTextFile(
    `${NODE_DIR}node_modules/nodemailer/package.json`,
  ).then((t) => JSON.parse(t).version as string).catch(() => "unknown");
  const lock = await Deno.readTextFile(path("deno.lock")).catch(() => "{}");
  const nodemailerDeno =
    /"npm:nodemailer@6": "([^"]+)"/.exec(lock)?.[1]?.split("_")[0] ??
      "unknown";
  const nodemailer10 = await Deno.readTextFile(
    `${NODE_DIR}node_modules/nodemailer10/package.json`,
  ).then((t) => JSON.parse(t).version as string).catch(() => "unknown");
  return {
    "CPU": `${model}, ${navigator.hardwareConcurrency} logical CPUs (nproc)`,
    "Memory": `${(memKb / 1024 / 1024).toFixed(1)} GiB`,
    "Kernel": `${Deno.build.os} ${Deno.osRelease()}`,
    "Deno": Deno.version.deno,
    "Node": await tryRun("node", ["--version"]),
    "Python": await tryRun(PYTHON, ["--version"]),
    "Postfix (smtp-sink, smtp-source)": await tryRun("postconf", [
      "-h",
      "mail_version",
    ]),
    "nodemailer":
      `${nodemailerDeno} (Deno, npm:nodemailer@6), ${nodemailerNode} (Node); ${nodemailer10} (Node, and Deno's npm:nodemailer@10) for the pool`,
  };
}

// ——— micro benchmarks ———

interface MicroRow {
  name: string;
  avgMs: number;
  mbps: number | undefined;
}

/** Bytes each micro benchmark iteration moves, by name prefix. */
const MICRO_BYTES: [RegExp, number][] = [
  [/^ReplyStream/, 16 * 1024 * 1024 - ((16 * 1024 * 1024) % 335)],
  [/^(baseline|DotStuffStream)/, 16 * 1024 * 1024],
  [/32 MiB/, 32 * 1024 * 1024],
];

async function micro(): Promise<MicroRow[]> {
  log("micro benchmarks (deno bench)");
  const out = await run(Deno.execPath(), [
    "bench",
    "-A",
    "--json",
    path("bench/streams_bench.ts"),
    path("bench/compose_bench.ts"),
  ]);
  const report = JSON.parse(out) as {
    benches: { name: string; results: { ok?: { avg: number } }[] }[];
  };
  return report.benches.map((bench) => {
    const avgMs = (bench.results[0]?.ok?.avg ?? NaN) / 1e6;
    const bytes = MICRO_BYTES.find(([re]) => re.test(bench.name))?.[1];
    return {
      name: bench.name,
      avgMs,
      mbps: bytes ? bytes / 1e6 / (avgMs / 1000) : undefined,
    };
  });
}

// ——— throughput ———

interface ThroughputRow {
  name: string;
  messages: number;
  seconds: number[];
  rate: number;
}

async function smtpSource(
  port: number,
  count: number,
  sessions: number,
): Promise<{ messages: number; seconds: number }> {
  const start = performance.now();
  await run(SMTP_SOURCE, [
    "-d",
    "-s",
    String(sessions),
    "-m",
    String(count),
    "-l",
    "1024",
    "-f",
    FROM,
    "-t",
    TO,
    "-M",
    "localhost",
    `127.0.0.1:${port}`,
  ]);
  return { messages: count, seconds: (performance.now() - start) / 1000 };
}

async function throughput(connections: number): Promise<ThroughputRow[]> {
  const messageFile = await Deno.makeTempFile({ suffix: ".eml" });
  await Deno.writeFile(messageFile, smallMessage(1024));
  const sink = await startSink();
  const peers: (Peer | "smtp-source")[] = [
    OURS,
    ...OURS_NODE22,
    ...OURS_NODE24,
    ...OURS_BUN,
    "smtp-source",
    BARE,
    noDelay(NM_DENO),
    noDelay(NM_NODE),
    nagle(NM_DENO),
    nagle(NM_NODE),
    PY,
  ];
  const rows = new Map<string, ThroughputRow>();
  try {
    for (let rep = 0; rep < REPS; rep++) {
      for (const peer of peers) {
        const name = peer === "smtp-source"
          ? `Postfix smtp-source${connections > 1 ? ` -s ${connections}` : ""}`
          : peer.name;
        const count = peer !== "smtp-source" && peer.slow
          ? SLOW_COUNT * connections
          : COUNT;
        log(`throughput, ${connections} connection(s): ${name} (${count})`);
        const result = peer === "smtp-source"
          ? await smtpSource(sink.port, count, connections)
          : await runPeer<{ messages: number; seconds: number }>(peer, {
            mode: "throughput",
            port: sink.port,
            count,
            connections,
            messageFile,
          });
        const row = rows.get(name) ??
          { name, messages: count, seconds: [], rate: 0 };
        row.seconds.push(result.seconds);
        row.rate = count / median(row.seconds);
        rows.set(name, row);
      }
    }
  } finally {
    await sink.stop();
    await Deno.remove(messageFile);
  }
  return [...rows.values()];
}

// ——— where our time goes ———

interface Phases {
  rate: number;
  steps: { step: string; perMessageUs: number; n: number }[];
  profileMs: number;
  profileRate: number;
  self: ProfileRow[];
}

/** Our client on one connection: each step's time, then a CPU profile. */
async function phases(): Promise<Phases> {
  const messageFile = await Deno.makeTempFile({ suffix: ".eml" });
  await Deno.writeFile(messageFile, smallMessage(1024));
  const profileDir = await Deno.makeTempDir({ prefix: "field_profile_" });
  const sink = await startSink();
  try {
    log("where the time goes: transcript timestamps");
    const timed = await runPeer<{
      messages: number;
      seconds: number;
      steps: Phases["steps"];
    }>(OURS, { mode: "phases", port: sink.port, count: COUNT, messageFile });
    log("where the time goes: CPU profile");
    const profiled = await runPeer<{ messages: number; seconds: number }>({
      ...OURS,
      args: [
        "run",
        "-A",
        "--cpu-prof",
        `--cpu-prof-dir=${profileDir}`,
        path("bench/field/ours_client.ts"),
      ],
    }, { mode: "throughput", port: sink.port, count: COUNT, messageFile });
    const [file] = [...Deno.readDirSync(profileDir)];
    const summary = summarise(
      await Deno.readTextFile(`${profileDir}/${file!.name}`),
      12,
    );
    return {
      rate: timed.messages / timed.seconds,
      steps: timed.steps.filter((s) => s.n > 1),
      profileMs: summary.ms,
      profileRate: profiled.messages / profiled.seconds,
      self: summary.self,
    };
  } finally {
    await sink.stop();
    await Deno.remove(messageFile);
    await Deno.remove(profileDir, { recursive: true });
  }
}

// ——— round trips ———

interface RoundTripEvent {
  ms: number;
  type: string;
  text: string;
}

interface RoundTripResult {
  sentMs: number;
  quitMs?: number;
  closedMs: number;
  events: RoundTripEvent[];
}

interface RoundTripRow {
  name: string;
  /** The server: smtp-server (no CHUNKING) or the capture server (CHUNKING). */
  server: string;
  tls: "starttls" | "implicit";
  /** Median ms with the proxy delaying DELAY and 2 × DELAY. */
  sent: [number, number];
  quit: [number, number] | undefined;
  closed: [number, number];
  timeline: { commands: string; reply: string; roundTrips: number }[];
}

async function roundTripOnce(
  peer: Peer,
  tls: "starttls" | "implicit",
  serverPort: number,
  caFile: string,
  delay: number,
): Promise<RoundTripResult> {
  await using proxy = new DelayProxy(serverPort, delay);
  const result = await runPeer<Omit<RoundTripResult, "closedMs">>(peer, {
    mode: "roundtrip",
    port: proxy.port,
    tls,
    caFile,
    ...USER,
  });
  // The client may still be closing: wait for the proxy to see it.
  for (let i = 0; i < 100 && !proxy.connections[0]?.clientClosedMs; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  const connection = proxy.connections[0]!;
  return {
    ...result,
    closedMs: (connection.clientClosedMs ?? NaN) - connection.openedMs,
  };
}

/** Pairs each final reply line with the commands sent since the last one. */
function replies(
  events: RoundTripEvent[],
): { commands: string; reply: string; ms: number }[] {
  const out: { commands: string; reply: string; ms: number }[] = [];
  let commands: string[] = [];
  for (const event of events) {
    if (
      event.type === "info" && /octets of message data sent/.test(event.text)
    ) {
      commands.push("<message>");
    } else if (event.type === "client") {
      for (const line of event.text.split(/\r?\n/)) {
        const verb = /^(MAIL FROM|RCPT TO|[A-Z]+)/.exec(line)?.[1];
        if (verb) commands.push(verb);
        else if (line.trim() && !commands.includes("<message>")) {
          commands.push("<message>");
        }
      }
    } else if (event.type === "server") {
      for (const line of event.text.split(/\r?\n/)) {
        if (!/^\d{3}( |$)/.test(line)) continue;
        out.push({
          commands: out.length === 0 ? "(connect)" : compress(commands),
          reply: line,
          ms: event.ms,
        });
        commands = [];
      }
    }
  }
  return out;
}

function compress(commands: string[]): string {
  const parts: string[] = [];
  for (let i = 0; i < commands.length;) {
    let j = i;
    while (j < commands.length && commands[j] === commands[i]) j++;
    parts.push(j - i > 1 ? `${commands[i]} ×${j - i}` : commands[i]!);
    i = j;
  }
  return parts.join(", ") || "〃 (same group)";
}

/** A TLS + AUTH server for the round-trip runs, with its CA as a file. */
interface TripServer extends AsyncDisposable {
  port: number;
  caFile: string;
}

/**
 * smtp-server offers PIPELINING but not CHUNKING; the capture server of
 * `./testing` offers both, so the client's BDAT path is measured there.
 */
async function tripServer(
  kind: "smtp-server" | "capture",
  tls: "starttls" | "implicit",
): Promise<TripServer> {
  if (kind === "smtp-server") {
    const server = await startNodeSmtpServer({
      secure: tls === "implicit",
      auth: { ...USER, methods: ["PLAIN", "LOGIN"] },
      authRequired: true,
    });
    return {
      port: server.port,
      caFile: server.certs.caFile,
      [Symbol.asyncDispose]: () => server[Symbol.asyncDispose](),
    };
  }
  const server = await startTestServer({
    tls,
    auth: {
      users: { [USER.username]: USER.password },
      mechanisms: ["PLAIN", "LOGIN"],
      required: true,
    },
  });
  const caFile = await Deno.makeTempFile({ suffix: ".pem" });
  await Deno.writeTextFile(caFile, server.caCert);
  return {
    port: server.port,
    caFile,
    async [Symbol.asyncDispose]() {
      await server.close();
      await Deno.remove(caFile);
    },
  };
}

const TRIP_SERVERS = {
  "smtp-server": "npm:smtp-server (PIPELINING)",
  capture: "capture server (PIPELINING + CHUNKING)",
} as const;

async function roundTrips(): Promise<RoundTripRow[]> {
  const rows: RoundTripRow[] = [];
  for (const kind of ["smtp-server", "capture"] as const) {
    for (const tls of ["starttls", "implicit"] as const) {
      await using server = await tripServer(kind, tls);
      // Node joins once src/sasl uses protocol/_base64.ts (AUTH needs
      // base64, which Node 22 and 24 lack natively).
      const peers = kind === "smtp-server"
        ? [OURS, ...OURS_BUN, ONE_SHOT, NM_DENO, NM_NODE]
        : [OURS, ...OURS_BUN, ONE_SHOT, NM_NODE];
      for (const peer of peers) {
        log(`round trips, ${tls}: ${peer.name}`);
        // Warm-up, not counted: the server's first TLS session and the
        // client's first run pay one-time set-up costs.
        await roundTripOnce(peer, tls, server.port, server.caFile, 0);
        const at: Record<number, RoundTripResult[]> = {
          [DELAY]: [],
          [2 * DELAY]: [],
        };
        for (let rep = 0; rep < REPS; rep++) {
          for (const delay of [DELAY, 2 * DELAY]) {
            at[delay]!.push(
              await roundTripOnce(
                peer,
                tls,
                server.port,
                server.caFile,
                delay,
              ),
            );
          }
        }
        const pair = (pick: (r: RoundTripResult) => number | undefined) => {
          const values = [DELAY, 2 * DELAY].map((d) => at[d]!.map(pick));
          if (values.some((v) => v.some((x) => x === undefined))) {
            return undefined;
          }
          return values.map((v) => median(v as number[])) as [number, number];
        };
        // Each reply's arrival at 2D less its arrival at D, in round trips.
        const slow = replies(at[2 * DELAY]![0]!.events);
        const fast = replies(at[DELAY]![0]!.events);
        rows.push({
          name: peer.name,
          server: TRIP_SERVERS[kind],
          tls,
          sent: pair((r) => r.sentMs)!,
          quit: pair((r) => r.quitMs),
          closed: pair((r) => r.closedMs)!,
          timeline: slow.map((reply, i) => ({
            commands: reply.commands,
            reply: reply.reply,
            roundTrips: (reply.ms - (fast[i]?.ms ?? NaN)) / DELAY,
          })),
        });
      }
    }
  }
  return rows;
}

// ——— memory ———

interface MemoryRow {
  name: string;
  octets: number;
  seconds: number;
  baseline: number;
  peak: number;
  hwm: number | null;
}

async function memory(): Promise<MemoryRow[]> {
  const sink = await startSink();
  const rows: MemoryRow[] = [];
  try {
    for (const peer of [OURS, NM_DENO, NM_NODE]) {
      log(`memory, ${BIG} octets: ${peer.name}`);
      const result = await runPeer<Omit<MemoryRow, "name">>(peer, {
        mode: "memory",
        port: sink.port,
        size: BIG,
      });
      rows.push({ name: peer.name, ...result });
    }
  } finally {
    await sink.stop();
  }
  return rows;
}

// ——— the pool ———

/**
 * Throughput of pools, all messages given at once, beside smtp-source and
 * the bare-socket reference (which await each reply: their own loops).
 */
async function poolThroughput(connections: number): Promise<ThroughputRow[]> {
  const messageFile = await Deno.makeTempFile({ suffix: ".eml" });
  await Deno.writeFile(messageFile, smallMessage(1024));
  const sink = await startSink();
  const peers: (Peer | "smtp-source")[] = [
    OURS_POOL,
    "smtp-source",
    BARE,
    NM10_NODE,
    NM10_DENO,
  ];
  const rows = new Map<string, ThroughputRow>();
  try {
    for (let rep = 0; rep < REPS; rep++) {
      for (const peer of peers) {
        const name = peer === "smtp-source"
          ? `Postfix smtp-source${connections > 1 ? ` -s ${connections}` : ""}`
          : peer.name;
        log(`pool throughput, ${connections} connection(s): ${name}`);
        const result = peer === "smtp-source"
          ? await smtpSource(sink.port, COUNT, connections)
          : await runPeer<{ messages: number; seconds: number }>(peer, {
            mode: "throughput",
            port: sink.port,
            count: COUNT,
            connections,
            messageFile,
          });
        const row = rows.get(name) ??
          { name, messages: COUNT, seconds: [], rate: 0 };
        row.seconds.push(result.seconds);
        row.rate = COUNT / median(row.seconds);
        rows.set(name, row);
      }
    }
  } finally {
    await sink.stop();
    await Deno.remove(messageFile);
  }
  return [...rows.values()];
}

interface WarmRow {
  name: string;
  server: string;
  /** Median ms of a warm send at DELAY and 2 × DELAY. */
  warm: [number, number];
  /** Median ms of the first (cold) send at DELAY and 2 × DELAY. */
  cold: [number, number];
}

/** A send on a warm pooled connection, in round trips, per server. */
async function warmTrips(): Promise<WarmRow[]> {
  const rows: WarmRow[] = [];
  const servers = [
    ["capture", TRIP_SERVERS.capture + ", STARTTLS + AUTH"],
    ["smtp-server", TRIP_SERVERS["smtp-server"] + ", STARTTLS + AUTH"],
    ["smtp-sink", "Postfix smtp-sink (PIPELINING), plaintext"],
  ] as const;
  const ours: Peer = { ...OURS, name: "@x/sendmail SmtpPool (Deno)" };
  const theirs: Peer = {
    ...NM10_NODE,
    extra: { noDelay: true },
  };
  for (const [kind, label] of servers) {
    const sink = kind === "smtp-sink" ? await startSink() : undefined;
    const trip = kind === "smtp-sink"
      ? undefined
      : await tripServer(kind, "starttls");
    const port = sink?.port ?? trip!.port;
    try {
      for (const peer of [ours, theirs]) {
        log(`warm pool, ${label}: ${peer.name}`);
        const once = async (delay: number) => {
          await using proxy = new DelayProxy(port, delay);
          return await runPeer<{ coldMs: number; warmMs: number[] }>(peer, {
            mode: "warm",
            port: proxy.port,
            repeat: 5,
            ...(trip ? { tls: "starttls", caFile: trip.caFile, ...USER } : {}),
          });
        };
        await once(0); // warm-up, not counted
        const at: Record<number, { cold: number[]; warm: number[] }> = {
          [DELAY]: { cold: [], warm: [] },
          [2 * DELAY]: { cold: [], warm: [] },
        };
        for (let rep = 0; rep < REPS; rep++) {
          for (const delay of [DELAY, 2 * DELAY]) {
            const result = await once(delay);
            at[delay]!.cold.push(result.coldMs);
            at[delay]!.warm.push(...result.warmMs);
          }
        }
        rows.push({
          name: peer.name,
          server: label,
          warm: [median(at[DELAY]!.warm), median(at[2 * DELAY]!.warm)],
          cold: [median(at[DELAY]!.cold), median(at[2 * DELAY]!.cold)],
        });
      }
    } finally {
      await sink?.stop();
      await trip?.[Symbol.asyncDispose]();
    }
  }
  return rows;
}

interface QueuedRow {
  name: string;
  messages: number;
  seconds: number;
  baseline: number;
  afterQueue: number;
  peak: number;
}

/** RSS of 10,000 distinct 1 KiB sends given at once to a pool. */
async function queuedMemory(): Promise<QueuedRow[]> {
  const messageFile = await Deno.makeTempFile({ suffix: ".eml" });
  await Deno.writeFile(messageFile, smallMessage(1024));
  const sink = await startSink();
  const rows: QueuedRow[] = [];
  try {
    for (
      const peer of [
        { ...OURS, name: "@x/sendmail SmtpPool (Deno)" },
        { ...NM10_NODE, extra: { noDelay: true } },
      ]
    ) {
      log(`queued sends: ${peer.name}`);
      const result = await runPeer<Omit<QueuedRow, "name">>(peer, {
        mode: "queued",
        port: sink.port,
        count: QUEUED,
        connections: 5,
        messageFile,
      });
      rows.push({ name: peer.name, ...result });
    }
  } finally {
    await sink.stop();
    await Deno.remove(messageFile);
  }
  return rows;
}

// ——— the report ———

const fixed = (n: number, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString("en-US", {
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    })
    : "—";
const mib = (bytes: number) => `${fixed(bytes / 1024 / 1024, 1)} MiB`;
const verdict = (ok: boolean) => ok ? "**met**" : "**missed**";

function throughputTable(
  rows: ThroughputRow[],
  oursName = OURS.name,
): string[] {
  const ours = rows.find((r) => r.name === oursName)!;
  const lines = [
    "| client | messages | s (median) | msg/s | ours ÷ it |",
    "| --- | ---: | ---: | ---: | ---: |",
  ];
  for (const row of rows) {
    lines.push(
      `| ${row.name} | ${fixed(row.messages)} | ${
        fixed(median(row.seconds), 3)
      } | ${fixed(row.rate)} | ${
        row === ours ? "—" : `${fixed(ours.rate / row.rate, 2)}×`
      } |`,
    );
  }
  return lines;
}

function report(
  info: Record<string, string>,
  results: {
    micro?: MicroRow[];
    one?: ThroughputRow[];
    eight?: ThroughputRow[];
    phases?: Phases;
    trips?: RoundTripRow[];
    mem?: MemoryRow[];
    poolOne?: ThroughputRow[];
    poolEight?: ThroughputRow[];
    warm?: WarmRow[];
    queued?: QueuedRow[];
  },
  started: Date,
  seconds: number,
): string {
  const md: string[] = [
    "# Benchmarks against the field",
    "",
    `Generated by \`deno task bench:field\` on ${started.toISOString()} in ${
      fixed(seconds)
    } s${QUICK ? " (**--quick**: reduced sizes, not for comparison)" : ""}.`,
    "Every figure below comes from that one run; throughput and round trips",
    `are medians of ${REPS} repetition(s). Regenerate this file with the`,
    "commands at the end.",
    "",
    "## Machine",
    "",
    "| | |",
    "| --- | --- |",
    ...Object.entries(info).map(([k, v]) => `| ${k} | ${v} |`),
    "",
  ];
  const targets: string[] = [];

  if (results.micro) {
    md.push(
      "## Micro benchmarks (`deno task bench`)",
      "",
      "Streams get 16 MiB in 64 KiB chunks per iteration; composeMessage a 32 MiB",
      "attachment (MB/s counts the input) or a 1 MiB text body.",
      "",
      "| benchmark | ms / iteration | MB/s |",
      "| --- | ---: | ---: |",
      ...results.micro.map((r) =>
        `| ${r.name} | ${fixed(r.avgMs, 2)} | ${
          r.mbps === undefined ? "—" : fixed(r.mbps)
        } |`
      ),
      "",
    );
    const dot = results.micro.filter((r) => r.name.startsWith("DotStuff"));
    const slowest = Math.min(...dot.map((r) => r.mbps ?? 0));
    targets.push(
      `| DotStuffStream ≥ 1 GB/s | slowest case ${fixed(slowest)} MB/s | ${
        verdict(slowest >= 1000)
      } |`,
    );
  }

  const describeThroughput = (rows: ThroughputRow[], n: number) => {
    md.push(
      `## Throughput: ${n} connection${n > 1 ? "s" : ""} to Postfix smtp-sink`,
      "",
      `${
        fixed(COUNT)
      } messages of a 1 KiB body (1,170 octets with headers; smtp-source`,
      "sends `-l 1024`, a 1 KiB body with its own headers) over " +
        (n > 1
          ? `${n} sessions in parallel (ours: ${n} \`SmtpClient\`s in one process, each sending its share in turn; nodemailer: \`pool: true, maxConnections: ${n}\` fed by ${n} loops; smtplib: ${n} threads; smtp-source \`-s ${n}\`).`
          : "one session: each client awaits every send before the next (nodemailer: `pool: true, maxConnections: 1, maxMessages: Infinity`)."),
      "Timed from before connecting to after the last reply.",
      "",
      ...throughputTable(rows),
      "",
    );
  };
  if (results.one) {
    describeThroughput(results.one, 1);
    const ours = results.one.find((r) => r.name === OURS.name)!.rate;
    const peer = (re: RegExp) =>
      results.one!.filter((r) => re.test(r.name)).map((r) => r.rate);
    const source = peer(/smtp-source/)[0]!;
    const nmBest = Math.max(...peer(/^nodemailer.*NODELAY/));
    const nmDefault = Math.max(...peer(/^nodemailer.*defaults/));
    targets.push(
      `| one connection ≥ 1.0× smtp-source | ${fixed(ours / source, 2)}× | ${
        verdict(ours >= source)
      } |`,
      `| ≥ 3× nodemailer, as configured by default | ${
        fixed(ours / nmDefault, 0)
      }× the faster runtime | ${verdict(ours >= 3 * nmDefault)} |`,
      `| ≥ 3× nodemailer with TCP_NODELAY (its best) | ${
        fixed(ours / nmBest, 2)
      }× the faster runtime | ${verdict(ours >= 3 * nmBest)} |`,
    );
  }
  if (results.eight) describeThroughput(results.eight, 8);

  if (results.phases) {
    const p = results.phases;
    const total = p.steps.reduce((sum, s) => sum + s.perMessageUs, 0);
    md.push(
      "### Where our time goes on one connection",
      "",
      `Each step of a transaction, from the transcript's timestamps (\`SmtpClient\``,
      `\`logger\`; ${fixed(COUNT)} messages, the first third not counted, ${
        fixed(p.rate)
      } msg/s with the logger on). A step ending in "received" includes the`,
      'server\'s time and the loopback; one ending in "written" is our work.',
      "",
      "| step | µs per message |",
      "| --- | ---: |",
      ...p.steps.map((s) => `| ${s.step} | ${fixed(s.perMessageUs, 1)} |`),
      `| **total** | **${fixed(total, 1)}** |`,
      "",
      `CPU profile of the same run without the logger (\`deno run --cpu-prof\`, ${
        fixed(p.profileMs)
      } ms sampled, ${
        fixed(p.profileRate)
      } msg/s under the profiler), self time:`,
      "",
      "| function | self |",
      "| --- | ---: |",
      ...p.self.map((r) => `| \`${r.name}\` | ${fixed(r.percent, 1)}% |`),
      "",
    );
  }

  if (results.trips) {
    md.push(
      "## Round trips: one message, three recipients, TLS + AUTH PLAIN",
      "",
      `A loopback proxy (bench/field/_delay_proxy.ts) holds every chunk the server sends for D = ${DELAY} ms;`,
      "client bytes pass at once (so TCP connect costs nothing here). Two servers,",
      "both in the harness process with TLS 1.3 and a test CA: `npm:smtp-server@3`",
      "(PIPELINING, no CHUNKING; it waits 100 ms before its greeting to catch early",
      "talkers) and the capture server of `./testing` (PIPELINING and CHUNKING, so",
      "our client uses BDAT there; nodemailer has no BDAT). Each case runs at D and at",
      "2D, and **round trips = (time at 2D − time at D) / D**: what does not grow",
      "with the delay (that wait, CPU time, TLS handshakes' computation, a stall",
      "on a delayed ACK) cancels out.",
      "",
      "- *to send()*: until `SmtpClient.send()`, `sendmail()` (which returns once",
      "  QUIT is answered) or nodemailer's `sendMail()` resolved;",
      "- *to quit()*: until `SmtpClient.quit()` returned (it waits for the 221",
      "  reply) — for `sendmail()`, the same as to send();",
      "- *to close*: until the proxy saw the client close its side.",
      "",
      "| client | server | TLS | to send() | to quit() | to close | ms to close at D / 2D |",
      "| --- | --- | --- | ---: | ---: | ---: | ---: |",
    );
    const rt = (p: [number, number] | undefined) =>
      p ? fixed((p[1] - p[0]) / DELAY, 1) : "—";
    for (const row of results.trips) {
      md.push(
        `| ${row.name} | ${row.server} | ${row.tls} | ${rt(row.sent)} | ${
          rt(row.quit)
        } | ${rt(row.closed)} | ${fixed(row.closed[0], 0)} / ${
          fixed(row.closed[1], 0)
        } |`,
      );
    }
    md.push("");
    for (const row of results.trips.filter((r) => r.name !== NM_DENO.name)) {
      md.push(
        `### Where the round trips go: ${row.name}, ${row.server}, ${row.tls}`,
        "",
        "Each server reply, the commands it answers, and the round trips elapsed",
        "when it arrived (its time at 2D less its time at D, first repetition).",
        "",
        "| commands | reply | round trips |",
        "| --- | --- | ---: |",
        ...row.timeline.map((t) =>
          `| ${t.commands} | \`${t.reply.slice(0, 48)}\` | ${
            fixed(t.roundTrips, 1)
          } |`
        ),
        "",
      );
      const tripsTo = (p: [number, number] | undefined) =>
        p ? (p[1] - p[0]) / DELAY : NaN;
      const limit = row.tls === "starttls" ? 7 : 5;
      const send = tripsTo(row.sent);
      const quit = tripsTo(row.quit);
      if (row.name === ONE_SHOT.name) {
        targets.push(
          `| ≤ ${limit} round trips, ${row.tls} + AUTH, \`sendmail()\`, ${row.server} | ${
            fixed(send, 1)
          } from connect to QUIT answered | ${
            verdict(Math.round(send) <= limit)
          } |`,
        );
      }
      if (row.name !== OURS.name) continue;
      targets.push(
        `| ≤ ${limit} round trips, ${row.tls} + AUTH, \`SmtpClient\`, ${row.server} | ${
          fixed(send, 1)
        } to send(), ${fixed(quit, 1)} to quit() | ${
          verdict(Math.round(send) <= limit)
        } to send(), ${verdict(Math.round(quit) <= limit)} to quit() |`,
      );
    }
  }

  if (results.mem) {
    md.push(
      `## Memory: a ${
        mib(BIG)
      } raw message streamed from a generator to smtp-sink`,
      "",
      "Baseline: RSS with the client loaded and connected, before sending. Peak:",
      "RSS sampled every 5 ms in the process, and the kernel's VmHWM (which",
      "counts start-up too, so it can only overstate).",
      "",
      "| client | s | MB/s | baseline | peak − baseline | VmHWM − baseline |",
      "| --- | ---: | ---: | ---: | ---: | ---: |",
      ...results.mem.map((r) =>
        `| ${r.name} | ${fixed(r.seconds, 2)} | ${
          fixed(r.octets / 1e6 / r.seconds)
        } | ${mib(r.baseline)} | ${mib(r.peak - r.baseline)} | ${
          r.hwm === null ? "—" : mib(r.hwm - r.baseline)
        } |`
      ),
      "",
    );
    const ours = results.mem.find((r) => r.name === OURS.name)!;
    const over = Math.max(ours.peak, ours.hwm ?? 0) - ours.baseline;
    targets.push(
      `| < 64 MiB over baseline for ${mib(BIG)} | ${mib(over)} | ${
        verdict(over < 64 * 1024 * 1024)
      } |`,
    );
  }

  const poolTable = (rows: ThroughputRow[], n: number) => {
    md.push(
      `### SmtpPool throughput: ${n} connection${
        n > 1 ? "s" : ""
      } to Postfix smtp-sink`,
      "",
      `${
        fixed(COUNT)
      } messages of a 1 KiB body given at once to a pool of ${n} (ours: \`new SmtpPool({ maxConnections: ${n} })\`, which pipelines each connection's sends; nodemailer 10: \`pool: true, maxConnections: ${n}, maxMessages: Infinity\` with TCP_NODELAY; smtp-source \`-s ${n}\`; the bare-socket reference: ${n} loop(s) of 2 round trips a message).`,
      "Timed from before connecting to after the last reply (ours: after `close()`).",
      "",
      ...throughputTable(rows, OURS_POOL.name),
      "",
    );
  };
  if (results.poolOne || results.poolEight || results.warm || results.queued) {
    md.push(
      "## SmtpPool",
      "",
    );
  }
  const poolRate = (rows: ThroughputRow[], re: RegExp) =>
    rows.filter((r) => re.test(r.name)).map((r) => r.rate);
  if (results.poolEight) {
    poolTable(results.poolEight, 8);
    const ours = poolRate(results.poolEight, /SmtpPool/)[0]!;
    const source = poolRate(results.poolEight, /smtp-source/)[0]!;
    const nm = Math.max(...poolRate(results.poolEight, /^nodemailer 10/));
    targets.push(
      `| pool, 8 connections ≥ 1.0× \`smtp-source -s 8\` | ${
        fixed(ours / source, 2)
      }× | ${verdict(ours >= source)} |`,
      `| pool, 8 connections ≥ 3× nodemailer 10's pool (TCP_NODELAY) | ${
        fixed(ours / nm, 2)
      }× the faster runtime | ${verdict(ours >= 3 * nm)} |`,
    );
  }
  if (results.poolOne) {
    poolTable(results.poolOne, 1);
    const ours = poolRate(results.poolOne, /SmtpPool/)[0]!;
    const bare = poolRate(results.poolOne, /^reference/)[0]!;
    const nm = Math.max(...poolRate(results.poolOne, /^nodemailer 10/));
    targets.push(
      `| pool, 1 connection (pipelining across sends) ≥ 3× nodemailer 10 (TCP_NODELAY) | ${
        fixed(ours / nm, 2)
      }× the faster runtime | ${verdict(ours >= 3 * nm)} |`,
      `| pool, 1 connection ≥ 1.0× the bare-socket reference | ${
        fixed(ours / bare, 2)
      }× | ${verdict(ours >= bare)} |`,
    );
  }
  if (results.warm) {
    md.push(
      "### A send on a warm pooled connection, in round trips",
      "",
      `One pool of one connection through the delay proxy (D = ${DELAY} ms): a first send sets the`,
      "session up (TLS, AUTH where the server has them), then five sends on the warm connection",
      "are timed one by one, at D and at 2D; round trips = (median at 2D − median at D) / D.",
      "A notification from an edge function that keeps its pool between requests pays this,",
      "not the cold session.",
      "",
      "| client | server | warm send | ms at D / 2D | first send (cold) |",
      "| --- | --- | ---: | ---: | ---: |",
      ...results.warm.map((r) =>
        `| ${r.name} | ${r.server} | ${
          fixed((r.warm[1] - r.warm[0]) / DELAY, 1)
        } | ${fixed(r.warm[0], 0)} / ${fixed(r.warm[1], 0)} | ${
          fixed((r.cold[1] - r.cold[0]) / DELAY, 1)
        } |`
      ),
      "",
    );
    for (const row of results.warm.filter((r) => /SmtpPool/.test(r.name))) {
      const trips = (row.warm[1] - row.warm[0]) / DELAY;
      const want = /CHUNKING/.test(row.server) ? 1 : 2;
      targets.push(
        `| warm send = ${want} round trip${
          want > 1 ? "s" : ""
        }, ${row.server} | ${fixed(trips, 1)} | ${
          verdict(Math.round(trips) === want)
        } |`,
      );
    }
  }
  if (results.queued) {
    md.push(
      `### Memory: ${fixed(QUEUED)} sends of 1 KiB given at once`,
      "",
      `${fixed(QUEUED)} distinct 1 KiB raw messages (1,170 octets each, ${
        mib(QUEUED * 1170)
      } in all, counted here)`,
      "given at once to a pool of 5 connections to smtp-sink. Baseline: RSS with the pool made,",
      "before any message; *queued*: RSS right after the last `send()` call, every send",
      "queued; *peak*: RSS sampled every 5 ms until the last is delivered (it counts the",
      "garbage of the sends done, until the collector runs, and the 10,000 results held).",
      "",
      "| client | s | queued − baseline | peak − baseline |",
      "| --- | ---: | ---: | ---: |",
      ...results.queued.map((r) =>
        `| ${r.name} | ${fixed(r.seconds, 2)} | ${
          mib(r.afterQueue - r.baseline)
        } | ${mib(r.peak - r.baseline)} |`
      ),
      "",
    );
    const ours = results.queued.find((r) => /SmtpPool/.test(r.name))!;
    targets.push(
      `| ${fixed(QUEUED)} queued sends of 1 KiB hold < 50 MiB | ${
        mib(ours.afterQueue - ours.baseline)
      } queued, ${mib(ours.peak - ours.baseline)} at the peak while sending | ${
        verdict(ours.afterQueue - ours.baseline < 50 * 1024 * 1024)
      } queued, ${
        verdict(ours.peak - ours.baseline < 50 * 1024 * 1024)
      } at the peak |`,
    );
  }

  md.push(
    "## Targets",
    "",
    "| target | this run | |",
    "| --- | --- | --- |",
    ...targets,
    "",
    "<!-- notes -->",
    "",
    "## Reproduce",
    "",
    "```sh",
    "apt-get install -y postfix python3   # smtp-sink, smtp-source; /usr/bin/python3",
    "(cd bench/_node && npm ci)           # nodemailer for Node (the harness does it too)",
    "deno task bench                      # micro benchmarks only",
    "deno task bench:field                # everything above; rewrites bench/RESULTS.md",
    "deno run -A bench/field.ts --only throughput --reps 5   # one part, more repetitions",
    "```",
    "",
  );
  return md.join("\n");
}

// ——— main ———

async function ensureNodePeers(): Promise<void> {
  try {
    await Deno.stat(`${NODE_DIR}node_modules/nodemailer/package.json`);
    await Deno.stat(`${NODE_DIR}node_modules/nodemailer10/package.json`);
  } catch {
    log("installing nodemailer for Node (npm ci in bench/_node)");
    await run("npm", ["ci", "--prefix", NODE_DIR, "--no-audit", "--no-fund"]);
  }
}

const started = new Date();
const t0 = performance.now();
await ensureNodePeers();
const info = await machine();
const results: Parameters<typeof report>[1] = {};
if (ONLY.has("micro")) results.micro = await micro();
if (ONLY.has("throughput")) {
  results.one = await throughput(1);
  results.eight = await throughput(8);
  results.phases = await phases();
}
if (ONLY.has("roundtrip")) results.trips = await roundTrips();
if (ONLY.has("memory")) results.mem = await memory();
if (ONLY.has("pool")) {
  results.poolEight = await poolThroughput(8);
  results.poolOne = await poolThroughput(1);
  results.warm = await warmTrips();
  results.queued = await queuedMemory();
}

let text = report(info, results, started, (performance.now() - t0) / 1000);
// Keep the hand-written analysis between runs.
const outPath = OUT instanceof URL ? OUT.pathname : OUT;
const previous = await Deno.readTextFile(outPath).catch(() => "");
const notes = /<!-- notes -->\n([\s\S]*?)<!-- end notes -->\n/.exec(previous);
text = text.replace(
  "<!-- notes -->\n",
  `<!-- notes -->\n${notes?.[1] ?? ""}<!-- end notes -->\n`,
);
await Deno.writeTextFile(outPath, text);
await run(Deno.execPath(), ["fmt", "--quiet", outPath]);
log(`wrote ${outPath}`);
