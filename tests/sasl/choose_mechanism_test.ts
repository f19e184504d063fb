// chooseMechanism(): which mechanism, from the offer and the credential.

import assert from "node:assert/strict";
import { chooseMechanism, fallbackMechanism } from "../../src/sasl/_sasl.ts";
import type { SmtpError } from "../../src/protocol/smtp_error.ts";
import { assertSmtpError, password, token } from "./_helpers.ts";

Deno.test("chooseMechanism() prefers PLAIN, then LOGIN, then CRAM-MD5 over TLS", () => {
  assert.equal(
    chooseMechanism(["CRAM-MD5", "LOGIN", "PLAIN"], password, true),
    "PLAIN",
  );
  assert.equal(chooseMechanism(["CRAM-MD5", "LOGIN"], password, true), "LOGIN");
  assert.equal(
    chooseMechanism(["CRAM-MD5", "XOAUTH2"], password, true),
    "CRAM-MD5",
  );
});

Deno.test("chooseMechanism() prefers CRAM-MD5 without TLS", () => {
  assert.equal(
    chooseMechanism(["PLAIN", "LOGIN", "CRAM-MD5"], password, false),
    "CRAM-MD5",
  );
  assert.equal(chooseMechanism(["LOGIN", "PLAIN"], password, false), "PLAIN");
});

Deno.test("chooseMechanism() prefers OAUTHBEARER, then XOAUTH2 with a token", () => {
  assert.equal(
    chooseMechanism(["PLAIN", "XOAUTH2", "OAUTHBEARER"], token, true),
    "OAUTHBEARER",
  );
  assert.equal(chooseMechanism(["PLAIN", "XOAUTH2"], token, true), "XOAUTH2");
});

Deno.test("chooseMechanism() matches mechanism names in any case", () => {
  assert.equal(chooseMechanism(["login", "Plain"], password, true), "PLAIN");
  assert.equal(
    chooseMechanism(["cram-md5"], { ...password, mechanism: "CRAM-MD5" }, true),
    "CRAM-MD5",
  );
});

Deno.test("chooseMechanism() uses the mechanism named in auth when offered", () => {
  assert.equal(
    chooseMechanism(
      ["PLAIN", "LOGIN"],
      { ...password, mechanism: "LOGIN" },
      true,
    ),
    "LOGIN",
  );
  assert.equal(
    chooseMechanism(
      ["OAUTHBEARER", "XOAUTH2"],
      { ...token, mechanism: "XOAUTH2" },
      true,
    ),
    "XOAUTH2",
  );
});

Deno.test("chooseMechanism() throws an auth SmtpError naming the offer when the named mechanism is missing", () => {
  assert.throws(
    () =>
      chooseMechanism(["PLAIN", "LOGIN"], {
        ...password,
        mechanism: "CRAM-MD5",
      }, true),
    (e) =>
      assertSmtpError(
        e,
        "auth",
        /^Cannot authenticate with CRAM-MD5: server offers only "PLAIN LOGIN"$/,
      ) && !(e as SmtpError).temporary,
  );
});

Deno.test("chooseMechanism() throws an auth SmtpError when no mechanism fits the credentials", () => {
  assert.throws(
    () => chooseMechanism(["XOAUTH2", "OAUTHBEARER"], password, true),
    (e) =>
      assertSmtpError(
        e,
        "auth",
        /^Cannot authenticate with a password: server offers only "XOAUTH2 OAUTHBEARER"$/,
      ),
  );
  assert.throws(
    () => chooseMechanism(["PLAIN", "LOGIN", "GSSAPI"], token, true),
    (e) =>
      assertSmtpError(
        e,
        "auth",
        /^Cannot authenticate with an access token: server offers only "PLAIN LOGIN GSSAPI"$/,
      ),
  );
  assert.throws(
    () => chooseMechanism([], password, true),
    (e) =>
      assertSmtpError(
        e,
        "auth",
        /^Cannot authenticate: server does not offer AUTH$/,
      ),
  );
});

Deno.test("chooseMechanism() throws TypeError when the named mechanism does not suit the credentials", () => {
  assert.throws(
    () =>
      chooseMechanism(["PLAIN", "XOAUTH2"], {
        ...password,
        mechanism: "XOAUTH2",
      }, true),
    TypeError,
  );
  assert.throws(
    () =>
      chooseMechanism(
        ["PLAIN", "XOAUTH2"],
        { ...token, mechanism: "PLAIN" },
        true,
      ),
    TypeError,
  );
});

Deno.test("chooseMechanism() prefers SCRAM-SHA-256, then SCRAM-SHA-1, before PLAIN and LOGIN", () => {
  const all = ["PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256"];
  for (const secure of [true, false]) {
    assert.equal(chooseMechanism(all, password, secure), "SCRAM-SHA-256");
    assert.equal(
      chooseMechanism(
        all.filter((m) => m !== "SCRAM-SHA-256"),
        password,
        secure,
      ),
      "SCRAM-SHA-1",
    );
  }
  assert.equal(
    chooseMechanism(["scram-sha-1", "plain"], password, true),
    "SCRAM-SHA-1",
  );
});

Deno.test("chooseMechanism() never picks SCRAM for an access token", () => {
  assert.equal(
    chooseMechanism(["SCRAM-SHA-256", "XOAUTH2"], token, true),
    "XOAUTH2",
  );
  assert.throws(
    () => chooseMechanism(["SCRAM-SHA-256", "PLAIN"], token, true),
    (e) => assertSmtpError(e, "auth", /with an access token/),
  );
});

Deno.test("chooseMechanism() never downgrades a named SCRAM mechanism, nor upgrades a named PLAIN", () => {
  assert.throws(
    () =>
      chooseMechanism(["PLAIN", "LOGIN", "SCRAM-SHA-1"], {
        ...password,
        mechanism: "SCRAM-SHA-256",
      }, true),
    (e) =>
      assertSmtpError(
        e,
        "auth",
        /^Cannot authenticate with SCRAM-SHA-256: server offers only "PLAIN LOGIN SCRAM-SHA-1"$/,
      ),
  );
  assert.equal(
    chooseMechanism(["SCRAM-SHA-256", "PLAIN"], {
      ...password,
      mechanism: "PLAIN",
    }, true),
    "PLAIN",
  );
});

Deno.test("chooseMechanism() passes over SCRAM when SASLprep refuses the password", () => {
  const tab = { username: "u", password: "pass\tword" };
  assert.equal(
    chooseMechanism(["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"], tab, true),
    "PLAIN",
  );
  assert.throws(
    () => chooseMechanism(["SCRAM-SHA-256"], tab, true),
    (e) => assertSmtpError(e, "auth", /with a password: server offers only/),
  );
  assert.throws(
    () =>
      chooseMechanism(["SCRAM-SHA-256", "PLAIN"], {
        ...tab,
        mechanism: "SCRAM-SHA-256",
      }, true),
    TypeError,
  );
});

Deno.test("fallbackMechanism() offers PLAIN, then LOGIN, after a refused SCRAM the client chose", () => {
  const offered = ["SCRAM-SHA-256", "SCRAM-SHA-1", "LOGIN", "PLAIN"];
  assert.equal(fallbackMechanism(offered, password, "SCRAM-SHA-256"), "PLAIN");
  assert.equal(fallbackMechanism(offered, password, "SCRAM-SHA-1"), "PLAIN");
  assert.equal(
    fallbackMechanism(["scram-sha-256", "login"], password, "SCRAM-SHA-256"),
    "LOGIN",
  );
  // Nothing that could check a hashed password is left.
  assert.equal(
    fallbackMechanism(["SCRAM-SHA-256", "CRAM-MD5"], password, "SCRAM-SHA-256"),
    undefined,
  );
});

Deno.test("fallbackMechanism() offers nothing after PLAIN, for a named mechanism, or for a token", () => {
  const offered = ["SCRAM-SHA-256", "PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER"];
  assert.equal(fallbackMechanism(offered, password, "PLAIN"), undefined);
  assert.equal(fallbackMechanism(offered, password, "CRAM-MD5"), undefined);
  assert.equal(
    fallbackMechanism(
      offered,
      { ...password, mechanism: "SCRAM-SHA-256" },
      "SCRAM-SHA-256",
    ),
    undefined,
  );
  assert.equal(fallbackMechanism(offered, token, "OAUTHBEARER"), undefined);
});
