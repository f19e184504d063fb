import { clean, formatDate, formatDelay } from "./_graph.ts";
import type { Hop } from "./trace_hops.ts";

function sender(hop: Hop): string {
  const from = hop.field.from;
  if (from === undefined) return "-";
  const host = from.name ?? from.helo;
  const ip = from.ip === undefined ? undefined : `[${from.ip}]`;
  const network = [host, ip].filter((p) => p !== undefined).join(" ");
  if (network !== "") return network;
  return from.user === undefined ? "-" : `${from.user} (local)`;
}

function receiver(hop: Hop): string {
  const by = hop.field.by;
  const ip = by?.ip === undefined ? undefined : `[${by.ip}]`;
  return [by?.name, ip].filter((p) => p !== undefined).join(" ") || "-";
}

/**
 * Formats the path of a message as a text table for a terminal: one row
 * per hop, oldest first (hop, from, by, with, TLS, date in UTC, delay from
 * the previous hop), the total time in transit, and a note for each place
 * where the `from → by` chain breaks or a clock is behind. Control
 * characters in the fields become U+FFFD, so a forged field cannot drive
 * the terminal.
 *
 * @param hops The hops, as {@linkcode traceHops} gives them.
 * @returns The table, ending with a line break.
 *
 * @example Printing the path of a message
 * ```ts
 * import { hopsToTable, traceHops } from "@x/sendmail/received";
 *
 * console.log(hopsToTable(traceHops([
 *   "from relay.example (relay.example [192.0.2.5]) by mx.example with ESMTPS; Mon, 2 Mar 2026 10:00:07 +0000",
 *   "from laptop (home.example [198.51.100.7]) by relay.example with ESMTPSA; Mon, 2 Mar 2026 10:00:05 +0000",
 * ])));
 * // hop  from                        by             with     TLS  date                  delay
 * // 1    home.example [198.51.100.7] relay.example  ESMTPSA  TLS  2026-03-02 10:00:05Z
 * // 2    relay.example [192.0.2.5]   mx.example     ESMTPS   TLS  2026-03-02 10:00:07Z  +2 s
 * //
 * // total: +2 s from hop 1 to hop 2
 * ```
 */
export function hopsToTable(hops: readonly Hop[]): string {
  if (hops.length === 0) return "no Received fields\n";
  const header = ["hop", "from", "by", "with", "TLS", "date", "delay"];
  const rows = hops.map((hop) =>
    [
      String(hop.index),
      sender(hop),
      receiver(hop),
      hop.field.with ?? "-",
      hop.field.tls ? hop.field.tls.version ?? "TLS" : "-",
      hop.field.date ? formatDate(hop.field.date) : "-",
      hop.delayMs === undefined ? "" : formatDelay(hop.delayMs),
    ].map(clean)
  );
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => [...row[i]!].length))
  );
  const line = (cells: string[]) =>
    cells.map((cell, i) =>
      i === cells.length - 1
        ? cell
        : cell + " ".repeat(widths[i]! - [...cell].length)
    ).join("  ").trimEnd();
  const out = [line(header), ...rows.map(line), ""];
  const dated = hops.filter((h) => h.field.date !== undefined);
  const last = dated.at(-1);
  if (dated.length >= 2 && last?.elapsedMs !== undefined) {
    out.push(
      `total: ${formatDelay(last.elapsedMs)} from hop ${
        dated[0]!.index
      } to hop ${last.index}`,
    );
  } else {
    out.push("total: unknown (fewer than two dated hops)");
  }
  for (const hop of hops) {
    const previous = hops[hop.index - 2];
    if (hop.link === "broken" && previous) {
      out.push(clean(
        `hop ${hop.index}: from ${
          sender(hop)
        }, but hop ${previous.index} was received by ${receiver(previous)}`,
      ));
    }
    if (hop.clockSkew && hop.delayMs !== undefined) {
      out.push(
        `hop ${hop.index}: dated ${
          formatDelay(-hop.delayMs).slice(1)
        } before hop ${hop.index - 1} (clock skew)`,
      );
    }
  }
  return out.join("\n") + "\n";
}
