// verifyDkim: signatures made by our signMessage and by dkimpy (Debian's
// python3-dkim) pass in every canonicalization; tampered messages fail the
// way dkimpy's own verifier says they do; each permanent and temporary
// error is told apart, with its reason.

import assert from "node:assert/strict";
import {
  type DkimCanonicalization,
  type DkimResult,
  signMessage,
  type TxtResolver,
  verifyDkim,
} from "../../dkim.ts";
import { toBase64 } from "../../src/protocol/_base64.ts";
import { interop } from "../_harness/mod.ts";
import { dkimpyVerify } from "./_dkimpy.ts";
import { dkimpySign } from "./_dkimpy_sign.ts";
import { ed25519Key, rsaKey, type TestKey } from "./_keys.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const DKIMPY = ["python3", "dkimverify"];
const CANONS: DkimCanonicalization[] = [
  "relaxed/relaxed",
  "relaxed/simple",
  "simple/relaxed",
  "simple/simple",
];

let keys: Promise<{ rsa: TestKey; ed: TestKey }> | undefined;
function testKeys(): Promise<{ rsa: TestKey; ed: TestKey }> {
  keys ??= Promise.all([rsaKey(), ed25519Key()]).then(([rsa, ed]) => ({
    rsa,
    ed,
  }));
  return keys;
}

async function records(): Promise<Record<string, string>> {
  const { rsa, ed } = await testKeys();
  return {
    "rsa._domainkey.example.com": rsa.record,
    "ed._domainkey.example.com": ed.record,
  };
}

/** A resolver answering from `records`, counting its lookups. */
function resolver(
  table: Record<string, string | string[] | (string | string[])[]>,
  lookups: string[] = [],
): TxtResolver {
  return (name) => {
    lookups.push(name);
    const entry = table[name];
    if (entry === undefined) return Promise.resolve([]);
    return Promise.resolve(Array.isArray(entry) ? entry : [entry]);
  };
}

const MESSAGE = "From: Ada <ada@example.com>\r\nTo: bob@example.org\r\n" +
  "Subject: Hello  there\r\nDate: Fri, 29 Nov 2024 08:05:09 +0000\r\n" +
  "Message-ID: <1@example.com>\r\n\r\n" +
  "Hi Bob,  \r\n\r\nsee  you\tsoon.\r\n\r\n\r\n";

async function signed(
  canonicalization: DkimCanonicalization = "relaxed/relaxed",
  message: string = MESSAGE,
): Promise<string> {
  const { rsa, ed } = await testKeys();
  return await new Response(signMessage(message, [
    {
      domainName: "example.com",
      keySelector: "rsa",
      privateKey: rsa.pem,
      canonicalization,
    },
    {
      domainName: "example.com",
      keySelector: "ed",
      privateKey: ed.pem,
      canonicalization,
    },
  ])).text();
}

function verdicts(results: DkimResult[]): string[] {
  return results.map((r) => r.result + (r.reason ? `: ${r.reason}` : ""));
}

Deno.test("verifyDkim passes signMessage signatures, RSA and Ed25519, in every canonicalization", async () => {
  const table = await records();
  for (const canon of CANONS) {
    const results = await verifyDkim(await signed(canon), {
      resolveTxt: resolver(table),
    });
    assert.deepEqual(verdicts(results), ["pass", "pass"], canon);
    assert.equal(results[0]!.algorithm, "rsa-sha256");
    assert.equal(results[0]!.selector, "rsa");
    assert.equal(results[0]!.keyBits, 2048);
    assert.equal(results[1]!.algorithm, "ed25519-sha256");
    assert.equal(results[1]!.keyBits, 256);
    for (const result of results) {
      assert.equal(result.domain, "example.com");
      assert.equal(result.identity, "@example.com");
      assert.equal(result.canonicalization, canon);
      assert.ok(result.signedAt instanceof Date);
      assert.ok(result.headerFieldNames?.includes("from"));
    }
  }
});

Deno.test("verifyDkim gives the same results whatever the input type and chunking", async () => {
  const table = await records();
  const text = await signed("simple/relaxed");
  const bytes = encoder.encode(text);
  const inputs: (string | Uint8Array | Blob | ReadableStream<Uint8Array>)[] = [
    text,
    bytes,
    new Blob([bytes]),
  ];
  // Split at every offset in the header's end and the body, and byte by byte.
  const headerEnd = text.indexOf("\r\n\r\n");
  for (
    const at of [1, headerEnd, headerEnd + 1, headerEnd + 2, headerEnd + 3]
  ) {
    inputs.push(
      ReadableStream.from([bytes.subarray(0, at), bytes.subarray(at)]),
    );
  }
  inputs.push(ReadableStream.from([...bytes].map((b) => new Uint8Array([b]))));
  for (const [i, input] of inputs.entries()) {
    const results = await verifyDkim(input, { resolveTxt: resolver(table) });
    assert.deepEqual(verdicts(results), ["pass", "pass"], `input ${i}`);
  }
});

Deno.test(interop({
  name:
    "verifyDkim passes dkimpy signatures, RSA and Ed25519, in every canonicalization, with i= and l=",
  requires: DKIMPY,
  async fn() {
    const { rsa, ed } = await testKeys();
    const table = await records();
    const jobs = [];
    for (const canon of CANONS) {
      const [h, b] = canon.split("/") as ["relaxed", "relaxed"];
      for (
        const [selector, key, algorithm] of [
          ["rsa", rsa, "rsa-sha256"],
          ["ed", ed, "ed25519-sha256"],
        ] as const
      ) {
        jobs.push({
          message: encoder.encode(MESSAGE),
          domain: "example.com",
          selector,
          pem: key.pem,
          algorithm,
          canonicalize: [h, b] as [typeof h, typeof b],
        });
      }
    }
    jobs.push({
      ...jobs[0]!,
      identity: "ada@mail.example.com",
      length: true,
    });
    const messages = await dkimpySign(jobs);
    for (const [i, message] of messages.entries()) {
      const results = await verifyDkim(message, {
        resolveTxt: resolver(table),
      });
      assert.deepEqual(verdicts(results), ["pass"], `job ${i}`);
      assert.equal(results[0]!.algorithm, jobs[i]!.algorithm);
      assert.equal(
        results[0]!.canonicalization,
        jobs[i]!.canonicalize.join("/"),
      );
    }
    const last = (await verifyDkim(messages.at(-1)!, {
      resolveTxt: resolver(table),
    }))[0]!;
    assert.equal(last.identity, "ada@mail.example.com");
    assert.equal(last.bodyLength, 26); // the relaxed body
  },
}));

/** Ways to change a signed message, and what each does to a signature. */
const TAMPERING: {
  name: string;
  change: (text: string) => string;
  /** The verdict for relaxed/relaxed, then simple/simple. */
  relaxed: string;
  simple: string;
}[] = [
  {
    name: "a word of the body changed",
    change: (t) => t.replace("see  you", "see  yoU"),
    relaxed: "fail: body hash did not verify",
    simple: "fail: body hash did not verify",
  },
  {
    name: "the signed Subject changed",
    change: (t) => t.replace("Subject: Hello", "Subject: Jello"),
    relaxed: "fail: signature did not verify",
    simple: "fail: signature did not verify",
  },
  {
    name: "a second Subject added (From and Subject are oversigned)",
    change: (t) => t.replace("To: bob", "Subject: Free money\r\nTo: bob"),
    relaxed: "fail: signature did not verify",
    simple: "fail: signature did not verify",
  },
  {
    name: "an unsigned field added",
    change: (t) => t.replace("To: bob", "X-Spam: no\r\nTo: bob"),
    relaxed: "pass",
    simple: "pass",
  },
  {
    name: "white space in the body changed",
    change: (t) => t.replace("see  you\tsoon.", "see you soon.   "),
    relaxed: "pass",
    simple: "fail: body hash did not verify",
  },
  {
    name: "the Subject re-folded",
    change: (t) =>
      t.replace("Subject: Hello  there", "Subject: Hello\r\n there"),
    relaxed: "pass",
    simple: "fail: signature did not verify",
  },
  {
    name: "empty lines added at the end",
    change: (t) => t + "\r\n\r\n",
    relaxed: "pass",
    simple: "pass",
  },
  {
    name: "a line added at the end",
    change: (t) => t + "P.S.\r\n",
    relaxed: "fail: body hash did not verify",
    simple: "fail: body hash did not verify",
  },
];

Deno.test(interop({
  name:
    "verifyDkim agrees with dkimpy on tampered messages, ours and dkimpy's, relaxed and simple",
  requires: DKIMPY,
  async fn() {
    const { rsa } = await testKeys();
    const table = await records();
    const cases: { name: string; message: string; expected: string }[] = [];
    for (const canon of ["relaxed/relaxed", "simple/simple"] as const) {
      const ours = await signed(canon);
      const [h, b] = canon.split("/") as ["relaxed", "relaxed"];
      const [theirs] = await dkimpySign([{
        message: encoder.encode(MESSAGE),
        domain: "example.com",
        selector: "rsa",
        pem: rsa.pem,
        algorithm: "rsa-sha256",
        canonicalize: [h, b],
        headers: ["from", "from", "to", "subject", "subject", "date"],
      }]);
      for (const tamper of TAMPERING) {
        const expected = canon === "simple/simple"
          ? tamper.simple
          : tamper.relaxed;
        cases.push({
          name: `${tamper.name} (ours, ${canon})`,
          message: tamper.change(ours),
          expected,
        });
        cases.push({
          name: `${tamper.name} (dkimpy, ${canon})`,
          message: tamper.change(decoder.decode(theirs)),
          expected,
        });
      }
    }
    const theirVerdicts = await dkimpyVerify(
      table,
      cases.map((c) => encoder.encode(c.message)),
    );
    for (const [i, c] of cases.entries()) {
      const results = await verifyDkim(c.message, {
        resolveTxt: resolver(table),
      });
      for (const [j, result] of results.entries()) {
        const verdict = verdicts([result])[0];
        assert.equal(verdict, c.expected, `${c.name}, signature ${j}`);
        assert.equal(
          result.result === "pass",
          theirVerdicts[i]![j]!.ok,
          `${c.name}, signature ${j}: dkimpy says ${theirVerdicts[i]![j]!.log}`,
        );
      }
    }
  },
}));

Deno.test("verifyDkim returns none when the message has no signature", async () => {
  const lookups: string[] = [];
  const results = await verifyDkim(MESSAGE, {
    resolveTxt: resolver({}, lookups),
  });
  assert.deepEqual(verdicts(results), [
    "none: the message has no DKIM-Signature field",
  ]);
  assert.deepEqual(lookups, []);
});

Deno.test("verifyDkim returns temperror when the key lookup fails, permerror when there is no key", async () => {
  const text = await signed();
  const failing = await verifyDkim(text, {
    resolveTxt: () => Promise.reject(new Error("SERVFAIL")),
  });
  assert.deepEqual(verdicts(failing), [
    "temperror: the key lookup of rsa._domainkey.example.com failed: SERVFAIL",
    "temperror: the key lookup of ed._domainkey.example.com failed: SERVFAIL",
  ]);
  const missing = await verifyDkim(text, { resolveTxt: resolver({}) });
  assert.deepEqual(verdicts(missing), [
    "permerror: no key record at rsa._domainkey.example.com",
    "permerror: no key record at ed._domainkey.example.com",
  ]);
});

Deno.test("verifyDkim looks each key up once, at <selector>._domainkey.<domain>", async () => {
  const { rsa } = await testKeys();
  const text = await new Response(signMessage(MESSAGE, [
    { domainName: "example.com", keySelector: "rsa", privateKey: rsa.pem },
    {
      domainName: "example.com",
      keySelector: "rsa",
      privateKey: rsa.pem,
      canonicalization: "simple/simple",
    },
  ])).text();
  const lookups: string[] = [];
  const results = await verifyDkim(text, {
    resolveTxt: resolver(await records(), lookups),
  });
  assert.deepEqual(verdicts(results), ["pass", "pass"]);
  assert.deepEqual(lookups, ["rsa._domainkey.example.com"]);
});

Deno.test("verifyDkim reads key records in pieces, PKCS#1 keys, and skips records that are not keys", async () => {
  const { rsa, ed } = await testKeys();
  const text = await signed();
  const half = Math.floor(rsa.record.length / 2);
  // The SubjectPublicKeyInfo's BIT STRING holds the PKCS#1 RSAPublicKey.
  const spki = Uint8Array.from(
    atob(rsa.record.split("p=")[1]!),
    (c) => c.charCodeAt(0),
  );
  const pkcs1 = toBase64(spki.subarray(24));
  const results = await verifyDkim(text, {
    resolveTxt: resolver({
      "rsa._domainkey.example.com": [[
        rsa.record.slice(0, half),
        rsa.record.slice(half),
      ]],
      "ed._domainkey.example.com": ["google-site-verification=abc", ed.record],
    }),
  });
  assert.deepEqual(verdicts(results), ["pass", "pass"]);
  const fromPkcs1 = await verifyDkim(text, {
    resolveTxt: resolver({
      "rsa._domainkey.example.com": `v=DKIM1; p=${pkcs1}`,
      "ed._domainkey.example.com": ed.record,
    }),
  });
  assert.deepEqual(verdicts(fromPkcs1), ["pass", "pass"]);
});

Deno.test("verifyDkim returns permerror for key records that cannot verify", async () => {
  const { rsa, ed } = await testKeys();
  const text = await signed();
  const weak = await rsaKey(512).catch(() => undefined);
  const cases: [string, string, string][] = [
    ["v=DKIM1; k=rsa; p=", ed.record, "the key is revoked (p= is empty)"],
    [
      ed.record,
      ed.record,
      "the key is k=ed25519, the signature a=rsa-sha256",
    ],
    [
      rsa.record.replace("v=DKIM1", "v=DKIM2"),
      ed.record,
      "the key record has v=DKIM2, not DKIM1 as its first tag",
    ],
    [
      rsa.record + "; h=sha1",
      ed.record,
      "the key allows h=sha1, not sha256",
    ],
    [
      rsa.record + "; s=tlsrpt",
      ed.record,
      "the key is for s=tlsrpt, not email",
    ],
    ["v=DKIM1; k=rsa; p=@@@", ed.record, "the p= value is not base64"],
    [
      "v=DKIM1; k=rsa; p=AAAA",
      ed.record,
      "the p= value is not an RSA public key",
    ],
    ["v=DKIM1; k=dsa; p=AAAA", ed.record, "unknown key type k=dsa"],
    [
      "v=DKIM1; p",
      ed.record,
      'the key record is malformed: the tag "p" has no "="',
    ],
  ];
  if (weak) {
    cases.push([
      weak.record,
      ed.record,
      "the RSA key has 512 bits; at least 1024 are needed (RFC 8301)",
    ]);
  }
  for (const [rsaRecord, edRecord, reason] of cases) {
    const [result] = await verifyDkim(text, {
      resolveTxt: resolver({
        "rsa._domainkey.example.com": rsaRecord,
        "ed._domainkey.example.com": edRecord,
      }),
    });
    assert.deepEqual(verdicts([result!]), [`permerror: ${reason}`]);
  }
  const shortEd = await verifyDkim(text, {
    resolveTxt: resolver({
      "rsa._domainkey.example.com": rsa.record,
      "ed._domainkey.example.com": "v=DKIM1; k=ed25519; p=AAAA",
    }),
  });
  assert.deepEqual(verdicts(shortEd), [
    "pass",
    "permerror: the Ed25519 key is 3 octets, not 32",
  ]);
});

/** Replaces a tag of the first DKIM-Signature field. */
function retag(text: string, tag: string, value: string | undefined): string {
  const end = text.indexOf("\r\nDKIM-Signature:");
  const first = text.slice(0, end);
  const rest = text.slice(end);
  const pattern = new RegExp(`([:;])\\s*${tag}=[^;]*;?`);
  const changed = value === undefined
    ? first.replace(pattern, "$1")
    : first.replace(pattern, `$1 ${tag}=${value};`);
  assert.notEqual(changed, first, `no ${tag}= to change`);
  return changed + rest;
}

Deno.test("verifyDkim returns permerror for signatures it cannot check, with the reason", async () => {
  const text = await signed();
  const table = await records();
  const cases: [string, string][] = [
    [retag(text, "v", "2"), "unsupported version v=2"],
    [
      retag(text, "a", "rsa-sha1"),
      "rsa-sha1 signatures are not accepted (RFC 8301)",
    ],
    [retag(text, "a", "rsa-md5"), "unknown algorithm a=rsa-md5"],
    [
      retag(text, "c", "loose/simple"),
      "unknown canonicalization c=loose/simple",
    ],
    [retag(text, "d", undefined), "the signature has no d= tag"],
    [retag(text, "bh", undefined), "the signature has no bh= tag"],
    [retag(text, "bh", "@@@"), "the bh= tag is not base64"],
    [retag(text, "h", "to:subject"), "the h= tag does not sign From"],
    [
      retag(text, "d", "example.com; i=ada@example.org"),
      "i=ada@example.org is not in the d=example.com domain",
    ],
    [
      retag(text, "d", "example.com; d=example.org"),
      "the signature is malformed: the d= tag is given twice",
    ],
    [retag(text, "d", "exa mple.com"), "d=exa mple.com is not a domain name"],
    [
      retag(text, "t", "2000000000; x=1000000000"),
      "the signature expires (x=) before it was made (t=)",
    ],
    [
      retag(text, "d", "example.com; q=http/well-known"),
      "unsupported key query method q=http/well-known",
    ],
  ];
  for (const [message, reason] of cases) {
    const [result] = await verifyDkim(message, {
      resolveTxt: resolver(table),
    });
    assert.deepEqual(verdicts([result!]), [`permerror: ${reason}`], reason);
  }
});

Deno.test("verifyDkim fails an expired signature, checked against now", async () => {
  const { ed } = await testKeys();
  const text = await new Response(signMessage(MESSAGE, {
    domainName: "example.com",
    keySelector: "ed",
    privateKey: ed.pem,
    timestamp: new Date("2025-01-01T00:00:00Z"),
    expiresIn: 3600,
  })).text();
  const table = await records();
  const before = await verifyDkim(text, {
    resolveTxt: resolver(table),
    now: new Date("2025-01-01T00:30:00Z"),
  });
  assert.deepEqual(verdicts(before), ["pass"]);
  assert.equal(before[0]!.expiresAt?.toISOString(), "2025-01-01T01:00:00.000Z");
  const after = await verifyDkim(text, { resolveTxt: resolver(table) });
  assert.deepEqual(verdicts(after), [
    "fail: the signature expired at 2025-01-01T01:00:00.000Z",
  ]);
});

Deno.test(interop({
  name:
    "verifyDkim covers only l= octets of the body, and fails when the body is shorter",
  requires: DKIMPY,
  async fn() {
    const { ed } = await testKeys();
    const [message] = await dkimpySign([{
      message: encoder.encode(MESSAGE),
      domain: "example.com",
      selector: "ed",
      pem: ed.pem,
      algorithm: "ed25519-sha256",
      canonicalize: ["relaxed", "relaxed"],
      length: true,
    }]);
    const text = decoder.decode(message);
    const table = await records();
    const appended = await verifyDkim(text + "Unsigned postscript.\r\n", {
      resolveTxt: resolver(table),
    });
    assert.deepEqual(verdicts(appended), ["pass"]);
    const cut = await verifyDkim(text.replace(/soon\.\r\n[\r\n]*$/, ""), {
      resolveTxt: resolver(table),
    });
    assert.match(
      verdicts(cut)[0]!,
      /^fail: the body is shorter \(\d+ octets\) than l=26$/,
    );
  },
}));

Deno.test("verifyDkim honours a strict key (t=s) and reports testing keys (t=y)", async () => {
  const { ed } = await testKeys();
  const text = await signed("relaxed/relaxed");
  const table = await records();
  const subdomain = retag(text, "d", "example.com; i=@news.example.com");
  const strict = await verifyDkim(subdomain, {
    resolveTxt: resolver({
      ...table,
      "rsa._domainkey.example.com": table["rsa._domainkey.example.com"] +
        "; t=s",
    }),
  });
  assert.deepEqual(verdicts([strict[0]!]), [
    "permerror: the key (t=s) does not allow an i= domain other than d=",
  ]);
  const testing = await verifyDkim(text, {
    resolveTxt: resolver({
      ...table,
      "ed._domainkey.example.com": ed.record + "; t=y",
    }),
  });
  assert.deepEqual(verdicts(testing), ["pass", "pass"]);
  assert.equal(testing[0]!.testing, undefined);
  assert.equal(testing[1]!.testing, true);
});

Deno.test("verifyDkim verifies at most maxSignatures and reports the rest", async () => {
  const { ed } = await testKeys();
  const options = Array.from({ length: 4 }, () => ({
    domainName: "example.com",
    keySelector: "ed",
    privateKey: ed.pem,
  }));
  const text = await new Response(signMessage(MESSAGE, options)).text();
  const results = await verifyDkim(text, {
    resolveTxt: resolver(await records()),
    maxSignatures: 2,
  });
  assert.deepEqual(verdicts(results), [
    "pass",
    "pass",
    "permerror: more than 2 signatures",
    "permerror: more than 2 signatures",
  ]);
});

Deno.test("verifyDkim rejects misuse with a TypeError or RangeError", async () => {
  await assert.rejects(
    // @ts-expect-error: no resolver
    verifyDkim(MESSAGE, {}),
    TypeError,
  );
  await assert.rejects(
    // @ts-expect-error: not a message
    verifyDkim(42, { resolveTxt: resolver({}) }),
    TypeError,
  );
  await assert.rejects(
    verifyDkim(MESSAGE, { resolveTxt: resolver({}), maxSignatures: 0 }),
    RangeError,
  );
  await assert.rejects(
    verifyDkim(MESSAGE, { resolveTxt: resolver({}), now: new Date(NaN) }),
    TypeError,
  );
});
