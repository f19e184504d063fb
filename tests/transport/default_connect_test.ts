import assert from "node:assert/strict";
import { defaultConnect } from "../../src/transport/default_connect.ts";

Deno.test("defaultConnect opens the connection with Deno's transport on Deno", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const conn = await defaultConnect({
    hostname: "127.0.0.1",
    port: (listener.addr as Deno.NetAddr).port,
    tls: "none",
  });
  using server = await accepted;
  try {
    assert.equal(conn.secure, false);
    await server.write(new TextEncoder().encode("220 hi\r\n"));
    const reader = conn.readable.getReader();
    const { value } = await reader.read();
    reader.releaseLock();
    assert.equal(new TextDecoder().decode(value), "220 hi\r\n");
  } finally {
    conn.close();
  }
});
