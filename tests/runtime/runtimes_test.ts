/**
 * The runtime suite: runs the transport conformance suite and the
 * end-to-end sends on Node 22, Node 24 and Bun (`node --test` on the
 * TypeScript sources with type stripping, `bun test`), and the conformance
 * suite of `denoConnect` once more in a Deno with a CA installed as a
 * system root. The runtimes come from `.ci/_runtimes/` (installed by
 * `.ci/run` from npm) or from `SENDMAIL_NODE22`, `SENDMAIL_NODE24`,
 * `SENDMAIL_BUN`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { writeCertDir } from "../transport/_certs.ts";
import { interopRequired } from "../_harness/interop.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const RUNTIMES = `${ROOT}.ci/_runtimes`;

interface Runtime {
  name: string;
  binary: string | undefined;
  command: (files: string[]) => string[];
}

function find(env: string, path: string): string | undefined {
  const given = Deno.env.get(env);
  if (given) return given;
  try {
    Deno.statSync(path);
    return path;
  } catch {
    return undefined;
  }
}

const SUITES = [
  "tests/runtime/node_connect_conformance.ts",
  "tests/runtime/send_e2e.ts",
];

const runtimes: Runtime[] = [
  {
    name: "Node 22",
    binary: find(
      "SENDMAIL_NODE22",
      `${RUNTIMES}/node22/node_modules/.bin/node`,
    ),
    command: (files) => [
      "--experimental-strip-types",
      "--no-warnings=ExperimentalWarning",
      "--test",
      "--test-reporter=spec",
      ...files,
    ],
  },
  {
    name: "Node 24",
    binary: find(
      "SENDMAIL_NODE24",
      `${RUNTIMES}/node24/node_modules/.bin/node`,
    ),
    command: (files) => ["--test", "--test-reporter=spec", ...files],
  },
  {
    name: "Bun",
    binary: find("SENDMAIL_BUN", `${RUNTIMES}/bun/node_modules/.bin/bun`),
    command: (files) => ["test", ...files.map((file) => `./${file}`)],
  },
];

let certDir: Promise<string> | undefined;

/** Test material with a "system" CA, made once, removed at unload. */
function certs(): Promise<string> {
  certDir ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "sendmail_runtimes_" });
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch {
        // already gone
      }
    });
    await writeCertDir(dir);
    return dir;
  })();
  return certDir;
}

async function run(
  binary: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; output: string }> {
  const { code, stdout, stderr } = await new Deno.Command(binary, {
    args,
    cwd: ROOT,
    env: { ...env, NO_COLOR: "1", FORCE_COLOR: "0" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  const text = decoder.decode(stdout) + decoder.decode(stderr);
  // deno-lint-ignore no-control-regex
  return { code, output: text.replace(/\x1b\[[0-9;]*m/g, "") };
}

/** The "N passed, N failed" figures of a run, for the test's output. */
function summary(output: string): string {
  const node =
    /ℹ pass (\d+)[\s\S]*?ℹ fail (\d+)[\s\S]*?ℹ skipped (\d+)[\s\S]*?ℹ todo (\d+)/
      .exec(output);
  if (node) {
    return `${node[1]} passed, ${node[2]} failed, ${node[3]} skipped, ${
      node[4]
    } todo`;
  }
  const pass = /(\d+) pass\b/.exec(output)?.[1];
  const skip = /(\d+) skip\b/.exec(output)?.[1] ?? "0";
  const fail = /(\d+) fail\b/.exec(output)?.[1];
  return `${pass ?? "?"} passed, ${fail ?? "?"} failed, ${skip} skipped`;
}

for (const runtime of runtimes) {
  const reason = runtime.binary === undefined
    ? `${runtime.name} is not installed in .ci/_runtimes (bash .ci/run installs it)`
    : undefined;
  const required = interopRequired();
  Deno.test({
    name:
      `nodeConnect passes the conformance suite and the end-to-end sends on ${runtime.name}${
        reason && !required ? ` (skipped: ${reason})` : ""
      }`,
    ignore: reason !== undefined && !required,
    async fn() {
      if (reason) throw new Error(`Cannot run: ${reason}`);
      const dir = await certs();
      const { code, output } = await run(
        runtime.binary!,
        runtime.command(SUITES),
        {
          SENDMAIL_TEST_CERTS: dir,
          NODE_EXTRA_CA_CERTS: `${dir}/system-ca.pem`,
          ...(required ? { SENDMAIL_INTEROP: "required" } : {}),
        },
      );
      console.log(`${runtime.name}: ${summary(output)}`);
      assert.equal(code, 0, `${runtime.name} failed:\n${output}`);
      // The run really ran the suites (not an empty file list).
      assert.match(output, /nodeConnect connects in plaintext/);
      assert.match(output, /SmtpClient pipelines 20 sends/);
    },
  });
}

Deno.test("denoConnect adds caCerts to the system roots of Deno (DENO_CERT)", async () => {
  const dir = await certs();
  const { code, output } = await run(Deno.execPath(), [
    "test",
    "-A",
    "--filter",
    "system roots",
    "tests/transport/deno_connect_conformance_test.ts",
  ], {
    SENDMAIL_TEST_CERTS: dir,
    DENO_CERT: `${dir}/system-ca.pem`,
  });
  assert.equal(code, 0, output);
  assert.match(output, /adds caCerts to the system roots .*\.\.\. ok/);
  assert.match(output, /ok \| 1 passed/);
});
