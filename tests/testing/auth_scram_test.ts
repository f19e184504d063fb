// The capture server's SCRAM-SHA-256 and SCRAM-SHA-1: the exchange itself
// (through authenticate()), and SmtpClient against startTestServer end to
// end.

import assert from "node:assert/strict";
import { sendmail, SmtpClient, SmtpError } from "../../mod.ts";
import { fromBase64, toBase64 } from "../../src/protocol/_base64.ts";
import { startScram } from "../../src/sasl/_scram.ts";
import { authenticate, type AuthOutcome } from "../../src/testing/_auth.ts";
import { startTestServer } from "../../testing.ts";
import { scramServer } from "../sasl/_scram_server.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const b64 = (text: string): string => toBase64(encoder.encode(text));
const unb64 = (text: string): string => decoder.decode(fromBase64(text));

const USERS = { alice: "pencil", "I\u00ADX": "sécret", "a,b=c": "p" };
const INVALID: AuthOutcome = {
  ok: false,
  reply: [535, "5.7.8", "Authentication credentials invalid"],
};
const MALFORMED: AuthOutcome = {
  ok: false,
  reply: [501, "5.5.2", "Malformed SCRAM message"],
};

/**
 * Runs the server side; `answer` turns each challenge (decoded) into the
 * client's line (text, encoded here; `null` closes; "*" cancels).
 */
async function serve(
  mechanism: "SCRAM-SHA-256" | "SCRAM-SHA-1",
  clientFirst: string,
  answer: (
    challenge: string,
    round: number,
  ) => string | null | Promise<string | null>,
): Promise<{ outcome: AuthOutcome; challenges: string[] }> {
  const challenges: string[] = [];
  const outcome = await authenticate(
    mechanism,
    b64(clientFirst),
    async (base64) => {
      const challenge = unb64(base64);
      challenges.push(challenge);
      const line = await answer(challenge, challenges.length - 1);
      return line === null || line === "*" || line === "" ? line : b64(line);
    },
    USERS,
    "mx.test",
  );
  return { outcome, challenges };
}

/** Our client's answers, for the happy path. */
async function withClient(
  mechanism: "SCRAM-SHA-256" | "SCRAM-SHA-1",
  username: string,
  password: string,
) {
  const client = startScram({ username, password }, mechanism);
  let verified = false;
  const result = await serve(
    mechanism,
    unb64(client.initialResponse!),
    async (challenge, round) => {
      const line = await client.respond(b64(challenge));
      if (round === 1) {
        client.finish();
        verified = true;
      }
      return line === "" ? "" : unb64(line);
    },
  );
  return { ...result, verified };
}

for (const mechanism of ["SCRAM-SHA-256", "SCRAM-SHA-1"] as const) {
  Deno.test(`authenticate ${mechanism} accepts the right password and proves itself`, async () => {
    const { outcome, challenges, verified } = await withClient(
      mechanism,
      "alice",
      "pencil",
    );
    assert.deepEqual(outcome, { ok: true, user: "alice" });
    assert.ok(verified, "the client verified the server signature");
    assert.match(
      challenges[0]!,
      /^r=[\x21-\x2b\x2d-\x7e]+,s=[A-Za-z0-9+/]+=*,i=4096$/,
    );
    assert.match(challenges[1]!, /^v=[A-Za-z0-9+/]+=*$/);
  });

  Deno.test(`authenticate ${mechanism} refuses a wrong password and an unknown user alike`, async () => {
    for (const [user, password] of [["alice", "wrong"], ["nobody", "pencil"]]) {
      const client = startScram(
        { username: user!, password: password! },
        mechanism,
      );
      const { outcome, challenges } = await serve(
        mechanism,
        unb64(client.initialResponse!),
        async (challenge) => unb64(await client.respond(b64(challenge))),
      );
      assert.deepEqual(outcome, INVALID, user);
      assert.equal(challenges.length, 1, "no server signature is sent");
    }
  });
}

Deno.test("authenticate SCRAM matches accounts by the SASLprep'd user name and unescapes =2C =3D", async () => {
  assert.deepEqual(
    (await withClient("SCRAM-SHA-256", "\u2168", "s\u00E9cret")).outcome,
    { ok: true, user: "I\u00ADX" },
  );
  assert.deepEqual(
    (await withClient("SCRAM-SHA-1", "a,b=c", "p")).outcome,
    { ok: true, user: "a,b=c" },
  );
});

Deno.test("authenticate SCRAM refuses channel binding, malformed messages and a bad escape", async () => {
  const never = () => {
    throw new Error("no challenge expected");
  };
  assert.deepEqual(
    (await serve("SCRAM-SHA-256", "p=tls-unique,,n=alice,r=abc", never))
      .outcome,
    { ok: false, reply: [535, "5.7.8", "Channel binding is not supported"] },
  );
  for (
    const first of [
      "n,,n=alice",
      "n=alice,r=abc",
      "x,,n=alice,r=abc",
      "n,,n=al=41ice,r=abc",
      "n,,n=,r=abc",
      "n,,n=alice,r=a,b",
    ]
  ) {
    assert.deepEqual(
      (await serve("SCRAM-SHA-256", first, never)).outcome,
      MALFORMED,
      first,
    );
  }
  assert.deepEqual(
    (await serve("SCRAM-SHA-256", "n,,n=alice,r=abc", () => "not final"))
      .outcome,
    MALFORMED,
  );
});

Deno.test("authenticate SCRAM refuses a client-final-message with another nonce, binding or authzid", async () => {
  const proof = toBase64(new Uint8Array(32));
  const nonceOf = (challenge: string) => /^r=([^,]+)/.exec(challenge)![1]!;
  assert.deepEqual(
    (await serve(
      "SCRAM-SHA-256",
      "n,,n=alice,r=abc",
      (c) => `c=biws,r=${nonceOf(c)}x,p=${proof}`,
    )).outcome,
    INVALID,
  );
  assert.deepEqual(
    (await serve(
      "SCRAM-SHA-256",
      "n,,n=alice,r=abc",
      (c) => `c=eSws,r=${nonceOf(c)},p=${proof}`,
    )).outcome,
    INVALID,
  );
  assert.deepEqual(
    (await serve("SCRAM-SHA-256", "n,a=bob,n=alice,r=abc", () => null))
      .outcome,
    INVALID,
  );
});

Deno.test("authenticate SCRAM needs the empty answer to its server-final-message", async () => {
  const client = startScram(
    { username: "alice", password: "pencil" },
    "SCRAM-SHA-256",
  );
  const { outcome } = await serve(
    "SCRAM-SHA-256",
    unb64(client.initialResponse!),
    async (challenge, round) =>
      round === 0 ? unb64(await client.respond(b64(challenge))) : "extra",
  );
  assert.deepEqual(outcome, MALFORMED);
  const cancelled = await serve("SCRAM-SHA-1", "n,,n=alice,r=abc", () => "*");
  assert.deepEqual(cancelled.outcome, {
    ok: false,
    reply: [501, "5.0.0", "Authentication cancelled"],
  });
});

Deno.test("authenticate SCRAM answers a proof computed independently (node:crypto)", async () => {
  // The client's answer computed by the node:crypto helper from the salt,
  // nonce and iteration count the capture server sent.
  const clientNonce = "independentNONCE";
  const { outcome } = await serve(
    "SCRAM-SHA-256",
    `n,,n=alice,r=${clientNonce}`,
    (challenge, round) => {
      if (round === 1) return "";
      const [, nonce, salt, iterations] = /^r=([^,]+),s=([^,]+),i=(\d+)$/.exec(
        challenge,
      )!;
      const helper = scramServer({
        password: "pencil",
        hash: "sha256",
        salt: fromBase64(salt!),
        iterations: Number(iterations),
        serverNonce: nonce!.slice(clientNonce.length),
      });
      helper.first(`n,,n=alice,r=${clientNonce}`);
      return helper.clientFinal(`c=biws,r=${nonce}`);
    },
  );
  assert.deepEqual(outcome, { ok: true, user: "alice" });
});

// ——— end to end ———

for (const tls of ["starttls", "none"] as const) {
  for (const mechanism of ["SCRAM-SHA-256", "SCRAM-SHA-1"] as const) {
    Deno.test(`startTestServer accepts SmtpClient with ${mechanism} (tls ${tls})`, async () => {
      await using server = await startTestServer({
        tls,
        auth: {
          users: { joe: "pässword" },
          mechanisms: [mechanism, "PLAIN"],
          required: true,
        },
      });
      // No mechanism named: SCRAM is chosen before PLAIN.
      await sendmail(
        {
          ...server.clientOptions,
          auth: { username: "joe", password: "pässword" },
        },
        {
          envelope: { from: "a@example.com", to: ["b@example.com"] },
          raw: "Subject: t\r\n\r\nbody\r\n",
        },
      );
      const message = await server.nextMessage();
      assert.equal(message.authUser, "joe");
      assert.equal(message.authMechanism, mechanism);
      const transcript = JSON.stringify(message.transcript);
      assert.ok(!transcript.includes("pässword"));
      assert.match(transcript, new RegExp(`AUTH ${mechanism} \\[redacted\\]`));
    });
  }
}

Deno.test("startTestServer refuses a wrong SCRAM password and SmtpClient reports a permanent auth error", async () => {
  await using server = await startTestServer({
    auth: { users: { joe: "right" }, mechanisms: ["SCRAM-SHA-256"] },
  });
  await assert.rejects(
    SmtpClient.connect({
      ...server.clientOptions,
      auth: { username: "joe", password: "wrong", mechanism: "SCRAM-SHA-256" },
    }),
    (e) =>
      e instanceof SmtpError && e.kind === "auth" && e.code === 535 &&
      !e.temporary && !e.message.includes("wrong"),
  );
});

Deno.test("startTestServer offers SCRAM only when it is named in auth.mechanisms", async () => {
  await using server = await startTestServer({
    tls: "none",
    auth: { users: { joe: "pw" } },
  });
  const client = await SmtpClient.connect({
    ...server.clientOptions,
    auth: { username: "joe", password: "pw" },
  });
  assert.deepEqual(
    client.capabilities.auth,
    ["PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2", "OAUTHBEARER"],
  );
  await client.quit();
});
