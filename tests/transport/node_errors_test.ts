import assert from "node:assert/strict";
import { classifyNodeError } from "../../src/transport/_node_errors.ts";
import { failureReason } from "../../src/transport/connection_failure.ts";

const coded = (code: string, message = code) =>
  Object.assign(new Error(message), { code });
const reasonOf = (error: unknown, tls = false) =>
  failureReason(classifyNodeError(error, "Cannot connect to h:25", tls));

Deno.test("classifyNodeError tells a missing host from a resolver that is down", () => {
  assert.equal(reasonOf(coded("ENOTFOUND")), "dns");
  assert.equal(reasonOf(coded("EAI_NONAME")), "dns");
  assert.equal(reasonOf(coded("EAI_AGAIN")), "timeout");
});

Deno.test("classifyNodeError classifies refused, reset and timed-out connections", () => {
  assert.equal(reasonOf(coded("ECONNREFUSED")), "refused");
  assert.equal(reasonOf(coded("ECONNRESET")), "reset");
  assert.equal(reasonOf(coded("EPIPE")), "reset");
  // A close during the handshake is a reset, not a TLS failure.
  assert.equal(reasonOf(coded("ECONNRESET"), true), "reset");
  assert.equal(reasonOf(coded("ETIMEDOUT")), "timeout");
});

Deno.test("classifyNodeError tells a refused certificate from a failed handshake", () => {
  for (
    const code of [
      "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
      "SELF_SIGNED_CERT_IN_CHAIN",
      "DEPTH_ZERO_SELF_SIGNED_CERT",
      "CERT_HAS_EXPIRED",
      "ERR_TLS_CERT_ALTNAME_INVALID",
    ]
  ) {
    assert.equal(reasonOf(coded(code), true), "tls-verify", code);
  }
  assert.equal(
    reasonOf(coded("ERR_SSL_WRONG_VERSION_NUMBER"), true),
    "tls-handshake",
  );
  assert.equal(reasonOf(new Error("no code"), true), "tls-handshake");
  assert.equal(reasonOf(new Error("no code")), "reset");
});

Deno.test("classifyNodeError keeps the runtime's error as the cause and its message", () => {
  const original = coded("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:25");
  const error = classifyNodeError(original, "Cannot connect to h:25");
  assert.equal(
    error.message,
    "Cannot connect to h:25: connect ECONNREFUSED 127.0.0.1:25",
  );
  assert.equal((error.cause as { error: unknown }).error, original);
});
