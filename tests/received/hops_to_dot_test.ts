import assert from "node:assert/strict";
import { hopsToDot, traceHops } from "../../received.ts";
import { interop } from "../_harness/mod.ts";
import { parseXml, renderDot } from "./_checkers.ts";
import { fixtureMessage } from "./_corpus.ts";
import { EVIL, EVIL_HOPS, shown } from "./_evil_hops.ts";

const MESSAGES = [
  "aixigo_git.eml",
  "amd_exchange.eml",
  "xen_exim.eml",
  "gmail_kvack.eml",
  "postfix_chain.eml",
];

Deno.test("hopsToDot draws a column of hosts, an arrow per hop and dashed breaks", () => {
  const dot = hopsToDot(traceHops(fixtureMessage("amd_exchange.eml")));
  const lines = dot.trimEnd().split("\n");
  assert.equal(lines[0], "digraph received {");
  assert.equal(lines.at(-1), "}");
  // 7 hops, 3 breaks: 11 hosts, 10 arrows, each to the next host.
  const nodes = lines.filter((l) => /^ {2}n\d+ \[label=/.test(l));
  const edges = lines.filter((l) => /^ {2}n\d+ -> n\d+ /.test(l));
  assert.equal(nodes.length, 11);
  assert.equal(edges.length, 10);
  edges.forEach((edge, i) =>
    assert.match(edge, new RegExp(`^  n${i} -> n${i + 1} `))
  );
  assert.equal(edges.filter((e) => e.includes("style=dashed")).length, 3);
  assert.match(
    nodes[0]!,
    /label="srishanm-Cloudripper\.amd\.com\\n\[10\.180\.168\.240\]"/,
  );
  assert.match(
    edges[1]!,
    /label="2\. Microsoft SMTP Server\\nTLSv1\.2\\n\+2 s"/,
  );
  assert.match(edges[2]!, /label="chain breaks"/);
});

Deno.test("hopsToDot gives a graph with only a label when there are no hops", () => {
  assert.equal(
    hopsToDot([]),
    'digraph received {\n  rankdir=TB;\n  node [shape=box, style="rounded,filled", fillcolor="#f6f8fa", fontname="Helvetica"];\n  edge [fontname="Helvetica", fontsize=10];\n  label="no Received fields";\n}\n',
  );
});

Deno.test(interop({
  name:
    "hopsToDot output is accepted by Graphviz dot -Tsvg for every corpus message",
  requires: ["dot", "python3"],
  async fn() {
    for (const name of MESSAGES) {
      const { code, svg, stderr } = await renderDot(
        hopsToDot(traceHops(fixtureMessage(name))),
      );
      assert.equal(code, 0, `${name}: ${stderr}`);
      assert.equal(stderr, "", name);
      const [parsed] = await parseXml([svg]);
      assert.equal(parsed!.error, undefined, name);
    }
    const { code, stderr } = await renderDot(hopsToDot([]));
    assert.equal(code, 0, stderr);
  },
}));

Deno.test(interop({
  name: "hopsToDot escapes every text so that Graphviz shows it as it is",
  requires: ["dot", "python3"],
  async fn() {
    const { code, svg, stderr } = await renderDot(hopsToDot(EVIL_HOPS));
    assert.equal(code, 0, stderr);
    const [parsed] = await parseXml([svg]);
    assert.equal(parsed!.error, undefined);
    const texts = new Set(parsed!.texts);
    // One node per host: nothing the fields hold made Graphviz draw more.
    const nodes = parsed!.tags!.filter((t) => t.endsWith("}g")).length;
    assert.ok(nodes > 0);
    for (const text of EVIL) {
      // As drawn: see shown(); Graphviz also trims the ends of a line.
      const drawn = shown(text);
      assert.ok(texts.has(drawn), `${JSON.stringify(drawn)} not drawn as is`);
    }
  },
}));
