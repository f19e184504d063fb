import assert from "node:assert/strict";
import { checkSendOptions, planEnvelope } from "../../src/session/_envelope.ts";
import { Capabilities } from "../../src/protocol/capabilities.ts";
import { SmtpError } from "../../src/protocol/smtp_error.ts";
import type { SendOptions } from "../../src/session/send_options.ts";

function caps(...lines: string[]): Capabilities {
  return Capabilities.parse({
    code: 250,
    lines: ["mx.test", ...lines],
    text: ["mx.test", ...lines].join("\n"),
  });
}

const message = {
  from: "a@example.com",
  to: ["b@example.com", "c@example.com", "b@example.com"],
  smtputf8: false,
  eightBit: true,
  size: 1200,
};

function plan(
  capabilities: Capabilities,
  options: SendOptions = {},
  secure = true,
  overrides: Partial<typeof message> = {},
) {
  return planEnvelope({ ...message, ...overrides }, options, {
    capabilities,
    secure,
  });
}

Deno.test("planEnvelope declares SIZE and BODY=8BITMIME only when offered, and drops duplicate recipients", () => {
  const full = plan(caps("SIZE 10000", "8BITMIME"));
  assert.equal(
    full.mail.line,
    "MAIL FROM:<a@example.com> SIZE=1200 BODY=8BITMIME",
  );
  assert.deepEqual(full.to, ["b@example.com", "c@example.com"]);
  assert.deepEqual(full.rcpts.map((c) => c.line), [
    "RCPT TO:<b@example.com>",
    "RCPT TO:<c@example.com>",
  ]);
  assert.equal(plan(caps()).mail.line, "MAIL FROM:<a@example.com>");
});

Deno.test("planEnvelope refuses a message over the server's SIZE before anything is sent", () => {
  assert.throws(
    () => plan(caps("SIZE 1000")),
    (error) => error instanceof SmtpError && error.kind === "unsupported",
  );
  // SIZE 0: no fixed limit.
  assert.match(plan(caps("SIZE 0")).mail.line, /SIZE=1200/);
});

Deno.test("planEnvelope needs SMTPUTF8 for non-ASCII addresses", () => {
  assert.throws(
    () => plan(caps(), {}, true, { smtputf8: true }),
    (error) => error instanceof SmtpError && error.kind === "unsupported",
  );
  assert.match(
    plan(caps("SMTPUTF8"), {}, true, { smtputf8: true }).mail.line,
    / SMTPUTF8$/,
  );
});

Deno.test("planEnvelope writes DSN parameters when offered and notes their absence otherwise", () => {
  const options: SendOptions = {
    dsn: { ret: "hdrs", notify: ["failure", "delay"], envelopeId: "id 1" },
  };
  const withDsn = plan(caps("DSN"), options);
  assert.equal(
    withDsn.mail.line,
    "MAIL FROM:<a@example.com> RET=HDRS ENVID=id+201",
  );
  assert.equal(
    withDsn.rcpts[0]!.line,
    "RCPT TO:<b@example.com> NOTIFY=FAILURE,DELAY ORCPT=rfc822;b@example.com",
  );
  const without = plan(caps(), options);
  assert.equal(without.mail.line, "MAIL FROM:<a@example.com>");
  assert.equal(without.notes.length, 1);
});

Deno.test("planEnvelope requires TLS and the extension for REQUIRETLS", () => {
  assert.throws(
    () => plan(caps("REQUIRETLS"), { requireTls: true }, false),
    (error) => error instanceof SmtpError && error.kind === "tls",
  );
  assert.throws(
    () => plan(caps(), { requireTls: true }),
    (error) => error instanceof SmtpError && error.kind === "unsupported",
  );
  assert.match(
    plan(caps("REQUIRETLS"), { requireTls: true }).mail.line,
    / REQUIRETLS$/,
  );
});

Deno.test("checkSendOptions refuses DSN values that would reach the wire malformed", () => {
  const bad: unknown[] = [
    { dsn: { ret: "everything" } },
    { dsn: { notify: ["success", ""] } },
    { dsn: { notify: [] } },
    { dsn: { notify: ["success", "success"] } },
    { dsn: { notify: "always" } },
    { dsn: { envelopeId: "a\r\nRSET" } },
    { dsn: { envelopeId: "" } },
    { requireTls: "yes" },
    { signal: "stop" },
    "options",
  ];
  for (const options of bad) {
    assert.throws(
      () => checkSendOptions(options as SendOptions),
      TypeError,
      JSON.stringify(options),
    );
  }
  assert.throws(
    () => checkSendOptions({ dsn: { envelopeId: "x".repeat(101) } }),
    RangeError,
  );
  checkSendOptions({ dsn: { notify: "never", ret: "full" } });
});

Deno.test("planEnvelope refuses a message without recipients", () => {
  assert.throws(() => plan(caps(), {}, true, { to: [] }), TypeError);
});
