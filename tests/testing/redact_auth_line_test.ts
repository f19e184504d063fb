import assert from "node:assert/strict";
import { REDACTED } from "../../src/protocol/_redacted.ts";
import { redactAuthLine } from "../../src/testing/_redact_auth_line.ts";

Deno.test("redactAuthLine() hides the initial response of an AUTH command", () => {
  assert.equal(
    redactAuthLine("AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm"),
    "AUTH PLAIN [redacted]",
  );
  assert.equal(
    redactAuthLine("auth xoauth2 dXNlcj0="),
    "auth xoauth2 [redacted]",
  );
  assert.equal(redactAuthLine("AUTH LOGIN"), "AUTH LOGIN");
  assert.equal(
    redactAuthLine("MAIL FROM:<a@example.com>"),
    "MAIL FROM:<a@example.com>",
  );
  assert.equal(REDACTED, "[redacted]");
});
