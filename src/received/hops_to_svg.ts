import { buildGraph, type EdgeKind, formatDelay } from "./_graph.ts";
import type { Hop } from "./trace_hops.ts";

const FONT = "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace";
const SIZE = 13;
/** The advance of one character of the monospace font, generously. */
const CHAR = 8;
const LINE = 17;
const PAD = 10;
const MARGIN = 16;
const ARROW_X = MARGIN + 28;

const COLOR: Record<EdgeKind, string> = {
  tls: "#2e7d32",
  plain: "#9e6a03",
  assumed: "#9e6a03",
  break: "#c62828",
};

/** XML character data and attribute values: markup characters escaped. */
function xml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function width(text: string): number {
  return [...text].length * CHAR;
}

/**
 * Draws the path of a message as a self-contained SVG picture (no script,
 * no external font, style or image): a column of hosts, oldest at the top,
 * joined by an arrow per hop labelled with its number, protocol, TLS
 * version and delay (green over TLS, amber without), and a dashed red
 * arrow where the `from → by` chain breaks. Hovering an arrow shows the
 * cipher, id and date. Every text is escaped; control characters,
 * lone surrogates and noncharacters become U+FFFD, so the result is
 * well-formed XML whatever the fields hold.
 *
 * @param hops The hops, as {@linkcode traceHops} gives them.
 * @returns The SVG document, ending with a line break.
 *
 * @example A picture to save as path.svg
 * ```ts
 * import { hopsToSvg, traceHops } from "@x/sendmail/received";
 * import assert from "node:assert/strict";
 *
 * const svg = hopsToSvg(traceHops([
 *   "from relay.example (relay.example [192.0.2.5]) by mx.example with ESMTPS; Mon, 2 Mar 2026 10:00:07 +0000",
 *   "from laptop (home.example [198.51.100.7]) by relay.example with ESMTPSA; Mon, 2 Mar 2026 10:00:05 +0000",
 * ]));
 * assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
 * assert.match(svg, />mx\.example</);
 * ```
 */
export function hopsToSvg(hops: readonly Hop[]): string {
  const { nodes, edges } = buildGraph(hops);
  const boxWidth = Math.max(
    200,
    ...nodes.flatMap((n) => [n.title, ...n.details].map(width)),
  ) + 2 * PAD;
  const labelWidth = Math.max(
    0,
    ...edges.flatMap((e) => e.label.map(width)),
  );
  const totalWidth = Math.max(
    MARGIN * 2 + boxWidth,
    ARROW_X + 16 + labelWidth + MARGIN,
  );
  const body: string[] = [];
  let y = MARGIN;
  const first = hops.find((h) => h.field.date !== undefined);
  const last = hops.findLast((h) => h.elapsedMs !== undefined);
  const summary = hops.length === 0
    ? "no Received fields"
    : `${hops.length} hop${hops.length === 1 ? "" : "s"}` +
      (first && last ? `, ${formatDelay(last.elapsedMs!)} in all` : "");
  if (nodes.length === 0) {
    body.push(
      `<text x="${MARGIN}" y="${y + SIZE}">${xml(summary)}</text>`,
    );
    y += LINE + MARGIN;
  }
  nodes.forEach((node, i) => {
    const lines = [node.title, ...node.details];
    const height = lines.length * LINE + PAD;
    const fill = node.receiver ? "#f6f8fa" : "#ffffff";
    body.push(
      `<g><rect x="${MARGIN}" y="${y}" width="${boxWidth}" height="${height}" rx="6" fill="${fill}" stroke="#57606a"/>`,
    );
    lines.forEach((line, j) => {
      const weight = j === 0 ? ' font-weight="bold"' : ' fill="#57606a"';
      body.push(
        `<text x="${MARGIN + PAD}" y="${
          y + PAD / 2 + (j + 1) * LINE - 4
        }"${weight}>${xml(line)}</text>`,
      );
    });
    body.push("</g>");
    y += height;
    const edge = edges[i];
    if (edge === undefined) return;
    const length = Math.max(2, edge.label.length) * LINE + 8;
    const color = COLOR[edge.kind];
    const dash = edge.kind === "break" || edge.kind === "assumed"
      ? ' stroke-dasharray="5 4"'
      : "";
    body.push(
      `<g><title>${xml(edge.tooltip)}</title>`,
      `<line x1="${ARROW_X}" y1="${y}" x2="${ARROW_X}" y2="${
        y + length - 2
      }" stroke="${color}" stroke-width="2"${dash} marker-end="url(#arrow-${edge.kind})"/>`,
    );
    edge.label.forEach((line, j) => {
      body.push(
        `<text x="${ARROW_X + 14}" y="${
          y + 4 + (j + 1) * LINE - 4
        }" fill="${color}">${xml(line)}</text>`,
      );
    });
    body.push("</g>");
    y += length;
  });
  const height = y + MARGIN;
  const markers = (Object.keys(COLOR) as EdgeKind[]).map((kind) =>
    `<marker id="arrow-${kind}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="${
      COLOR[kind]
    }"/></marker>`
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${totalWidth}" height="${height}" viewBox="0 0 ${totalWidth} ${height}" font-family="${FONT}" font-size="${SIZE}" role="img">`,
    `<title>${xml(`The path of a message: ${summary}`)}</title>`,
    `<defs>${markers.join("")}</defs>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    ...body,
    "</svg>",
  ].join("\n") + "\n";
}
