import assert from "node:assert/strict";
import { LineReader } from "../../src/testing/_line_reader.ts";

const encoder = new TextEncoder();

Deno.test("LineReader splits pipelined lines across any chunking", () => {
  const input = "EHLO a\r\nMAIL FROM:<ü@b>\r\n\r\nNOOP\n";
  const bytes = encoder.encode(input);
  for (let split = 0; split <= bytes.length; split++) {
    const reader = new LineReader(100);
    const lines: unknown[] = [];
    for (const chunk of [bytes.subarray(0, split), bytes.subarray(split)]) {
      reader.push(chunk);
      for (let line = reader.next(); line; line = reader.next()) {
        lines.push(line);
      }
    }
    assert.deepEqual(lines, [
      { line: "EHLO a", bareLf: false },
      { line: "MAIL FROM:<ü@b>", bareLf: false },
      { line: "", bareLf: false },
      { line: "NOOP", bareLf: true },
    ], `split at ${split}`);
    assert.equal(reader.buffered, 0);
  }
});

Deno.test("LineReader reports an over-long line once its end arrives", () => {
  const reader = new LineReader(4);
  reader.push(encoder.encode("1234\r\n12345"));
  assert.deepEqual(reader.next(), { line: "1234", bareLf: false });
  assert.equal(reader.next(), undefined);
  reader.push(encoder.encode("67890"));
  // Dropped already, so the buffer does not grow without bound.
  assert.equal(reader.next(), undefined);
  assert.equal(reader.buffered, 0);
  reader.push(encoder.encode("more\r\nNOOP\r\n"));
  assert.deepEqual(reader.next(), { tooLong: true });
  assert.deepEqual(reader.next(), { line: "NOOP", bareLf: false });
  reader.push(encoder.encode("12345\r\n"));
  assert.deepEqual(reader.next(), { tooLong: true });
});

Deno.test("LineReader take hands raw bytes to DATA and BDAT", () => {
  const reader = new LineReader(100);
  reader.push(encoder.encode("BDAT 3\r\nabcQUIT\r\n"));
  assert.deepEqual(reader.next(), { line: "BDAT 3", bareLf: false });
  assert.deepEqual(reader.take(3), encoder.encode("abc"));
  assert.deepEqual(reader.next(), { line: "QUIT", bareLf: false });
  reader.push(encoder.encode("rest"));
  assert.deepEqual(reader.take(), encoder.encode("rest"));
  assert.equal(reader.buffered, 0);
});
