// What every mechanism shares: the initial response on the AUTH line or held
// back, base64 challenges, and never revealing credentials.

import assert from "node:assert/strict";
import { type SaslSession, startSasl } from "../../src/sasl/_sasl.ts";
import { assertSmtpError, b64, password, token } from "./_helpers.ts";

Deno.test("startSasl() keeps the initial response on the AUTH line up to 512 octets", async () => {
  // "AUTH PLAIN " is 11 characters; 499 base64 characters fill the line to 510.
  // 372 bytes encode to 496 characters; 375 bytes to 500.
  const fits = await startSasl(
    { username: "u", password: "p".repeat(372 - 3) },
    "PLAIN",
    "h",
    1,
  );
  assert.equal(`AUTH PLAIN ${fits.initialResponse}`.length, 507);
  const over = await startSasl(
    { username: "u", password: "p".repeat(375 - 3) },
    "PLAIN",
    "h",
    1,
  );
  assert.equal(over.initialResponse, undefined);
});

Deno.test("SaslSession.respond() refuses a non-empty first challenge when the initial response was held back", async () => {
  const session = await startSasl(
    { username: "u", password: "p".repeat(600) },
    "PLAIN",
    "localhost",
    587,
  );
  await assert.rejects(
    session.respond(b64("Password:")),
    (e) =>
      assertSmtpError(
        e,
        "protocol",
        /^Unexpected PLAIN challenge: "Password:"/,
      ),
  );
});

Deno.test("SaslSession.respond() rejects a challenge that is not base64", async () => {
  const sessions: SaslSession[] = [
    await startSasl(password, "PLAIN", "h", 587),
    await startSasl(password, "LOGIN", "h", 587),
    await startSasl(password, "CRAM-MD5", "h", 587),
    await startSasl(token, "XOAUTH2", "h", 587),
    await startSasl(token, "OAUTHBEARER", "h", 587),
  ];
  for (const session of sessions) {
    for (const garbage of ["Username:", "not base64!", "VXNlcm5hbWU6$"]) {
      await assert.rejects(
        session.respond(garbage),
        (e) =>
          assertSmtpError(
            e,
            "protocol",
            new RegExp(
              `^Cannot authenticate with ${session.mechanism}: server sent a challenge that is not base64`,
            ),
          ),
        `${session.mechanism} ${garbage}`,
      );
    }
  }
});

Deno.test("SaslSession does not reveal credentials when inspected or serialised", async () => {
  for (const mechanism of ["PLAIN", "LOGIN", "CRAM-MD5"] as const) {
    const session = await startSasl(password, mechanism, "h", 587);
    for (const text of [Deno.inspect(session), JSON.stringify(session)]) {
      assert.doesNotMatch(text, /tanstaaf|AHRpbQB0YW5z/);
      assert.match(text, new RegExp(mechanism));
    }
  }
});

Deno.test("SaslSession.respond() quotes an unexpected challenge with control characters replaced", async () => {
  const session = await startSasl(password, "CRAM-MD5", "h", 587);
  await assert.rejects(
    session.respond(""),
    (e) =>
      assertSmtpError(e, "protocol", /^Unexpected CRAM-MD5 challenge: ""$/),
  );
  const login = await startSasl(password, "LOGIN", "h", 587);
  await assert.rejects(
    login.respond(b64("Password:\x1b[31m\r\n")),
    (e) =>
      assertSmtpError(
        e,
        "protocol",
        /^Unexpected LOGIN challenge: "Password:\uFFFD\[31m\uFFFD\uFFFD"$/,
      ),
  );
});

Deno.test("SaslSession.respond() quotes no challenge once a secret was sent", async () => {
  const cases: [SaslSession, string[], RegExp][] = [
    [await startSasl(password, "PLAIN", "h", 587), [], /the password/],
    [
      await startSasl(password, "LOGIN", "h", 587),
      [b64("Username:"), b64("Password:")],
      /the password/,
    ],
    [
      await startSasl(password, "CRAM-MD5", "h", 587),
      [b64("<1@h>")],
      /the digest/,
    ],
    [await startSasl(token, "XOAUTH2", "h", 587), [b64("{}")], /access token/],
  ];
  for (const [session, before, what] of cases) {
    for (const challenge of before) await session.respond(challenge);
    for (const echo of [b64("tanstaaftanstaaf"), "tanstaaf-tanstaaf"]) {
      await assert.rejects(
        session.respond(echo),
        (e) =>
          assertSmtpError(e, "protocol", what) &&
          !(e as Error).message.includes("tanstaaf") &&
          /not quoted/.test((e as Error).message),
        session.mechanism,
      );
    }
  }
});
