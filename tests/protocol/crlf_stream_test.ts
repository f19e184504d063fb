import assert from "node:assert/strict";
import { CrlfStream } from "../../src/protocol/_crlf_stream.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The reference: every CRLF, bare CR or bare LF becomes CRLF; a final CRLF is added. */
function reference(input: string): string {
  if (input === "") return "";
  const out = input.replace(/\r\n|\r|\n/g, "\r\n");
  return out.endsWith("\r\n") ? out : out + "\r\n";
}

async function run(chunks: Uint8Array[]): Promise<string> {
  const out = ReadableStream.from(chunks).pipeThrough(new CrlfStream());
  return decoder.decode(new Uint8Array(await new Response(out).arrayBuffer()));
}

Deno.test("CrlfStream makes every line ending CRLF without stuffing dots, at every split", async () => {
  const cases = [
    "",
    "a",
    ".",
    ".\r\n",
    "a\nb\rc\r\nd",
    "\r\n.\r\n",
    "\n.\n",
    "\r.\r",
    "..leading\n.\n",
    "end with CR\r",
    "\r\r\n\n\r",
  ];
  for (const input of cases) {
    const bytes = encoder.encode(input);
    const expected = reference(input);
    assert.equal(await run([bytes]), expected, JSON.stringify(input));
    for (let i = 0; i <= bytes.length; i++) {
      for (let j = i; j <= bytes.length; j++) {
        const got = await run([
          bytes.subarray(0, i),
          bytes.subarray(i, j),
          bytes.subarray(j),
        ]);
        assert.equal(
          got,
          expected,
          `${JSON.stringify(input)} split at ${i}, ${j}`,
        );
      }
    }
  }
});

Deno.test("CrlfStream matches the reference on random inputs and chunkings", async () => {
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const alphabet = ["\r", "\n", ".", "a", "é"];
  for (let n = 0; n < 500; n++) {
    let input = "";
    const length = Math.floor(random() * 60);
    for (let k = 0; k < length; k++) {
      input += alphabet[Math.floor(random() * alphabet.length)];
    }
    const bytes = encoder.encode(input);
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < bytes.length;) {
      const size = 1 + Math.floor(random() * 8);
      chunks.push(bytes.subarray(at, at + size));
      at += size;
    }
    assert.equal(await run(chunks), reference(input), JSON.stringify(input));
  }
});
