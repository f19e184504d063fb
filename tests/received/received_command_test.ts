import assert from "node:assert/strict";
import {
  hopsToDot,
  hopsToMermaid,
  hopsToSvg,
  hopsToTable,
  traceHops,
} from "../../received.ts";
import { interop } from "../_harness/mod.ts";
import { parseXml, renderDot } from "./_checkers.ts";
import { fixtureMessage } from "./_corpus.ts";

const ENTRY = new URL("../../received.ts", import.meta.url).pathname;
const FIXTURES = new URL("./fixtures/", import.meta.url).pathname;

/** Runs received.ts as a program: no permission unless given, the message on stdin. */
async function received(
  args: string[],
  stdin = "",
  permissions: string[] = [],
) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", ...permissions, ENTRY, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin)).catch(() => {});
  await writer.close().catch(() => {});
  const out = await child.output();
  const decoder = new TextDecoder();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}

const MESSAGES = [
  "aixigo_git.eml",
  "amd_exchange.eml",
  "xen_exim.eml",
  "gmail_kvack.eml",
  "postfix_chain.eml",
];

Deno.test("received.ts as a program prints the table of a message on standard input, with no permission", async () => {
  for (const name of MESSAGES) {
    const message = fixtureMessage(name);
    const result = await received([], message);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, hopsToTable(traceHops(message)), name);
  }
});

Deno.test("received.ts as a program prints --json, --mermaid and --svg", async () => {
  for (const name of MESSAGES) {
    const message = fixtureMessage(name);
    const hops = traceHops(message);
    const json = await received(["--json"], message);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), JSON.parse(JSON.stringify(hops)));
    const mermaid = await received(["--mermaid"], message);
    assert.equal(mermaid.stdout, hopsToMermaid(hops));
    const svg = await received(["--svg"], message);
    assert.equal(svg.stdout, hopsToSvg(hops));
  }
});

Deno.test(interop({
  name:
    "received.ts --dot output renders with Graphviz, and --svg parses as XML",
  requires: ["dot", "python3"],
  async fn() {
    for (const name of MESSAGES) {
      const message = fixtureMessage(name);
      const dot = await received(["--dot"], message);
      assert.equal(dot.code, 0, dot.stderr);
      assert.equal(dot.stdout, hopsToDot(traceHops(message)));
      const rendered = await renderDot(dot.stdout);
      assert.equal(rendered.code, 0, rendered.stderr);
      const svg = await received(["--svg"], message);
      const [parsed] = await parseXml([svg.stdout]);
      assert.equal(parsed!.error, undefined, name);
    }
  },
}));

Deno.test("received.ts as a program reads a file named on the command line when allowed to", async () => {
  const file = `${FIXTURES}gmail_kvack.eml`;
  const result = await received(["--json", file], "", [`--allow-read=${file}`]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(JSON.parse(result.stdout).length, 3);
  const denied = await received([file]);
  assert.equal(denied.code, 66);
  assert.match(denied.stderr, /^received: cannot read /);
  const usage = await received(["--dot", "--svg"]);
  assert.equal(usage.code, 64);
});
