import assert from "node:assert/strict";
import * as cmd from "../../src/protocol/_command.ts";

Deno.test("command builders write one line with ESMTP parameters", () => {
  assert.equal(cmd.ehlo("client.example").line, "EHLO client.example");
  assert.equal(
    cmd.mailFrom("a@example.com", [["SIZE", "1024"], ["SMTPUTF8", true]]).line,
    "MAIL FROM:<a@example.com> SIZE=1024 SMTPUTF8",
  );
  assert.equal(cmd.mailFrom("").line, "MAIL FROM:<>");
  assert.equal(
    cmd.rcptTo("b@example.com", [["NOTIFY", "SUCCESS,FAILURE"]]).line,
    "RCPT TO:<b@example.com> NOTIFY=SUCCESS,FAILURE",
  );
  assert.equal(cmd.rcptTo("Postmaster").line, "RCPT TO:<Postmaster>");
});

Deno.test("command builders throw TypeError on CR, LF or control characters", () => {
  const bad = ["a@b\r\nRSET", "a@b\n", "a@b\r", "a\x00@b", "a@b\x7f", "a@b\tc"];
  for (const value of bad) {
    assert.throws(() => cmd.mailFrom(value), TypeError, JSON.stringify(value));
    assert.throws(() => cmd.rcptTo(value), TypeError, JSON.stringify(value));
  }
  assert.throws(() => cmd.ehlo("host\r\nMAIL FROM:<x@y>"), TypeError);
  assert.throws(() => cmd.ehlo("two words"), TypeError);
  assert.throws(() => cmd.ehlo(""), TypeError);
  assert.throws(() => cmd.mailFrom("a@b", [["ENVID", "x\r\nRSET"]]), TypeError);
  assert.throws(() => cmd.mailFrom("a@b", [["BAD KEY", "x"]]), TypeError);
});

Deno.test("command builders refuse addresses that would break the angle brackets", () => {
  for (
    const value of ["a@b> SIZE=1", "<a@b>", "a b@c", "nodomain", "@b", "a@"]
  ) {
    assert.throws(() => cmd.rcptTo(value), TypeError, value);
  }
  assert.throws(() => cmd.rcptTo(`${"x".repeat(251)}@b.c`), RangeError);
});

Deno.test("auth() redacts the initial response in the transcript", () => {
  const command = cmd.auth("PLAIN", "AHVzZXIAcGFzcw==");
  assert.equal(command.line, "AUTH PLAIN AHVzZXIAcGFzcw==");
  assert.equal(command.logged, "AUTH PLAIN [redacted]");
  assert.equal(cmd.auth("PLAIN", "").line, "AUTH PLAIN =");
  assert.equal(cmd.saslResponse("c2VjcmV0").logged, "[redacted]");
  assert.throws(
    () => cmd.saslResponse("secret\r\nMAIL FROM:<x@y>"),
    (error: Error) =>
      error instanceof TypeError && !error.message.includes("secret"),
  );
});

Deno.test("xtext() encodes '+', '=', controls and non-ASCII as +HH", () => {
  assert.equal(cmd.xtext("id+1=2 x"), "id+2B1+3D2+20x");
  assert.equal(cmd.xtext("é"), "+C3+A9");
  assert.equal(cmd.xtext("plain-id_42"), "plain-id_42");
});

Deno.test("needsSmtpUtf8() is true only for non-ASCII addresses", () => {
  assert.equal(cmd.needsSmtpUtf8("user@example.com"), false);
  assert.equal(cmd.needsSmtpUtf8("usér@example.com"), true);
  assert.equal(cmd.needsSmtpUtf8("user@bücher.example"), true);
});

Deno.test("checkMailbox counts an address's length in UTF-8 octets: 254 pass, 255 throw RangeError", () => {
  const domain = "@example.com"; // 12 octets
  const ascii = (n: number) => "a".repeat(n - domain.length) + domain;
  assert.equal(cmd.checkMailbox(ascii(254), "recipient"), ascii(254));
  assert.throws(() => cmd.checkMailbox(ascii(255), "recipient"), RangeError);
  // "é" is 2 octets, "€" 3, "😀" 4 (a surrogate pair): 254 octets each.
  for (const [char, octets] of [["é", 2], ["€", 3], ["😀", 4]] as const) {
    const fill = 254 - domain.length;
    const local = char.repeat(Math.floor(fill / octets)) +
      "a".repeat(fill % octets);
    assert.equal(cmd.checkMailbox(local + domain, "recipient"), local + domain);
    assert.throws(
      () => cmd.checkMailbox("a" + local + domain, "recipient"),
      RangeError,
      char,
    );
  }
  // Short addresses of any script pass without counting.
  assert.equal(
    cmd.checkMailbox("пользователь@пример.рф", "recipient"),
    "пользователь@пример.рф",
  );
});
