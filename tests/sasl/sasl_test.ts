// startSasl(): credential checks, the access token, the mechanism against the
// credential.

import assert from "node:assert/strict";
import { startSasl } from "../../src/sasl/_sasl.ts";
import type { AuthMechanism, TokenAuth } from "../../src/sasl/credentials.ts";
import { assertSmtpError, b64, password, token, unb64 } from "./_helpers.ts";

Deno.test("startSasl() calls the accessToken function once per exchange", async () => {
  let calls = 0;
  const auth: TokenAuth = {
    username: "u@example.com",
    accessToken: async () => {
      await Promise.resolve();
      return `token${++calls}`;
    },
  };
  const first = await startSasl(auth, "XOAUTH2", "localhost", 587);
  assert.equal(calls, 1);
  assert.equal(
    unb64(first.initialResponse!),
    "user=u@example.com\x01auth=Bearer token1\x01\x01",
  );
  await first.respond(b64("{}"));
  assert.equal(calls, 1);
  const second = await startSasl(auth, "OAUTHBEARER", "localhost", 587);
  assert.equal(calls, 2);
  assert.ok(
    unb64(second.initialResponse!).endsWith("auth=Bearer token2\x01\x01"),
  );
});

Deno.test("startSasl() rejects with an auth SmtpError when the accessToken function throws", async () => {
  const cause = new Error("refresh failed");
  await assert.rejects(
    startSasl(
      { username: "u", accessToken: () => Promise.reject(cause) },
      "XOAUTH2",
      "localhost",
      587,
    ),
    (e) => assertSmtpError(e, "auth") && (e as Error).cause === cause,
  );
});

Deno.test("startSasl() throws TypeError when the access token is unusable", async () => {
  const bad: unknown[] = ["", "to\x01ken", "tok\r\nQUIT", 42];
  for (const value of bad) {
    for (const mechanism of ["XOAUTH2", "OAUTHBEARER"] as const) {
      await assert.rejects(
        startSasl(
          { username: "u", accessToken: () => value as string },
          mechanism,
          "localhost",
          587,
        ),
        TypeError,
        `${mechanism} ${JSON.stringify(value)}`,
      );
    }
  }
});

Deno.test("startSasl() throws TypeError for NUL, CR or LF in a user name or password", async () => {
  for (const mechanism of ["PLAIN", "LOGIN", "CRAM-MD5"] as const) {
    for (const bad of ["a\0b", "a\rb", "a\nb", "a\r\nAUTH PLAIN"]) {
      await assert.rejects(
        startSasl({ username: bad, password: "p" }, mechanism, "h", 587),
        TypeError,
      );
      await assert.rejects(
        startSasl({ username: "u", password: bad }, mechanism, "h", 587),
        TypeError,
      );
    }
  }
});

Deno.test("startSasl() throws TypeError for a control character in an OAuth user name", async () => {
  for (const mechanism of ["XOAUTH2", "OAUTHBEARER"] as const) {
    for (const bad of ["u\x01ser", "u\nser", "u\0ser"]) {
      await assert.rejects(
        startSasl({ username: bad, accessToken: "tok" }, mechanism, "h", 587),
        TypeError,
      );
    }
  }
});

Deno.test("startSasl() throws TypeError when the mechanism does not suit the credentials", async () => {
  for (const mechanism of ["XOAUTH2", "OAUTHBEARER"] as const) {
    await assert.rejects(startSasl(password, mechanism, "h", 587), TypeError);
  }
  for (const mechanism of ["PLAIN", "LOGIN", "CRAM-MD5"] as const) {
    await assert.rejects(startSasl(token, mechanism, "h", 587), TypeError);
  }
  await assert.rejects(
    startSasl(
      { ...password, mechanism: "GSSAPI" as AuthMechanism },
      "PLAIN",
      "h",
      587,
    ),
    TypeError,
  );
});
