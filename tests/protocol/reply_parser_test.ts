// Copyright the @x/sendmail authors. MIT license.

import assert from "node:assert/strict";
import {
  DEFAULT_MAX_LINE_LENGTH,
  DEFAULT_MAX_LINES,
  MAX_KEPT_TEXT,
  ReplyParser,
  type ReplyParserOptions,
} from "../../src/protocol/_reply_parser.ts";
import type { Reply } from "../../src/protocol/reply.ts";
import { SmtpError } from "../../src/protocol/smtp_error.ts";
import {
  bytewise,
  latin1,
  Random,
  randomChunks,
  splitsInTwo,
} from "../_harness/random.ts";
import {
  assertSameReplies,
  mutate,
  randomBytes,
  randomReplies,
  referenceParse,
} from "../_harness/reply_reference.ts";

const encoder = new TextEncoder();

/** Pushes every chunk, then checks nothing is pending. */
function parseChunks(
  chunks: Iterable<Uint8Array>,
  options?: ReplyParserOptions,
): Reply[] {
  const parser = new ReplyParser(options);
  const replies: Reply[] = [];
  for (const chunk of chunks) replies.push(...parser.push(chunk));
  parser.end();
  return replies;
}

function reply(
  code: number,
  lines: string[],
  enhancedCode?: string,
): Reply {
  const text = lines.join("\n");
  return enhancedCode === undefined
    ? { code, lines, text }
    : { code, enhancedCode, lines, text };
}

/** Input (code units 0-255 are bytes, others UTF-8) → expected replies. */
const VALID: [string, Reply[]][] = [
  ["250 OK\r\n", [reply(250, ["OK"])]],
  ["250-a\r\n250 b\r\n", [reply(250, ["a", "b"])]],
  ["250\r\n", [reply(250, [""])]],
  ["250 \r\n", [reply(250, [""])]],
  ["250-\r\n250-\r\n250\r\n", [reply(250, ["", "", ""])]],
  ["250 two  spaces \r\n", [reply(250, ["two  spaces "])]],
  ["250  lead\r\n", [reply(250, [" lead"])]],
  ["200 min\r\n599 max\r\n", [reply(200, ["min"]), reply(599, ["max"])]],
  ["220 hi\r\n250 ok\r\n221 bye\r\n", [
    reply(220, ["hi"]),
    reply(250, ["ok"]),
    reply(221, ["bye"]),
  ]],
  // Bare LF line endings, alone or mixed with CRLF.
  ["250 OK\n", [reply(250, ["OK"])]],
  ["250-a\n250 b\r\n", [reply(250, ["a", "b"])]],
  // Enhanced status codes.
  ["550 5.1.1 No such user\r\n", [reply(550, ["No such user"], "5.1.1")]],
  ["250-2.0.0 a\r\n250 2.0.0 b\r\n", [reply(250, ["a", "b"], "2.0.0")]],
  ["250 2.0.0\r\n", [reply(250, [""], "2.0.0")]],
  ["451 4.123.999 x\r\n", [reply(451, ["x"], "4.123.999")]],
  ["250 2.0.0  x\r\n", [reply(250, [" x"], "2.0.0")]],
  // Not on every line, differing, class mismatch, malformed: kept as text.
  ["250-2.0.0 a\r\n250 b\r\n", [reply(250, ["2.0.0 a", "b"])]],
  ["250-2.0.0 a\r\n250 2.1.0 b\r\n", [reply(250, ["2.0.0 a", "2.1.0 b"])]],
  ["550 4.0.0 x\r\n", [reply(550, ["4.0.0 x"])]],
  ["354 3.0.0 go\r\n", [reply(354, ["3.0.0 go"])]],
  ["250 2.0.0OK\r\n", [reply(250, ["2.0.0OK"])]],
  ["250 2.1000.0 x\r\n", [reply(250, ["2.1000.0 x"])]],
  ["250 2.0 x\r\n", [reply(250, ["2.0 x"])]],
  ["250 2..0 x\r\n", [reply(250, ["2..0 x"])]],
  // UTF-8, valid and not; control characters other than HTAB replaced.
  ["250 h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80\r\n", [
    reply(250, ["héllo ✓ 😀"]),
  ]],
  ["250 a\xffb\r\n", [reply(250, ["a\uFFFDb"])]],
  ["250 a\xe2\x9c\r\n", [reply(250, ["a\uFFFD"])]],
  ["250 a\x1b[31mb\tc\r\n", [reply(250, ["a\uFFFD[31mb\tc"])]],
  ["250 a\rb\x00c\x7f\xc2\x9b\r\n", [
    reply(250, ["a\uFFFDb\uFFFDc\uFFFD\uFFFD"]),
  ]],
  ["250 \xef\xbb\xbfbom\r\n", [reply(250, ["\uFEFFbom"])]],
];

const MALFORMED: string[] = [
  "\r\n",
  "\n",
  "25\r\n",
  "25 x\r\n",
  "abc\r\n",
  "150 x\r\n",
  "600 x\r\n",
  "099 x\r\n",
  "250x\r\n",
  "250_a\r\n",
  "250\tx\r\n",
  "2a0 x\r\n",
  " 250 x\r\n",
  "250-a\r\n251 b\r\n",
  "250-a\r\n\r\n",
  "250-a\r\n550 b\r\n",
  "\xef\xbb\xbf250 bom\r\n",
];

function bytes(text: string): Uint8Array {
  // Code units above 0xff are UTF-8; the rest are bytes as written.
  return [...text].some((c) => c.charCodeAt(0) > 0xff)
    ? encoder.encode(text)
    : latin1(text);
}

Deno.test("ReplyParser parses valid replies whatever the chunking", () => {
  for (const [input, expected] of VALID) {
    const data = bytes(input);
    assert.deepEqual(parseChunks([data]), expected, JSON.stringify(input));
    assert.deepEqual(parseChunks(bytewise(data)), expected);
    for (const chunks of splitsInTwo(data)) {
      assert.deepEqual(parseChunks(chunks), expected, JSON.stringify(input));
    }
  }
});

Deno.test("ReplyParser parses every case in one stream split at every position", () => {
  const all = VALID.map(([input]) => input).join("");
  const expected = VALID.flatMap(([, replies]) => replies);
  const data = bytes(all);
  for (const chunks of splitsInTwo(data)) {
    assert.deepEqual(parseChunks(chunks), expected);
  }
  assert.deepEqual(parseChunks(bytewise(data)), expected);
});

Deno.test("ReplyParser throws a protocol SmtpError on malformed replies whatever the chunking", () => {
  for (const input of MALFORMED) {
    const data = bytes(input);
    for (const chunks of [...splitsInTwo(data), bytewise(data)]) {
      assert.throws(
        () => parseChunks(chunks),
        (error) =>
          error instanceof SmtpError && error.kind === "protocol" &&
          error.message.startsWith("Cannot parse reply: ") &&
          !error.temporary,
        JSON.stringify(input),
      );
    }
  }
});

Deno.test("ReplyParser names the offending code in its error", () => {
  const parser = new ReplyParser();
  assert.throws(
    () => parser.push(latin1("250-a\r\n251 b\r\n")),
    new SmtpError("Cannot parse reply: line 2 has code 251, expected 250"),
  );
  assert.throws(
    () => new ReplyParser().push(latin1("hello\x1b\r\n")),
    {
      message:
        'Cannot parse reply: expected a three-digit code from 200 to 599, got "hello\uFFFD"',
    },
  );
});

Deno.test("ReplyParser keeps failing after an error", () => {
  const parser = new ReplyParser();
  assert.throws(() => parser.push(latin1("xyz\r\n")), SmtpError);
  assert.throws(() => parser.push(latin1("250 ok\r\n")), SmtpError);
  assert.throws(() => parser.end(), SmtpError);
  assert.equal(parser.buffered, 0);
});

Deno.test("ReplyParser.buffered counts the bytes of an incomplete reply", () => {
  const parser = new ReplyParser();
  assert.equal(parser.buffered, 0);
  assert.deepEqual(parser.push(latin1("220 ready\r\n")), [
    reply(220, ["ready"]),
  ]);
  assert.equal(parser.buffered, 0);
  assert.deepEqual(parser.push(latin1("250-a\r\n25")), []);
  assert.equal(parser.buffered, 9);
  assert.deepEqual(parser.push(latin1("0 b\r")), []);
  assert.equal(parser.buffered, 13);
  assert.deepEqual(parser.push(latin1("\n")), [reply(250, ["a", "b"])]);
  assert.equal(parser.buffered, 0);
});

Deno.test("ReplyParser.buffered reveals bytes injected after a STARTTLS reply", () => {
  // RFC 3207 §6: the server (or an attacker) sends more after the 220.
  const parser = new ReplyParser();
  const replies = parser.push(latin1("220 2.0.0 go ahead\r\n250-injected"));
  assert.deepEqual(replies, [reply(220, ["go ahead"], "2.0.0")]);
  assert.equal(parser.buffered, 12);
});

Deno.test("ReplyParser.end throws when the input ends mid-reply", () => {
  for (const input of ["250-a\r\n", "250 ok", "250 ok\r", "2"]) {
    const parser = new ReplyParser();
    parser.push(latin1(input));
    assert.throws(() => parser.end(), {
      name: "SmtpError",
      kind: "protocol",
      message:
        `Cannot parse reply: connection closed mid-reply with ${input.length} bytes pending`,
    });
  }
  const parser = new ReplyParser();
  parser.push(latin1("250 ok\r\n"));
  parser.end();
});

Deno.test("ReplyParser.bareLineFeeds counts lines ending with a bare LF", () => {
  const parser = new ReplyParser();
  parser.push(latin1("250-a\n250-b\r\n250 c\n"));
  assert.equal(parser.bareLineFeeds, 2);
});

Deno.test("ReplyParser accepts a line of exactly maxLineLength bytes whatever the chunking", () => {
  const options = { maxLineLength: 16 };
  for (const end of ["\r\n", "\n"]) {
    const line = `250 ${"x".repeat(12)}`;
    const data = latin1(line + end);
    for (const chunks of [...splitsInTwo(data), bytewise(data)]) {
      assert.deepEqual(parseChunks(chunks, options), [
        reply(250, ["x".repeat(12)]),
      ]);
    }
  }
});

Deno.test("ReplyParser throws as soon as a line exceeds maxLineLength", () => {
  const options = { maxLineLength: 16 };
  const line = latin1(`250 ${"x".repeat(13)}\r\n`);
  for (const chunks of [...splitsInTwo(line), bytewise(line)]) {
    assert.throws(() => parseChunks(chunks, options), {
      message: "Cannot parse reply: line longer than 16 bytes",
    });
  }
  // Byte by byte without any line ending: fails at the 17th non-CR byte.
  const parser = new ReplyParser(options);
  for (let i = 0; i < 16; i++) parser.push(latin1("x"));
  assert.equal(parser.buffered, 16);
  assert.throws(() => parser.push(latin1("x")), SmtpError);
});

Deno.test("ReplyParser rejects a 1 MiB line without holding it", () => {
  const parser = new ReplyParser();
  const chunk = new Uint8Array(64 * 1024).fill(0x78);
  assert.throws(() => {
    for (let i = 0; i < 16; i++) {
      parser.push(chunk);
      assert.ok(parser.buffered <= DEFAULT_MAX_LINE_LENGTH + 1);
    }
  }, { message: `Cannot parse reply: line longer than 8192 bytes` });
  const oneChunk = new ReplyParser();
  assert.throws(() => oneChunk.push(new Uint8Array(1 << 20).fill(0x32)));
});

Deno.test("ReplyParser throws when a reply exceeds maxLines", () => {
  const options = { maxLines: 3 };
  assert.deepEqual(
    parseChunks([latin1("250-a\r\n250-b\r\n250 c\r\n")], options),
    [reply(250, ["a", "b", "c"])],
  );
  assert.throws(
    () => parseChunks([latin1("250-a\r\n250-b\r\n250-c\r\n")], options),
    { message: "Cannot parse reply: reply longer than 3 lines" },
  );
});

Deno.test("ReplyParser stops endless continuation lines at the default caps", () => {
  const parser = new ReplyParser();
  const line = latin1("250-more\r\n");
  let lines = 0;
  assert.throws(() => {
    for (;;) {
      parser.push(line);
      lines++;
      assert.ok(parser.buffered <= DEFAULT_MAX_LINES * line.length);
    }
  }, { message: "Cannot parse reply: reply longer than 1000 lines" });
  assert.equal(lines, DEFAULT_MAX_LINES - 1);
});

Deno.test("ReplyParser copies an incomplete line instead of keeping the chunk", () => {
  const parser = new ReplyParser();
  const chunk = latin1("250 hel");
  parser.push(chunk);
  chunk.fill(0x21);
  assert.deepEqual(parser.push(latin1("lo\r\n")), [reply(250, ["hello"])]);
});

Deno.test("ReplyParser rejects limits that are not positive integers", () => {
  for (
    const options of [
      { maxLineLength: 0 },
      { maxLineLength: 2 },
      { maxLineLength: 1.5 },
      { maxLines: 0 },
      { maxLines: Infinity },
      { maxLines: NaN },
    ]
  ) {
    assert.throws(() => new ReplyParser(options), RangeError);
  }
});

Deno.test("ReplyParser parses 8 MiB of replies in random chunks like the reference", () => {
  const random = new Random(1);
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < 8 * 1024 * 1024) {
    const data = randomReplies(random, 1000);
    chunks.push(data);
    size += data.length;
  }
  const data = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    data.set(chunk, offset);
    offset += chunk.length;
  }
  const expected = referenceParse(
    data,
    DEFAULT_MAX_LINE_LENGTH,
    DEFAULT_MAX_LINES,
  );
  assert.equal(expected.error, false);
  assert.ok(expected.replies.length > 10_000);
  assertSameReplies(parseChunks(randomChunks(random, data)), expected.replies);
});

/** Runs the parser over chunks, comparing with the reference at the end. */
function checkAgainstReference(
  random: Random,
  data: Uint8Array,
  options: Required<ReplyParserOptions>,
): void {
  const parser = new ReplyParser(options);
  const replies: Reply[] = [];
  let error: unknown;
  const bound = options.maxLines * (options.maxLineLength + 2);
  for (const chunk of randomChunks(random, data)) {
    try {
      replies.push(...parser.push(chunk));
    } catch (caught) {
      error = caught;
      break;
    }
    assert.ok(parser.buffered <= bound);
  }
  const expected = referenceParse(
    data,
    options.maxLineLength,
    options.maxLines,
  );
  const context = JSON.stringify(Array.from(data));
  assert.equal(error !== undefined, expected.error, context);
  if (error === undefined) {
    assert.deepEqual(replies, expected.replies, context);
    assert.equal(parser.buffered, expected.pending);
  } else {
    assert.ok(error instanceof SmtpError, String(error));
    assert.equal(error.kind, "protocol");
    // The replies completed in the chunk that failed are not returned.
    assert.deepEqual(
      replies,
      expected.replies.slice(0, replies.length),
      context,
    );
  }
}

Deno.test("ReplyParser matches the reference on random and mutated inputs", () => {
  const random = new Random(2);
  for (let i = 0; i < 3000; i++) {
    const options = random.chance(0.5)
      ? { maxLineLength: 8 + random.int(64), maxLines: 1 + random.int(8) }
      : { maxLineLength: DEFAULT_MAX_LINE_LENGTH, maxLines: DEFAULT_MAX_LINES };
    const valid = randomReplies(random, 1 + random.int(4));
    const data = random.chance(0.1)
      ? randomBytes(random, random.int(200))
      : random.chance(0.2)
      ? valid
      : mutate(random, valid);
    checkAgainstReference(random, data, options);
  }
});

Deno.test("ReplyParser keeps at most 16 KiB of a reply's text and marks it truncated", () => {
  const parser = new ReplyParser();
  const line = "x".repeat(8000);
  let input = "";
  for (let i = 0; i < 999; i++) input += `550-5.1.1 ${line}\r\n`;
  input += `550 5.1.1 ${line}\r\n`;
  const [reply, ...rest] = parser.push(new TextEncoder().encode(input));
  assert.equal(rest.length, 0);
  assert.equal(reply!.code, 550);
  assert.equal(reply!.enhancedCode, "5.1.1");
  assert.equal(reply!.truncated, true);
  assert.equal(reply!.lines.length, 2);
  assert.ok(reply!.text.length <= MAX_KEPT_TEXT);
  assert.equal(parser.buffered, 0);
});

Deno.test("ReplyParser does not mark a reply that fits as truncated, and keeps the enhanced code only when every line has it", () => {
  const parser = new ReplyParser();
  const [a, b] = parser.push(
    new TextEncoder().encode(
      "250-2.0.0 one\r\n250 2.0.0 two\r\n250-2.0.0 one\r\n250 two\r\n",
    ),
  );
  assert.equal(a!.truncated, undefined);
  assert.equal(a!.enhancedCode, "2.0.0");
  assert.deepEqual(a!.lines, ["one", "two"]);
  assert.equal(b!.enhancedCode, undefined);
  assert.deepEqual(b!.lines, ["2.0.0 one", "two"]);
});
