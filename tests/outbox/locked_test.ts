import assert from "node:assert/strict";
import { isLocked, retryLocked } from "../../src/outbox/_locked.ts";

Deno.test('retryLocked makes a call again after "database is locked"', async () => {
  let calls = 0;
  const value = await retryLocked(() => {
    calls++;
    if (calls < 4) {
      return Promise.reject(new TypeError("database is locked"));
    }
    return Promise.resolve("done");
  });
  assert.equal(value, "done");
  assert.equal(calls, 4);
});

Deno.test("retryLocked lets any other error through at once", async () => {
  let calls = 0;
  await assert.rejects(
    retryLocked(() => {
      calls++;
      return Promise.reject(new TypeError("Too many checks (max 100)"));
    }),
    /Too many checks/,
  );
  assert.equal(calls, 1);
});

Deno.test("isLocked recognises SQLite's busy errors only", () => {
  assert.ok(isLocked(new Error("database is locked")));
  assert.ok(isLocked(new Error("SQLITE_BUSY: database table is locked")));
  assert.ok(!isLocked(new Error("disk I/O error")));
  assert.ok(!isLocked("database is locked"));
});
