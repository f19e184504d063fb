// OAUTHBEARER (RFC 7628).

import assert from "node:assert/strict";
import { startSasl } from "../../src/sasl/_sasl.ts";
import { assertSmtpError, unb64 } from "./_helpers.ts";

Deno.test("startSasl() OAUTHBEARER matches the RFC 7628 example", async () => {
  const session = await startSasl(
    {
      username: "user@example.com",
      accessToken: "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==",
    },
    "OAUTHBEARER",
    "server.example.com",
    143,
  );
  assert.equal(
    session.initialResponse,
    "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB",
  );
});

Deno.test("SaslSession.respond() acknowledges the RFC 7628 error challenge with 0x01", async () => {
  // The RFC's token: a short one ("tok") would be redacted from the report
  // wherever it appears ("invalid_[redacted]en").
  const session = await startSasl(
    {
      username: "user@example.com",
      accessToken: "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==",
    },
    "OAUTHBEARER",
    "server.example.com",
    587,
  );
  const challenge =
    "eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NvcGUiOiJleGFtcGxlX3Njb3BlIiwib3BlbmlkLWNvbmZpZ3VyYXRpb24iOiJodHRwczovL2V4YW1wbGUuY29tLy53ZWxsLWtub3duL29wZW5pZC1jb25maWd1cmF0aW9uIn0=";
  assert.equal(await session.respond(challenge), "AQ==");
  assert.deepEqual(JSON.parse(session.serverError!), {
    status: "invalid_token",
    scope: "example_scope",
    "openid-configuration":
      "https://example.com/.well-known/openid-configuration",
  });
  await assert.rejects(
    session.respond(challenge),
    (e) => assertSmtpError(e, "protocol"),
  );
});

Deno.test("startSasl() OAUTHBEARER escapes , and = in the user name", async () => {
  const session = await startSasl(
    { username: "a,b=c@example.com", accessToken: "tok" },
    "OAUTHBEARER",
    "mx.example.com",
    465,
  );
  assert.equal(
    unb64(session.initialResponse!),
    "n,a=a=2Cb=3Dc@example.com,\x01host=mx.example.com\x01port=465\x01auth=Bearer tok\x01\x01",
  );
});
