import assert from "node:assert/strict";
import { parseAddress } from "../../mime.ts";

Deno.test("parseAddress reads a bare address", () => {
  assert.deepEqual(parseAddress("ada@example.com"), {
    address: "ada@example.com",
  });
  assert.deepEqual(parseAddress("  <ada@example.com>  "), {
    address: "ada@example.com",
  });
});

Deno.test("parseAddress reads display names as atoms, quoted strings and comments", () => {
  assert.deepEqual(parseAddress("Ada  Lovelace <ada@example.com>"), {
    name: "Ada Lovelace",
    address: "ada@example.com",
  });
  assert.deepEqual(parseAddress('"Lovelace, Ada \\"A\\"" <ada@example.com>'), {
    name: 'Lovelace, Ada "A"',
    address: "ada@example.com",
  });
  assert.deepEqual(parseAddress("ada@example.com (Ada Lovelace)"), {
    name: "Ada Lovelace",
    address: "ada@example.com",
  });
});

Deno.test("parseAddress decodes RFC 2047 encoded words in the name", () => {
  assert.deepEqual(
    parseAddress("=?UTF-8?Q?Zo=C3=AB?= =?UTF-8?B?IMOG?= <zoe@example.com>"),
    { name: "Zoë Æ", address: "zoe@example.com" },
  );
});

Deno.test("parseAddress turns an internationalised domain into punycode", () => {
  assert.deepEqual(parseAddress("Jörg <jörg@bücher.example>"), {
    name: "Jörg",
    address: "jörg@xn--bcher-kva.example",
  });
});

Deno.test("parseAddress keeps quoted local parts that need quotes and drops the others", () => {
  assert.equal(
    parseAddress('"john doe"@example.com').address,
    '"john doe"@example.com',
  );
  assert.equal(parseAddress('"john"@example.com').address, "john@example.com");
  assert.equal(
    parseAddress('<"a\\"b"@example.com>').address,
    '"a\\"b"@example.com',
  );
});

Deno.test("parseAddress accepts domain literals and obsolete routes", () => {
  assert.equal(parseAddress("a@[192.0.2.1]").address, "a@[192.0.2.1]");
  assert.equal(
    parseAddress("<@relay.example:a@example.com>").address,
    "a@example.com",
  );
});

Deno.test("parseAddress throws TypeError on CR, LF and other control characters", () => {
  for (
    const input of [
      "a@example.com\r\nBcc: x@example.com",
      "Ada\n <a@example.com>",
      "a@exam\rple.com",
      "a\u0000@example.com",
      "Ada\u0085 <a@example.com>",
    ]
  ) {
    assert.throws(() => parseAddress(input), TypeError, JSON.stringify(input));
  }
});

Deno.test("parseAddress throws TypeError on malformed addresses", () => {
  for (
    const input of [
      "",
      "example.com",
      "a@",
      "@example.com",
      "john doe@example.com",
      "Ada a@example.com",
      "<a@example.com",
      '"Ada <a@example.com>',
      "a@exa mple.com",
      "a@example..com",
      "a@exa/mple.com",
      "a@example.com, b@example.com",
      "Team: a@example.com;",
      "<a@example.com> trailing",
      "x".repeat(250) + "@example.com",
    ]
  ) {
    assert.throws(() => parseAddress(input), TypeError, JSON.stringify(input));
  }
});
