// The matrix helpers decide what the README table claims (which extensions
// a session used, whether a delivered message is the sent one): tested on
// plain data here, since a wrong helper would make every cell lie.

import assert from "node:assert/strict";
import type { SmtpLogEvent } from "../../mod.ts";
import {
  assertDelivered,
  bigMessage,
  TEST_MESSAGE,
  Transcript,
} from "./_matrix.ts";
import { privateMountCommand } from "../_harness/unpacked.ts";

function transcript(lines: string[]): Transcript {
  const log = new Transcript();
  for (const line of lines) {
    const [type, text] = line.startsWith("C: ")
      ? ["client", line.slice(3)]
      : line.startsWith("S: ")
      ? ["server", line.slice(3)]
      : ["info", line.slice(3)];
    log.logger({ type, text } as SmtpLogEvent);
  }
  return log;
}

const EHLO = [
  "S: 220 mx.example ESMTP",
  "C: EHLO localhost",
  "S: 250-mx.example",
  "S: 250-PIPELINING",
  "S: 250 8BITMIME",
];

Deno.test("Transcript.pipelined is false when every command waits for its reply", () => {
  const log = transcript([
    ...EHLO,
    "C: MAIL FROM:<a@example.com>",
    "S: 250 ok",
    "C: RCPT TO:<b@example.com>",
    "S: 250 ok",
    "C: DATA",
    "S: 354 go",
    "I: 20 octets of message data sent",
    "S: 250 queued",
    "C: QUIT",
    "S: 221 bye",
  ]);
  assert.equal(log.pipelined, false);
  assert.equal(log.quitBehindData, false);
  assert.deepEqual(log.usedByClient, []);
  assert.deepEqual(log.ehlo, ["PIPELINING", "8BITMIME"]);
});

Deno.test("Transcript.pipelined is true when MAIL, RCPT and DATA go in one group", () => {
  const log = transcript([
    ...EHLO,
    "C: MAIL FROM:<a@example.com>",
    "C: RCPT TO:<b@example.com>",
    "C: DATA",
    "S: 250 ok",
    "S: 250 ok",
    "S: 354 go",
    "I: 20 octets of message data sent",
    "S: 250 queued",
    "C: QUIT",
    "S: 221 bye",
  ]);
  assert.equal(log.pipelined, true);
  assert.equal(log.quitBehindData, false);
});

Deno.test("Transcript.quitBehindData is true when QUIT goes before the reply to the data", () => {
  const data = transcript([
    ...EHLO,
    "C: MAIL FROM:<a@example.com>",
    "S: 250 ok",
    "C: RCPT TO:<b@example.com>",
    "S: 250 ok",
    "C: DATA",
    "S: 354 go",
    "I: 20 octets of message data sent",
    "C: QUIT",
    "S: 250 queued",
    "S: 221 bye",
  ]);
  assert.equal(data.quitBehindData, true);
  assert.equal(data.pipelined, false, "only the QUIT went ahead");
  assert.deepEqual(data.usedByClient, ["QUIT behind the data"]);
  const bdat = transcript([
    ...EHLO,
    "C: MAIL FROM:<a@example.com>",
    "C: RCPT TO:<b@example.com>",
    "C: BDAT 20 LAST",
    "C: QUIT",
    "S: 250 ok",
    "S: 250 ok",
    "S: 250 queued",
    "S: 221 bye",
  ]);
  assert.equal(bdat.quitBehindData, true);
  assert.equal(bdat.pipelined, true);
});

Deno.test("Transcript counts an AUTH continuation as an answer, not as pipelining", () => {
  const log = transcript([
    ...EHLO,
    "C: AUTH LOGIN",
    "S: 334 VXNlcm5hbWU6",
    "C: [redacted]",
    "S: 334 UGFzc3dvcmQ6",
    "C: [redacted]",
    "S: 235 ok",
    "C: QUIT",
    "S: 221 bye",
  ]);
  assert.equal(log.pipelined, false);
  assert.deepEqual(log.replies.at(-2), "235 ok");
});

Deno.test("assertDelivered accepts trace fields on top and nothing else", () => {
  const lf = TEST_MESSAGE.replaceAll("\r\n", "\n");
  assertDelivered(
    "Received: from x\n\tby y; Tue, 1 Dec 2026\nReturn-Path: <a@b>\n" + lf,
    TEST_MESSAGE,
    "\n",
  );
  assertDelivered("Received: by z\r\n" + TEST_MESSAGE, TEST_MESSAGE, "\r\n");
  assert.throws(
    () =>
      assertDelivered("X-Spam: yes\nReceived: by z\n" + lf, TEST_MESSAGE, "\n"),
    /added "X-Spam:"/,
  );
  assert.throws(
    () => assertDelivered(lf, TEST_MESSAGE, "\n"),
    /no Received field/,
  );
  // A changed octet anywhere fails, with where.
  const wrapped = lf.replace("=998 end", "=99\n 8 end");
  assert.throws(
    () => assertDelivered("Received: by z\n" + wrapped, TEST_MESSAGE, "\n"),
    /differing at \d+/,
  );
  const unstuffed = lf.replace("\n..two", "\n.two");
  assert.throws(
    () => assertDelivered("Received: by z\n" + unstuffed, TEST_MESSAGE, "\n"),
    /differing at/,
  );
});

Deno.test("TEST_MESSAGE and bigMessage hold the lines the matrix is about", () => {
  const lines = TEST_MESSAGE.split("\r\n");
  assert.ok(lines.includes("."));
  assert.ok(lines.some((l) => l.startsWith("..")));
  assert.equal(
    Math.max(...lines.map((l) => new TextEncoder().encode(l).length)),
    998,
  );
  assert.ok(TEST_MESSAGE.endsWith("\r\n"));
  assert.ok(!/[^\r]\n/.test(TEST_MESSAGE), "CRLF only");
  const big = bigMessage();
  assert.ok(big.length >= 5 * 1024 * 1024);
  assert.ok(big.split("\r\n").filter((l) => l.startsWith(".")).length > 600);
});

Deno.test("privateMountCommand quotes every word for the shell it runs", () => {
  const [command, args] = privateMountCommand(
    [["/tmp/a b/passwd", "/etc/passwd"]],
    "/opt/x/it's",
    ["-f", "a;b"],
    { stderrToStdout: true },
  );
  assert.equal(command, "unshare");
  assert.deepEqual(args.slice(0, 3), ["-m", "sh", "-c"]);
  assert.equal(
    args[3],
    `mount --bind '/tmp/a b/passwd' '/etc/passwd' && exec '/opt/x/it'\\''s' '-f' 'a;b' 2>&1`,
  );
});
