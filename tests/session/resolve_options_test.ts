import assert from "node:assert/strict";
import {
  DEFAULT_TIMEOUTS,
  resolveOptions,
} from "../../src/session/_resolve_options.ts";
import type { SmtpClientOptions } from "../../mod.ts";

Deno.test("resolveOptions applies the port and TLS defaults", () => {
  const submission = resolveOptions({ hostname: "h" });
  assert.equal(submission.port, 587);
  assert.equal(submission.tls, "starttls");
  assert.equal(submission.clientName, "localhost");
  assert.deepEqual(submission.timeouts, DEFAULT_TIMEOUTS);
  assert.equal(submission.chunking, true);
  assert.equal(submission.lmtp, false);
  for (const port of [465, 2465]) {
    assert.equal(resolveOptions({ hostname: "h", port }).tls, "implicit");
  }
  assert.equal(resolveOptions({ hostname: "h", port: 2587 }).tls, "starttls");
  assert.equal(resolveOptions({ hostname: "h", tls: "implicit" }).port, 465);
  assert.equal(
    resolveOptions({ hostname: "h", timeouts: { data: 5 } }).timeouts.data,
    5,
  );
});

Deno.test("resolveOptions reads an SMTP URL given as a string or a URL", () => {
  const settings = resolveOptions("smtps://u:p@mx.example.com");
  assert.equal(settings.hostname, "mx.example.com");
  assert.equal(settings.tls, "implicit");
  assert.deepEqual(settings.auth, { username: "u", password: "p" });
  assert.equal(resolveOptions(new URL("smtp://h:25?tls=none")).port, 25);
});

Deno.test("resolveOptions refuses unknown options and options of the wrong type", () => {
  const bad: [unknown, ErrorConstructor][] = [
    [{ hostname: "h", hostnme: "typo" }, TypeError],
    [{ hostname: "h", caCerts: "-----BEGIN CERTIFICATE-----" }, TypeError],
    [{ hostname: "h", caCerts: [1] }, TypeError],
    [{ hostname: "h", tls: "maybe" }, TypeError],
    [{ hostname: "h", port: "25" }, RangeError],
    [{ hostname: "h", port: 70000 }, RangeError],
    [{ hostname: "h", timeouts: { dta: 5 } }, TypeError],
    [{ hostname: "h", timeouts: { data: -1 } }, RangeError],
    [{ hostname: "h", timeouts: 5 }, TypeError],
    [{ hostname: "h", signal: "stop" }, TypeError],
    [{ hostname: "h", logger: "console" }, TypeError],
    [{ hostname: "h", connect: {} }, TypeError],
    [{ hostname: "h", chunking: "no" }, TypeError],
    [{ hostname: "h", lmtp: 1 }, TypeError],
    [{ hostname: "h", clientName: 5 }, TypeError],
    [{ hostname: "h", clientName: "a b" }, TypeError],
    [{ hostname: "h\r\nMAIL" }, TypeError],
    [{ hostname: "" }, TypeError],
    [{ hostname: "h", auth: { username: "u" } }, TypeError],
    ["mailto:a@b", TypeError],
    [null, TypeError],
  ];
  for (const [options, type] of bad) {
    assert.throws(
      () => resolveOptions(options as SmtpClientOptions),
      type,
      JSON.stringify(options),
    );
  }
});

Deno.test("resolveOptions accepts the option names a caller above the session adds", () => {
  const options = { hostname: "h", maxConnections: 2 } as SmtpClientOptions;
  assert.throws(() => resolveOptions(options), TypeError);
  assert.equal(
    resolveOptions(options, new Set(["maxConnections"])).hostname,
    "h",
  );
});
