import { denoConnect } from "../../src/transport/deno_connect.ts";
import { nodeFixtures } from "./_fixtures.ts";
import { conformanceCases } from "./conformance.ts";

/** What Deno itself cannot do (2.9): no adapter code can work around it. */
export const DENO_LIMITATIONS: Record<string, string> = {
  "releases the socket at once when aborted during the TLS handshake":
    "Deno cannot close a socket during a TLS handshake: TlsConn.close() leaves it open until the peer sends a byte or closes (denoConnect closes the TLS connection; the socket goes when the server speaks)",
};

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
