import assert from "node:assert/strict";
import { readSmtpUrl } from "../../src/cli/_read_smtp_url.ts";
import { CliError } from "../../cli.ts";

function configError(url: string, pattern: RegExp): void {
  assert.throws(() => readSmtpUrl(url), (error) => {
    assert.ok(error instanceof CliError);
    assert.equal(error.exitCode, 78);
    assert.match(error.message, /^Invalid SMTP URL: /);
    assert.match(error.message, pattern);
    assert.doesNotMatch(error.message, /s3cret/); // never echo the password
    return true;
  });
}

Deno.test("readSmtpUrl takes the command's from parameter as the envelope sender", () => {
  const config = readSmtpUrl(
    "smtp://h?from=alerts%40example.com&domain=host.example.com",
  );
  assert.equal(config.from, "alerts@example.com");
  assert.equal(config.options.clientName, "host.example.com");
  assert.deepEqual(readSmtpUrl("smtps://h"), {
    options: { hostname: "h", port: 465, tls: "implicit" },
  });
});

Deno.test("readSmtpUrl exits 78 for any unusable URL, a malformed host or domain included", () => {
  configError("not a url s3cret", /cannot be parsed as a URL/);
  configError("smtp://u:s3cret@h?tls=maybe", /tls=maybe is not one of/);
  configError("smtp://u:s3cret@h%0d%0aX", /control character/);
  configError("smtp://u:s3cret@h?domain=a%0d%0aRSET", /domain=/);
});
