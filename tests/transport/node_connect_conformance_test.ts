import { nodeConnect } from "../../src/transport/node_connect.ts";
import { nodeFixtures } from "./_fixtures.ts";
import { conformanceCases } from "./conformance.ts";

// nodeConnect on Deno's node:net / node:tls; tests/runtime/ runs the same
// cases on Node and Bun.
for (const c of conformanceCases("nodeConnect", nodeConnect, nodeFixtures)) {
  Deno.test({
    name: c.ignore === undefined ? c.name : `${c.name} (skipped: ${c.ignore})`,
    ignore: c.ignore !== undefined,
    fn: c.fn,
  });
}
