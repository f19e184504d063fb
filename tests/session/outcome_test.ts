import assert from "node:assert/strict";
import {
  allRefused,
  chunkRepliesDue,
  envelopeFailure,
  lmtpOutcome,
  MAX_REJECTED_TEXT,
  sortRecipients,
} from "../../src/session/_outcome.ts";
import type { Reply } from "../../src/protocol/reply.ts";

const reply = (code: number, text = "x"): Reply => ({
  code,
  lines: text.split("\n"),
  text,
});

Deno.test("sortRecipients sorts recipients by their RCPT replies, in order", () => {
  const outcome = sortRecipients(["a", "b", "c"], [
    reply(250),
    reply(550, "no such user"),
    reply(251),
  ]);
  assert.deepEqual(outcome.accepted, ["a", "c"]);
  assert.deepEqual(outcome.rejected.map((r) => r.recipient), ["b"]);
  assert.equal(outcome.rejected[0]!.reply.text, "no such user");
});

Deno.test("sortRecipients bounds the reply text the refused recipients keep in all", () => {
  const long = reply(550, ("line\n".repeat(1000) + "end").slice(0, 16000));
  const to = Array.from({ length: 100 }, (_, i) => `r${i}@example.com`);
  const outcome = sortRecipients(to, to.map(() => long));
  const total = outcome.rejected.reduce((n, r) => n + r.reply.text.length, 0);
  assert.ok(total <= MAX_REJECTED_TEXT + 100 * 512, String(total));
  assert.equal(outcome.rejected[0]!.reply, long);
  assert.equal(outcome.rejected.at(-1)!.reply.truncated, true);
  assert.equal(outcome.rejected.at(-1)!.reply.code, 550);
});

Deno.test("envelopeFailure fails a refused MAIL or every recipient refused, temporary only when all refusals are", () => {
  const none = { accepted: [], rejected: [] };
  assert.equal(envelopeFailure(reply(550), none)?.command, "MAIL");
  const all = sortRecipients(["a", "b"], [reply(450), reply(451)]);
  const error = envelopeFailure(reply(250), all)!;
  assert.equal(error.command, "RCPT");
  assert.equal(error.temporary, true);
  const mixed = sortRecipients(["a", "b"], [reply(450), reply(550)]);
  assert.equal(envelopeFailure(reply(250), mixed)!.temporary, false);
  const some = sortRecipients(["a", "b"], [reply(250), reply(550)]);
  assert.equal(envelopeFailure(reply(250), some), undefined);
});

Deno.test("lmtpOutcome moves a recipient refused after the data to rejected", () => {
  const rcpt = sortRecipients(["a", "b", "c"], [
    reply(250),
    reply(550),
    reply(250),
  ]);
  const after = lmtpOutcome(rcpt, [reply(250), reply(452, "mailbox full")]);
  assert.deepEqual(after.accepted, ["a"]);
  assert.deepEqual(after.rejected.map((r) => r.recipient), ["b", "c"]);
  assert.equal(allRefused(after.rejected, "DATA").command, "DATA");
});

Deno.test("chunkRepliesDue keeps at most the window of BDAT chunks in flight", () => {
  assert.equal(chunkRepliesDue(0, false, 8), 0);
  assert.equal(chunkRepliesDue(7, false, 8), 0);
  assert.equal(chunkRepliesDue(8, false, 8), 1);
  assert.equal(chunkRepliesDue(5, true, 8), 5);
});
