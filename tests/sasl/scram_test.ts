// SCRAM-SHA-256 (RFC 7677) and SCRAM-SHA-1 (RFC 5802): the RFCs' test
// vectors, a round trip against a node:crypto server, and hostile servers.

import assert from "node:assert/strict";
import { constantTimeEqual } from "../../src/protocol/_bytes.ts";
import {
  MAX_ITERATIONS,
  MIN_ITERATIONS,
  type ScramMechanism,
  startScram,
} from "../../src/sasl/_scram.ts";
import { hasControl } from "../../src/protocol/_control.ts";
import type { SmtpError } from "../../src/protocol/smtp_error.ts";
import { startSasl } from "../../src/sasl/_sasl.ts";
import type { SaslSession } from "../../src/sasl/_sasl_session.ts";
import { assertSmtpError, b64, unb64 } from "./_helpers.ts";
import { scramServer } from "./_scram_server.ts";

const pencil = { username: "user", password: "pencil" };

Deno.test("startScram() SCRAM-SHA-256 reproduces the RFC 7677 §3 example", async () => {
  const session = startScram(pencil, "SCRAM-SHA-256", {
    nonce: "rOprNGfwEbeRWgbNEkqO",
  });
  assert.equal(session.mechanism, "SCRAM-SHA-256");
  assert.equal(
    unb64(session.initialResponse!),
    "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
  );
  const final = await session.respond(b64(
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
  ));
  assert.equal(
    unb64(final),
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
  );
  assert.equal(
    await session.respond(
      b64("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
    ),
    "",
  );
  session.finish();
});

Deno.test("startScram() SCRAM-SHA-1 reproduces the RFC 5802 §5 example", async () => {
  const session = startScram(pencil, "SCRAM-SHA-1", {
    nonce: "fyko+d2lbbFgONRv9qkxdawL",
  });
  assert.equal(
    unb64(session.initialResponse!),
    "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
  );
  const final = await session.respond(b64(
    "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
  ));
  assert.equal(
    unb64(final),
    "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
  );
  assert.equal(
    await session.respond(b64("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=")),
    "",
  );
  session.finish();
});

Deno.test("startSasl() starts SCRAM with a fresh random nonce each time", async () => {
  const nonces = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const session = await startSasl(pencil, "SCRAM-SHA-256", "h", 587);
    const match = /^n,,n=user,r=([A-Za-z0-9+/]{24})$/.exec(
      unb64(session.initialResponse!),
    );
    assert.ok(match, unb64(session.initialResponse!));
    nonces.add(match[1]!);
  }
  assert.equal(nonces.size, 20);
});

/** Runs a whole exchange against the node:crypto server. */
async function roundTrip(
  mechanism: ScramMechanism,
  auth: { username: string; password: string },
  stored: string,
  iterations = 4096,
): Promise<{ session: SaslSession; user: string | undefined }> {
  const server = scramServer({
    password: stored,
    hash: mechanism === "SCRAM-SHA-256" ? "sha256" : "sha1",
    iterations,
  });
  const session = await startSasl(auth, mechanism, "h", 587);
  const serverFirst = server.first(unb64(session.initialResponse!));
  const clientFinal = unb64(await session.respond(b64(serverFirst)));
  const serverFinal = server.final(clientFinal);
  assert.ok(serverFinal, "the server refused the proof");
  assert.equal(await session.respond(b64(serverFinal)), "");
  session.finish();
  return { session, user: server.user };
}

for (const mechanism of ["SCRAM-SHA-256", "SCRAM-SHA-1"] as const) {
  Deno.test(`SaslSession ${mechanism} authenticates to an independent server computation`, async () => {
    const { user } = await roundTrip(
      mechanism,
      { username: "joe@example.com", password: "correct horse" },
      "correct horse",
    );
    assert.equal(user, "joe@example.com");
    await roundTrip(mechanism, pencil, "pencil", 10_000);
  });
}

Deno.test("startScram() escapes , and = in the user name and prepares both with SASLprep", async () => {
  const session = startScram(
    { username: "a,b=c@example.com", password: "p" },
    "SCRAM-SHA-256",
    { nonce: "abc" },
  );
  assert.equal(
    unb64(session.initialResponse!),
    "n,,n=a=2Cb=3Dc@example.com,r=abc",
  );
  // "I<soft hyphen>X" and "\u2168" are "IX" after SASLprep: the server
  // that stores "IX" accepts both.
  const { user } = await roundTrip(
    "SCRAM-SHA-256",
    { username: "\u2168\u00ADuser", password: "I\u00ADX" },
    "IX",
  );
  assert.equal(user, "IXuser");
  await roundTrip("SCRAM-SHA-1", { username: "u", password: "\u2168" }, "IX");
  // UTF-8 passwords.
  await roundTrip(
    "SCRAM-SHA-256",
    { username: "u", password: "пароль 🔑" },
    "пароль 🔑",
  );
});

Deno.test("startScram() throws TypeError when SASLprep refuses the credentials, quoting no password", () => {
  assert.throws(
    () => startScram({ username: "u", password: "tab\there" }, "SCRAM-SHA-256"),
    (e) =>
      e instanceof TypeError &&
      /^Cannot use auth\.password with SCRAM: it holds a character SASLprep prohibits \(RFC 3454 C\.2\.1/
        .test(e.message) &&
      !e.message.includes("tab"),
  );
  assert.throws(
    () => startScram({ username: "u\u200E", password: "p" }, "SCRAM-SHA-1"),
    /^TypeError: Cannot use auth\.username with SCRAM: .*C\.8.*: U\+200E$/,
  );
  assert.throws(
    () => startScram({ username: "\u00AD", password: "p" }, "SCRAM-SHA-1"),
    /empty after SASLprep/,
  );
  assert.throws(
    () => startScram(pencil, "SCRAM-SHA-1", { nonce: "a,b" }),
    TypeError,
  );
});

// ——— hostile servers ———

const NONCE = "clientNONCE";
const SALT = "W22ZaJ0SNY7soEsUEjb6gQ==";

function session(mechanism: ScramMechanism = "SCRAM-SHA-256"): SaslSession {
  return startScram(pencil, mechanism, { nonce: NONCE });
}

async function refuses(
  serverFirst: string,
  kind: "protocol" | "auth",
  message: RegExp,
): Promise<void> {
  await assert.rejects(
    session().respond(b64(serverFirst)),
    (e) => assertSmtpError(e, kind, message),
    serverFirst,
  );
}

Deno.test("SaslSession SCRAM refuses a server nonce that does not extend the client's", async () => {
  const why = /the server's nonce does not extend the client's/;
  await refuses(`r=otherNONCE123,s=${SALT},i=4096`, "protocol", why);
  await refuses(`r=${NONCE},s=${SALT},i=4096`, "protocol", why); // not longer
  await refuses(`r=x${NONCE}x,s=${SALT},i=4096`, "protocol", why);
  await refuses(`r=${NONCE}a,b,s=${SALT},i=4096`, "protocol", /unexpected/);
  await refuses(`r=${NONCE}\u00e9,s=${SALT},i=4096`, "protocol", why);
});

Deno.test("SaslSession SCRAM refuses a salt that is not base64", async () => {
  for (const salt of ["", "not base64!", "W22ZaJ0SNY7soEsUEjb6gQ=", "QQ"]) {
    await refuses(
      `r=${NONCE}srv,s=${salt},i=4096`,
      "protocol",
      /server sent a salt that is not base64/,
    );
  }
});

Deno.test("SaslSession SCRAM refuses an iteration count out of bounds", async () => {
  assert.equal(MIN_ITERATIONS, 4096);
  assert.equal(MAX_ITERATIONS, 1_000_000);
  await refuses(
    `r=${NONCE}srv,s=${SALT},i=4095`,
    "auth",
    /server asks for 4095 iterations, fewer than the 4096 RFC 7677 requires/,
  );
  await refuses(
    `r=${NONCE}srv,s=${SALT},i=1`,
    "auth",
    /fewer than the 4096/,
  );
  await refuses(
    `r=${NONCE}srv,s=${SALT},i=1000001`,
    "auth",
    /server asks for 1000001 iterations, more than the 1000000 this client computes/,
  );
  await refuses(
    `r=${NONCE}srv,s=${SALT},i=99999999999999999999999`,
    "protocol",
    /iteration count that is not a number/,
  );
  for (const count of ["", "abc", "04096", "4096.0", "-4096", "0x1000"]) {
    await refuses(
      `r=${NONCE}srv,s=${SALT},i=${count}`,
      "protocol",
      /iteration count that is not a number/,
    );
  }
});

Deno.test("SaslSession SCRAM refuses unexpected attributes in the server-first-message", async () => {
  await refuses(
    `m=ext,r=${NONCE}srv,s=${SALT},i=4096`,
    "protocol",
    /requires an extension this client does not know \(m=\)/,
  );
  for (
    const text of [
      `s=${SALT},r=${NONCE}srv,i=4096`,
      `r=${NONCE}srv,i=4096`,
      `r=${NONCE}srv,s=${SALT}`,
      `x=1,r=${NONCE}srv,s=${SALT},i=4096`,
      `r=${NONCE}srv,s=${SALT},i=4096,oops`,
      "",
    ]
  ) {
    await refuses(text, "protocol", /server sent unexpected attributes/);
  }
  // Extensions after the known attributes are allowed (RFC 5802 §7).
  const ok = session();
  await ok.respond(b64(`r=${NONCE}srv,s=${SALT},i=4096,x=future`));
});

Deno.test("SaslSession SCRAM reports the server's e= in the server-first and server-final messages", async () => {
  await refuses(
    "e=unknown-user",
    "auth",
    /^Cannot authenticate with SCRAM-SHA-256: server failed the exchange: "unknown-user"$/,
  );
  const s = session();
  await s.respond(b64(`r=${NONCE}srv,s=${SALT},i=4096`));
  await assert.rejects(
    s.respond(b64("e=invalid-proof")),
    (e) =>
      assertSmtpError(
        e,
        "auth",
        /server failed the exchange: "invalid-proof"$/,
      ),
  );
});

Deno.test("SaslSession SCRAM does not quote an e= value that is not an error name, after the proof", async () => {
  const s = session();
  const final = unb64(await s.respond(b64(`r=${NONCE}srv,s=${SALT},i=4096`)));
  const proof = final.split(",p=")[1]!;
  await assert.rejects(
    s.respond(b64(`e=${proof}`)),
    (e) =>
      assertSmtpError(
        e,
        "auth",
        /server failed the exchange \(with an error value that is not quoted\)$/,
      ) && !(e as Error).message.includes(proof),
  );
  const t = session();
  await assert.rejects(
    t.respond(b64("e=\x1b[2Jbad\r\n")),
    (e) =>
      assertSmtpError(e, "auth", /not quoted/) &&
      !hasControl((e as Error).message),
  );
});

Deno.test("SaslSession SCRAM fails when the server signature is wrong: the server is not who it claims", async () => {
  for (const mechanism of ["SCRAM-SHA-256", "SCRAM-SHA-1"] as const) {
    const s = session(mechanism);
    await s.respond(b64(`r=${NONCE}srv,s=${SALT},i=4096`));
    const wrong = mechanism === "SCRAM-SHA-256"
      ? "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
      : "rmF9pqV8S7suAoZWja4dJRkFsKQ=";
    await assert.rejects(
      s.respond(b64(`v=${wrong}`)),
      (e) =>
        assertSmtpError(
          e,
          "auth",
          new RegExp(
            `^Cannot authenticate with ${mechanism}: the server's signature is wrong, so it does not know the password: it is not the server it claims to be$`,
          ),
        ) && !(e as SmtpError).temporary,
    );
    assert.throws(() => s.finish(), (e) => assertSmtpError(e, "auth"));
  }
});

Deno.test("SaslSession SCRAM refuses a server signature of the wrong length or not base64", async () => {
  for (
    const v of ["", "AAAA", "not base64!", "6rriTRBi23WpRR/wtup+mMhUZUn/dB5n"]
  ) {
    const s = session();
    await s.respond(b64(`r=${NONCE}srv,s=${SALT},i=4096`));
    await assert.rejects(
      s.respond(b64(`v=${v}`)),
      (e) =>
        assertSmtpError(
          e,
          v === "not base64!" || v === "" ? "protocol" : "auth",
          v === "not base64!" || v === ""
            ? /signature that is not base64/
            : /signature is wrong/,
        ),
      v,
    );
  }
});

Deno.test("SaslSession.finish() SCRAM fails on 235 before the server signature was verified", async () => {
  const before = session();
  assert.throws(
    () => before.finish(),
    (e) =>
      assertSmtpError(
        e,
        "auth",
        /server answered 235 without proving it knows the password \(no server signature\)/,
      ),
  );
  const after = session();
  await after.respond(b64(`r=${NONCE}srv,s=${SALT},i=4096`));
  assert.throws(() => after.finish(), (e) => assertSmtpError(e, "auth"));
});

Deno.test("SaslSession SCRAM quotes no unexpected challenge after the proof", async () => {
  const s = session();
  const final = unb64(await s.respond(b64(`r=${NONCE}srv,s=${SALT},i=4096`)));
  for (const echo of [final, "x=1", "pencil"]) {
    await assert.rejects(
      s.respond(b64(echo)),
      (e) =>
        assertSmtpError(
          e,
          "protocol",
          /^Unexpected SCRAM-SHA-256 challenge after the client proof was sent \(not quoted, as it may echo a secret\)$/,
        ),
      echo,
    );
  }
});

Deno.test("SaslSession SCRAM refuses a third challenge and a server message that is not UTF-8", async () => {
  const session256 = startScram(pencil, "SCRAM-SHA-256", {
    nonce: "rOprNGfwEbeRWgbNEkqO",
  });
  await session256.respond(b64(
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
  ));
  await session256.respond(
    b64("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
  );
  await assert.rejects(
    session256.respond(""),
    (e) => assertSmtpError(e, "protocol", /^Unexpected SCRAM-SHA-256/),
  );
  await assert.rejects(
    session().respond("/w=="), // 0xFF
    (e) => assertSmtpError(e, "protocol", /server-first-message is not UTF-8/),
  );
});

Deno.test("SaslSession SCRAM does not reveal the password when inspected or serialised", async () => {
  const s = session();
  await s.respond(b64(`r=${NONCE}srv,s=${SALT},i=4096`));
  for (const text of [Deno.inspect(s), JSON.stringify(s)]) {
    assert.doesNotMatch(text, /pencil/);
    assert.match(text, /SCRAM-SHA-256/);
  }
});

Deno.test("constantTimeEqual() compares bytes and lengths", () => {
  const a = new Uint8Array([1, 2, 3]);
  assert.ok(constantTimeEqual(a, new Uint8Array([1, 2, 3])));
  assert.ok(!constantTimeEqual(a, new Uint8Array([1, 2, 4])));
  assert.ok(!constantTimeEqual(a, new Uint8Array([1, 2])));
  assert.ok(constantTimeEqual(new Uint8Array(), new Uint8Array()));
});
