// PLAIN (RFC 4616).

import assert from "node:assert/strict";
import { fromBase64 } from "../../src/protocol/_base64.ts";
import { startSasl } from "../../src/sasl/_sasl.ts";
import { assertSmtpError, password, unb64 } from "./_helpers.ts";

Deno.test("startSasl() PLAIN sends the RFC 4616 initial response", async () => {
  const session = await startSasl(password, "PLAIN", "localhost", 587);
  assert.equal(session.mechanism, "PLAIN");
  assert.equal(session.initialResponse, "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
  assert.equal(unb64(session.initialResponse), "\0tim\0tanstaaftanstaaf");
});

Deno.test("startSasl() PLAIN encodes non-ASCII credentials as UTF-8", async () => {
  const session = await startSasl(
    { username: "josé@exämple.com", password: "пароль 🔑" },
    "PLAIN",
    "localhost",
    587,
  );
  assert.deepEqual(
    fromBase64(session.initialResponse!),
    new TextEncoder().encode("\0josé@exämple.com\0пароль 🔑"),
  );
});

Deno.test("SaslSession.respond() rejects any challenge after the PLAIN initial response", async () => {
  const session = await startSasl(password, "PLAIN", "localhost", 587);
  await assert.rejects(
    session.respond(""),
    (e) => assertSmtpError(e, "protocol", /^Unexpected PLAIN challenge/),
  );
});

Deno.test("startSasl() PLAIN sends a long initial response after an empty challenge", async () => {
  const long = { username: "u", password: "p".repeat(600) };
  const session = await startSasl(long, "PLAIN", "localhost", 587);
  assert.equal(session.initialResponse, undefined);
  const answer = await session.respond("");
  assert.equal(unb64(answer), `\0u\0${"p".repeat(600)}`);
  await assert.rejects(
    session.respond(""),
    (e) => assertSmtpError(e, "protocol"),
  );
});
