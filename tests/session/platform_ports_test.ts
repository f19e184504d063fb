import assert from "node:assert/strict";
import {
  blockedPortError,
  detectPlatform,
  portBlock,
} from "../../src/session/_platform_ports.ts";
import { SmtpError } from "../../src/protocol/smtp_error.ts";
import type { PlatformSnapshot } from "../../src/transport/_platform_snapshot.ts";

const WORKERS: PlatformSnapshot = { userAgent: "Cloudflare-Workers", env: {} };
const SUPABASE: PlatformSnapshot = {
  supabaseEdgeRuntime: true,
  // Supabase sets Deno Deploy's variable too.
  env: {
    SB_EXECUTION_ID: "5f0c…",
    SB_REGION: "eu-central-1",
    DENO_DEPLOYMENT_ID: "ref_fn_3",
  },
};
const DENO_DEPLOY: PlatformSnapshot = {
  userAgent: "Deno/2.5.0",
  env: { DENO_DEPLOY: "1", DENO_DEPLOY_BUILD_ID: "b1" },
};
const VERCEL: PlatformSnapshot = {
  userAgent: "Node.js/22",
  env: { VERCEL: "1", VERCEL_ENV: "production" },
};
const LOCAL: PlatformSnapshot = { userAgent: "Deno/2.9.6", env: {} };

Deno.test("detectPlatform recognises each platform from what its runtime exposes", () => {
  assert.equal(detectPlatform(WORKERS)?.name, "Cloudflare Workers");
  assert.equal(detectPlatform(SUPABASE)?.name, "Supabase Edge Functions");
  assert.equal(detectPlatform(DENO_DEPLOY)?.name, "Deno Deploy");
  assert.equal(
    detectPlatform({ env: { DENO_DEPLOYMENT_ID: "abc" } })?.name,
    "Deno Deploy",
  );
  assert.equal(detectPlatform(VERCEL)?.name, "Vercel");
  assert.equal(
    detectPlatform({ env: { VERCEL: "1", VERCEL_ENV: "preview" } })?.name,
    "Vercel",
  );
  assert.equal(detectPlatform(LOCAL), undefined);
});

Deno.test("detectPlatform leaves local development of a platform alone", () => {
  // `supabase functions serve`: the runtime, without the hosted variables.
  assert.equal(
    detectPlatform({ supabaseEdgeRuntime: true, env: {} }),
    undefined,
  );
  // Supabase's variables copied into another runtime's environment.
  assert.equal(
    detectPlatform({ env: { SB_EXECUTION_ID: "x", SB_REGION: "y" } }),
    undefined,
  );
  // `vercel dev`, or variables from `vercel env pull`.
  assert.equal(
    detectPlatform({ env: { VERCEL: "1", VERCEL_ENV: "development" } }),
    undefined,
  );
});

Deno.test("portBlock blocks the ports each platform blocks, and only those", () => {
  const blocked = (snapshot: PlatformSnapshot) =>
    [25, 465, 587, 2465, 2525, 2587].filter((port) =>
      portBlock(snapshot, port) !== undefined
    );
  assert.deepEqual(blocked(WORKERS), [25]);
  assert.deepEqual(blocked(SUPABASE), [25, 587]);
  assert.deepEqual(blocked(VERCEL), [25]);
  assert.deepEqual(blocked(DENO_DEPLOY), []);
  assert.deepEqual(blocked(LOCAL), []);
});

Deno.test("portBlock offers the submission ports the platform does not block", () => {
  assert.deepEqual(portBlock(WORKERS, 25), {
    platform: "Cloudflare Workers",
    port: 25,
    blockedPorts: [25],
    alternatives: [465, 587, 2465, 2525, 2587],
  });
  assert.deepEqual(
    portBlock(SUPABASE, 587)?.alternatives,
    [465, 2465, 2525, 2587],
  );
});

Deno.test("blockedPortError names the platform, the port, the alternatives and the override", () => {
  const error = blockedPortError(portBlock(SUPABASE, 587)!, "smtp.example.com");
  assert.ok(error instanceof SmtpError);
  assert.equal(error.kind, "connection");
  assert.equal(error.temporary, false);
  assert.equal(error.command, "CONNECT");
  assert.equal(error.maybeDelivered, false);
  assert.equal(
    error.message,
    "Cannot connect to smtp.example.com:587: outgoing connections to ports 25 and 587 are blocked on Supabase Edge Functions; use port 465 (implicit TLS), or an alternate port your provider offers: 2465 (implicit TLS), 2525 (STARTTLS) or 2587 (STARTTLS) (set allowBlockedPorts: true to try anyway)",
  );
  const workers = blockedPortError(portBlock(WORKERS, 25)!, "mx.example.com");
  assert.equal(
    workers.message,
    "Cannot connect to mx.example.com:25: outgoing connections to port 25 are blocked on Cloudflare Workers; use port 465 (implicit TLS) or port 587 (STARTTLS), or an alternate port your provider offers: 2465 (implicit TLS), 2525 (STARTTLS) or 2587 (STARTTLS) (set allowBlockedPorts: true to try anyway)",
  );
});

Deno.test("blockedPortError keeps control characters of the host name out of the message", () => {
  const error = blockedPortError(portBlock(WORKERS, 25)!, "evil\r\nhost");
  assert.doesNotMatch(error.message, /[\r\n]/);
});
