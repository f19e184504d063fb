// A short run of the reply fuzzer in every test run; the benchmark-style
// run of a million cases is `deno run bench/fuzz_reply_stream.ts`.

import assert from "node:assert/strict";

Deno.test("ReplyStream survives 50,000 random and mutated inputs with memory under its caps", async () => {
  // A new seed each run widens the search; set SENDMAIL_FUZZ_SEED to replay.
  const seed = Deno.env.get("SENDMAIL_FUZZ_SEED") ??
    String(1 + Math.floor(Math.random() * 2 ** 31));
  const runner = new URL("../../bench/fuzz_reply_stream.ts", import.meta.url);
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", runner.pathname, "50000", seed],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(stderr);
  assert.equal(
    code,
    0,
    `fuzzer failed with seed ${seed}:\n${text.slice(-4000)}`,
  );
  const stats = JSON.parse(new TextDecoder().decode(stdout));
  assert.equal(stats.cases, 50_000);
  assert.equal(stats.huge, 5);
  // The parser never held more than maxLines * (maxLineLength + 2) bytes.
  assert.ok(stats.maxBuffered <= 1000 * (8192 + 2), String(stats.maxBuffered));
});
