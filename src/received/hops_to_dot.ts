import { buildGraph, type EdgeKind } from "./_graph.ts";
import type { Hop } from "./trace_hops.ts";

/**
 * A DOT quoted string: backslash and quote escaped, `&` written as `&amp;`
 * (Graphviz reads entities in labels), lines joined by `\n`.
 */
function quote(lines: readonly string[]): string {
  const escaped = lines.map((line) =>
    line.replaceAll("&", "&amp;").replace(/[\\"]/g, "\\$&")
  );
  return `"${escaped.join("\\n")}"`;
}

const STYLE: Record<EdgeKind, string> = {
  tls: 'color="#2e7d32"',
  plain: 'color="#9e6a03"',
  assumed: 'color="#9e6a03", style=dotted',
  break: 'color="#c62828", fontcolor="#c62828", style=dashed',
};

/**
 * Draws the path of a message as a Graphviz graph (DOT): a column of
 * hosts, oldest at the top, an arrow per hop labelled with its number,
 * protocol, TLS version and delay (green over TLS, amber without, dotted
 * where the field does not name its sender), and a dashed red arrow where
 * the `from → by` chain breaks. Render it with `dot -Tsvg` or `dot -Tpng`.
 * Every text is escaped; control characters become U+FFFD.
 *
 * @param hops The hops, as {@linkcode traceHops} gives them.
 * @returns The DOT source, ending with a line break.
 *
 * @example A graph to render with `dot -Tsvg`
 * ```ts
 * import { hopsToDot, traceHops } from "@x/sendmail/received";
 * import assert from "node:assert/strict";
 *
 * const dot = hopsToDot(traceHops([
 *   "from relay.example (relay.example [192.0.2.5]) by mx.example with ESMTPS; Mon, 2 Mar 2026 10:00:07 +0000",
 *   "from laptop (home.example [198.51.100.7]) by relay.example with ESMTPSA; Mon, 2 Mar 2026 10:00:05 +0000",
 * ]));
 * assert.match(dot, /^digraph received \{/);
 * assert.match(dot, /n1 -> n2 \[label="2\. ESMTPS\\nTLS\\n\+2 s"/);
 * ```
 */
export function hopsToDot(hops: readonly Hop[]): string {
  const { nodes, edges } = buildGraph(hops);
  const out = [
    "digraph received {",
    "  rankdir=TB;",
    '  node [shape=box, style="rounded,filled", fillcolor="#f6f8fa", fontname="Helvetica"];',
    '  edge [fontname="Helvetica", fontsize=10];',
  ];
  if (nodes.length === 0) out.push('  label="no Received fields";');
  nodes.forEach((node, i) => {
    const fill = node.receiver ? "" : ', fillcolor="#ffffff"';
    out.push(
      `  n${i} [label=${quote([node.title, ...node.details])}${fill}];`,
    );
  });
  edges.forEach((edge, i) => {
    out.push(
      `  n${i} -> n${i + 1} [label=${quote(edge.label)}, tooltip=${
        quote([edge.tooltip])
      }, ${STYLE[edge.kind]}];`,
    );
  });
  out.push("}");
  return out.join("\n") + "\n";
}
