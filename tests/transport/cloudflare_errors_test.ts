import assert from "node:assert/strict";
import {
  classifyCloudflareError,
  type CloudflarePhase,
} from "../../src/transport/_cloudflare_errors.ts";
import { failureReason } from "../../src/transport/connection_failure.ts";

const reasonOf = (message: string, phase: CloudflarePhase) =>
  failureReason(classifyCloudflareError(new Error(message), "Cannot x", phase));

// The messages below are workerd's own, as its sockets reject (seen with
// workerd 2026-11-17 against the conformance fixtures).
const PROXY_FAILED =
  "proxy request failed, cannot connect to the specified address";
const INTERNAL = "internal error; reference = 986cao82s20gick0hqbie3b8";

Deno.test("classifyCloudflareError reports a socket that cannot open as refused", () => {
  assert.equal(reasonOf(PROXY_FAILED, "connect"), "refused");
  assert.equal(
    reasonOf("Connections to port 25 are prohibited", "connect"),
    "refused",
  );
});

Deno.test("classifyCloudflareError tells dns and timeouts apart where the runtime names them", () => {
  assert.equal(
    reasonOf("failed to lookup address information", "connect"),
    "dns",
  );
  assert.equal(reasonOf("DNS lookup failed", "connect"), "dns");
  assert.equal(reasonOf("connection timed out", "connect"), "timeout");
});

Deno.test("classifyCloudflareError reports an opaque handshake failure as tls-verify", () => {
  const error = classifyCloudflareError(
    new Error(INTERNAL),
    'Cannot start TLS with "localhost"',
    "tls",
  );
  assert.equal(failureReason(error), "tls-verify");
  // The message says what it may be, and keeps the runtime's words.
  assert.match(error.message, /certificate was not accepted/);
  assert.match(error.message, /does not speak TLS/);
  assert.ok(error.message.includes(INTERNAL));
  assert.equal(
    (error.cause as { error?: unknown }).error instanceof Error,
    true,
  );
});

Deno.test("classifyCloudflareError tells a broken handshake from a refused certificate when named", () => {
  assert.equal(
    reasonOf("invalid peer certificate: UnknownIssuer", "tls"),
    "tls-verify",
  );
  assert.equal(
    reasonOf("received corrupt message of type InvalidContentType", "tls"),
    "tls-handshake",
  );
  assert.equal(
    reasonOf("peer is incompatible: protocol version", "tls"),
    "tls-handshake",
  );
});

Deno.test("classifyCloudflareError reports a lost connection as reset in every phase", () => {
  for (const phase of ["connect", "tls", "io"] as const) {
    assert.equal(reasonOf("Network connection lost.", phase), "reset", phase);
  }
  assert.equal(reasonOf("Stream was cancelled.", "io"), "reset");
  assert.equal(reasonOf("something else", "io"), "reset");
});

Deno.test("classifyCloudflareError keeps control characters out of the message", () => {
  const error = classifyCloudflareError(
    new Error("bad\r\nline"),
    "Cannot x",
    "io",
  );
  assert.doesNotMatch(error.message, /[\r\n]/);
});
