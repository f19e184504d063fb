import assert from "node:assert/strict";
import { formatAddress, parseAddress } from "../../mime.ts";
import { prng, randomText } from "./_util.ts";

Deno.test("formatAddress writes a bare address without a name", () => {
  assert.equal(formatAddress("ada@example.com"), "ada@example.com");
  assert.equal(
    formatAddress({ address: "ada@example.com" }),
    "ada@example.com",
  );
  assert.equal(
    formatAddress({ name: "", address: "ada@example.com" }),
    "ada@example.com",
  );
});

Deno.test("formatAddress leaves atom names bare and quotes names with specials", () => {
  assert.equal(
    formatAddress({ name: "Ada Lovelace", address: "ada@example.com" }),
    "Ada Lovelace <ada@example.com>",
  );
  assert.equal(
    formatAddress({
      name: 'Lovelace, Ada "A." \\',
      address: "ada@example.com",
    }),
    '"Lovelace, Ada \\"A.\\" \\\\" <ada@example.com>',
  );
});

Deno.test("formatAddress encodes non-ASCII names and punycodes domains", () => {
  assert.equal(
    formatAddress("Jörg <jorg@bücher.example>"),
    "=?UTF-8?B?SsO2cmc=?= <jorg@xn--bcher-kva.example>",
  );
});

Deno.test("formatAddress encodes a name that looks like an encoded word", () => {
  const formatted = formatAddress({
    name: "=?UTF-8?B?SGk=?=",
    address: "a@example.com",
  });
  assert.equal(parseAddress(formatted).name, "=?UTF-8?B?SGk=?=");
});

Deno.test("formatAddress keeps a non-ASCII local part (SMTPUTF8)", () => {
  assert.equal(formatAddress("δοκιμή@example.com"), "δοκιμή@example.com");
});

Deno.test("formatAddress throws TypeError on control characters in the name or address", () => {
  assert.throws(
    () =>
      formatAddress({
        name: "Ada\r\nBcc: x@example.com",
        address: "a@example.com",
      }),
    TypeError,
  );
  assert.throws(
    () => formatAddress({ address: "a@example.com\r\n" }),
    TypeError,
  );
  assert.throws(() => formatAddress({ address: "a@example.com>" }), TypeError);
  assert.throws(() => formatAddress("a@example.com, b@example.com"), TypeError);
});

Deno.test("formatAddress output parses back to the same mailbox for random names", () => {
  const random = prng(11);
  for (let n = 0; n < 500; n++) {
    const name = randomText(random, 120).replace(/\s+/g, " ").trim();
    const formatted = formatAddress({ name, address: "a@example.com" });
    assert.deepEqual(
      parseAddress(formatted),
      name === ""
        ? { address: "a@example.com" }
        : { name, address: "a@example.com" },
      formatted,
    );
  }
});
