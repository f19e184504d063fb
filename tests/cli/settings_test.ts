import assert from "node:assert/strict";
import { runShellCommand } from "../../src/cli/_run_shell_command.ts";
import { parseAliases } from "../../src/cli/_settings.ts";
import { runCli } from "./_cli_harness.ts";

const RC = "/home/ada/.msmtprc";
const PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

async function optionsFor(config: string, more: Record<string, string> = {}) {
  const run = await runCli(["-i", "b@example.com"], {
    files: { [RC]: config, ...more },
    runCommand: (command) =>
      command === "pass show smtp"
        ? Promise.resolve("from-the-store\r\nsecond line\n")
        : Promise.reject(new Error("the command exited with status 1")),
  });
  return run;
}

Deno.test("runShellCommand returns the output of sh -c and fails on a non-zero status", async () => {
  assert.equal(
    await runShellCommand("printf 'pw\\nsecond\\n'"),
    "pw\nsecond\n",
  );
  assert.equal(await runShellCommand("cat"), ""); // standard input is empty
  await assert.rejects(runShellCommand("exit 3"), /exited with status 3/);
});

Deno.test("main runs passwordeval and takes the first line of its output", async () => {
  const run = await optionsFor(
    "account default\nhost h.example\ntls on\nauth login\nuser ada\npasswordeval pass show smtp\n",
  );
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(run.sent[0]!.options.auth, {
    username: "ada",
    password: "from-the-store",
    mechanism: "LOGIN",
  });
  const failing = await optionsFor(
    "account default\nhost h.example\nauth on\nuser ada\npasswordeval false\n",
  );
  assert.equal(failing.status, 78);
  assert.match(
    failing.stderr,
    /passwordeval failed: the command exited with status 1/,
  );
});

Deno.test("main maps msmtp's TLS settings and default ports to client options", async () => {
  const cases: [string, Record<string, unknown>][] = [
    ["", { port: 25, tls: "none" }],
    ["tls on\n", { port: 25, tls: "starttls" }],
    ["tls on\ntls_starttls off\n", { port: 465, tls: "implicit" }],
    ["tls on\ntls_nostarttls\nport 2465\n", { port: 2465, tls: "implicit" }],
  ];
  for (const [lines, expected] of cases) {
    const run = await optionsFor(`account default\nhost h.example\n${lines}`);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(run.sent[0]!.options, {
      hostname: "h.example",
      ...expected,
    }, lines);
  }
});

Deno.test("main reads tls_trust_file as extra CA certificates and keeps system for the default", async () => {
  const run = await optionsFor(
    "account default\nhost h.example\ntls on\ntls_trust_file ~/ca.pem\n",
    { "/home/ada/ca.pem": PEM },
  );
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(run.sent[0]!.options.caCerts, [PEM]);
  const system = await optionsFor(
    "account default\nhost h.example\ntls on\ntls_trust_file system\n",
  );
  assert.equal(system.sent[0]!.options.caCerts, undefined);
  const missing = await optionsFor(
    "account default\nhost h.example\ntls_trust_file /nope.pem\n",
  );
  assert.equal(missing.status, 78);
  assert.match(missing.stderr, /tls_trust_file \/nope.pem does not exist/);
});

Deno.test("main maps auth mechanisms, tokens, domain and timeout", async () => {
  const token = await optionsFor(
    "account default\nhost h.example\ntls on\nauth oauthbearer\nuser ada@example.com\npassword ya29.token\n" +
      "domain %H\ntimeout 30\n",
  );
  assert.equal(token.status, 0, token.stderr);
  const options = token.sent[0]!.options;
  assert.deepEqual(options.auth, {
    username: "ada@example.com",
    accessToken: "ya29.token",
    mechanism: "OAUTHBEARER",
  });
  assert.equal(options.clientName, "host.example");
  assert.deepEqual(options.timeouts, {
    connect: 30000,
    greeting: 30000,
    command: 30000,
    data: 30000,
    dataEnd: 30000,
  });
  const off = await optionsFor(
    "account default\nhost h.example\nauth off\nuser ada\npassword x\n",
  );
  assert.equal(off.sent[0]!.options.auth, undefined);
});

Deno.test("main maps auth scram-sha-256 and scram-sha-1 to the SCRAM mechanisms", async () => {
  for (
    const [name, mechanism] of [
      ["scram-sha-256", "SCRAM-SHA-256"],
      ["scram-sha-1", "SCRAM-SHA-1"],
    ] as const
  ) {
    const run = await optionsFor(
      `account default\nhost h.example\ntls on\nauth ${name}\nuser ada\npassword pencil\n`,
    );
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(run.sent[0]!.options.auth, {
      username: "ada",
      password: "pencil",
      mechanism,
    });
  }
});

Deno.test("main refuses an account it cannot honour, naming the command and line", async () => {
  const pinned = await optionsFor(
    "account other\nhost o.example\ntls_fingerprint AA:BB\naccount default\nhost h.example\ntls_certcheck off\n",
  );
  assert.equal(pinned.status, 78);
  assert.match(
    pinned.stderr,
    /Cannot use account "default" of \/home\/ada\/.msmtprc: "tls_certcheck" at line 6: certificates are always verified/,
  );
  // The unsupported setting of another account does not matter.
  const other = await optionsFor(
    "account other\nhost o.example\ntls_fingerprint AA:BB\naccount default\nhost h.example\n",
  );
  assert.equal(other.status, 0, other.stderr);
  const noPassword = await optionsFor(
    "account default\nhost h.example\nauth on\nuser ada\n",
  );
  assert.equal(noPassword.status, 78);
  assert.match(noPassword.stderr, /neither password nor passwordeval is set/);
  const noHost = await optionsFor("account default\nport 25\n");
  assert.match(noHost.stderr, /host is not set/);
});

Deno.test("main expands local recipients through the aliases file, as msmtp does", async () => {
  const run = await optionsFor(
    "account default\nhost h.example\nfrom cron@example.com\naliases /etc/aliases\n",
    {
      "/etc/aliases":
        "# mail for root\nroot: ops@example.com, Ada <ada@example.com>\ndefault: admin@example.com\n",
    },
  );
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(run.sent[0]!.envelope.to, ["b@example.com"]);
  const cron = await runCli(["-i", "root", "www-data", "x@example.com"], {
    files: {
      [RC]:
        "account default\nhost h.example\nfrom cron@example.com\naliases /etc/aliases\n",
      "/etc/aliases":
        "root: ops@example.com, Ada <ada@example.com>\ndefault: admin@example.com\n",
    },
  });
  assert.deepEqual(cron.sent[0]!.envelope.to, [
    "ops@example.com",
    "ada@example.com",
    "admin@example.com",
    "x@example.com",
  ]);
});

Deno.test("parseAliases reads names, address lists and comments", () => {
  assert.deepEqual(
    [...parseAliases(
      "root: a@example.com, b@example.com # admins\n\n#x: y\nCron:c@example.com\n",
    )],
    [["root", ["a@example.com", "b@example.com"]], ["cron", ["c@example.com"]]],
  );
});

Deno.test("main substitutes %U and %M in from, and user accounts override system ones", async () => {
  const run = await runCli(["-i", "b@example.com"], {
    files: {
      "/etc/msmtprc": "account default\nhost system.example\nfrom %U@%M\n",
      "/etc/mailname": "mail.example.org\n",
    },
    vars: { HOME: "/home/ada", USER: "backup" },
  });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.sent[0]!.envelope.from, "backup@mail.example.org");
  const user = await runCli(["-i", "b@example.com"], {
    files: {
      "/etc/msmtprc": "account default\nhost system.example\n",
      [RC]: "account default\nhost user.example\n",
    },
  });
  assert.equal(user.sent[0]!.options.hostname, "user.example");
  const file = await runCli(["-i", "-C", "/srv/rc", "b@example.com"], {
    files: {
      "/srv/rc": "account default\nhost file.example\n",
      [RC]: "account default\nhost user.example\n",
    },
  });
  assert.equal(file.sent[0]!.options.hostname, "file.example");
  const missing = await runCli(["-i", "-C", "/srv/none", "b@example.com"]);
  assert.equal(missing.status, 78);
  assert.match(
    missing.stderr,
    /Cannot read configuration \/srv\/none: no such file/,
  );
});

Deno.test("main maps msmtp's protocol lmtp and socket to client options", async () => {
  const run = await optionsFor(
    "account default\nprotocol lmtp\nsocket /run/dovecot/lmtp\n",
  );
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.sent[0]!.options.lmtp, true);
  assert.equal(run.sent[0]!.options.path, "/run/dovecot/lmtp");
  assert.equal(run.sent[0]!.options.hostname, "localhost");
  const tcp = await optionsFor(
    "account default\nhost lmtp.example\nport 24\nprotocol lmtp\n",
  );
  assert.equal(tcp.status, 0, tcp.stderr);
  assert.equal(tcp.sent[0]!.options.lmtp, true);
  assert.equal(tcp.sent[0]!.options.port, 24);
  assert.equal(tcp.sent[0]!.options.path, undefined);
});
