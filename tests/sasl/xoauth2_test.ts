// XOAUTH2 (Google, Microsoft).

import assert from "node:assert/strict";
import { startSasl } from "../../src/sasl/_sasl.ts";
import { assertSmtpError, b64, token, unb64 } from "./_helpers.ts";

Deno.test("startSasl() XOAUTH2 matches Google's published example", async () => {
  const session = await startSasl(
    {
      username: "someuser@example.com",
      accessToken: "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg",
    },
    "XOAUTH2",
    "smtp.gmail.com",
    587,
  );
  assert.equal(
    session.initialResponse,
    "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==",
  );
});

Deno.test("SaslSession.respond() acknowledges the XOAUTH2 error challenge with an empty line", async () => {
  const session = await startSasl(token, "XOAUTH2", "localhost", 587);
  assert.equal(
    unb64(session.initialResponse!),
    "user=user@example.com\x01auth=Bearer tok\x01\x01",
  );
  const report =
    '{"status":"401","schemes":"Bearer","scope":"https://mail.google.com/"}';
  assert.equal(session.serverError, undefined);
  assert.equal(await session.respond(b64(report)), "");
  assert.equal(session.serverError, report);
  await assert.rejects(
    session.respond(b64(report)),
    (e) => assertSmtpError(e, "protocol"),
  );
});

Deno.test("startSasl() XOAUTH2 sends a long token after an empty challenge", async () => {
  const long = "t".repeat(1500); // Microsoft tokens run to kilobytes
  const session = await startSasl(
    { username: "u@example.com", accessToken: long },
    "XOAUTH2",
    "localhost",
    587,
  );
  assert.equal(session.initialResponse, undefined);
  assert.equal(
    unb64(await session.respond("")),
    `user=u@example.com\x01auth=Bearer ${long}\x01\x01`,
  );
  assert.equal(await session.respond(b64('{"status":"401"}')), "");
  assert.equal(session.serverError, '{"status":"401"}');
});
