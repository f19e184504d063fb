/**
 * Runs the sendmail command in-process with a recording stand-in for the
 * send step, in-memory standard streams and a fake file system.
 *
 * @module
 */
import { type CliContext, main } from "../../cli.ts";
import type {
  RawMessage,
  SendOptions,
  SendResult,
  SmtpClientOptions,
} from "../../mod.ts";

/** One call of the send step, with the message bytes it read. */
export interface SentCall {
  options: SmtpClientOptions;
  envelope: RawMessage["envelope"];
  text: string;
  sendOptions: SendOptions | undefined;
}

/** What a run produced. */
export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
  sent: SentCall[];
}

export interface RunOptions
  extends Omit<CliContext, "stdin" | "stdout" | "stderr" | "send"> {
  stdin?: string | ReadableStream<Uint8Array>;
  /** Files by path; the others do not exist. */
  files?: Record<string, string>;
  /** Environment variables; nothing else is set. */
  vars?: Record<string, string>;
  /** Makes the send step not read the message (a failure before DATA). */
  skipRead?: boolean;
  /** Replaces the recorded success: throw to simulate a failure. */
  reply?: (call: SentCall) => SendResult | Promise<SendResult>;
}

function collector(): {
  stream: WritableStream<Uint8Array>;
  text: () => string;
} {
  const decoder = new TextDecoder();
  let text = "";
  return {
    stream: new WritableStream({
      write(chunk) {
        text += decoder.decode(chunk, { stream: true });
      },
    }),
    text: () => text,
  };
}

/** Runs `main(args)` and returns the status, the printed text and the sends. */
export async function runCli(
  args: string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const stdout = collector();
  const stderr = collector();
  const sent: SentCall[] = [];
  const files = options.files ?? {};
  const vars = options.vars ?? { HOME: "/home/ada", USER: "ada" };
  const stdin = options.stdin ?? "Subject: test\n\nhello\n";
  const status = await main(args, {
    hostname: () => "host.example",
    now: () => new Date(Date.UTC(2025, 10, 29, 8, 45)),
    runCommand: () => Promise.reject(new Error("no commands in this test")),
    ...options,
    stdin: typeof stdin === "string"
      ? ReadableStream.from([new TextEncoder().encode(stdin)])
      : stdin,
    stdout: stdout.stream,
    stderr: stderr.stream,
    env: (name) => vars[name],
    readTextFile: (path) =>
      path in files
        ? Promise.resolve(files[path]!)
        : Promise.reject(new Deno.errors.NotFound(`No such file: ${path}`)),
    send: async (clientOptions, message, sendOptions) => {
      const call: SentCall = {
        options: clientOptions,
        envelope: message.envelope,
        text: options.skipRead
          ? ""
          : await new Response(message.raw as ReadableStream<Uint8Array>)
            .text(),
        sendOptions,
      };
      sent.push(call);
      if (options.reply) return await options.reply(call);
      return {
        accepted: message.envelope.to,
        rejected: [],
        reply: { code: 250, lines: ["OK queued"], text: "OK queued" },
        envelope: message.envelope,
        secure: false,
      };
    },
  });
  return { status, stdout: stdout.text(), stderr: stderr.text(), sent };
}
