import assert from "node:assert/strict";
import { cloudflareConnect } from "../../src/transport/cloudflare_connect.ts";

// cloudflareConnect itself runs in workerd: tests/runtime/workerd_test.ts
// runs the conformance suite and the end-to-end sends there. What it does
// outside a Worker is tested here.

Deno.test("cloudflareConnect refuses caCerts with a TypeError before connecting", async () => {
  await assert.rejects(
    cloudflareConnect({
      hostname: "localhost",
      port: 465,
      tls: "implicit",
      caCerts: ["-----BEGIN CERTIFICATE-----"],
    }),
    (error) =>
      error instanceof TypeError &&
      /cannot trust a custom CA/.test(error.message),
  );
});

Deno.test("cloudflareConnect refuses a unix socket path with a TypeError before connecting", async () => {
  // Workers have no unix sockets: a path must not quietly become a TCP
  // connection to hostname:port (which may be a port the platform blocks).
  await assert.rejects(
    cloudflareConnect({
      hostname: "localhost",
      port: 24,
      path: "/run/dovecot/lmtp",
      tls: "none",
    }),
    (error) => error instanceof TypeError && /unix socket/.test(error.message),
  );
});

Deno.test("cloudflareConnect fails with a TypeError where cloudflare:sockets is missing", async () => {
  await assert.rejects(
    cloudflareConnect({ hostname: "localhost", port: 587, tls: "starttls" }),
    (error) =>
      error instanceof TypeError &&
      /cloudflare:sockets is not available here/.test(error.message),
  );
});

Deno.test("cloudflareConnect rejects with the signal's reason when aborted before connecting", async () => {
  const reason = new Error("given up");
  await assert.rejects(
    cloudflareConnect({
      hostname: "localhost",
      port: 587,
      tls: "starttls",
      signal: AbortSignal.abort(reason),
    }),
    (error) => error === reason,
  );
});
