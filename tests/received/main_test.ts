import assert from "node:assert/strict";
import {
  hopsToDot,
  hopsToMermaid,
  hopsToSvg,
  hopsToTable,
  main,
  traceHops,
} from "../../received.ts";
import { fixtureMessage } from "./_corpus.ts";

async function run(
  args: string[],
  message: string,
  files: Record<string, string> = {},
) {
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  const sink = (chunks: Uint8Array[]) =>
    new WritableStream<Uint8Array>({
      write: (chunk) => void chunks.push(chunk),
    });
  let stdinRead = false;
  const status = await main(args, {
    stdin: new ReadableStream({
      start(controller) {
        stdinRead = true;
        controller.enqueue(new TextEncoder().encode(message));
        controller.close();
      },
    }),
    stdout: sink(out),
    stderr: sink(err),
    openFile: (path) => {
      const text = files[path];
      if (text === undefined) return Promise.reject(new Error("No such file"));
      return Promise.resolve(
        ReadableStream.from([new TextEncoder().encode(text)]),
      );
    },
  });
  const decode = (chunks: Uint8Array[]) =>
    chunks.map((c) => new TextDecoder().decode(c)).join("");
  return { status, stdout: decode(out), stderr: decode(err), stdinRead };
}

const MESSAGE = fixtureMessage("xen_exim.eml");
const HOPS = traceHops(MESSAGE);

Deno.test("main prints the table by default, and each format on request", async () => {
  assert.deepEqual(await run([], MESSAGE).then((r) => [r.status, r.stdout]), [
    0,
    hopsToTable(HOPS),
  ]);
  for (
    const [flag, render] of [
      ["--table", hopsToTable],
      ["--dot", hopsToDot],
      ["--mermaid", hopsToMermaid],
      ["--svg", hopsToSvg],
    ] as const
  ) {
    const result = await run([flag], MESSAGE);
    assert.equal(result.status, 0);
    assert.equal(result.stdout, render(HOPS), flag);
    assert.equal(result.stderr, "");
  }
  const json = await run(["--json"], MESSAGE);
  assert.deepEqual(JSON.parse(json.stdout), JSON.parse(JSON.stringify(HOPS)));
});

Deno.test("main reads a file argument, and standard input for -", async () => {
  const file = await run(["--json", "message.eml"], "", {
    "message.eml": MESSAGE,
  });
  assert.equal(file.status, 0);
  assert.equal(JSON.parse(file.stdout).length, HOPS.length);
  const dash = await run(["-"], MESSAGE);
  assert.equal(dash.stdout, hopsToTable(HOPS));
});

Deno.test("main exits 64 on a usage error and 66 when the file cannot be read", async () => {
  for (const args of [["--bogus"], ["--dot", "--svg"], ["a.eml", "b.eml"]]) {
    const result = await run(args, MESSAGE);
    assert.equal(result.status, 64, args.join(" "));
    assert.match(result.stderr, /^received: /);
    assert.equal(result.stdout, "");
  }
  const missing = await run(["missing.eml"], MESSAGE);
  assert.equal(missing.status, 66);
  assert.equal(
    missing.stderr,
    'received: cannot read "missing.eml": No such file\n',
  );
  const help = await run(["--help"], MESSAGE);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^Usage: received /);
});

Deno.test("main prints that there is nothing to trace for a message without Received fields", async () => {
  const result = await run([], "Subject: hi\r\n\r\nbody\r\n");
  assert.deepEqual([result.status, result.stdout], [0, "no Received fields\n"]);
});
