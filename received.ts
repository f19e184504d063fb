/**
 * `Received:` fields: parse them as real servers write them, write them as
 * a server prepends them, and trace the path of a message hop by hop, with
 * the delay of each hop, as a table, a Graphviz or Mermaid graph, or an
 * SVG picture.
 *
 * ```sh
 * deno run jsr:@x/sendmail/received < message.eml           # a table
 * deno run jsr:@x/sendmail/received --svg < message.eml > path.svg
 * ```
 *
 * @example Parsing one field
 * ```ts
 * import { parseReceived } from "@x/sendmail/received";
 *
 * const field = parseReceived(
 *   "from mail.example.org (mail.example.org [192.0.2.10])\r\n" +
 *     "\tby mx.example.net (Postfix) with ESMTPS id 4F1B2C3D\r\n" +
 *     "\tfor <ada@example.net>; Thu, 24 Sep 2026 10:00:05 +0000",
 * );
 * console.log(field.from?.ip, field.by?.name, field.date?.toISOString());
 * ```
 *
 * @module
 */
import { main } from "./src/received/main.ts";

export type {
  ReceivedBy,
  ReceivedField,
  ReceivedFieldInit,
  ReceivedFrom,
  ReceivedTls,
} from "./src/received/received_field.ts";
export { parseReceived } from "./src/received/parse_received.ts";
export { formatReceived } from "./src/received/format_received.ts";
export {
  type Hop,
  type HopLink,
  traceHops,
} from "./src/received/trace_hops.ts";
export { hopsToTable } from "./src/received/hops_to_table.ts";
export { hopsToDot } from "./src/received/hops_to_dot.ts";
export { hopsToMermaid } from "./src/received/hops_to_mermaid.ts";
export { hopsToSvg } from "./src/received/hops_to_svg.ts";
export { main, type ReceivedCommandContext } from "./src/received/main.ts";

if (import.meta.main) {
  Deno.exit(
    await main(Deno.args, {
      stdin: Deno.stdin.readable,
      stdout: Deno.stdout.writable,
      stderr: Deno.stderr.writable,
      openFile: async (path) => (await Deno.open(path)).readable,
    }),
  );
}
