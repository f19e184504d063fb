import assert from "node:assert/strict";
import { hmacMd5 } from "../../src/sasl/_md5.ts";
import { authenticate, type AuthOutcome } from "../../src/testing/_auth.ts";
import type { TestServerAuthMechanism } from "../../testing.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const b64 = (text: string) => encoder.encode(text).toBase64();
const USERS = { alice: "secret", "bob@example.com": "token-1" };

/** Runs an exchange; `answer` turns each challenge (decoded) into a reply line. */
async function exchange(
  mechanism: TestServerAuthMechanism,
  initial: string | undefined,
  answer: (challenge: string) => string | null,
): Promise<{ outcome: AuthOutcome; challenges: string[] }> {
  const challenges: string[] = [];
  const outcome = await authenticate(
    mechanism,
    initial,
    (base64) => {
      const challenge = decoder.decode(Uint8Array.fromBase64(base64));
      challenges.push(challenge);
      return Promise.resolve(answer(challenge));
    },
    USERS,
    "mx.test",
  );
  return { outcome, challenges };
}

const INVALID = {
  ok: false,
  reply: [535, "5.7.8", "Authentication credentials invalid"],
};

Deno.test("authenticate checks PLAIN with and without an initial response", async () => {
  assert.deepEqual(
    (await exchange("PLAIN", b64("\0alice\0secret"), () => null)).outcome,
    { ok: true, user: "alice" },
  );
  assert.deepEqual(
    (await exchange("PLAIN", b64("alice\0alice\0secret"), () => null)).outcome,
    { ok: true, user: "alice" },
  );
  const { outcome, challenges } = await exchange(
    "PLAIN",
    undefined,
    () => b64("\0alice\0secret"),
  );
  assert.deepEqual(outcome, { ok: true, user: "alice" });
  assert.deepEqual(challenges, [""]);
  assert.deepEqual(
    (await exchange("PLAIN", b64("\0alice\0nope"), () => null)).outcome,
    INVALID,
  );
  assert.deepEqual(
    (await exchange("PLAIN", b64("bob\0alice\0secret"), () => null)).outcome,
    INVALID,
  );
  assert.deepEqual(
    (await exchange("PLAIN", b64("\0toString\0"), () => null)).outcome,
    INVALID,
  );
});

Deno.test("authenticate asks LOGIN for user name and password", async () => {
  const answers = [b64("alice"), b64("secret")];
  const { outcome, challenges } = await exchange(
    "LOGIN",
    undefined,
    () => answers.shift()!,
  );
  assert.deepEqual(outcome, { ok: true, user: "alice" });
  assert.deepEqual(challenges, ["Username:", "Password:"]);
  assert.deepEqual(
    (await exchange("LOGIN", b64("alice"), () => b64("secret"))).outcome,
    { ok: true, user: "alice" },
  );
});

Deno.test("authenticate verifies CRAM-MD5 against a fresh challenge", async () => {
  const respond = (challenge: string) => {
    const digest = hmacMd5(encoder.encode("secret"), encoder.encode(challenge));
    return b64(
      `alice ${
        Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("")
      }`,
    );
  };
  const first = await exchange("CRAM-MD5", undefined, respond);
  assert.deepEqual(first.outcome, { ok: true, user: "alice" });
  assert.match(first.challenges[0]!, /^<[0-9a-f]{16}\.\d+@mx\.test>$/);
  const second = await exchange("CRAM-MD5", undefined, respond);
  assert.notEqual(first.challenges[0], second.challenges[0]);
  assert.deepEqual(
    (await exchange(
      "CRAM-MD5",
      undefined,
      () => b64("alice 00000000000000000000000000000000"),
    ))
      .outcome,
    INVALID,
  );
});

Deno.test("authenticate checks XOAUTH2 and OAUTHBEARER tokens, with the error challenge on failure", async () => {
  assert.deepEqual(
    (await exchange(
      "XOAUTH2",
      b64("user=bob@example.com\x01auth=Bearer token-1\x01\x01"),
      () => null,
    ))
      .outcome,
    { ok: true, user: "bob@example.com" },
  );
  const xoauth = await exchange(
    "XOAUTH2",
    b64("user=bob@example.com\x01auth=Bearer nope\x01\x01"),
    () => "",
  );
  assert.deepEqual(xoauth.outcome, INVALID);
  assert.equal(JSON.parse(xoauth.challenges[0]!).status, "401");

  assert.deepEqual(
    (await exchange(
      "OAUTHBEARER",
      b64(
        "n,a=bob@example.com,\x01host=mx.test\x01port=587\x01auth=Bearer token-1\x01\x01",
      ),
      () => null,
    )).outcome,
    { ok: true, user: "bob@example.com" },
  );
  const bearer = await exchange(
    "OAUTHBEARER",
    b64("n,a=bob@example.com,\x01auth=Bearer nope\x01\x01"),
    () => b64("\x01"),
  );
  assert.deepEqual(bearer.outcome, INVALID);
  assert.equal(JSON.parse(bearer.challenges[0]!).status, "invalid_token");
});

Deno.test("authenticate handles cancel, bad base64 and a closed connection", async () => {
  assert.deepEqual((await exchange("LOGIN", undefined, () => "*")).outcome, {
    ok: false,
    reply: [501, "5.0.0", "Authentication cancelled"],
  });
  assert.deepEqual(
    (await exchange("PLAIN", "not base64!", () => null)).outcome,
    {
      ok: false,
      reply: [501, "5.5.2", "Cannot decode base64"],
    },
  );
  const closed = (await exchange("LOGIN", undefined, () => null)).outcome;
  assert.equal(closed.ok, false);
  assert.equal(!closed.ok && closed.closed, true);
  assert.deepEqual((await exchange("CRAM-MD5", b64("x"), () => null)).outcome, {
    ok: false,
    reply: [501, "5.5.2", "No initial response"],
  });
});
