/**
 * The picture every hop renderer draws: a column of hosts, each joined to
 * the next by an arrow for one hop (protocol, TLS, delay), or by a dashed
 * one where the `from → by` chain breaks.
 *
 * @module
 */

import { printable } from "../protocol/_control.ts";
import type { ReceivedFrom } from "./received_field.ts";
import type { Hop } from "./trace_hops.ts";

/** A host (or local user) in the path. */
export interface GraphNode {
  /** The first line: a host name, an address or a user. */
  title: string;
  /** More lines: the address, the HELO name. */
  details: string[];
  /** Whether this is a receiving host (`by`) rather than a sender. */
  receiver: boolean;
}

/** How an arrow is drawn. */
export type EdgeKind =
  /** A hop over TLS. */
  | "tls"
  /** A hop in plaintext, or one whose field says nothing of TLS. */
  | "plain"
  /** Not a hop: the chain breaks between two hosts. */
  | "break"
  /** A hop whose sender the field does not name. */
  | "assumed";

/** An arrow from `nodes[i]` to `nodes[i + 1]`. */
export interface GraphEdge {
  kind: EdgeKind;
  /** The label lines. */
  label: string[];
  /** A longer description (cipher, date, raw field) for a tooltip. */
  tooltip: string;
  /** The hop this arrow stands for, when it stands for one. */
  hop?: Hop;
}

/** Nodes in a column; `edges[i]` joins `nodes[i]` to `nodes[i + 1]`. */
export interface Graph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

/** Text fit for a picture: control characters, lone surrogates and noncharacters replaced. */
export function clean(text: string): string {
  return printable(text).replaceAll("\t", " ").toWellFormed().replace(
    /[\ufffe\uffff]/g,
    "\ufffd",
  );
}

/**
 * A delay for people: `0 s`, `+850 ms`, `+2 s`, `+30.3 s`, `+4 min 5 s`,
 * `+2 h 10 min`, `+3 d 4 h`, `-1 s`.
 */
export function formatDelay(ms: number): string {
  if (ms === 0) return "0 s";
  const sign = ms < 0 ? "-" : "+";
  const abs = Math.abs(ms);
  if (abs < 1000) return `${sign}${Math.round(abs)} ms`;
  const seconds = abs / 1000;
  if (seconds < 60) {
    const text = Number.isInteger(seconds)
      ? String(seconds)
      : seconds.toFixed(1).replace(/\.0$/, "");
    return `${sign}${text} s`;
  }
  const whole = Math.round(seconds);
  const parts: [number, string][] = whole < 3600
    ? [[Math.floor(whole / 60), "min"], [whole % 60, "s"]]
    : whole < 86_400
    ? [[Math.floor(whole / 3600), "h"], [Math.floor(whole % 3600 / 60), "min"]]
    : [[Math.floor(whole / 86_400), "d"], [
      Math.floor(whole % 86_400 / 3600),
      "h",
    ]];
  return sign +
    parts.filter(([n], i) => i === 0 || n > 0).map(([n, unit]) =>
      `${n} ${unit}`
    ).join(" ");
}

/** A date for people: `2026-03-02 10:00:05Z` (UTC), milliseconds when not zero. */
export function formatDate(date: Date): string {
  const iso = date.toISOString().replace("T", " ");
  return iso.endsWith(".000Z") ? iso.replace(".000Z", "Z") : iso;
}

function senderNode(from: ReceivedFrom | undefined): GraphNode {
  const title = from?.name ?? from?.helo ?? from?.ip ?? from?.user ??
    "(sender not named)";
  const details: string[] = [];
  if (from?.ip !== undefined && from.ip !== title) details.push(`[${from.ip}]`);
  if (from?.helo !== undefined && from.helo !== title) {
    details.push(`HELO ${from.helo}`);
  }
  if (from?.user !== undefined && from.user !== title) {
    details.push(`user ${from.user}`);
  }
  if (title === from?.user) details.push("local user");
  return { title: clean(title), details: details.map(clean), receiver: false };
}

function receiverNode(hop: Hop): GraphNode {
  const by = hop.field.by;
  const title = by?.name ?? (by?.ip !== undefined ? `[${by.ip}]` : undefined) ??
    "(receiver not named)";
  const details = by?.name !== undefined && by.ip !== undefined
    ? [`[${by.ip}]`]
    : [];
  return { title: clean(title), details: details.map(clean), receiver: true };
}

/** The label lines of a hop's arrow: its number and protocol, TLS, the delay. */
export function hopLabel(hop: Hop): string[] {
  const field = hop.field;
  const lines = [`${hop.index}. ${field.with ?? "?"}`];
  if (field.tls) lines.push(field.tls.version ?? "TLS");
  if (hop.delayMs !== undefined) {
    lines.push(
      formatDelay(hop.delayMs) + (hop.clockSkew ? " (clock skew)" : ""),
    );
  }
  return lines.map(clean);
}

function hopTooltip(hop: Hop): string {
  const field = hop.field;
  const parts = [`hop ${hop.index}`];
  if (field.with !== undefined) parts.push(`with ${field.with}`);
  if (field.tls) {
    parts.push(
      ["TLS", field.tls.version, field.tls.cipher].filter((p) => p).join(" "),
    );
  }
  if (field.id !== undefined) parts.push(`id ${field.id}`);
  if (field.date !== undefined) parts.push(formatDate(field.date));
  return clean(parts.join(", "));
}

/** Lays the hops out as a column of hosts. */
export function buildGraph(hops: readonly Hop[]): Graph {
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  for (const hop of hops) {
    const from = hop.field.from;
    const named = from !== undefined &&
      (from.helo ?? from.name ?? from.ip ?? from.user) !== undefined;
    let assumed = false;
    if (nodes.length === 0 || hop.link === "first") {
      nodes.push(senderNode(from));
    } else if (hop.link === "linked") {
      // The sender is the previous receiver: nothing to add.
    } else if (!named) {
      // No sender named: it came from the previous receiver, presumably.
      assumed = true;
    } else {
      const previous = nodes.at(-1)!;
      edges.push({
        kind: "break",
        label: [hop.link === "broken" ? "chain breaks" : "?"],
        tooltip: clean(
          hop.link === "broken"
            ? `hop ${hop.index} is not from ${previous.title}`
            : `hop ${hop.index}: the field does not say where it came from`,
        ),
      });
      nodes.push(senderNode(from));
    }
    nodes.push(receiverNode(hop));
    edges.push({
      kind: assumed ? "assumed" : hop.field.tls ? "tls" : "plain",
      label: hopLabel(hop),
      tooltip: hopTooltip(hop),
      hop,
    });
  }
  return { nodes, edges };
}
