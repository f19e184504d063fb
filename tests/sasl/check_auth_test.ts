// checkAuth(): what is refused before anything is sent.

import assert from "node:assert/strict";
import { checkAuth } from "../../src/sasl/_sasl.ts";
import type { AuthMechanism } from "../../src/sasl/credentials.ts";
import { password, token } from "./_helpers.ts";

Deno.test("checkAuth() accepts SCRAM-SHA-256 and SCRAM-SHA-1 with a password", () => {
  for (const mechanism of ["SCRAM-SHA-256", "SCRAM-SHA-1"] as const) {
    checkAuth({ ...password, mechanism });
    checkAuth({ username: "jos\u00E9", password: "пароль 🔑", mechanism });
  }
});

Deno.test("checkAuth() throws TypeError for SCRAM with an access token", () => {
  for (const mechanism of ["SCRAM-SHA-256", "SCRAM-SHA-1"] as const) {
    assert.throws(
      () => checkAuth({ ...token, mechanism }),
      /^TypeError: Cannot use SCRAM-SHA-(256|1) with an access token: use OAUTHBEARER or XOAUTH2$/,
    );
  }
});

Deno.test("checkAuth() throws TypeError when SCRAM is named and SASLprep refuses the credentials", () => {
  const secret = "hunter2\tx";
  assert.throws(
    () =>
      checkAuth({
        username: "u",
        password: secret,
        mechanism: "SCRAM-SHA-256",
      }),
    (e) =>
      e instanceof TypeError &&
      /^Cannot use auth\.password with SCRAM: it holds a character SASLprep prohibits/
        .test(e.message) &&
      !e.message.includes("hunter2"),
  );
  assert.throws(
    () =>
      checkAuth({
        username: "\u05D0a",
        password: "p",
        mechanism: "SCRAM-SHA-1",
      }),
    /^TypeError: Cannot use auth\.username with SCRAM: it holds right-to-left and left-to-right characters mixed/,
  );
  // Without a mechanism named, PLAIN can still carry them.
  checkAuth({ username: "u", password: secret });
});

Deno.test("checkAuth() throws TypeError for an unknown mechanism", () => {
  for (const mechanism of ["GSSAPI", "SCRAM-SHA-256-PLUS", "scram-sha-256"]) {
    assert.throws(
      () => checkAuth({ ...password, mechanism: mechanism as AuthMechanism }),
      /^TypeError: Cannot use auth\.mechanism: unknown mechanism/,
    );
  }
});
