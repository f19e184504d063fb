import assert from "node:assert/strict";
import { classifyDenoError } from "../../src/transport/_deno_errors.ts";
import { failureReason } from "../../src/transport/connection_failure.ts";

const reasonOf = (error: unknown, tls = false) =>
  failureReason(classifyDenoError(error, "Cannot connect to h:25", tls));

Deno.test("classifyDenoError tells a missing host from a resolver that is down", () => {
  assert.equal(
    reasonOf(
      new Error(
        "failed to lookup address information: Name or service not known",
      ),
    ),
    "dns",
  );
  assert.equal(
    reasonOf(
      new Error(
        "failed to lookup address information: Temporary failure in name resolution",
      ),
    ),
    "timeout",
  );
});

Deno.test("classifyDenoError classifies refused, reset and timed-out connections", () => {
  assert.equal(
    reasonOf(
      new Deno.errors.ConnectionRefused("Connection refused (os error 111)"),
    ),
    "refused",
  );
  assert.equal(reasonOf(new Deno.errors.ConnectionReset("reset")), "reset");
  assert.equal(reasonOf(new Deno.errors.BrokenPipe("broken pipe")), "reset");
  assert.equal(reasonOf(new Deno.errors.UnexpectedEof("eof"), true), "reset");
  assert.equal(reasonOf(new Deno.errors.TimedOut("timed out")), "timeout");
});

Deno.test("classifyDenoError tells a refused certificate from a failed handshake", () => {
  assert.equal(
    reasonOf(
      new Deno.errors.InvalidData("invalid peer certificate: UnknownIssuer"),
      true,
    ),
    "tls-verify",
  );
  assert.equal(
    reasonOf(
      new Deno.errors.InvalidData(
        "received corrupt message of type InvalidContentType",
      ),
      true,
    ),
    "tls-handshake",
  );
});

Deno.test("classifyDenoError keeps Deno's error as the cause and its message", () => {
  const original = new Deno.errors.ConnectionRefused("Connection refused");
  const error = classifyDenoError(original, "Cannot connect to h:25");
  assert.equal(error.message, "Cannot connect to h:25: Connection refused");
  assert.equal((error.cause as { error: unknown }).error, original);
});
