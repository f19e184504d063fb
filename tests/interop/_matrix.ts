/**
 * The real-server matrix: shared payloads, delivery checks and the result
 * record. Each `matrix_*_test.ts` starts its servers once, in one test, and
 * runs one step per cell (server × mode × mechanism × client) through
 * {@linkcode matrixStep}; with `SENDMAIL_MATRIX_OUT` set, every step appends
 * one JSON line to that file, from which `deno task matrix` (matrix_report.ts)
 * writes the README's table.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { RawMessage, SmtpLogEvent, SmtpLogger } from "../../mod.ts";

/** One cell of the matrix, as the README table shows it. */
export interface MatrixCell {
  /** The server and its version, e.g. `Postfix 3.7.11 + Dovecot 2.3.19`. */
  server: string;
  /** How the client connects: `plain`, `STARTTLS`, `implicit TLS`, with what the server offers. */
  mode: string;
  /** The SASL mechanism, or `none`. */
  mechanism: string;
  /** The client: `SmtpClient`, `sendmail()`, or an independent one. */
  client: string;
  /** What was sent: `test message`, `5 MiB`, … */
  payload: string;
  /**
   * The open issue this cell reproduces: a failure of the step is then
   * recorded as `known bug` (the step still fails).
   */
  knownBug?: string;
}

/** One line of the result file. */
export interface MatrixResult extends MatrixCell {
  /** What the server's log or transcript shows was used. */
  used: string[];
  /** `pass`, `fail`, or `known bug` (a failing reproduction, see `note`). */
  result: "pass" | "fail" | "known bug";
  /** Why, for a failure or a known bug. */
  note?: string;
  /** The step's name. */
  name: string;
  /** How long the step took, in ms. */
  ms: number;
}

/** What a cell's check returns: the extensions seen used. */
export interface CellOutcome {
  /** Extensions and commands the server's log (or the transcript) shows. */
  used: string[];
  /** Something worth a note in the table (an answer of the server). */
  note?: string;
  /** The server's EHLO (or LHLO) keywords in this mode, after TLS if any. */
  offered?: string[];
}

function record(result: MatrixResult): void {
  const file = Deno.env.get("SENDMAIL_MATRIX_OUT");
  if (!file) return;
  Deno.writeTextFileSync(file, JSON.stringify(result) + "\n", {
    append: true,
  });
}

/**
 * Runs one cell as a test step and records its outcome.
 *
 * @param t The test's context.
 * @param name The step's name ("Symbol does X when Y").
 * @param cell The cell.
 * @param fn The check; it returns what was used.
 * @returns Whether the step passed.
 */
export async function matrixStep(
  t: Deno.TestContext,
  name: string,
  cell: MatrixCell,
  fn: () => Promise<CellOutcome>,
): Promise<boolean> {
  return await t.step(name, async () => {
    const start = performance.now();
    try {
      const outcome = await fn();
      record({
        ...cell,
        ...outcome,
        result: "pass",
        name,
        ms: Math.round(performance.now() - start),
      });
    } catch (error) {
      record({
        ...cell,
        used: [],
        result: cell.knownBug ? "known bug" : "fail",
        note: firstLine(error),
        name,
        ms: Math.round(performance.now() - start),
      });
      throw error;
    }
  });
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const line = text.split("\n")[0]!;
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
}

const encoder = new TextEncoder();

/**
 * The test message: header fields a server keeps as they are (Date and
 * Message-ID given, so none is added), a raw UTF-8 Subject, and a body with
 * every line a server or client gets wrong: lines starting with ".", a line
 * that is only ".", a 998-octet line (the RFC 5321 limit, CRLF not
 * counted), UTF-8 in several scripts. CRLF throughout, ending in CRLF: what
 * the server must deliver is exactly this.
 */
export const TEST_MESSAGE: string = [
  "From: Sender <sender@example.com>",
  "To: Rcpt <rcpt@example.com>",
  "Subject: Matrix =?utf-8?q?t=C3=A9st?= and raw UTF-8: Grüße",
  "Date: Tue, 01 Dec 2026 12:00:00 +0000",
  "Message-ID: <matrix-test@example.com>",
  "MIME-Version: 1.0",
  "Content-Type: text/plain; charset=utf-8",
  "Content-Transfer-Encoding: 8bit",
  "",
  ".leading dot",
  "..two leading dots",
  ".",
  "a line after a lone dot",
  " . space dot",
  "x".repeat(990) + "=998 end",
  "UTF-8: Grüße, привет, 你好, ✉️",
  "",
  "last line",
  "",
].join("\r\n");

/**
 * A message of about `size` octets: the headers of {@linkcode TEST_MESSAGE}
 * and 76-character lines, every 97th starting with "." and every 1009th
 * with "..", deterministic. CRLF throughout, ending in CRLF.
 *
 * @param size The approximate size. @default {5 MiB}
 * @returns The message.
 */
export function bigMessage(size = 5 * 1024 * 1024): string {
  const head = TEST_MESSAGE.slice(0, TEST_MESSAGE.indexOf("\r\n\r\n") + 4);
  const lines: string[] = [];
  let length = head.length;
  for (let i = 0; length < size; i++) {
    const prefix = i % 1009 === 0 ? ".." : i % 97 === 0 ? "." : "";
    const line = (prefix + `line ${i} ` + "abcdefghij".repeat(8)).slice(0, 76);
    lines.push(line);
    length += line.length + 2;
  }
  return head + lines.join("\r\n") + "\r\n";
}

/**
 * A raw message for the matrix's envelope.
 *
 * @param text The message.
 * @param to The recipients. @default {["rcpt@example.com"]}
 * @returns The raw message.
 */
export function rawMessage(
  text: string,
  to: string[] = ["rcpt@example.com"],
): RawMessage {
  return { envelope: { from: "sender@example.com", to }, raw: text };
}

/**
 * Asserts that a delivered message is the sent one, byte for byte, behind
 * the trace fields the server prepends: `delivered` must be some fields
 * named in `trace`, then exactly `sent` (its line ends turned into
 * `lineEnd` when the server stores LF). Reports the first differing octet
 * rather than a 5 MiB diff.
 *
 * @param delivered The stored message.
 * @param sent The message given to the client (CRLF).
 * @param lineEnd How the server stores line ends.
 * @param trace The field names the server may add on top.
 */
export function assertDelivered(
  delivered: string,
  sent: string,
  lineEnd: "\n" | "\r\n",
  trace: string[] = ["Received", "Return-Path", "Delivered-To"],
): void {
  const expected = lineEnd === "\n" ? sent.replaceAll("\r\n", "\n") : sent;
  const firstLine = expected.slice(0, expected.indexOf(lineEnd) + 1);
  const start = delivered.indexOf(firstLine);
  assert.ok(
    start >= 0,
    `The sent message's first line is not in the delivered one: ${
      JSON.stringify(delivered.slice(0, 200))
    }`,
  );
  const got = delivered.slice(start);
  if (got !== expected) {
    let i = 0;
    while (i < got.length && got[i] === expected[i]) i++;
    assert.fail(
      `Delivered ${got.length} characters for the ${expected.length} sent, ` +
        `differing at ${i}: sent ${
          JSON.stringify(expected.slice(Math.max(0, i - 30), i + 30))
        }, delivered ${JSON.stringify(got.slice(Math.max(0, i - 30), i + 30))}`,
    );
  }
  const names = delivered.slice(0, start).split(lineEnd)
    .filter((line) => line !== "" && !/^[ \t]/.test(line))
    .map((line) => line.slice(0, line.indexOf(":")));
  for (const name of names) {
    assert.ok(
      trace.includes(name),
      `The server added "${name}:" on top of the message, not a trace field`,
    );
  }
  assert.ok(names.includes("Received"), "The server added no Received field");
}

/** The session transcript, with what it shows about the client's use of the server. */
export class Transcript {
  /** Every event, in order. */
  readonly events: SmtpLogEvent[] = [];
  /** Pass it as the client's `logger`. */
  readonly logger: SmtpLogger = (event) => {
    this.events.push(event);
  };

  /** The client's lines (credentials redacted by the client). */
  get sent(): string[] {
    return this.events.filter((e) => e.type === "client").map((e) => e.text);
  }

  /** The verbs the client sent, each once, in first-use order. */
  get verbs(): string[] {
    return [...new Set(this.sent.map((line) => line.split(" ")[0]!))];
  }

  /**
   * Whether the client sent a command while the reply to an earlier one was
   * still due (pipelining), counting each final reply line (`ddd ` or a bare
   * `ddd`) as one answer. The end of DATA's content (the client's note
   * "N octets of message data sent") awaits a reply too; BDAT chunks are
   * commands of their own.
   */
  get pipelined(): boolean {
    return this.ahead.some((line) => !isQuitBehindData(line));
  }

  /** Whether QUIT went out while the reply to the message data was due. */
  get quitBehindData(): boolean {
    return this.ahead.some(isQuitBehindData);
  }

  /**
   * What the extensions column says of the client's side: `PIPELINING` when
   * it pipelined, and `QUIT behind the data` when it sent QUIT before the
   * message's reply (what sendmail() does, issue 11 item 0).
   */
  get usedByClient(): string[] {
    return [
      ...(this.pipelined ? ["PIPELINING"] : []),
      ...(this.quitBehindData ? ["QUIT behind the data"] : []),
    ];
  }

  /** The lines sent ahead of a reply, each with the line awaiting one. */
  get ahead(): { text: string; after: string }[] {
    const ahead: { text: string; after: string }[] = [];
    const due: string[] = [];
    let greeting = true;
    for (const { type, text } of this.events) {
      if (type === "server") {
        if (/^\d{3}(?: |$)/.test(text)) {
          if (greeting) greeting = false;
          else due.shift();
        }
      } else if (type === "client") {
        if (due.length > 0 && text !== "[redacted]") {
          ahead.push({ text, after: due.at(-1)! });
        }
        due.push(text);
      } else if (/^\d+ octets of message data sent$/.test(text)) {
        due.push("DATA (end of data)");
      }
    }
    return ahead;
  }

  /**
   * The keyword lines of the server's last EHLO or LHLO reply (its first
   * line, the greeting name, left out): what it offers in this mode.
   */
  get ehlo(): string[] {
    let start = -1;
    this.events.forEach((e, i) => {
      if (e.type === "client" && /^(EHLO|LHLO) /.test(e.text)) start = i;
    });
    const lines: string[] = [];
    for (const e of this.events.slice(start + 1)) {
      if (e.type !== "server") continue;
      lines.push(e.text.slice(4));
      if (!/^\d{3}-/.test(e.text)) break;
    }
    return lines.slice(1);
  }

  /** The final reply lines of the server, in order. */
  get replies(): string[] {
    return this.events.filter((e) =>
      e.type === "server" && /^\d{3}(?: |$)/.test(e.text)
    ).map((e) => e.text);
  }
}

function isQuitBehindData(line: { text: string; after: string }): boolean {
  return line.text === "QUIT" && /^(DATA|BDAT)/.test(line.after);
}

/**
 * Waits until `check` returns something, polling every 50 ms (for logs a
 * server writes after the client has gone).
 *
 * @param check Returns the value when ready.
 * @param what For the timeout error.
 * @param timeoutMs How long. @default {10000}
 * @returns What `check` returned.
 */
export async function eventually<T>(
  check: () => T | undefined | Promise<T | undefined>,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Runs a command and returns its stdout, for version strings.
 *
 * @param command The executable.
 * @param args Its arguments.
 * @returns Its trimmed stdout (stderr when stdout is empty), or `"unknown"`.
 */
export async function commandOutput(
  command: string,
  args: string[],
): Promise<string> {
  try {
    const { stdout, stderr } = await new Deno.Command(command, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(stdout).trim() ||
      new TextDecoder().decode(stderr).trim();
    return text || "unknown";
  } catch {
    return "unknown";
  }
}

/**
 * Feeds bytes to a command's stdin and collects its output and status.
 *
 * @param command The executable.
 * @param args Its arguments.
 * @param input The bytes for stdin.
 * @returns The exit code, stdout and stderr.
 */
export async function runWithInput(
  command: string,
  args: string[],
  input: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(command, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(encoder.encode(input));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  return {
    code,
    stdout: new TextDecoder().decode(stdout),
    stderr: new TextDecoder().decode(stderr),
  };
}
