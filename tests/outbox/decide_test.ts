import assert from "node:assert/strict";
import {
  applyAttempt,
  DEFAULT_DELAYS,
  isPermanent,
  keptReply,
  needsSplit,
  resolveRetry,
  retryDelay,
} from "../../src/outbox/_decide.ts";
import type { EntryRecord } from "../../src/outbox/_store.ts";
import { SmtpError } from "../../mod.ts";
import type { Reply, SendResult } from "../../mod.ts";

const reply = (code: number, text = "text", enhancedCode?: string): Reply => ({
  code,
  ...(enhancedCode ? { enhancedCode } : {}),
  lines: [text],
  text,
});

function sending(to: string[], attempts = 1, since = 0): EntryRecord {
  return {
    version: 1,
    id: "e",
    state: "sending",
    attempts,
    createdAt: since,
    updatedAt: since,
    since,
    dueAt: since + 600_000,
    lease: "lease",
    messageId: "<m@example.com>",
    from: "app@example.com",
    to,
    recipients: to.map(() => ({ state: "pending" })),
    body: { token: "t", chunks: 1, size: 10 },
  };
}

function result(
  accepted: string[],
  rejected: [string, number][] = [],
): SendResult {
  return {
    accepted,
    rejected: rejected.map(([recipient, code]) => ({
      recipient,
      reply: reply(code),
    })),
    reply: reply(250, "queued as 1", "2.0.0"),
    envelope: { from: "app@example.com", to: accepted },
    secure: false,
  };
}

const policy = resolveRetry({ delays: [1000, 5000], maxAge: 3_600_000 });

Deno.test("resolveRetry defaults maxAttempts to the delays plus one", () => {
  assert.deepEqual(resolveRetry({ delays: [1, 2, 3] }).maxAttempts, 4);
  const defaults = resolveRetry();
  assert.deepEqual(defaults.delays, DEFAULT_DELAYS);
  assert.equal(defaults.maxAttempts, DEFAULT_DELAYS.length + 1);
  assert.equal(defaults.maxAge, 5 * 24 * 3600 * 1000);
});

Deno.test("resolveRetry refuses bad schedules", () => {
  assert.throws(() => resolveRetry({ delays: [] }), TypeError);
  assert.throws(() => resolveRetry({ delays: [-1] }), RangeError);
  assert.throws(() => resolveRetry({ delays: [NaN] }), RangeError);
  assert.throws(() => resolveRetry({ maxAttempts: 1.5 }), RangeError);
  assert.throws(() => resolveRetry({ maxAge: 0 }), RangeError);
  assert.throws(() => resolveRetry({ delay: [1] } as never), TypeError);
});

Deno.test("retryDelay repeats the last delay and adds at most 10 % of jitter", () => {
  assert.equal(retryDelay(policy, 1, 0), 1000);
  assert.equal(retryDelay(policy, 2, 0), 5000);
  assert.equal(retryDelay(policy, 7, 0), 5000);
  assert.equal(retryDelay(policy, 1, 0.999), 1100);
  assert.equal(retryDelay(policy, 1, 0.5), 1050);
});

Deno.test("applyAttempt makes an entry sent when every recipient is accepted, keeping the reply", () => {
  const { record, verdict } = applyAttempt(
    sending(["a@x.example", "b@x.example"]),
    [{
      to: ["a@x.example", "b@x.example"],
      result: result(["a@x.example", "b@x.example"]),
    }],
    100,
    policy,
    0,
  );
  assert.equal(verdict, "sent");
  assert.equal(record.state, "sent");
  assert.equal(record.settledAt, 100);
  assert.equal(record.dueAt, undefined);
  assert.equal(record.lease, undefined);
  assert.deepEqual(record.recipients.map((r) => [r.state, r.reply?.text]), [
    ["accepted", "queued as 1"],
    ["accepted", "queued as 1"],
  ]);
});

Deno.test("applyAttempt retries only the recipients refused for now", () => {
  const { record, verdict } = applyAttempt(
    sending(["ok@x.example", "busy@x.example", "gone@x.example"]),
    [{
      to: ["ok@x.example", "busy@x.example", "gone@x.example"],
      result: result(["ok@x.example"], [["busy@x.example", 450], [
        "gone@x.example",
        550,
      ]]),
    }],
    100,
    policy,
    0,
  );
  assert.equal(verdict, "retried");
  assert.equal(record.state, "queued");
  assert.equal(record.dueAt, 1100);
  assert.deepEqual(record.recipients.map((r) => [r.state, r.reply?.code]), [
    ["accepted", 250],
    ["pending", 450],
    ["rejected", 550],
  ]);
  assert.equal(record.lastError?.code, 450);
  assert.match(record.lastError!.message, /busy@x\.example/);
});

Deno.test("applyAttempt fails an entry whose only recipient is refused permanently", () => {
  const error = new SmtpError("Cannot send RCPT TO: 550", {
    reply: reply(550, "no such user", "5.1.1"),
    command: "RCPT",
  });
  const { record, verdict } = applyAttempt(
    sending(["a@x.example"]),
    [{ to: ["a@x.example"], error }],
    100,
    policy,
    0,
  );
  assert.equal(verdict, "failed");
  assert.equal(record.recipients[0]!.state, "rejected");
  assert.deepEqual(record.lastError, {
    message: "Cannot send RCPT TO: 550",
    code: 550,
    enhancedCode: "5.1.1",
    temporary: false,
  });
});

Deno.test("applyAttempt keeps the entry sent when the rest are refused after some were accepted earlier", () => {
  const earlier = sending(["a@x.example", "b@x.example"], 2);
  earlier.recipients[0] = { state: "accepted", reply: reply(250) };
  const error = new SmtpError("Cannot send RCPT TO: 550", {
    reply: reply(550),
    command: "RCPT",
  });
  const { record, verdict } = applyAttempt(
    earlier,
    [{ to: ["b@x.example"], error }],
    100,
    policy,
    0,
  );
  assert.equal(verdict, "sent");
  assert.deepEqual(record.recipients.map((r) => r.state), [
    "accepted",
    "rejected",
  ]);
});

Deno.test("applyAttempt retries a failure of the session itself, even a permanent one", () => {
  for (
    const error of [
      new SmtpError("Cannot authenticate", {
        kind: "auth",
        reply: reply(535),
        command: "AUTH",
      }),
      new SmtpError("Cannot start session", {
        reply: reply(554),
        command: "CONNECT",
        temporary: false,
      }),
      new SmtpError("Cannot send EHLO", { reply: reply(550), command: "EHLO" }),
      new SmtpError("Cannot verify", { kind: "tls" }),
      new SmtpError("refused", { kind: "connection" }),
      new Error("an HTTP API answered 503"),
    ]
  ) {
    assert.equal(isPermanent(error), false, error.message);
    const { verdict, record } = applyAttempt(
      sending(["a@x.example"]),
      [{ to: ["a@x.example"], error }],
      100,
      policy,
      0,
    );
    assert.equal(verdict, "retried", error.message);
    assert.equal(record.lastError?.temporary, true);
  }
});

Deno.test("isPermanent is true for refusals of the message and for what cannot be sent", () => {
  assert.ok(
    isPermanent(
      new SmtpError("x", { reply: reply(552), command: "DATA" }),
    ),
  );
  assert.ok(
    isPermanent(new SmtpError("x", { reply: reply(553), command: "MAIL" })),
  );
  assert.ok(isPermanent(new SmtpError("x", { kind: "unsupported" })));
  assert.ok(isPermanent(new TypeError("bad address")));
  assert.ok(
    !isPermanent(new SmtpError("x", { reply: reply(451), command: "DATA" })),
  );
});

Deno.test("applyAttempt marks maybeDuplicate when the connection failed after the data", () => {
  const error = new SmtpError("Cannot read the reply", {
    kind: "connection",
    command: "DATA",
    maybeDelivered: true,
  });
  const { record, verdict } = applyAttempt(
    sending(["a@x.example"]),
    [{ to: ["a@x.example"], error }],
    100,
    policy,
    0,
  );
  assert.equal(verdict, "retried");
  assert.equal(record.maybeDuplicate, true);
});

Deno.test("applyAttempt gives up after maxAttempts and settles what is pending as rejected", () => {
  const error = new SmtpError("x", { reply: reply(451), command: "RCPT" });
  const { record, verdict } = applyAttempt(
    sending(["a@x.example"], 3),
    [{ to: ["a@x.example"], error }],
    100,
    policy,
    0,
  );
  assert.equal(verdict, "failed");
  assert.equal(record.recipients[0]!.state, "rejected");
  assert.equal(record.lastError?.temporary, false);
  assert.match(record.lastError!.message, /gave up after 3 attempts/);
});

Deno.test("applyAttempt schedules the last attempt at maxAge and fails a failure past it", () => {
  const error = new SmtpError("x", { reply: reply(451), command: "RCPT" });
  const tight = resolveRetry({
    delays: [10_000],
    maxAttempts: 10,
    maxAge: 5000,
  });
  const first = applyAttempt(
    sending(["a@x.example"], 1, 0),
    [{ to: ["a@x.example"], error }],
    1000,
    tight,
    0,
  );
  assert.equal(first.verdict, "retried");
  assert.equal(first.record.dueAt, 5000);
  const last = applyAttempt(
    { ...sending(["a@x.example"], 2, 0) },
    [{ to: ["a@x.example"], error }],
    5000,
    tight,
    0,
  );
  assert.equal(last.verdict, "failed");
});

Deno.test("needsSplit asks for one send per recipient only when all were refused and not all for now", () => {
  const mixed = new SmtpError("x", {
    reply: reply(550),
    command: "RCPT",
    temporary: false,
  });
  const allTemporary = new SmtpError("x", {
    reply: reply(450),
    command: "RCPT",
  });
  assert.equal(needsSplit(mixed, 2), true);
  assert.equal(needsSplit(mixed, 1), false);
  assert.equal(needsSplit(allTemporary, 2), false);
  assert.equal(
    needsSplit(new SmtpError("x", { reply: reply(550), command: "MAIL" }), 2),
    false,
  );
});

Deno.test("keptReply shortens long replies and marks them truncated", () => {
  const long = {
    code: 550,
    lines: Array.from({ length: 20 }, () => "x".repeat(1000)),
    text: "",
  };
  const kept = keptReply(long);
  assert.equal(kept.lines.length, 8);
  assert.equal(kept.lines[0]!.length, 200);
  assert.equal(kept.truncated, true);
  assert.deepEqual(
    keptReply(reply(250, "ok", "2.0.0")),
    reply(250, "ok", "2.0.0"),
  );
});
