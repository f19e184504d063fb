import { hopsToDot } from "./hops_to_dot.ts";
import { hopsToMermaid } from "./hops_to_mermaid.ts";
import { hopsToSvg } from "./hops_to_svg.ts";
import { hopsToTable } from "./hops_to_table.ts";
import { type Hop, traceHops } from "./trace_hops.ts";

/** What the command runs with: its streams and, for a file argument, a reader. */
export interface ReceivedCommandContext {
  /** The message, when no file is named (or the file is `-`). */
  stdin: ReadableStream<Uint8Array>;
  /** Where the table, graph or JSON goes. */
  stdout: WritableStream<Uint8Array>;
  /** Where errors go. */
  stderr: WritableStream<Uint8Array>;
  /**
   * Opens a file named on the command line. Without it, a file argument is
   * a usage error.
   */
  openFile?: (path: string) => Promise<ReadableStream<Uint8Array>>;
}

const USAGE = `Usage: received [--dot | --mermaid | --svg | --json] [file.eml]

Traces the path of a message from its Received fields: one line per hop,
oldest first, with the protocol, TLS, date and delay, and the total time.
The message is read from the file, or from standard input (only its
header section is read).

  --dot      a Graphviz graph (render with dot -Tsvg)
  --mermaid  a Mermaid flowchart (for GitHub and GitLab Markdown)
  --svg      an SVG picture
  --json     the hops as JSON
  --help     this text

Exit status: 0 done; 64 usage; 66 the file cannot be read.
`;

const FORMATS: Record<string, (hops: readonly Hop[]) => string> = {
  "--table": hopsToTable,
  "--dot": hopsToDot,
  "--mermaid": hopsToMermaid,
  "--svg": hopsToSvg,
  "--json": (hops) => JSON.stringify(hops, null, 2) + "\n",
};

async function write(
  stream: WritableStream<Uint8Array>,
  text: string,
): Promise<void> {
  const writer = stream.getWriter();
  try {
    await writer.write(new TextEncoder().encode(text));
  } finally {
    writer.releaseLock();
  }
}

/**
 * Runs the `received` command: reads a message (a file, or standard input),
 * traces its hops with {@linkcode traceHops} and prints them as a table
 * ({@linkcode hopsToTable}), or with `--dot`, `--mermaid`, `--svg` or
 * `--json` as a graph, a picture or data. It uses Web streams only; the
 * `./received` entry point runs it with Deno's standard streams.
 *
 * @param args The arguments, without the program name.
 * @param context The standard streams, and how to open a file argument.
 * @returns The exit status: 0, or 64 for a usage error, 66 when the file
 * cannot be read.
 *
 * @example Tracing a message held in memory
 * ```ts
 * import { main } from "@x/sendmail/received";
 *
 * const message =
 *   "Received: from relay.example (relay.example [192.0.2.5]) by mx.example\r\n" +
 *   "\twith ESMTPS id 2; Mon, 2 Mar 2026 10:00:07 +0000\r\n\r\n";
 * const status = await main(["--mermaid"], {
 *   stdin: ReadableStream.from([new TextEncoder().encode(message)]),
 *   stdout: new WritableStream({ write: (chunk) => console.log(new TextDecoder().decode(chunk)) }),
 *   stderr: new WritableStream(),
 * });
 * console.log(status); // 0
 * ```
 */
export async function main(
  args: readonly string[],
  context: ReceivedCommandContext,
): Promise<number> {
  let format = "--table";
  let chosen = false;
  let file: string | undefined;
  for (const arg of args) {
    if (arg === "--help" || arg === "-h") {
      await write(context.stdout, USAGE);
      return 0;
    }
    if (arg in FORMATS) {
      if (chosen && arg !== format) {
        await write(
          context.stderr,
          `received: ${format} and ${arg} cannot be given together\n`,
        );
        return 64;
      }
      format = arg;
      chosen = true;
    } else if (arg.startsWith("-") && arg !== "-") {
      await write(
        context.stderr,
        `received: unknown option ${JSON.stringify(arg)}\n${USAGE}`,
      );
      return 64;
    } else if (file === undefined) {
      file = arg;
    } else {
      await write(context.stderr, "received: give at most one file\n");
      return 64;
    }
  }
  let input = context.stdin;
  if (file !== undefined && file !== "-") {
    if (context.openFile === undefined) {
      await write(context.stderr, "received: cannot open files here\n");
      return 64;
    }
    try {
      input = await context.openFile(file);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      await write(
        context.stderr,
        `received: cannot read ${JSON.stringify(file)}: ${why}\n`,
      );
      return 66;
    }
  }
  const hops = await traceHops(input);
  await write(context.stdout, FORMATS[format]!(hops));
  return 0;
}
