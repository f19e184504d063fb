// Copyright the @x/sendmail authors. MIT license.

import assert from "node:assert/strict";
import { ReplyStream, type ReplyStreamOptions, SmtpError } from "../../mod.ts";
import type { Reply } from "../../src/protocol/reply.ts";
import { bytewise, latin1, Random, randomChunks } from "../_harness/random.ts";
import {
  assertSameReplies,
  randomReplies,
  referenceParse,
} from "../_harness/reply_reference.ts";
import { concatBytes } from "../../src/protocol/_bytes.ts";

function read(
  chunks: Uint8Array[],
  options?: ReplyStreamOptions,
): Promise<Reply[]> {
  return Array.fromAsync(
    ReadableStream.from(chunks).pipeThrough(new ReplyStream(options)),
  );
}

Deno.test("ReplyStream emits each reply whatever the chunking", async () => {
  const input = latin1(
    "220 smtp.example.com ESMTP\r\n" +
      "250-smtp.example.com\r\n250-SIZE 35882577\r\n250 8BITMIME\r\n" +
      "550 5.1.1 No such user \xe2\x9c\x93\r\n" +
      "354\n",
  );
  const expected: Reply[] = [
    {
      code: 220,
      lines: ["smtp.example.com ESMTP"],
      text: "smtp.example.com ESMTP",
    },
    {
      code: 250,
      lines: ["smtp.example.com", "SIZE 35882577", "8BITMIME"],
      text: "smtp.example.com\nSIZE 35882577\n8BITMIME",
    },
    {
      code: 550,
      enhancedCode: "5.1.1",
      lines: ["No such user ✓"],
      text: "No such user ✓",
    },
    { code: 354, lines: [""], text: "" },
  ];
  assert.deepEqual(await read([input]), expected);
  assert.deepEqual(await read(bytewise(input)), expected);
  for (let i = 0; i <= input.length; i++) {
    for (let j = i; j <= input.length; j += 7) {
      const chunks = [
        input.subarray(0, i),
        input.subarray(i, j),
        input.subarray(j),
      ];
      assert.deepEqual(await read(chunks), expected);
    }
  }
});

Deno.test("ReplyStream errors with a protocol SmtpError when the input ends mid-reply", async () => {
  for (const input of ["250-a\r\n", "250 a", "250 a\r", "250-a\r\n250 b"]) {
    await assert.rejects(read([latin1(input)]), (error) => {
      assert.ok(error instanceof SmtpError);
      assert.equal(error.kind, "protocol");
      assert.match(
        error.message,
        /^Cannot parse reply: connection closed mid-reply/,
      );
      return true;
    });
  }
});

Deno.test("ReplyStream errors with a protocol SmtpError on a malformed reply", async () => {
  const stream = ReadableStream.from([
    latin1("220 hi\r\n"),
    latin1("HTTP/1.1 400\r\n"),
  ])
    .pipeThrough(new ReplyStream());
  const reader = stream.getReader();
  assert.deepEqual((await reader.read()).value, {
    code: 220,
    lines: ["hi"],
    text: "hi",
  });
  await assert.rejects(reader.read(), {
    name: "SmtpError",
    kind: "protocol",
    message:
      'Cannot parse reply: expected a three-digit code from 200 to 599, got "HTTP/1.1 400"',
  });
});

Deno.test("ReplyStream enforces its line limits", async () => {
  await assert.rejects(
    read([latin1("250 " + "x".repeat(100) + "\r\n")], { maxLineLength: 64 }),
    {
      message: "Cannot parse reply: line longer than 64 bytes",
    },
  );
  await assert.rejects(
    read([latin1("250-a\r\n250-b\r\n250 c\r\n")], { maxLines: 2 }),
    {
      message: "Cannot parse reply: reply longer than 2 lines",
    },
  );
});

Deno.test("ReplyStream parses 8 MiB of replies in random chunks like the reference", async () => {
  const random = new Random(3);
  const parts: Uint8Array[] = [];
  let size = 0;
  while (size < 8 * 1024 * 1024) {
    const part = randomReplies(random, 500);
    parts.push(part);
    size += part.length;
  }
  const data = concatBytes(parts, size);
  const expected = referenceParse(data, 8192, 1000);
  assert.equal(expected.error, false);
  assertSameReplies(await read(randomChunks(random, data)), expected.replies);
});
