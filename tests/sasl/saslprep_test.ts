// SASLprep (RFC 4013): mapping, NFKC, prohibited output, bidi, and the
// query rule for unassigned code points.

import assert from "node:assert/strict";
import { saslprep } from "../../src/sasl/_saslprep.ts";

function prepared(text: string): string {
  const result = saslprep(text);
  assert.ok(
    result.ok,
    `${JSON.stringify(text)}: ${!result.ok && result.reason}`,
  );
  return result.value;
}

function refused(text: string, reason: RegExp, codePoint?: number): void {
  const result = saslprep(text);
  assert.ok(!result.ok, `${JSON.stringify(text)} was accepted`);
  assert.match(result.reason, reason);
  assert.equal(result.codePoint, codePoint);
}

Deno.test("saslprep() gives the results of the RFC 4013 §3 examples", () => {
  assert.equal(prepared("I\u00ADX"), "IX"); // 1. SOFT HYPHEN mapped to nothing
  assert.equal(prepared("user"), "user"); // 2. no transformation
  assert.equal(prepared("USER"), "USER"); // 3. case preserved
  assert.equal(prepared("\u00AA"), "a"); // 4. NFKC
  assert.equal(prepared("\u2168"), "IX"); // 5. NFKC, matches #1
  refused("\u0007", /prohibits \(RFC 3454 C\.2\.1/, 0x07); // 6. prohibited
  refused("\u0627\u0031", /RFC 3454 §6/); // 7. bidirectional check
});

Deno.test("saslprep() maps Table B.1 to nothing and Table C.1.2 to a space", () => {
  const b1 = [
    0x00ad,
    0x034f,
    0x1806,
    0x180b,
    0x180c,
    0x180d,
    0x200b,
    0x200c,
    0x200d,
    0x2060,
    0xfe00,
    0xfe0f,
    0xfeff,
  ];
  for (const cp of b1) {
    assert.equal(
      prepared(`a${String.fromCodePoint(cp)}b`),
      "ab",
      cp.toString(16),
    );
  }
  // U+200B is in both tables: mapped to nothing (B.1 first).
  const c12 = [0x00a0, 0x1680, 0x2000, 0x2005, 0x200a, 0x202f, 0x205f, 0x3000];
  for (const cp of c12) {
    assert.equal(
      prepared(`a${String.fromCodePoint(cp)}b`),
      "a b",
      cp.toString(16),
    );
  }
});

Deno.test("saslprep() normalises to NFKC after mapping", () => {
  assert.equal(prepared("\uFB01le"), "file"); // LATIN SMALL LIGATURE FI
  assert.equal(prepared("\uFF21\uFF22"), "AB"); // fullwidth
  assert.equal(prepared("e\u0301"), "\u00E9"); // composed
  assert.equal(prepared("\u2126"), "\u03A9"); // OHM SIGN
  // A space that NFKC produces from a compatibility character is kept.
  assert.equal(prepared("a\u00A0b"), "a b");
});

Deno.test("saslprep() refuses a character of each prohibited table, naming the table", () => {
  const cases: [number, string][] = [
    [0x0000, "C\\.2\\.1"],
    [0x001f, "C\\.2\\.1"],
    [0x007f, "C\\.2\\.1"],
    [0x0085, "C\\.2\\.2"],
    [0x200e, "C\\.8"],
    [0x2028, "C\\.2\\.2"],
    [0xe000, "C\\.3"],
    [0xf0000, "C\\.3"],
    [0xfdd0, "C\\.4"],
    [0xffff, "C\\.4"],
    [0x1fffe, "C\\.4"],
    [0xd800, "C\\.5"],
    [0xfffd, "C\\.6"],
    [0x2ff0, "C\\.7"],
    [0x202e, "C\\.8"],
    [0x200f, "C\\.8"],
    [0xe0001, "C\\.9"],
    [0xe0041, "C\\.9"],
  ];
  for (const [cp, table] of cases) {
    refused(
      `a${String.fromCodePoint(cp)}b`,
      new RegExp(`prohibits \\(RFC 3454 ${table},`),
      cp,
    );
  }
  // U+0340 is in C.8, but NFKC (step 2) makes it U+0300 before the check.
  assert.equal(prepared("a\u0340"), "\u00E0");
  // A tab, although PLAIN could carry it.
  refused("pass\tword", /C\.2\.1/, 0x09);
});

Deno.test("saslprep() applies the bidirectional rule of RFC 3454 §6", () => {
  assert.equal(
    prepared("\u05E9\u05DC\u05D5\u05DD"),
    "\u05E9\u05DC\u05D5\u05DD",
  );
  assert.equal(prepared("\u0627\u0031\u0628"), "\u0627\u0031\u0628");
  refused("\u0627\u0031", /does not start and end/);
  refused("\u0031\u0627", /does not start and end/);
  refused("\u0627a\u0628", /mixed/);
  refused("abc\u05D0", /mixed/);
});

Deno.test("saslprep() allows unassigned code points (the query rule)", () => {
  // U+0221 was unassigned in Unicode 3.2 (Table A.1); so was every emoji.
  assert.equal(prepared("a\u0221b"), "a\u0221b");
  assert.equal(prepared("p\u{1F511}ss"), "p\u{1F511}ss");
  assert.equal(prepared("\u{E0080}"), "\u{E0080}"); // A.1, not C.9
});

Deno.test("saslprep() keeps the empty string and ASCII as they are", () => {
  assert.equal(prepared(""), "");
  const ascii = Array.from(
    { length: 95 },
    (_, i) => String.fromCharCode(32 + i),
  )
    .join("");
  assert.equal(prepared(ascii), ascii);
});

Deno.test("saslprep() says why it refuses without quoting the text", () => {
  const secret = "hunter2\u0007";
  const result = saslprep(secret);
  assert.ok(!result.ok);
  assert.ok(!result.reason.includes("hunter2"));
});
