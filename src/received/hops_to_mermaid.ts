import { buildGraph, type EdgeKind } from "./_graph.ts";
import type { Hop } from "./trace_hops.ts";

/** Characters written as they are inside a Mermaid quoted label. */
const SAFE = /[A-Za-z0-9 .,:_@/+=()[\]{}'!?*%-]/;

/** Mermaid label text: anything else as an entity code (`#34;`). */
function escape(text: string): string {
  let out = "";
  for (const char of text) {
    out += SAFE.test(char) ? char : `#${char.codePointAt(0)};`;
  }
  return out;
}

function label(lines: readonly string[]): string {
  return `"${lines.map(escape).join("<br/>")}"`;
}

const ARROW: Record<EdgeKind, string> = {
  tls: "-->",
  plain: "-->",
  assumed: "-.->",
  break: "-.->",
};

/**
 * Draws the path of a message as a Mermaid flowchart, which GitHub and
 * GitLab render inside Markdown (a ```` ```mermaid ```` block): a column of
 * hosts, oldest at the top, an arrow per hop labelled with its number,
 * protocol, TLS version and delay, and a dotted arrow where the `from → by`
 * chain breaks or the sender is not named. Every text is escaped as
 * Mermaid entity codes, so no label can end the diagram or inject markup.
 *
 * @param hops The hops, as {@linkcode traceHops} gives them.
 * @returns The flowchart source, ending with a line break.
 *
 * @example A flowchart for a README or an issue
 * ```ts
 * import { hopsToMermaid, traceHops } from "@x/sendmail/received";
 * import assert from "node:assert/strict";
 *
 * const chart = hopsToMermaid(traceHops([
 *   "from relay.example (relay.example [192.0.2.5]) by mx.example with ESMTPS; Mon, 2 Mar 2026 10:00:07 +0000",
 *   "from laptop (home.example [198.51.100.7]) by relay.example with ESMTPSA; Mon, 2 Mar 2026 10:00:05 +0000",
 * ]));
 * assert.match(chart, /^flowchart TD\n/);
 * assert.match(chart, /n1 -->\|"2. ESMTPS<br\/>TLS<br\/>\+2 s"\| n2/);
 * ```
 */
export function hopsToMermaid(hops: readonly Hop[]): string {
  const { nodes, edges } = buildGraph(hops);
  const out = ["flowchart TD"];
  if (nodes.length === 0) out.push(`  none[${label(["no Received fields"])}]`);
  nodes.forEach((node, i) => {
    out.push(`  n${i}[${label([node.title, ...node.details])}]`);
  });
  edges.forEach((edge, i) => {
    out.push(`  n${i} ${ARROW[edge.kind]}|${label(edge.label)}| n${i + 1}`);
  });
  const styles: string[] = [];
  edges.forEach((edge, i) => {
    if (edge.kind === "tls") styles.push(`  linkStyle ${i} stroke:#2e7d32`);
    if (edge.kind === "break") styles.push(`  linkStyle ${i} stroke:#c62828`);
  });
  return [...out, ...styles].join("\n") + "\n";
}
