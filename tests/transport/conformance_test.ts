import assert from "node:assert/strict";
import type { Connect } from "../../src/transport/connection.ts";
import { denoConnect } from "../../src/transport/deno_connect.ts";
import { nodeFixtures } from "./_fixtures.ts";
import { conformanceCases } from "./conformance.ts";

/** The case of `connect` whose name ends with `name`. */
function caseOf(connect: Connect, name: string) {
  const found = conformanceCases("broken", connect, nodeFixtures).find((c) =>
    c.name === `broken ${name}`
  );
  assert.ok(found, `no case ${name}`);
  return found;
}

Deno.test("conformanceCases fails an adapter whose close() leaves the socket open", async () => {
  const opened: { close(): void }[] = [];
  const leaky: Connect = async (options) => {
    const conn = await denoConnect(options);
    opened.push(conn);
    return { ...conn, close() {}, startTls: conn.startTls };
  };
  try {
    await assert.rejects(
      caseOf(
        leaky,
        "closes idempotently, ending a pending read and the server's side",
      ).fn(),
    );
  } finally {
    for (const conn of opened) conn.close();
  }
});

Deno.test("conformanceCases fails an adapter whose failures carry no reason", async () => {
  const unclassified: Connect = (options) =>
    denoConnect(options).catch((error) => {
      throw new Error(error.message);
    });
  await assert.rejects(
    caseOf(unclassified, "rejects with refused on a port nothing listens on")
      .fn(),
    /cause\.reason "refused"/,
  );
});

Deno.test("conformanceCases fails an adapter that ignores the signal", async () => {
  const deaf: Connect = (options) => {
    const { signal: _, ...rest } = options;
    return denoConnect(rest);
  };
  const opened: { close(): void }[] = [];
  const tracking: Connect = async (options) => {
    const conn = await deaf(options);
    opened.push(conn);
    return conn;
  };
  try {
    await assert.rejects(
      caseOf(
        tracking,
        "rejects with the signal's reason when aborted before connecting",
      ).fn(),
    );
  } finally {
    for (const conn of opened) conn.close();
  }
});

Deno.test("conformanceCases refuses a limitation that names no case", () => {
  assert.throws(
    () =>
      conformanceCases("x", denoConnect, nodeFixtures, { "no such": "why" }),
    TypeError,
  );
});
