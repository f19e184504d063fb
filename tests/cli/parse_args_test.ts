import assert from "node:assert/strict";
import { CliError, parseArgs } from "../../cli.ts";

function usageError(args: string[], pattern: RegExp): void {
  assert.throws(() => parseArgs(args), (error) => {
    assert.ok(error instanceof CliError);
    assert.equal(error.exitCode, 64);
    assert.match(error.message, pattern);
    return true;
  });
}

Deno.test("parseArgs reads what cron runs (Debian cron and cronie)", () => {
  const debian = parseArgs([
    "-FCronDaemon",
    "-i",
    "-B8BITMIME",
    "-oem",
    "root",
  ]);
  assert.equal(debian.fullName, "CronDaemon");
  assert.equal(debian.ignoreDots, true);
  assert.deepEqual(debian.recipients, ["root"]);
  const cronie = parseArgs([
    "-FCronDaemon",
    "-i",
    "-odi",
    "-oem",
    "-oi",
    "-t",
    "-f",
    "root",
  ]);
  assert.equal(cronie.readRecipients, true);
  assert.equal(cronie.from, "root");
  assert.deepEqual(cronie.recipients, []);
});

Deno.test("parseArgs reads what git send-email, PHP and mutt run", () => {
  const git = parseArgs([
    "-i",
    "-f",
    "ada@example.com",
    "bob@example.com",
    "carol@example.com",
  ]);
  assert.equal(git.from, "ada@example.com");
  assert.deepEqual(git.recipients, ["bob@example.com", "carol@example.com"]);
  const php = parseArgs(["-t", "-i"]);
  assert.equal(php.readRecipients && php.ignoreDots, true);
  const mutt = parseArgs([
    "-oem",
    "-oi",
    "-N",
    "failure,delay",
    "-R",
    "hdrs",
    "--",
    "-odd@example.com",
  ]);
  assert.deepEqual(mutt.dsnNotify, ["failure", "delay"]);
  assert.equal(mutt.dsnReturn, "hdrs");
  assert.deepEqual(mutt.recipients, ["-odd@example.com"]);
});

Deno.test("parseArgs takes option arguments attached or separate, and clustered flags", () => {
  assert.equal(parseArgs(["-fme@example.com"]).from, "me@example.com");
  assert.equal(parseArgs(["-r", "me@example.com"]).from, "me@example.com");
  assert.equal(parseArgs(["-F", "Ada Lovelace"]).fullName, "Ada Lovelace");
  const clustered = parseArgs(["-tiv"]);
  assert.equal(
    clustered.readRecipients && clustered.ignoreDots && clustered.verbose,
    true,
  );
  const cluster = parseArgs(["-tf", "me@example.com"]);
  assert.equal(cluster.readRecipients, true);
  assert.equal(cluster.from, "me@example.com");
  assert.equal(parseArgs(["-a", "work"]).account, "work");
  assert.equal(parseArgs(["-awork"]).account, "work");
  assert.equal(parseArgs(["-C", "/etc/rc"]).file, "/etc/rc");
  assert.equal(parseArgs(["--file=/etc/rc"]).file, "/etc/rc");
  assert.equal(parseArgs(["--file", "/etc/rc"]).file, "/etc/rc");
  assert.equal(parseArgs(["--url", "smtp://h"]).url, "smtp://h");
  assert.equal(parseArgs(["--account=w"]).account, "w");
  assert.equal(parseArgs(["--from=a@b"]).from, "a@b");
  assert.equal(parseArgs(["--read-recipients"]).readRecipients, true);
  assert.equal(parseArgs(["-V", "env-42"]).envelopeId, "env-42");
  assert.equal(parseArgs(["-P"]).pretend, true);
});

Deno.test("parseArgs mixes recipients and options, and -- ends the options", () => {
  const args = parseArgs([
    "bob@example.com",
    "-v",
    "--",
    "-t",
    "carol@example.com",
  ]);
  assert.deepEqual(args.recipients, [
    "bob@example.com",
    "-t",
    "carol@example.com",
  ]);
  assert.equal(args.verbose, true);
  assert.equal(args.readRecipients, false);
});

Deno.test("parseArgs reads -f forms: angle brackets, a display name, and the null sender", () => {
  assert.equal(parseArgs(["-f", "<me@example.com>"]).from, "me@example.com");
  assert.equal(parseArgs(["-f", "Me <me@example.com>"]).from, "me@example.com");
  assert.equal(parseArgs(["-f", "<>"]).from, "");
  assert.equal(parseArgs(["-f<>"]).from, "");
});

Deno.test("parseArgs accepts and ignores sendmail's compatibility flags", () => {
  const args = parseArgs([
    "-oem",
    "-odi",
    "-odb",
    "-oQ/var/spool",
    "-Am",
    "-Ac",
    "-bm",
    "-B8BITMIME",
    "-B",
    "7BIT",
    "-em",
    "-h",
    "17",
    "-L",
    "tag",
    "-G",
    "-I",
    "-m",
    "-n",
    "-s",
    "-U",
    "-X",
    "/tmp/log",
    "-O",
    "DeliveryMode=b",
    "-d0.1",
    "bob@example.com",
  ]);
  assert.deepEqual(args.recipients, ["bob@example.com"]);
  assert.equal(args.ignoreDots, false);
  assert.equal(args.verbose, true); // -d is msmtp's --debug
});

Deno.test("parseArgs takes -oi, -o i and -O IgnoreDots as -i", () => {
  assert.equal(parseArgs(["-oi"]).ignoreDots, true);
  assert.equal(parseArgs(["-o", "i"]).ignoreDots, true);
  assert.equal(parseArgs(["-O", "IgnoreDots"]).ignoreDots, true);
  assert.equal(parseArgs(["-O", "IgnoreDots=false"]).ignoreDots, false);
});

Deno.test("parseArgs reads DSN flags and msmtp's off", () => {
  assert.equal(parseArgs(["-N", "never"]).dsnNotify, "never");
  assert.deepEqual(parseArgs(["-N", "SUCCESS,failure"]).dsnNotify, [
    "success",
    "failure",
  ]);
  assert.equal(parseArgs(["-N", "never", "-N", "off"]).dsnNotify, undefined);
  assert.equal(parseArgs(["-R", "full"]).dsnReturn, "full");
  assert.equal(parseArgs(["-R", "headers"]).dsnReturn, "hdrs");
  assert.equal(parseArgs(["--dsn-return=hdrs"]).dsnReturn, "hdrs");
});

Deno.test("parseArgs fails with usage status on bad flags and arguments", () => {
  usageError(["-Z"], /Unknown option -Z/);
  usageError(["--frobnicate"], /Unknown option --frobnicate/);
  usageError(["-f"], /Option -f needs an argument/);
  usageError(["--url"], /Option --url needs an argument/);
  usageError(["--help=yes"], /takes no argument/);
  usageError(["-N", "sometimes"], /Invalid argument of -N/);
  usageError(["-N", "never,success"], /Invalid argument of -N/);
  usageError(["-R", "some"], /Invalid argument of -R/);
  usageError(["-bs"], /Unsupported mode -bs/);
  usageError(["-bp"], /Unsupported mode -bp/);
  // A queue run is -q (or -qf); a queue daemon (-q1h) is not implemented.
  usageError(["-q1h"], /Unsupported option -q1h/);
  usageError(["-qIabc"], /Unsupported option -qIabc/);
});

Deno.test("parseArgs refuses control characters that could inject header lines or commands", () => {
  usageError(
    ["-F", "Eve\r\nBcc: victim@example.com"],
    /-F: it contains a control character/,
  );
  usageError(
    ["-f", "eve@example.com\r\nRCPT TO:<x@y>"],
    /-f: it contains a control character/,
  );
  usageError(["-f", "eve @example.com"], /is not an address/);
  usageError(
    ["bob@example.com\nRCPT TO:<x@y>"],
    /recipient: it contains a control character/,
  );
  usageError(["-V", "a b"], /-V/);
});

Deno.test("parseArgs reads the queue flags: -odq, --queue, --queue-on-failure, -q, --outbox", () => {
  assert.equal(parseArgs(["-odq", "ada@example.com"]).queue, true);
  assert.equal(parseArgs(["-o", "dq", "ada@example.com"]).queue, true);
  assert.equal(parseArgs(["--queue", "ada@example.com"]).queue, true);
  assert.equal(parseArgs(["-odq", "-odi", "ada@example.com"]).queue, false);
  assert.equal(parseArgs(["ada@example.com"]).queue, false);
  assert.equal(
    parseArgs(["--queue-on-failure", "ada@example.com"]).queueOnFailure,
    true,
  );
  assert.equal(parseArgs(["-q"]).runQueue, true);
  assert.equal(parseArgs(["-qf"]).runQueue, true);
  assert.equal(parseArgs(["-v", "-q"]).verbose, true);
  assert.deepEqual(parseArgs(["--outbox", "list"]).outbox, { action: "list" });
  assert.deepEqual(parseArgs(["--outbox", "show", "abc"]).outbox, {
    action: "show",
    id: "abc",
  });
  assert.deepEqual(parseArgs(["--outbox=retry", "abc"]).outbox, {
    action: "retry",
    id: "abc",
  });
  assert.deepEqual(parseArgs(["--outbox", "cancel", "abc"]).recipients, []);
  assert.equal(
    parseArgs(["--outbox-file", "/tmp/o.sqlite3", "-q"]).outboxFile,
    "/tmp/o.sqlite3",
  );
});

Deno.test("parseArgs refuses queue flags used together or with recipients", () => {
  usageError(["-q", "ada@example.com"], /-q takes no recipient/);
  usageError(["--outbox", "list", "ada@example.com"], /takes no recipient/);
  usageError(["-q", "-odq"], /cannot be combined/);
  usageError(
    ["--queue", "--queue-on-failure", "a@b.example"],
    /cannot be combined/,
  );
  usageError(["--outbox", "show"], /needs an entry ID/);
  usageError(["--outbox", "show", "-v"], /needs an entry ID/);
  usageError(["--outbox", "drop", "x"], /not list, show, retry or cancel/);
  usageError(["--outbox", "show", "a\nb"], /control character/);
});
