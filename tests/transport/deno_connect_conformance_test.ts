import { denoConnect } from "../../src/transport/deno_connect.ts";
import { nodeFixtures } from "./_fixtures.ts";
import { conformanceCases } from "./conformance.ts";

/** What the adapter cannot do here; nothing since TLS goes through node:tls. */
export const DENO_LIMITATIONS: Record<string, string> = {};

for (
  const c of conformanceCases(
    "denoConnect",
    denoConnect,
    nodeFixtures,
    DENO_LIMITATIONS,
  )
) {
  Deno.test({
    name: c.ignore === undefined ? c.name : `${c.name} (skipped: ${c.ignore})`,
    ignore: c.ignore !== undefined,
    fn: c.fn,
  });
}
