/**
 * Not a client: the least work a pipelining sender can do per message on a
 * Deno socket, to show what the loopback and smtp-sink cost by themselves.
 * Per message it writes `MAIL`, `RCPT` and `DATA` at once, waits for their
 * three replies, writes the message with its end-of-data line, waits for
 * the reply: two round trips, no checks, no streams, no timers.
 *
 * `deno run -A bench/field/bare_client.ts '<json>'` (throughput mode only)
 *
 * @module
 */

import { FROM, TO } from "./_message.ts";

const args: {
  port: number;
  count: number;
  connections?: number;
  messageFile: string;
} = JSON.parse(Deno.args[0] ?? "{}");
const message = await Deno.readFile(args.messageFile);
const encoder = new TextEncoder();
const envelope = encoder.encode(
  `MAIL FROM:<${FROM}>\r\nRCPT TO:<${TO}>\r\nDATA\r\n`,
);
const data = new Uint8Array(message.length + 3);
data.set(message);
data.set(encoder.encode(".\r\n"), message.length);

async function session(share: number): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: args.port });
  conn.setNoDelay(true);
  const buffer = new Uint8Array(65536);
  let text = "";
  const replies = async (count: number): Promise<void> => {
    for (;;) {
      const finals = text.match(/^\d{3} .*\r\n/gm)?.length ?? 0;
      if (finals >= count) {
        text = "";
        return;
      }
      const n = await conn.read(buffer);
      if (n === null) throw new Error("Connection closed");
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
  };
  const write = async (bytes: Uint8Array): Promise<void> => {
    for (let at = 0; at < bytes.length;) {
      at += await conn.write(bytes.subarray(at));
    }
  };
  await replies(1);
  await write(encoder.encode("EHLO localhost\r\n"));
  await replies(1);
  for (let i = 0; i < share; i++) {
    await write(envelope);
    await replies(3);
    await write(data);
    await replies(1);
  }
  await write(encoder.encode("QUIT\r\n"));
  await replies(1);
  conn.close();
}

const connections = args.connections ?? 1;
const start = performance.now();
await Promise.all(
  Array.from({ length: connections }, (_, i) =>
    session(
      Math.floor(args.count / connections) +
        (i < args.count % connections ? 1 : 0),
    )),
);
console.log(JSON.stringify({
  messages: args.count,
  seconds: (performance.now() - start) / 1000,
}));
