import assert from "node:assert/strict";
import { isLoopback } from "../../src/session/_loopback.ts";

Deno.test("isLoopback() accepts localhost, 127.0.0.0/8 and ::1 only", () => {
  for (
    const host of [
      "localhost",
      "LOCALHOST",
      "127.0.0.1",
      "127.1.2.3",
      "::1",
      "[::1]",
      "0:0:0:0:0:0:0:1",
    ]
  ) {
    assert.equal(isLoopback(host), true, host);
  }
  for (
    const host of [
      "example.com",
      "localhost.example.com",
      "128.0.0.1",
      "10.0.0.1",
      "192.168.1.1",
      "127.0.0.256",
      "::ffff:7f00:1",
      "::2",
      "",
    ]
  ) {
    assert.equal(isLoopback(host), false, host);
  }
});
