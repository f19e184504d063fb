/**
 * Cold start on each runtime: the time a fresh process takes to import the
 * client module and to be ready to send (connected, EHLO answered, on a
 * loopback capture server without TLS), ours beside nodemailer's on Node.
 * Each figure is the median of `--reps` fresh processes (default 15), all
 * measured in one run, interleaved, so ratios compare like with like.
 *
 *   deno run -A bench/cold_start.ts [--reps 15]
 *
 * Ours is measured from the TypeScript sources (Deno; Node and Bun with
 * type stripping) and, on Node, from `dist/npm` (what npm users get from
 * JSR; built with `deno task build:npm` when missing). Runtimes come from
 * `.ci/_runtimes` (`bash .ci/install_runtimes`); nodemailer from
 * `bench/_node` (`npm ci` there).
 *
 * @module
 */
import { startTestServer } from "../testing.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const flag = Deno.args.indexOf("--reps");
const REPS = flag === -1 ? 15 : Number(Deno.args[flag + 1]);
const RT = `${ROOT}.ci/_runtimes`;
const CLIENT = `${ROOT}bench/cold/cold_client.mjs`;
const SOURCES = `${ROOT}mod.ts`;
const NPM = `${ROOT}dist/npm/mod.js`;
const NODEMAILER =
  `${ROOT}bench/_node/node_modules/nodemailer/lib/nodemailer.js`;

interface Subject {
  name: string;
  command: string;
  args: string[];
  client: "ours" | "nodemailer";
  module: string;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

if (!exists(NPM)) {
  await new Deno.Command("bash", { args: [`${ROOT}.ci/npm/build`] }).output();
}

const node22 = `${RT}/node22/node_modules/.bin/node`;
const node24 = `${RT}/node24/node_modules/.bin/node`;
const bun = `${RT}/bun/node_modules/.bin/bun`;
const subjects: Subject[] = [
  {
    name: "Deno: @x/sendmail (sources)",
    command: Deno.execPath(),
    args: ["run", "-A"],
    client: "ours",
    module: SOURCES,
  },
];
for (
  const [name, binary, flags] of [
    ["Node 22", node22, ["--experimental-strip-types", "--no-warnings"]],
    ["Node 24", node24, ["--no-warnings"]],
  ] as const
) {
  if (!exists(binary)) continue;
  subjects.push(
    {
      name: `${name}: @x/sendmail (dist/npm JS)`,
      command: binary,
      args: [...flags],
      client: "ours",
      module: NPM,
    },
    {
      name: `${name}: @x/sendmail (sources, type stripping)`,
      command: binary,
      args: [...flags],
      client: "ours",
      module: SOURCES,
    },
  );
  if (exists(NODEMAILER)) {
    subjects.push({
      name: `${name}: nodemailer`,
      command: binary,
      args: [...flags],
      client: "nodemailer",
      module: NODEMAILER,
    });
  }
}
if (exists(bun)) {
  subjects.push({
    name: "Bun: @x/sendmail (sources)",
    command: bun,
    args: ["run"],
    client: "ours",
    module: SOURCES,
  });
  if (exists(NODEMAILER)) {
    subjects.push({
      name: "Bun: nodemailer",
      command: bun,
      args: ["run"],
      client: "nodemailer",
      module: NODEMAILER,
    });
  }
}

const server = await startTestServer({ tls: "none" });
const results = new Map<string, { importMs: number[]; readyMs: number[] }>();
try {
  for (let rep = 0; rep < REPS; rep++) {
    for (const subject of subjects) {
      const { code, stdout, stderr } = await new Deno.Command(
        subject.command,
        {
          args: [
            ...subject.args,
            CLIENT,
            JSON.stringify({
              client: subject.client,
              module: subject.module,
              port: server.port,
            }),
          ],
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        },
      ).output();
      const decoder = new TextDecoder();
      if (code !== 0) {
        throw new Error(`${subject.name} failed: ${decoder.decode(stderr)}`);
      }
      const line = decoder.decode(stdout).trim().split("\n").at(-1)!;
      const { importMs, readyMs } = JSON.parse(line);
      const row = results.get(subject.name) ?? { importMs: [], readyMs: [] };
      row.importMs.push(importMs);
      row.readyMs.push(readyMs);
      results.set(subject.name, row);
    }
  }
} finally {
  await server.close();
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};
console.log(`| runtime: client | import (ms) | ready to send (ms) |`);
console.log(`|---|---:|---:|`);
for (const [name, row] of results) {
  console.log(
    `| ${name} | ${median(row.importMs).toFixed(1)} | ${
      median(row.readyMs).toFixed(1)
    } |`,
  );
}
for (const runtime of ["Node 22", "Node 24", "Bun"]) {
  const theirs = results.get(`${runtime}: nodemailer`);
  if (!theirs) continue;
  for (
    const ours of [
      `${runtime}: @x/sendmail (dist/npm JS)`,
      `${runtime}: @x/sendmail (sources, type stripping)`,
      `${runtime}: @x/sendmail (sources)`,
    ]
  ) {
    const row = results.get(ours);
    if (!row) continue;
    console.log(
      `${ours} / nodemailer: import ${
        (median(row.importMs) / median(theirs.importMs)).toFixed(2)
      }, ready ${(median(row.readyMs) / median(theirs.readyMs)).toFixed(2)}`,
    );
  }
}
