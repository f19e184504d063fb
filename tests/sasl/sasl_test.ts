import assert from "node:assert/strict";
import {
  chooseMechanism,
  type SaslSession,
  startSasl,
} from "../../src/sasl/_sasl.ts";
import { SmtpError } from "../../src/protocol/smtp_error.ts";
import type {
  AuthMechanism,
  PasswordAuth,
  TokenAuth,
} from "../../src/sasl/credentials.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const b64 = (text: string): string => encoder.encode(text).toBase64();
const unb64 = (text: string): string =>
  decoder.decode(Uint8Array.fromBase64(text));

function assertSmtpError(
  error: unknown,
  kind: SmtpError["kind"],
  message?: RegExp,
): true {
  assert.ok(error instanceof SmtpError, `expected SmtpError, got ${error}`);
  assert.equal(error.kind, kind);
  assert.equal(error.command, "AUTH");
  if (message) assert.match(error.message, message);
  return true;
}

const password: PasswordAuth = {
  username: "tim",
  password: "tanstaaftanstaaf",
};
const token: TokenAuth = { username: "user@example.com", accessToken: "tok" };

// --- PLAIN -----------------------------------------------------------------

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
    Uint8Array.fromBase64(session.initialResponse!),
    encoder.encode("\0josé@exämple.com\0пароль 🔑"),
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

// --- LOGIN -----------------------------------------------------------------

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
        /^Unexpected LOGIN challenge: "Password:"$/,
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

// --- CRAM-MD5 --------------------------------------------------------------

Deno.test("startSasl() CRAM-MD5 answers the RFC 2195 example", async () => {
  const session = await startSasl(password, "CRAM-MD5", "localhost", 587);
  assert.equal(session.initialResponse, undefined);
  const answer = await session.respond(
    "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+",
  );
  assert.equal(answer, "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
  assert.equal(unb64(answer), "tim b913a602c7eda7a495b4e6e7334d3890");
  await assert.rejects(
    session.respond(answer),
    (e) => assertSmtpError(e, "protocol"),
  );
});

Deno.test("SaslSession.respond() refuses an empty CRAM-MD5 challenge", async () => {
  const session = await startSasl(password, "CRAM-MD5", "localhost", 587);
  await assert.rejects(
    session.respond(""),
    (e) => assertSmtpError(e, "protocol", /^Unexpected CRAM-MD5 challenge/),
  );
});

// --- XOAUTH2 ---------------------------------------------------------------

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

// --- OAUTHBEARER -----------------------------------------------------------

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
  const session = await startSasl(
    token,
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

// --- access tokens ---------------------------------------------------------

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

// --- validation ------------------------------------------------------------

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
      { ...password, mechanism: "SCRAM-SHA-1" as AuthMechanism },
      "PLAIN",
      "h",
      587,
    ),
    TypeError,
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

// --- chooseMechanism -------------------------------------------------------

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

Deno.test("SaslSession does not reveal credentials when inspected or serialised", async () => {
  for (const mechanism of ["PLAIN", "LOGIN", "CRAM-MD5"] as const) {
    const session = await startSasl(password, mechanism, "h", 587);
    for (const text of [Deno.inspect(session), JSON.stringify(session)]) {
      assert.doesNotMatch(text, /tanstaaf|AHRpbQB0YW5z/);
      assert.match(text, new RegExp(mechanism));
    }
  }
});
