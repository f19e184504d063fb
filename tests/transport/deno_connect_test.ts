import { equal } from "node:assert/strict";
import { denoConnect } from "../../src/transport/deno_connect.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A server that sends "first", waits for a line, then sends "second". */
async function withServer(
  run: (port: number) => Promise<void>,
): Promise<void> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serve = (async () => {
    using conn = await listener.accept();
    await conn.write(encoder.encode("first"));
    await conn.read(new Uint8Array(16));
    await conn.write(encoder.encode("second"));
    // Wait for the client to close its side.
    while (await conn.read(new Uint8Array(16)) !== null) {
      // Discard.
    }
  })();
  await run((listener.addr as Deno.NetAddr).port);
  await serve;
}

Deno.test("denoConnect keeps each chunk intact when the next one arrives", async () => {
  await withServer(async (port) => {
    const conn = await denoConnect({
      hostname: "127.0.0.1",
      port,
      tls: "none",
    });
    const reader = conn.readable.getReader();
    const writer = conn.writable.getWriter();
    try {
      const first = await reader.read();
      await writer.write(encoder.encode("go\n"));
      const second = await reader.read();
      equal(decoder.decode(first.value), "first");
      equal(decoder.decode(second.value), "second");
    } finally {
      reader.releaseLock();
      writer.releaseLock();
      conn.close();
    }
  });
});

Deno.test("denoConnect closes the connection when its readable is cancelled", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const accepted = listener.accept();
  const conn = await denoConnect({ hostname: "127.0.0.1", port, tls: "none" });
  using server = await accepted;
  await conn.readable.cancel();
  // The server sees the end of the stream: the socket was closed.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const read = await Promise.race([
    server.read(new Uint8Array(16)),
    new Promise<"open">((resolve) => timer = setTimeout(resolve, 2000, "open")),
  ]);
  clearTimeout(timer);
  conn.close();
  equal(read, null);
});
