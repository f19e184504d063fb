import assert from "node:assert/strict";
import { DotEndStream } from "../../src/cli/_dot_end_stream.ts";

const encoder = new TextEncoder();

/** Runs `input` split into chunks at `cuts` through the stream. */
async function run(input: string, cuts: number[]): Promise<string> {
  const bytes = encoder.encode(input);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    chunks.push(bytes.slice(start, cut));
    start = cut;
  }
  const out = ReadableStream.from(chunks).pipeThrough(new DotEndStream());
  return await new Response(out).text();
}

/** Every way of cutting `input` into two and three chunks. */
async function everySplit(input: string, expected: string): Promise<void> {
  const n = encoder.encode(input).length;
  assert.equal(await run(input, []), expected, "whole");
  for (let i = 0; i <= n; i++) {
    assert.equal(await run(input, [i]), expected, `cut at ${i}`);
    for (let j = i; j <= n; j++) {
      assert.equal(await run(input, [i, j]), expected, `cuts at ${i}, ${j}`);
    }
  }
}

Deno.test("DotEndStream ends the input at a line with a single dot, at any chunk boundary", async () => {
  await everySplit("Subject: x\n\nbody\n.\nignored\n", "Subject: x\n\nbody\n");
  await everySplit("a\r\n.\r\nignored\r\n", "a\r\n");
  await everySplit(".\nall ignored", "");
});

Deno.test("DotEndStream passes lines that only start with a dot untouched", async () => {
  await everySplit("a\n..\n.x\n. \nb.\n", "a\n..\n.x\n. \nb.\n");
  await everySplit(".\rx\n", ".\rx\n");
});

Deno.test("DotEndStream treats a final dot without line ending as the end", async () => {
  await everySplit("a\n.", "a\n");
  await everySplit("a\n.\r", "a\n");
});

Deno.test("DotEndStream passes input without a terminating line whole", async () => {
  await everySplit("a\nb", "a\nb");
  assert.equal(await run("", []), "");
});

Deno.test("DotEndStream stops reading the source at the terminating line", async () => {
  let pulled = 0;
  let cancelled = false;
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled++;
      controller.enqueue(encoder.encode(pulled === 1 ? "a\n.\n" : "more\n"));
    },
    cancel() {
      cancelled = true;
    },
  });
  const text = await new Response(source.pipeThrough(new DotEndStream()))
    .text();
  assert.equal(text, "a\n");
  assert.equal(cancelled, true);
  assert.ok(pulled <= 2);
});
