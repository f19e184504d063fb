// LOGIN (draft-murchison-sasl-login).

import assert from "node:assert/strict";
import { startSasl } from "../../src/sasl/_sasl.ts";
import { assertSmtpError, b64, password, unb64 } from "./_helpers.ts";

Deno.test("startSasl() LOGIN answers Username: then Password:", async () => {
  const session = await startSasl(password, "LOGIN", "localhost", 587);
  assert.equal(session.initialResponse, undefined);
  assert.equal(unb64(await session.respond("VXNlcm5hbWU6")), "tim");
  assert.equal(
    unb64(await session.respond("UGFzc3dvcmQ6")),
    "tanstaaftanstaaf",
  );
  await assert.rejects(
    session.respond("UGFzc3dvcmQ6"),
    (e) =>
      assertSmtpError(
        e,
        "protocol",
        // It may echo the password: not quoted (issue 11, item 9).
        /^Unexpected LOGIN challenge after the password was sent \(not quoted, as it may echo a secret\)$/,
      ),
  );
});

Deno.test("startSasl() LOGIN answers the prompts of other servers", async () => {
  const prompts: [string, string][] = [
    ["User Name\0", "Password\0"], // aiosmtpd
    ["username:", "password:"],
    ["Benutzername:", "Passwort:"],
    ["", ""], // no prompt text at all
  ];
  for (const [user, pass] of prompts) {
    const session = await startSasl(password, "LOGIN", "localhost", 587);
    assert.equal(unb64(await session.respond(b64(user))), "tim", user);
    assert.equal(
      unb64(await session.respond(b64(pass))),
      "tanstaaftanstaaf",
      pass,
    );
  }
});

Deno.test("SaslSession.respond() never sends the LOGIN password to a user name prompt", async () => {
  const session = await startSasl(password, "LOGIN", "localhost", 587);
  assert.equal(unb64(await session.respond("VXNlcm5hbWU6")), "tim");
  await assert.rejects(
    session.respond("VXNlcm5hbWU6"),
    (e) =>
      assertSmtpError(
        e,
        "protocol",
        /^Unexpected LOGIN challenge: "Username:"$/,
      ),
  );
});

Deno.test("SaslSession.respond() does not answer a LOGIN password prompt with the user name", async () => {
  const session = await startSasl(password, "LOGIN", "localhost", 587);
  await assert.rejects(
    session.respond("UGFzc3dvcmQ6"),
    (e) => assertSmtpError(e, "protocol", /^Unexpected LOGIN challenge/),
  );
});
