import assert from "node:assert/strict";
import { parseSmtpUrl } from "../../mod.ts";

function configError(url: string, pattern: RegExp): void {
  assert.throws(() => parseSmtpUrl(url), (error) => {
    assert.ok(error instanceof TypeError);
    assert.match(error.message, /^Cannot parse SMTP URL: /);
    assert.match(error.message, pattern);
    assert.doesNotMatch(error.message, /s3cret/); // never echo the password
    return true;
  });
}

Deno.test("parseSmtpUrl reads smtp:// as submission with required STARTTLS", () => {
  assert.deepEqual(parseSmtpUrl("smtp://smtp.example.com"), {
    hostname: "smtp.example.com",
    port: 587,
    tls: "starttls",
  });
  assert.deepEqual(parseSmtpUrl("smtp://smtp.example.com:25"), {
    hostname: "smtp.example.com",
    port: 25,
    tls: "starttls",
  });
});

Deno.test("parseSmtpUrl reads smtps:// and port 465 as implicit TLS", () => {
  assert.deepEqual(parseSmtpUrl("smtps://smtp.example.com"), {
    hostname: "smtp.example.com",
    port: 465,
    tls: "implicit",
  });
  assert.equal(parseSmtpUrl("smtp://smtp.example.com:465").tls, "implicit");
  assert.equal(parseSmtpUrl("SMTPS://h:2465").port, 2465);
  // 2465, the alternate implicit-TLS port providers offer, is implicit too.
  assert.equal(parseSmtpUrl("smtp://h:2465").tls, "implicit");
  assert.equal(parseSmtpUrl("smtp://h:2587").tls, "starttls");
});

Deno.test("parseSmtpUrl decodes percent-encoded credentials", () => {
  const options = parseSmtpUrl(
    "smtp://me%40example.com:p%3As%2Fs%20w@h:587",
  );
  assert.deepEqual(options.auth, {
    username: "me@example.com",
    password: "p:s/s w",
  });
});

Deno.test("parseSmtpUrl reads IPv6 literals without brackets", () => {
  const options = parseSmtpUrl(new URL("smtp://[::1]:2525?tls=none"));
  assert.equal(options.hostname, "::1");
  assert.equal(options.port, 2525);
  assert.equal(options.tls, "none");
});

Deno.test("parseSmtpUrl reads the tls, auth and domain parameters", () => {
  assert.equal(parseSmtpUrl("smtp://h?tls=opportunistic").tls, "opportunistic");
  assert.equal(parseSmtpUrl("smtp://h?tls=STARTTLS").tls, "starttls");
  const token = parseSmtpUrl("smtp://me%40gmail.com:ya29.tok@h?auth=xoauth2");
  assert.deepEqual(token.auth, {
    username: "me@gmail.com",
    accessToken: "ya29.tok",
    mechanism: "XOAUTH2",
  });
  assert.equal(
    parseSmtpUrl("smtp://u:p@h?auth=scram-sha-256").auth?.mechanism,
    "SCRAM-SHA-256",
  );
  const login = parseSmtpUrl("smtp://u:p@h?auth=login");
  assert.deepEqual(login.auth, {
    username: "u",
    password: "p",
    mechanism: "LOGIN",
  });
  const config = parseSmtpUrl("smtp://h?domain=host.example.com");
  assert.equal(config.clientName, "host.example.com");
});

Deno.test("parseSmtpUrl rejects what it cannot use, without repeating the URL", () => {
  configError("http://u:s3cret@h", /scheme "http" is not "smtp" or "smtps"/);
  configError("smtp://u:s3cret@h?tls=maybe", /tls=maybe is not one of/);
  configError(
    "smtps://u:s3cret@h?tls=starttls",
    /smtps always uses implicit TLS/,
  );
  configError("smtp://u:s3cret@h?port=1", /unknown parameter "port"/);
  configError("smtp://u:s3cret@h/path", /a path is not allowed/);
  configError("smtp://u:s3cret@h#frag", /a fragment is not allowed/);
  configError("smtp://u@h", /without a password/);
  configError("smtp://:s3cret@h", /without a user name/);
  configError("smtp://h?auth=login", /auth is given without a user name/);
  configError("smtp://u:s3cret@h?auth=ntlm", /auth=ntlm is not one of/);
  configError("smtp://u:%E0%A4%A@h", /not correctly percent-encoded/);
  configError("not a url s3cret", /it is not a URL/);
  configError(
    "smtp://u:s3cret@h?from=a%40b.example",
    /unknown parameter "from"/,
  );
  configError("smtp://u:s3cret@h%0d%0aX", /control character/);
  configError("smtp://u:s3cret@h?domain=a%0d%0aRSET", /domain=/);
  configError("smtp://u:s3cret@h?domain=a%20b", /domain=/);
});
