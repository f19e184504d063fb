import assert from "node:assert/strict";
import { Capabilities } from "../../src/protocol/capabilities.ts";
import type { Reply } from "../../src/protocol/reply.ts";

function ehlo(...lines: string[]): Reply {
  return { code: 250, lines, text: lines.join("\n") };
}

Deno.test("Capabilities.parse() reads every extension the client uses", () => {
  const caps = Capabilities.parse(ehlo(
    "mx.example.com Hello client [127.0.0.1]",
    "SIZE 35882577",
    "8BITMIME",
    "PIPELINING",
    "SMTPUTF8",
    "STARTTLS",
    "AUTH LOGIN PLAIN XOAUTH2",
    "ENHANCEDSTATUSCODES",
    "DSN",
    "CHUNKING",
    "REQUIRETLS",
  ));
  assert.equal(caps.domain, "mx.example.com");
  assert.equal(caps.size, 35882577);
  assert.deepEqual(caps.auth, ["LOGIN", "PLAIN", "XOAUTH2"]);
  for (
    const flag of [
      "pipelining",
      "eightBitMime",
      "smtpUtf8",
      "startTls",
      "enhancedStatusCodes",
      "dsn",
      "chunking",
      "requireTls",
    ] as const
  ) {
    assert.equal(caps[flag], true, flag);
  }
});

Deno.test("Capabilities.parse() merges the old AUTH= form into AUTH", () => {
  const caps = Capabilities.parse(
    ehlo("mx", "AUTH=LOGIN PLAIN", "AUTH PLAIN CRAM-MD5"),
  );
  assert.deepEqual(caps.auth, ["LOGIN", "PLAIN", "CRAM-MD5"]);
});

Deno.test("Capabilities.parse() treats keywords case-insensitively", () => {
  const caps = Capabilities.parse(
    ehlo("mx", "pipelining", "size", "auth plain"),
  );
  assert.equal(caps.pipelining, true);
  assert.equal(caps.size, 0, "SIZE without a number means no fixed limit");
  assert.deepEqual(caps.auth, ["PLAIN"]);
  assert.equal(caps.has("PiPeLiNiNg"), true);
});

Deno.test("Capabilities reports nothing for a server that offers nothing", () => {
  const caps = Capabilities.parse(ehlo("mx"));
  assert.equal(caps.size, undefined);
  assert.equal(caps.startTls, false);
  assert.deepEqual(caps.auth, []);
  assert.deepEqual(caps.keywords, []);
});

Deno.test("Capabilities.parse() ignores a garbage SIZE value", () => {
  assert.equal(Capabilities.parse(ehlo("mx", "SIZE banana")).size, 0);
});

Deno.test("Capabilities.size reads only digits as a limit", () => {
  const caps = (size: string) =>
    Capabilities.parse({
      code: 250,
      lines: ["mx.example.com", `SIZE ${size}`],
      text: `mx.example.com\nSIZE ${size}`,
    }).size;
  assert.equal(caps("1000"), 1000);
  assert.equal(caps("1e3"), 0);
  assert.equal(caps("0x10"), 0);
  assert.equal(caps("-5"), 0);
  assert.equal(caps(" 12"), 12);
});
