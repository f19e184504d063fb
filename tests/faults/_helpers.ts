/**
 * Helpers for the fault suite: short timeouts, checking the typed error,
 * and the usual opening of a scripted session.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type SmtpClientOptions,
  SmtpError,
  type SmtpErrorKind,
  type SmtpLogEvent,
} from "../../mod.ts";
import type { ScriptedConnection } from "../_harness/mod.ts";

/** Small timeouts, so a scenario that waits for one ends fast. */
export const FAST: Required<NonNullable<SmtpClientOptions["timeouts"]>> = {
  connect: 500,
  greeting: 300,
  command: 300,
  data: 300,
  dataEnd: 300,
  quit: 200,
};

/**
 * Timeouts for real servers in scenarios that test no timeout: they may be
 * slow on a first connection (Postfix starts its helper processes on
 * demand), and a hang still ends in seconds.
 */
export const REAL_SERVER: typeof FAST = {
  ...FAST,
  greeting: 10_000,
  command: 10_000,
  data: 10_000,
  dataEnd: 10_000,
};

/** What a rejection must look like. */
export interface Expected {
  kind: SmtpErrorKind;
  temporary: boolean;
  /** The verb; `undefined` asserts there is none. */
  command: string | undefined;
  /** The reply code, when the server replied. */
  code?: number;
  /** A pattern the message must match. */
  message?: RegExp;
}

/**
 * Awaits a promise that must reject with an `SmtpError` as described.
 *
 * @param promise The call.
 * @param expected Its kind, temporary flag, verb and code.
 * @returns The error, for more checks.
 */
export async function rejectsWith(
  promise: Promise<unknown>,
  expected: Expected,
): Promise<SmtpError> {
  let error: unknown;
  try {
    await promise;
  } catch (caught) {
    error = caught;
  }
  assert.ok(
    error instanceof SmtpError,
    `expected an SmtpError, got ${
      error === undefined ? "success" : String(error)
    }`,
  );
  const actual = {
    kind: error.kind,
    temporary: error.temporary,
    command: error.command,
    ...(expected.code !== undefined ? { code: error.code } : {}),
  };
  const wanted = {
    kind: expected.kind,
    temporary: expected.temporary,
    command: expected.command,
    ...(expected.code !== undefined ? { code: expected.code } : {}),
  };
  assert.deepEqual(actual, wanted, `for ${error.message}`);
  if (expected.message) assert.match(error.message, expected.message);
  return error;
}

/** Options for a plaintext session to a scripted server, fast timeouts. */
export function plain(
  server: { hostname: string; port: number },
  more: Partial<SmtpClientOptions> = {},
): SmtpClientOptions {
  return {
    hostname: server.hostname,
    port: server.port,
    tls: "none",
    timeouts: FAST,
    ...more,
  };
}

/** The default EHLO reply of scripted servers. */
export const EHLO_REPLY = "250-scripted.test\r\n250 PIPELINING\r\n";

/**
 * Greets and answers EHLO.
 *
 * @param conn The scripted connection.
 * @param ehloReply The whole EHLO reply.
 */
export async function greet(
  conn: ScriptedConnection,
  ehloReply: string = EHLO_REPLY,
): Promise<void> {
  await conn.write("220 scripted.test ESMTP\r\n");
  assert.match((await conn.readLine()) ?? "", /^EHLO /);
  await conn.write(ehloReply);
}

/**
 * Reads the client's remaining lines until it closes, answering QUIT.
 *
 * @param conn The scripted connection.
 * @returns The lines read.
 */
export async function drain(conn: ScriptedConnection): Promise<string[]> {
  const lines: string[] = [];
  for (;;) {
    const line = await conn.readLine(2000);
    if (line === null) return lines;
    lines.push(line);
    if (line === "QUIT") await conn.write("221 bye\r\n").catch(() => {});
  }
}

/** A logger collecting the transcript. */
export function transcript(): {
  events: SmtpLogEvent[];
  logger: (event: SmtpLogEvent) => void;
  text: () => string;
} {
  const events: SmtpLogEvent[] = [];
  return {
    events,
    logger: (event) => events.push(event),
    text: () => events.map((e) => `${e.type}: ${e.text}`).join("\n"),
  };
}

/** A raw message with a fixed envelope. */
export function raw(
  body: string | Uint8Array | ReadableStream<Uint8Array>,
  to: string[] = ["rcpt@example.com"],
  from = "sender@example.com",
): { envelope: { from: string; to: string[] }; raw: typeof body } {
  return { envelope: { from, to }, raw: body };
}
