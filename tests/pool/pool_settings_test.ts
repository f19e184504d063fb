// The pool's pure decisions: its options, when a send is retried, which
// replies mean "slow down" and how long it pauses.

import assert from "node:assert/strict";
import { SmtpError } from "../../mod.ts";
import {
  clientOptionsOf,
  isThrottling,
  replayable,
  resolvePoolSettings,
  retryable,
  throttlePause,
} from "../../src/pool/_pool_settings.ts";

Deno.test("resolvePoolSettings applies the defaults: 5 connections, 100 messages each, 30 s idle, no rate limit", () => {
  assert.deepEqual(resolvePoolSettings({}), {
    maxConnections: 5,
    maxMessagesPerConnection: 100,
    idleTimeout: 30_000,
    rateLimit: undefined,
  });
  assert.deepEqual(
    resolvePoolSettings({
      maxConnections: 1,
      maxMessagesPerConnection: 1,
      idleTimeout: 0,
      rateLimit: { messages: 1, per: 0.5 },
    }),
    {
      maxConnections: 1,
      maxMessagesPerConnection: 1,
      idleTimeout: 0,
      rateLimit: { messages: 1, per: 0.5 },
    },
  );
});

Deno.test("resolvePoolSettings throws RangeError for counts that are not integers ≥ 1, a negative idleTimeout, messages < 1 and per ≤ 0", () => {
  const bad: Record<string, unknown>[] = [
    { maxConnections: 0 },
    { maxConnections: -1 },
    { maxConnections: 1.5 },
    { maxConnections: NaN },
    { maxConnections: Infinity },
    { maxMessagesPerConnection: 0 },
    { maxMessagesPerConnection: 2.5 },
    { maxMessagesPerConnection: Infinity },
    { idleTimeout: -1 },
    { idleTimeout: -Infinity },
    { idleTimeout: 2 ** 31 },
    { rateLimit: { messages: 0, per: 1000 } },
    { rateLimit: { messages: 1.5, per: 1000 } },
    { rateLimit: { messages: 1, per: 0 } },
    { rateLimit: { messages: 1, per: -5 } },
    { rateLimit: { messages: 1, per: NaN } },
  ];
  for (const options of bad) {
    assert.throws(
      () => resolvePoolSettings(options),
      RangeError,
      JSON.stringify(options),
    );
  }
});

Deno.test("resolvePoolSettings throws TypeError for values of the wrong type", () => {
  const bad: Record<string, unknown>[] = [
    { maxConnections: "5" },
    { maxMessagesPerConnection: null },
    { idleTimeout: "30s" },
    { idleTimeout: NaN },
    { rateLimit: 10 },
    { rateLimit: null },
    { rateLimit: { messages: 10 } },
    { rateLimit: { messages: "10", per: 1000 } },
    { rateLimit: { messages: 10, per: 1000, burst: 5 } },
  ];
  for (const options of bad) {
    assert.throws(
      () => resolvePoolSettings(options),
      TypeError,
      JSON.stringify(options),
    );
  }
});

Deno.test("clientOptionsOf keeps every client option and drops the pool's", () => {
  const connect = () => Promise.reject(new Error("unused"));
  assert.deepEqual(
    clientOptionsOf({
      hostname: "mx.test",
      port: 2525,
      connect,
      maxConnections: 2,
      maxMessagesPerConnection: 3,
      idleTimeout: 4,
      rateLimit: { messages: 1, per: 1 },
    }),
    { hostname: "mx.test", port: 2525, connect },
  );
});

const lost = (command: string, maybeDelivered = false) =>
  new SmtpError(
    `Cannot complete ${command}: the server closed the connection`,
    {
      kind: "connection",
      command,
      maybeDelivered,
    },
  );
const reply = (code: number, enhancedCode?: string, text = "no") => ({
  code,
  ...(enhancedCode ? { enhancedCode } : {}),
  lines: [text],
  text,
});

Deno.test("retryable allows a retry when the connection was lost before any data was written", () => {
  assert.equal(retryable(lost("MAIL"), "queued", true), true);
  assert.equal(retryable(lost("MAIL"), "envelope", true), true);
  assert.equal(retryable(lost("RCPT"), "envelope", true), true);
});

Deno.test("retryable refuses a retry once data was written, when the server may have the message, or when the connection still works", () => {
  assert.equal(retryable(lost("DATA"), "data", true), false);
  assert.equal(retryable(lost("DATA", true), "sent", true), false);
  assert.equal(retryable(lost("MAIL", true), "envelope", true), false);
  // A refusal on a working connection is the message's own failure.
  const refused = new SmtpError("Cannot send RCPT TO: server replied 550", {
    reply: reply(550, "5.1.1"),
    command: "RCPT",
  });
  assert.equal(retryable(refused, "envelope", false), false);
  assert.equal(retryable(lost("MAIL"), "envelope", false), false);
  // Not an SmtpError: misuse, a failing message source, an abort reason.
  assert.equal(retryable(new TypeError("bad"), "queued", true), false);
  assert.equal(
    retryable(new DOMException("x", "AbortError"), "queued", true),
    false,
  );
});

Deno.test("retryable allows a retry after a 421 to MAIL even when a BDAT chunk went with it", () => {
  const closing = new SmtpError("Cannot send MAIL: server is closing", {
    reply: reply(421, "4.3.2", "shutting down"),
    command: "MAIL",
  });
  assert.equal(retryable(closing, "sent", true), true);
  // A 421 to the end of the data: not the MAIL's.
  const atEnd = new SmtpError("Cannot send BDAT: server is closing", {
    reply: reply(421, "4.3.2", "shutting down"),
    command: "BDAT",
  });
  assert.equal(retryable(atEnd, "sent", true), false);
});

Deno.test("replayable is false only for a message given as a stream", () => {
  const stream = () => new ReadableStream<Uint8Array>();
  const envelope = { from: "a@example.com", to: ["b@example.com"] };
  assert.equal(replayable({ envelope, raw: "x" }), true);
  assert.equal(replayable({ envelope, raw: new Uint8Array(1) }), true);
  assert.equal(replayable({ envelope, raw: new Blob(["x"]) }), true);
  assert.equal(replayable({ envelope, raw: stream() }), false);
  assert.equal(replayable({ from: "a@example.com", text: "x" }), true);
  assert.equal(
    replayable({
      from: "a@example.com",
      attachments: [{ filename: "a.txt", content: new Blob(["x"]) }],
    }),
    true,
  );
  assert.equal(
    replayable({
      from: "a@example.com",
      attachments: [{ filename: "a.txt", content: stream() }],
    }),
    false,
  );
});

Deno.test("isThrottling recognises 421, 451 and 454 with a 4.7.x code, or saying 'too many' without one", () => {
  assert.equal(isThrottling(reply(421, "4.7.0", "Too many connections")), true);
  assert.equal(isThrottling(reply(451, "4.7.1", "Try again later")), true);
  assert.equal(
    isThrottling(reply(454, "4.7.0", "Temporary auth failure")),
    true,
  );
  assert.equal(isThrottling(reply(451, "4.7.500", "Server busy")), true);
  assert.equal(
    isThrottling(reply(421, undefined, "Too many concurrent SMTP connections")),
    true,
  );
  assert.equal(
    isThrottling(reply(451, undefined, "Rate limit exceeded")),
    true,
  );
  // Not a request to slow down.
  assert.equal(
    isThrottling(reply(421, "4.3.2", "System shutting down")),
    false,
  );
  assert.equal(isThrottling(reply(451, "4.3.0", "Local error")), false);
  assert.equal(isThrottling(reply(450, "4.7.1", "Greylisted")), false);
  assert.equal(isThrottling(reply(550, "5.7.1", "Too many")), false);
  assert.equal(isThrottling(reply(421, undefined, "closing")), false);
  assert.equal(isThrottling(undefined), false);
});

Deno.test("throttlePause doubles from 1 s to at most 60 s", () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 8, 100].map(throttlePause),
    [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000],
  );
});
