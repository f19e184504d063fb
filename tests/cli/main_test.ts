import assert from "node:assert/strict";
import { SmtpError } from "../../mod.ts";
import { runCli } from "./_cli_harness.ts";
import { connectionFailure } from "../../src/transport/connection_failure.ts";

const URL_ = "smtp://127.0.0.1:2525?tls=none";

Deno.test("main sends to the argument recipients with -f as envelope sender and exits 0", async () => {
  const run = await runCli([
    "-i",
    "-f",
    "ada@example.com",
    "--url",
    URL_,
    "bob@example.com",
    "Carol <carol@example.com>",
  ], {
    stdin: "Subject: patch\n\nbody\n",
  });
  assert.equal(run.status, 0);
  assert.equal(run.stderr, "");
  assert.equal(run.stdout, "");
  assert.equal(run.sent.length, 1);
  const [call] = run.sent;
  assert.deepEqual(call!.envelope, {
    from: "ada@example.com",
    to: ["bob@example.com", "carol@example.com"],
  });
  assert.deepEqual(call!.options, {
    hostname: "127.0.0.1",
    port: 2525,
    tls: "none",
  });
  assert.match(
    call!.text,
    /^Subject: patch\nFrom: ada@example.com\r\nDate: .+\r\nMessage-ID: <.+@example.com>\r\n\nbody\n$/,
  );
});

Deno.test("main reads recipients with -t and sends without the Bcc field", async () => {
  const run = await runCli(["-t", "-i", "--url", URL_], {
    stdin:
      "From: ada@example.com\nTo: bob@example.com\nBcc: eve@example.com\nSubject: x\n\nbody\n",
  });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(run.sent[0]!.envelope.to, [
    "bob@example.com",
    "eve@example.com",
  ]);
  assert.doesNotMatch(run.sent[0]!.text, /eve/);
  // No -f, no configured sender: the From field's address.
  assert.equal(run.sent[0]!.envelope.from, "ada@example.com");
});

Deno.test("main falls back to $USER@hostname without -f, configured sender or From field", async () => {
  const run = await runCli(["-i", "--url", URL_, "b@example.com"], {
    stdin: "Subject: x\n\nbody\n",
  });
  assert.equal(run.sent[0]!.envelope.from, "ada@host.example");
  assert.match(run.sent[0]!.text, /^Subject: x\nFrom: ada@host.example\r\n/);
});

Deno.test("main with --read-envelope-from prefers the From field over the configured sender", async () => {
  const files = {
    "/home/ada/.msmtprc":
      "account default\nhost h.example\nfrom cfg@example.com\n",
  };
  const stdin = "From: Ada <ada@example.com>\n\nbody\n";
  const configured = await runCli(["-i", "b@example.com"], { files, stdin });
  assert.equal(configured.sent[0]!.envelope.from, "cfg@example.com");
  const read = await runCli(["-i", "--read-envelope-from", "b@example.com"], {
    files,
    stdin,
  });
  assert.equal(read.sent[0]!.envelope.from, "ada@example.com");
});

Deno.test("main ends the message at a lone dot unless -i or -oi is given", async () => {
  const stdin = "Subject: x\n\nbefore\n.\nafter\n";
  const dot = await runCli(["--url", URL_, "bob@example.com"], { stdin });
  assert.match(dot.sent[0]!.text, /before\n$/);
  for (const flag of ["-i", "-oi"]) {
    const kept = await runCli([flag, "--url", URL_, "bob@example.com"], {
      stdin,
    });
    assert.match(kept.sent[0]!.text, /before\n\.\nafter\n$/, flag);
  }
});

Deno.test("main takes the server from SENDMAIL_URL, and --url over it", async () => {
  const env = await runCli(["-i", "bob@example.com"], {
    vars: { SENDMAIL_URL: "smtps://u:p@mail.example.com", USER: "ada" },
  });
  assert.equal(env.status, 0, env.stderr);
  assert.deepEqual(env.sent[0]!.options, {
    hostname: "mail.example.com",
    port: 465,
    tls: "implicit",
    auth: { username: "u", password: "p" },
  });
  const flag = await runCli(["-i", "--url", URL_, "bob@example.com"], {
    vars: { SENDMAIL_URL: "smtps://u:p@mail.example.com" },
  });
  assert.equal(flag.sent[0]!.options.hostname, "127.0.0.1");
});

Deno.test("main passes -N, -R and -V as DSN options", async () => {
  const run = await runCli([
    "-i",
    "-N",
    "failure,delay",
    "-R",
    "hdrs",
    "-V",
    "env42",
    "--url",
    URL_,
    "b@example.com",
  ]);
  assert.deepEqual(run.sent[0]!.sendOptions, {
    dsn: { notify: ["failure", "delay"], ret: "hdrs", envelopeId: "env42" },
  });
  const none = await runCli(["-i", "--url", URL_, "b@example.com"]);
  assert.deepEqual(none.sent[0]!.sendOptions, {});
});

Deno.test("main with -v prints the transcript from the logger on standard error, never the password", async () => {
  const run = await runCli([
    "-v",
    "-i",
    "--url",
    "smtp://ada:s3cret@127.0.0.1:2525?tls=none",
    "b@example.com",
  ], {
    reply: (call) => {
      call.options.logger?.({ type: "server", text: "220 ready" });
      call.options.logger?.({ type: "client", text: "AUTH PLAIN [redacted]" });
      call.options.logger?.({ type: "info", text: "sent" });
      return {
        accepted: call.envelope.to,
        rejected: [],
        reply: { code: 250, lines: ["OK"], text: "OK" },
        envelope: call.envelope,
        secure: false,
      };
    },
  });
  assert.equal(run.status, 0);
  assert.match(run.stderr, /^settings from --url\n/);
  assert.match(run.stderr, /password = \*\n/);
  assert.match(
    run.stderr,
    /<-- 220 ready\n--> AUTH PLAIN \[redacted\]\n\*\*\* sent\n$/,
  );
  assert.doesNotMatch(run.stderr, /s3cret/);
  const quiet = await runCli(["-i", "--url", URL_, "b@example.com"]);
  assert.equal(quiet.sent[0]!.options.logger, undefined);
});

Deno.test("main -P prints the settings with the password masked and sends nothing", async () => {
  const run = await runCli([
    "-P",
    "--url",
    "smtp://ada:s3cret@mail.example.com",
  ]);
  assert.equal(run.status, 0);
  assert.equal(run.sent.length, 0);
  assert.match(
    run.stdout,
    /host = mail.example.com\nport = 587\ntls = starttls\n/,
  );
  assert.match(run.stdout, /user = ada\npassword = \*\n/);
  assert.doesNotMatch(run.stdout, /s3cret/);
});

Deno.test("main prints help and version on standard output", async () => {
  const help = await runCli(["--help"]);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^Usage: sendmail /);
  const version = await runCli(["--version"]);
  assert.match(version.stdout, /^sendmail \(@x\/sendmail\) \d+\.\d+\.\d+\n$/);
});

Deno.test("main exits 64 on a usage error, before reading anything", async () => {
  const run = await runCli(["-Z", "b@example.com"]);
  assert.equal(run.status, 64);
  assert.equal(
    run.stderr,
    "sendmail: Unknown option -Z\nTry 'sendmail --help' for more information.\n",
  );
  const none = await runCli(["-i", "--url", URL_]);
  assert.equal(none.status, 64);
  assert.match(none.stderr, /^sendmail: No recipient/);
  assert.equal(none.sent.length, 0);
});

Deno.test("main exits 78 without configuration or with a bad one", async () => {
  const none = await runCli(["-i", "b@example.com"]);
  assert.equal(none.status, 78);
  assert.match(
    none.stderr,
    /No configuration: give --url, set SENDMAIL_URL, or write ~\/.msmtprc/,
  );
  const bad = await runCli(["-i", "b@example.com"], {
    files: { "/home/ada/.msmtprc": "account default\nhots mail.example.com\n" },
  });
  assert.equal(bad.status, 78);
  assert.equal(
    bad.stderr,
    'sendmail: Cannot read configuration /home/ada/.msmtprc: unknown command "hots" at line 2\n',
  );
  const url = await runCli([
    "-i",
    "--url",
    "smtp://h?tls=maybe",
    "b@example.com",
  ]);
  assert.equal(url.status, 78);
});

Deno.test("main exits with the status of the send failure", async () => {
  const cases: [Error, number][] = [
    [
      new SmtpError("Cannot send RCPT TO: server replied 550", {
        reply: { code: 550, lines: ["no such user"], text: "no such user" },
        command: "RCPT",
      }),
      65,
    ],
    [
      new SmtpError("Cannot send MAIL FROM: server replied 451", {
        reply: { code: 451, lines: ["try later"], text: "try later" },
        command: "MAIL",
      }),
      75,
    ],
    [
      new SmtpError("Authentication failed", { kind: "auth", command: "AUTH" }),
      77,
    ],
    [
      new SmtpError("Cannot connect", {
        kind: "connection",
        cause: connectionFailure(
          "Cannot connect to nowhere.invalid:587: Name or service not known",
          "dns",
        ),
      }),
      68,
    ],
    [new SmtpError("Connection closed", { kind: "connection" }), 75],
    [
      new SmtpError("Timed out waiting for the greeting", { kind: "timeout" }),
      75,
    ],
    [new SmtpError("Malformed reply", { kind: "protocol" }), 76],
  ];
  for (const [error, status] of cases) {
    const run = await runCli(["-i", "--url", URL_, "b@example.com"], {
      reply: () => {
        throw error;
      },
    });
    assert.equal(run.status, status, error.message);
    assert.equal(run.stderr, `sendmail: ${error.message}\n`);
  }
});

Deno.test("main reports refused recipients of a partly accepted message", async () => {
  const run = await runCli([
    "-i",
    "--url",
    URL_,
    "a@example.com",
    "b@example.com",
    "c@example.com",
  ], {
    reply: (call) => ({
      accepted: ["a@example.com"],
      rejected: [
        {
          recipient: "b@example.com",
          reply: { code: 450, lines: ["busy"], text: "busy" },
        },
        {
          recipient: "c@example.com",
          reply: {
            code: 550,
            enhancedCode: "5.1.1",
            lines: ["no such user"],
            text: "no such user",
          },
        },
      ],
      reply: { code: 250, lines: ["OK"], text: "OK" },
      envelope: call.envelope,
      secure: false,
    }),
  });
  assert.equal(run.status, 65);
  assert.equal(
    run.stderr,
    'sendmail: recipient b@example.com refused: server replied 450 "busy"\n' +
      'sendmail: recipient c@example.com refused: server replied 550 5.1.1 "no such user"\n',
  );
});

Deno.test("main uses the msmtp account chosen by -a, by -f, or default", async () => {
  const files = {
    "/home/ada/.config/msmtp/config": [
      "defaults",
      "port 587",
      "tls on",
      "account work",
      "host smtp.work.example",
      "from ada@work.example",
      "auth on",
      "user ada",
      "password s3cret",
      "account home",
      "host smtp.home.example",
      "from ada@home.example",
      "account default : home",
    ].join("\n"),
  };
  const vars = { HOME: "/home/ada", USER: "ada" };
  const byDefault = await runCli(["-i", "b@example.com"], { files, vars });
  assert.equal(byDefault.status, 0, byDefault.stderr);
  assert.equal(byDefault.sent[0]!.options.hostname, "smtp.home.example");
  assert.equal(byDefault.sent[0]!.envelope.from, "ada@home.example");
  const byAccount = await runCli(["-i", "-a", "work", "b@example.com"], {
    files,
    vars,
  });
  assert.deepEqual(byAccount.sent[0]!.options, {
    hostname: "smtp.work.example",
    port: 587,
    tls: "starttls",
    auth: { username: "ada", password: "s3cret" },
  });
  const byFrom = await runCli([
    "-i",
    "-f",
    "ada+git@work.example",
    "b@example.com",
  ], { files, vars });
  assert.equal(byFrom.sent[0]!.options.hostname, "smtp.work.example");
  assert.equal(byFrom.sent[0]!.envelope.from, "ada+git@work.example");
  const missing = await runCli(["-i", "-a", "nope", "b@example.com"], {
    files,
    vars,
  });
  assert.equal(missing.status, 78);
  assert.match(missing.stderr, /No account "nope"/);
});

Deno.test("main follows allow_from_override off and set_from_header on of msmtp's system example", async () => {
  const system = await Deno.readTextFile(
    new URL("./fixtures/msmtprc-system.example", import.meta.url),
  );
  const run = await runCli([
    "-i",
    "-f",
    "spoof@example.net",
    "-F",
    "Cron",
    "b@example.com",
  ], {
    files: { "/etc/msmtprc": system },
    vars: { HOME: "/home/ada", USER: "backup" },
    stdin: "From: spoof@example.net\nSubject: x\n\nbody\n",
  });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(run.sent[0]!.options, {
    hostname: "mail.oursite.example",
    port: 465,
    tls: "implicit",
  });
  assert.equal(run.sent[0]!.envelope.from, "backup@oursite.example");
  assert.match(
    run.sent[0]!.text,
    /^Subject: x\nFrom: Cron <backup@oursite.example>\r\n/,
  );
  assert.doesNotMatch(run.sent[0]!.text, /spoof/);
});

Deno.test("main qualifies cron's unqualified -f root with the configured sender", async () => {
  const run = await runCli([
    "-FCronDaemon",
    "-i",
    "-odi",
    "-oem",
    "-oi",
    "-t",
    "-f",
    "root",
  ], {
    files: {
      "/home/ada/.msmtprc":
        "account default\nhost mail.example.com\nfrom cron@example.com\n",
    },
    stdin:
      "To: ops@example.com\nSubject: Cron <root@host> run-parts\n\noutput\n",
  });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(run.sent[0]!.envelope, {
    from: "cron@example.com",
    to: ["ops@example.com"],
  });
  assert.match(run.sent[0]!.text, /From: CronDaemon <cron@example.com>\r\n/);
  const bare = await runCli([
    "-i",
    "-f",
    "root",
    "--url",
    URL_,
    "ops@example.com",
  ]);
  assert.equal(bare.sent[0]!.envelope.from, "root@host.example");
});

Deno.test("main cancels standard input when the send step fails before reading the message", async () => {
  let cancelled = false;
  const stdin = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode("Subject: x\n\nbody\n"));
    },
    cancel() {
      cancelled = true;
    },
  });
  const run = await runCli(["-i", "--url", URL_, "b@example.com"], {
    stdin,
    skipRead: true,
    reply: () => {
      throw new SmtpError("Cannot send MAIL FROM: server replied 421", {
        reply: { code: 421, lines: ["bye"], text: "bye" },
        command: "MAIL",
      });
    },
  });
  assert.equal(run.status, 75);
  assert.equal(cancelled, true);
});
