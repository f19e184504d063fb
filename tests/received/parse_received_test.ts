import assert from "node:assert/strict";
import { parseReceived } from "../../received.ts";
import { LOCAL, REAL_WORLD } from "./_corpus.ts";

for (const entry of [...REAL_WORLD, ...LOCAL]) {
  Deno.test(`parseReceived reads a field of ${entry.software}`, () => {
    assert.deepEqual(parseReceived(entry.field), entry.expected, entry.source);
  });
}

Deno.test("parseReceived keeps every address of a for clause", () => {
  const date = "; Mon, 2 Mar 2026 10:00:00 +0000";
  for (
    const list of [
      "for <ada@example.net> <grace@example.org>",
      "for <ada@example.net>, <grace@example.org>",
      "for <ada@example.net>,<grace@example.org>",
      "for ada@example.net, grace@example.org",
      "for ada@example.net,grace@example.org",
      "for <ada@example.net> for <grace@example.org>",
    ]
  ) {
    const field = parseReceived(`from a.example by b.example ${list}${date}`);
    assert.deepEqual(field.for, ["ada@example.net", "grace@example.org"], list);
    assert.equal(field.date?.toISOString(), "2026-03-02T10:00:00.000Z");
  }
  // A word after the addresses that is no address ends the list.
  assert.deepEqual(
    parseReceived("by b.example for <ada@example.net> (ORCPT x) junk; x").for,
    ["ada@example.net"],
  );
});

Deno.test("parseReceived leaves the date out when it is missing or does not exist", () => {
  for (
    const value of [
      "from a by b with SMTP id 1",
      "from a by b with SMTP id 1;",
      "from a by b; yesterday",
      "from a by b; 31 Feb 2024 10:00:00 +0000",
      "from a by b; 30 Feb 2023 10:00:00 +0000",
      "from a by b; 29 Feb 2023 10:00:00 +0000",
      "from a by b; 1 Jan 2024 24:00:00 +0000",
      "from a by b; 1 Jan 2024 10:60:00 +0000",
      "from a by b; 1 Jan 2024 10:00:61 +0000",
      "from a by b; 1 Jan 1899 10:00:00 +0000",
      "from a by b; 1 Jan 2024 10:00:00 +2500",
      "from a by b; 1 Jan 2024 10:00:00 +0160",
      "from a by b; 0 Jan 2024 10:00:00 +0000",
      "from a by b; 14:47:44 +0000",
    ]
  ) {
    const field = parseReceived(value);
    assert.equal(field.date, undefined, value);
    assert.equal("date" in field, false, value);
    assert.equal(field.by?.name, "b", value);
  }
  assert.equal(
    parseReceived("by b; 29 Feb 2024 10:00:00 +0000").date?.toISOString(),
    "2024-02-29T10:00:00.000Z",
  );
});

Deno.test("parseReceived reads dates in every form servers write", () => {
  const cases: [string, string][] = [
    ["Thu, 24 Sep 2026 10:00:05 +0200", "2026-09-24T08:00:05.000Z"],
    ["24 Sep 2026 10:00:05 -0000", "2026-09-24T10:00:05.000Z"],
    ["Thu,24 Sep 2026 10:00 +0000", "2026-09-24T10:00:00.000Z"],
    ["Thu, 24 Sep 26 10:00:05 GMT", "2026-09-24T10:00:05.000Z"],
    ["Wed, 24 Sep 97 10:00:05 UT", "1997-09-24T10:00:05.000Z"],
    ["Thu, 24 Sep 2026 10:00:05 EDT", "2026-09-24T14:00:05.000Z"],
    ["Thu, 24 Sep 2026 10:00:05 PST", "2026-09-24T18:00:05.000Z"],
    ["Thu, 24 Sep 2026 10:00:05 CEST", "2026-09-24T10:00:05.000Z"],
    ["Thu, 24 Sep 2026 10:00:05 +05:30", "2026-09-24T04:30:05.000Z"],
    ["Thu, 24 Sep 2026 10:00:05.5 +0000", "2026-09-24T10:00:05.500Z"],
    ["Thu, 24 Sep 2026 10:00:05.123456 +0000", "2026-09-24T10:00:05.123Z"],
    ["Thu, 24 Sep 2026 23:59:60 +0000", "2026-09-24T23:59:59.000Z"],
    ["Thursday, 24 September 2026 10:00:05 +0000", "2026-09-24T10:00:05.000Z"],
    ["Thu Sep 24 10:00:05 2026", "2026-09-24T10:00:05.000Z"],
    ["Thu Sep  4 10:00:05 2026 +0100", "2026-09-04T09:00:05.000Z"],
    ["Thu Sep 24 10:00:05 CDT 2026", "2026-09-24T15:00:05.000Z"],
    ["2026-09-24 10:00:05.999999 +0000 UTC", "2026-09-24T10:00:05.999Z"],
    ["2026-09-24T10:00:05Z", "2026-09-24T10:00:05.000Z"],
    ["2026-09-24T10:00:05+02:00", "2026-09-24T08:00:05.000Z"],
    [
      "  Thu, 24 Sep 2026 10:00:05 +0000 (UTC) junk",
      "2026-09-24T10:00:05.000Z",
    ],
  ];
  for (const [text, iso] of cases) {
    assert.equal(
      parseReceived(`by mx.example; ${text}`).date?.toISOString(),
      iso,
      text,
    );
  }
});

Deno.test("parseReceived finds a ; that is not inside a comment, brackets or quotes", () => {
  const field = parseReceived(
    'from a (x; y) by b (ORCPT <rfc822;c@d>) with "q;q" id [1;2]; 1 Jan 2026 00:00:00 +0000',
  );
  assert.equal(field.date?.toISOString(), "2026-01-01T00:00:00.000Z");
  assert.equal(field.by?.name, "b");
  // Unclosed comment: the last ; still splits off the date.
  assert.equal(
    parseReceived("from a (unclosed by b; 1 Jan 2026 00:00:00 +0000").date
      ?.toISOString(),
    "2026-01-01T00:00:00.000Z",
  );
});

Deno.test("parseReceived reads comments nested anywhere", () => {
  const field = parseReceived(
    "from helo.example (rdns.example [192.0.2.1] (may (really) be forged))" +
      " (using TLSv1.3 with cipher TLS_AES_128_GCM_SHA256 (128/128 bits (AEAD)))" +
      " by mx.example (Postfix (3.9 (Debian))) with ESMTPS (x (y)) id 1A2B" +
      " for <a@example.net> (z); Mon, 2 Mar 2026 10:00:00 +0000 (UTC (really))",
  );
  assert.deepEqual(field.from, {
    helo: "helo.example",
    name: "rdns.example",
    ip: "192.0.2.1",
  });
  assert.deepEqual(field.by, { name: "mx.example" });
  assert.equal(field.with, "ESMTPS");
  assert.equal(field.id, "1A2B");
  assert.deepEqual(field.for, ["a@example.net"]);
  assert.deepEqual(field.tls, {
    version: "TLSv1.3",
    cipher: "TLS_AES_128_GCM_SHA256",
  });
});

Deno.test("parseReceived unfolds CRLF, LF and CR folding the same way", () => {
  const lines = [
    "from a.example (b.example [192.0.2.1])",
    "\tby c.example with ESMTP id X",
    "  for <d@example.net>; Mon, 2 Mar 2026",
    " 10:00:00 +0000",
  ];
  const expected = parseReceived(lines.join("\r\n"));
  for (const eol of ["\n", "\r"]) {
    const value = lines.join(eol);
    assert.deepEqual(parseReceived(value), { ...expected, raw: value });
  }
  assert.equal(expected.date?.toISOString(), "2026-03-02T10:00:00.000Z");
  assert.equal(expected.id, "X");
});

Deno.test("parseReceived reads address literals in every form", () => {
  const cases: [string, string][] = [
    ["[192.0.2.1]", "192.0.2.1"],
    ["[IPv6:2001:db8::1]", "2001:db8::1"],
    ["[ipv6:2001:DB8::1]", "2001:db8::1"],
    ["[2001:db8:0:0:0:0:0:1]", "2001:db8:0:0:0:0:0:1"],
    ["[::ffff:192.0.2.1]", "::ffff:192.0.2.1"],
    ["[IPv6:::1]", "::1"],
    ["[fe80::1%eth0]", "fe80::1%eth0"],
    ["[192.0.2.1]:2525", "192.0.2.1"],
    ["192.0.2.1:2525", "192.0.2.1"],
    ["[192.0.2.1.2525]", "192.0.2.1"],
  ];
  for (const [literal, ip] of cases) {
    assert.equal(
      parseReceived(`from h.example (r.example ${literal}) by mx; x`).from?.ip,
      ip,
      literal,
    );
  }
  for (
    const bad of [
      "[192.0.2.256]",
      "[2001:db8:::1]",
      "[1:2:3:4:5:6:7:8:9]",
      "[?.?.?.?]",
      "[local]",
      "[unix socket]",
    ]
  ) {
    assert.equal(
      parseReceived(`from h.example (r.example ${bad}) by mx; x`).from?.ip,
      undefined,
      bad,
    );
  }
});

Deno.test("parseReceived keeps raw exactly and never throws on odd input", () => {
  const inputs = [
    "",
    " ",
    ";",
    ";;;",
    "(",
    ")",
    "((((",
    "))))",
    "[",
    "<",
    '"',
    "\\",
    "from",
    "from by via with id for",
    "by",
    "for <",
    "for <>",
    "id <>",
    "\u0000\u0001\u007f\u0085",
    "from \ud800 by \udfff",
    "from a by b; " + "9".repeat(400),
    "from " + "(".repeat(10_000) + " by b",
    "from a" + " [".repeat(5_000),
    "for " + "<a@b> ".repeat(5_000),
  ];
  for (const input of inputs) {
    const field = parseReceived(input);
    assert.equal(field.raw, input);
    if (field.date !== undefined) {
      assert.ok(!Number.isNaN(field.date.getTime()));
    }
  }
  // Not a string at all (a JavaScript caller): a result all the same.
  for (const value of [undefined, null, 42, {}, Symbol("x")]) {
    const field = parseReceived(value as unknown as string);
    assert.equal(typeof field.raw, "string");
  }
});

Deno.test("parseReceived reads a megabyte-long field to the end", () => {
  const value = "from a.example (" + "x ".repeat(500_000) +
    ") by b.example; Mon, 2 Mar 2026 10:00:00 +0000";
  const field = parseReceived(value);
  assert.equal(field.by?.name, "b.example");
  assert.equal(field.date?.toISOString(), "2026-03-02T10:00:00.000Z");
});
