/**
 * The sendmail command's `-oR` / `--add-received-header`: sendmail(8)'s
 * submission stamp, first in the header, read back by parseReceived and
 * traced with the capture server's own field after it.
 *
 * @module
 */
import assert from "node:assert/strict";
import { main, parseArgs } from "../../cli.ts";
import { parseReceived, traceHops } from "../../received.ts";
import { startTestServer } from "../../testing.ts";
import { runCli } from "../cli/_cli_harness.ts";

const URL_ = "smtp://127.0.0.1:2525?tls=none";

function firstReceived(text: string): string {
  const m = /^Received:((?:[^\r\n]|\r\n[ \t])*)\r\n/.exec(text);
  assert.ok(m, `no Received field first: ${JSON.stringify(text)}`);
  return m[1]!;
}

Deno.test("parseArgs reads -oR and --add-received-header", () => {
  assert.equal(parseArgs(["-oR", "a@example.com"]).addReceived, true);
  assert.equal(parseArgs(["-o", "R", "a@example.com"]).addReceived, true);
  assert.equal(
    parseArgs(["--add-received-header", "a@example.com"]).addReceived,
    true,
  );
  assert.equal(parseArgs(["-oi", "-oem", "a@example.com"]).addReceived, false);
  assert.throws(() => parseArgs(["--add-received-header=on"]));
});

for (const flag of ["-oR", "--add-received-header"]) {
  Deno.test(`main ${flag} puts sendmail's submission stamp first, from the local user`, async () => {
    const run = await runCli(["-i", flag, "--url", URL_, "bob@example.com"], {
      stdin: "Subject: patch\n\nbody\n",
    });
    assert.equal(run.status, 0, run.stderr);
    const text = run.sent[0]!.text;
    const value = firstReceived(text);
    const field = parseReceived(value);
    assert.match(field.id ?? "", /^[0-9A-F]{12}$/);
    assert.deepEqual(field, {
      raw: value,
      from: { user: "ada@localhost" },
      by: { name: "host.example" },
      id: field.id,
      date: new Date(Date.UTC(2025, 10, 29, 8, 45)),
    });
    // The rest of the message follows, as without the flag.
    assert.match(text, /\r\nSubject: patch\nFrom: ada@host\.example\r\n/);
  });
}

Deno.test("main adds no Received field without -oR", async () => {
  const run = await runCli(["-i", "--url", URL_, "bob@example.com"]);
  assert.equal(run.status, 0);
  assert.doesNotMatch(run.sent[0]!.text, /^Received:/im);
});

Deno.test("main -oR exits 78 when this host's name cannot go in a field", async () => {
  const run = await runCli(["-oR", "--url", URL_, "bob@example.com"], {
    hostname: () => "my host",
  });
  assert.equal(run.status, 78);
  assert.match(run.stderr, /^sendmail: Cannot add a Received field: /);
  assert.equal(run.sent.length, 0);
});

Deno.test("a message sent with -oR to the capture server traces to two linked hops", async () => {
  await using server = await startTestServer({
    tls: "none",
    received: true,
    serverName: "host.example",
  });
  const status = await main(
    [
      "-oR",
      "--url",
      `smtp://127.0.0.1:${server.port}?tls=none`,
      "bob@example.com",
    ],
    {
      stdin: ReadableStream.from([
        new TextEncoder().encode("Subject: cron\n\nbackup done\n"),
      ]),
      stdout: new WritableStream(),
      stderr: new WritableStream(),
      env: (name) => ({ USER: "ada" } as Record<string, string>)[name],
      hostname: () => "host.example",
      readTextFile: () => Promise.reject(new Deno.errors.NotFound("none")),
    },
  );
  assert.equal(status, 0);
  const message = await server.nextMessage();
  const hops = traceHops(message.raw);
  assert.deepEqual(
    hops.map((hop) => [hop.field.from, hop.field.by?.name, hop.link]),
    [
      [{ user: "ada@localhost" }, "host.example", "first"],
      // sendmail() says EHLO localhost over loopback to the same host.
      [{ helo: "localhost", ip: "127.0.0.1" }, "host.example", "linked"],
    ],
  );
  assert.ok(hops[1]!.delayMs !== undefined && hops[1]!.delayMs >= 0);
});
