import assert from "node:assert/strict";
import { hopsToMermaid, traceHops } from "../../received.ts";
import { fixtureMessage } from "./_corpus.ts";
import { EVIL_HOPS } from "./_evil_hops.ts";

/** Mermaid's own parser, with a DOM for its sanitizer (linkedom). */
async function mermaidParse(text: string): Promise<unknown> {
  const { parseHTML } = await import("npm:linkedom@0.18");
  const { window } = parseHTML("<!doctype html><html></html>");
  Object.assign(globalThis, {
    window,
    document: (window as unknown as { document: unknown }).document,
  });
  try {
    const { default: mermaid } = await import("npm:mermaid@11");
    return await mermaid.parse(text);
  } finally {
    Reflect.deleteProperty(globalThis, "window");
    Reflect.deleteProperty(globalThis, "document");
  }
}

const LINE =
  /^(?: {2}(?:n\d+|none)\["[^"\n]*"\]| {2}n\d+ (?:-->|-\.->)\|"[^"|\n]*"\| n\d+| {2}linkStyle \d+ stroke:#[0-9a-f]{6})$/;

Deno.test("hopsToMermaid draws a flowchart with an arrow per hop and dotted breaks", () => {
  const chart = hopsToMermaid(traceHops(fixtureMessage("aixigo_git.eml")));
  const lines = chart.trimEnd().split("\n");
  assert.equal(lines[0], "flowchart TD");
  for (const line of lines.slice(1)) assert.match(line, LINE);
  assert.ok(
    lines.includes('  n0["vmdpcl078.ac.aixigo.de<br/>[172.19.97.224]"]'),
  );
  assert.ok(lines.includes('  n1 -->|"2. ESMTPS<br/>TLSv1.3<br/>+1 s"| n2'));
  // Hop 5 has no from: the arrow from the previous host is dotted.
  assert.ok(
    lines.includes('  n5 -.->|"chain breaks"| n6') ||
      lines.some((l) => /-\.->\|"\?"\|/.test(l)),
  );
  assert.ok(lines.includes("  linkStyle 0 stroke:#2e7d32"));
});

Deno.test("hopsToMermaid writes every character a label could misuse as an entity code", () => {
  const chart = hopsToMermaid(EVIL_HOPS);
  for (const line of chart.trimEnd().split("\n").slice(1)) {
    assert.match(line, LINE, line);
    if (line.startsWith("  linkStyle")) continue;
    // Inside the quotes: no quote, pipe, angle bracket (but <br/>), hash
    // (but entity codes), backtick, backslash or control character.
    const inner = line.slice(line.indexOf('"') + 1, line.lastIndexOf('"'))
      .replaceAll("<br/>", "").replace(/#\d+;/g, "");
    // deno-lint-ignore no-control-regex
    assert.doesNotMatch(inner, /["|<>#`\\\x00-\x1f\x7f-\x9f]/, line);
  }
  assert.match(chart, /#34;/);
  assert.match(chart, /#60;\/text#62;/);
});

Deno.test("hopsToMermaid output is parsed by Mermaid itself, corpus and escapes alike", async () => {
  for (
    const chart of [
      hopsToMermaid(traceHops(fixtureMessage("aixigo_git.eml"))),
      hopsToMermaid(traceHops(fixtureMessage("amd_exchange.eml"))),
      hopsToMermaid(traceHops(fixtureMessage("xen_exim.eml"))),
      hopsToMermaid(EVIL_HOPS),
      hopsToMermaid([]),
    ]
  ) {
    assert.deepEqual(await mermaidParse(chart), {
      diagramType: "flowchart-v2",
      config: {},
    });
  }
  // The parser does refuse a broken label: the check can fail.
  await assert.rejects(mermaidParse('flowchart TD\n  a["x"] -->|"y| b\n'));
});
