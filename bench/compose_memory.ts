// Composes a message with a 200 MiB attachment streamed from a generator,
// reads the whole output, and reports the peak resident set size sampled
// while it runs: memory stays bounded, whatever the attachment size.
//
//   deno run bench/compose_memory.ts [MiB]

import { composeMessage } from "../mime.ts";

const mib = Number(Deno.args[0] ?? 200);
const size = mib * 1024 * 1024;
const chunk = crypto.getRandomValues(new Uint8Array(64 * 1024));

async function* generate(): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < size; at += chunk.length) yield chunk.slice();
}

const baseline = Deno.memoryUsage().rss;
let peak = baseline;
const sampler = setInterval(() => {
  peak = Math.max(peak, Deno.memoryUsage().rss);
}, 5);

const start = performance.now();
const message = composeMessage({
  from: "ada@example.com",
  to: "grace@example.org",
  subject: "A large attachment",
  text: "See attached.",
  attachments: [{
    filename: "large.bin",
    content: ReadableStream.from(generate()),
  }],
});
let output = 0;
for await (const piece of message.readable) {
  output += piece.length;
  peak = Math.max(peak, Deno.memoryUsage().rss);
}
clearInterval(sampler);
const seconds = (performance.now() - start) / 1000;

const mb = (n: number) => (n / 1024 / 1024).toFixed(1) + " MiB";
console.log(`attachment:   ${mib} MiB streamed from a generator`);
console.log(
  `output:       ${mb(output)} in ${seconds.toFixed(2)} s (${
    (size / 1e6 / seconds).toFixed(0)
  } MB/s)`,
);
console.log(`baseline RSS: ${mb(baseline)}`);
console.log(`peak RSS:     ${mb(peak)} (+${mb(peak - baseline)})`);
