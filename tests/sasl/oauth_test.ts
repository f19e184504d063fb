// The OAuth error report (XOAUTH2, OAUTHBEARER) as error messages show it.

import assert from "node:assert/strict";
import { oauthErrorReport } from "../../src/sasl/_oauth.ts";
import { b64 } from "./_helpers.ts";

const encoder = new TextEncoder();
const TOKEN = "ya29.a0AfH6SMBx-secret";
const report = (value: unknown): string | undefined =>
  oauthErrorReport(encoder.encode(JSON.stringify(value)), TOKEN);

Deno.test("oauthErrorReport() keeps the RFC 7628 fields and Google's schemes", () => {
  const fields = {
    status: "invalid_token",
    schemes: "bearer",
    scope: "https://mail.google.com/",
    "openid-configuration": "https://example.com/.well-known/openid",
  };
  assert.equal(report(fields), JSON.stringify(fields));
});

Deno.test("oauthErrorReport() drops unknown fields and values that are not strings", () => {
  assert.equal(
    report({ status: "401", echo: "anything", scope: 42, nested: {} }),
    '{"status":"401"}',
  );
  assert.equal(report({ echo: TOKEN }), undefined);
});

Deno.test("oauthErrorReport() redacts the token, plain or base64, in the fields it keeps", () => {
  assert.equal(
    report({ status: `401 ${TOKEN}`, scope: `x${b64(TOKEN)}y` }),
    '{"status":"401 [redacted]","scope":"x[redacted]y"}',
  );
});

Deno.test("oauthErrorReport() replaces control characters and cuts long values", () => {
  const text = report({ status: "4\x1b[2J01\r\n", scope: "s".repeat(1000) })!;
  const parsed = JSON.parse(text);
  assert.equal(parsed.status, "4\uFFFD[2J01\uFFFD\uFFFD");
  assert.equal(parsed.scope, "s".repeat(200));
});

Deno.test("oauthErrorReport() gives nothing for a report that is not a JSON object", () => {
  for (const text of ["not json", "[1,2]", '"401"', "null", "{"]) {
    assert.equal(
      oauthErrorReport(encoder.encode(text), TOKEN),
      undefined,
      text,
    );
  }
});
