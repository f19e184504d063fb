// CRAM-MD5 (RFC 2195).

import assert from "node:assert/strict";
import { startSasl } from "../../src/sasl/_sasl.ts";
import { assertSmtpError, password, unb64 } from "./_helpers.ts";

Deno.test("startSasl() CRAM-MD5 answers the RFC 2195 example", async () => {
  const session = await startSasl(password, "CRAM-MD5", "localhost", 587);
  assert.equal(session.initialResponse, undefined);
  const answer = await session.respond(
    "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+",
  );
  assert.equal(answer, "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
  assert.equal(unb64(answer), "tim b913a602c7eda7a495b4e6e7334d3890");
  await assert.rejects(
    session.respond(answer),
    (e) => assertSmtpError(e, "protocol"),
  );
});

Deno.test("SaslSession.respond() refuses an empty CRAM-MD5 challenge", async () => {
  const session = await startSasl(password, "CRAM-MD5", "localhost", 587);
  await assert.rejects(
    session.respond(""),
    (e) => assertSmtpError(e, "protocol", /^Unexpected CRAM-MD5 challenge/),
  );
});
