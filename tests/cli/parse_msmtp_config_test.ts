import assert from "node:assert/strict";
import { CliError, type MsmtpAccount, parseMsmtpConfig } from "../../cli.ts";

const fixture = (name: string): Promise<string> =>
  Deno.readTextFile(new URL(`./fixtures/${name}`, import.meta.url));

const byName = (accounts: MsmtpAccount[], name: string): MsmtpAccount => {
  const account = accounts.find((a) => a.name === name);
  assert.ok(account, `account ${name}`);
  return account;
};

function configError(text: string, pattern: RegExp): void {
  assert.throws(() => parseMsmtpConfig(text, { file: "rc" }), (error) => {
    assert.ok(error instanceof CliError);
    assert.equal(error.exitCode, 78);
    assert.match(error.message, pattern);
    return true;
  });
}

Deno.test("parseMsmtpConfig reads msmtp's user example with defaults and inheritance", async () => {
  const accounts = parseMsmtpConfig(await fixture("msmtprc-user.example"));
  assert.deepEqual(accounts.map((a) => a.name), [
    "freemail",
    "freemail2",
    "company",
    "default",
  ]);
  const freemail = byName(accounts, "freemail");
  assert.equal(freemail.host, "smtp.freemail.example");
  assert.equal(freemail.port, 587);
  assert.equal(freemail.tls, true);
  assert.equal(freemail.tlsStarttls, true);
  assert.equal(freemail.auth, "on");
  assert.equal(freemail.user, "joe.smith");
  assert.equal(
    freemail.passwordeval,
    "gpg2 --no-tty -q -d ~/.msmtp-password.gpg",
  );
  // freemail2 inherits from freemail and changes only the sender.
  const freemail2 = byName(accounts, "freemail2");
  assert.equal(freemail2.host, "smtp.freemail.example");
  assert.equal(freemail2.user, "joe.smith");
  assert.equal(freemail2.from, "joey@freemail.example");
  // company gets the defaults, not freemail's settings.
  const company = byName(accounts, "company");
  assert.equal(company.port, 587);
  assert.equal(company.passwordeval, undefined);
  assert.equal(company.user, "company12345");
  // account default : freemail
  const def = byName(accounts, "default");
  assert.equal(def.host, "smtp.freemail.example");
  assert.equal(def.from, "joe_smith@freemail.example");
});

Deno.test("parseMsmtpConfig reads msmtp's system example and its header settings", async () => {
  const accounts = parseMsmtpConfig(await fixture("msmtprc-system.example"));
  assert.equal(accounts.length, 1);
  const def = byName(accounts, "default");
  assert.equal(def.host, "mail.oursite.example");
  assert.equal(def.port, 465);
  assert.equal(def.tls, true);
  assert.equal(def.tlsStarttls, false);
  assert.equal(def.from, "%U@oursite.example");
  assert.equal(def.allowFromOverride, false);
  assert.equal(def.setFromHeader, "on");
  assert.equal(def.unsupported, undefined); // syslog is ignored
});

Deno.test("parseMsmtpConfig reads the user example of msmtp's manual", async () => {
  const accounts = parseMsmtpConfig(
    await fixture("msmtprc-manual-user.example"),
  );
  assert.deepEqual(accounts.map((a) => a.name), [
    "freemail",
    "freemail2",
    "isp",
    "default",
  ]);
  assert.equal(byName(accounts, "isp").user, "12345");
  assert.equal(byName(accounts, "isp").tls, true);
});

/** What `msmtp -P` prints for an account: the settings both tools share. */
async function msmtpPretend(
  text: string,
  account: string,
): Promise<Record<string, string> | undefined> {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/msmtprc`;
    await Deno.writeTextFile(file, text, { mode: 0o600 });
    const output = await new Deno.Command("msmtp", {
      args: ["-C", file, "-a", account, "--passwordeval=echo x", "-P"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { USER: "tester" },
    }).output();
    const settings: Record<string, string> = {};
    for (const line of new TextDecoder().decode(output.stdout).split("\n")) {
      const m = /^([a-z_]+) = (.*)$/.exec(line);
      if (m) settings[m[1]!] = m[2]!;
    }
    return settings;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const haveMsmtp = await new Deno.Command("msmtp", { args: ["--version"] })
  .output().then((o) => o.success, () => false);
const ignoreInterop = !haveMsmtp &&
  Deno.env.get("SENDMAIL_INTEROP") !== "required";

Deno.test({
  name: "parseMsmtpConfig agrees with msmtp itself on every example account",
  ignore: ignoreInterop, // msmtp is not installed here
  async fn() {
    for (
      const name of [
        "msmtprc-user.example",
        "msmtprc-system.example",
        "msmtprc-manual-user.example",
      ]
    ) {
      const text = await fixture(name);
      for (const account of parseMsmtpConfig(text)) {
        const theirs = await msmtpPretend(text, account.name);
        assert.ok(theirs, `${name} ${account.name}`);
        const where = `${name}, account ${account.name}`;
        assert.equal(account.host, theirs.host, where);
        const tls = account.tls ?? false;
        const starttls = account.tlsStarttls ?? true;
        assert.equal(
          String(account.port ?? (tls && !starttls ? 465 : 25)),
          theirs.port,
          where,
        );
        assert.equal(tls ? "on" : "off", theirs.tls, where);
        assert.equal(starttls ? "on" : "off", theirs.tls_starttls, where);
        assert.equal(account.user ?? "(not set)", theirs.user, where);
        assert.equal(
          (account.auth ?? "off") === "off" ? "none" : "choose",
          theirs.auth,
          where,
        );
        assert.equal(
          account.from?.replace("%U", "tester") ?? "(not set)",
          theirs.from,
          where,
        );
      }
    }
  },
});

Deno.test("parseMsmtpConfig strips one pair of quotes and keeps the rest literally", () => {
  const [a] = parseMsmtpConfig(
    [
      "account a",
      'host "smtp.example.com"',
      'password "p#ss \\"word"',
      'user  "joe smith"  ',
      "from x@example.com # not a comment",
      "  # an indented comment",
      "\thost\tsmtp2.example.com\r",
    ].join("\n"),
  );
  assert.equal(a?.password, 'p#ss \\"word');
  assert.equal(a?.user, "joe smith");
  assert.equal(a?.from, "x@example.com # not a comment");
  assert.equal(a?.host, "smtp2.example.com");
});

Deno.test("parseMsmtpConfig names an unknown command and its line", () => {
  configError(
    "account a\nhost h\n\nhots h2\n",
    /unknown command "hots" at line 4/,
  );
});

Deno.test("parseMsmtpConfig rejects invalid arguments and bad account lines", () => {
  configError(
    "account a\nport 70000\n",
    /invalid argument "70000" for command "port" at line 2/,
  );
  configError("account a\ntls maybe\n", /invalid argument "maybe"/);
  configError("account a\nauth bogus\n", /invalid argument "bogus"/);
  configError(
    "account a\nhost\n",
    /command "host" needs an argument at line 2/,
  );
  configError(
    "account b : a\n",
    /account "a" is not \(yet\) defined at line 1/,
  );
  configError(
    "account a\naccount a\n",
    /account "a" was already defined at line 2/,
  );
  configError("account\n", /missing account name at line 1/);
  configError("defaults x\n", /"defaults" takes no argument/);
  configError("account a\neval echo host h\n", /"eval" is not supported/);
});

Deno.test("parseMsmtpConfig puts commands before any account into the account default", () => {
  const [a] = parseMsmtpConfig("host smtp.example.com\nport 2525\n");
  assert.equal(a?.name, "default");
  assert.equal(a?.host, "smtp.example.com");
  assert.equal(a?.port, 2525);
});

Deno.test("parseMsmtpConfig treats an empty argument of on/off commands as on", () => {
  const [a] = parseMsmtpConfig("account a\nhost h\ntls\nauth\ntls_starttls\n");
  assert.equal(a?.tls, true);
  assert.equal(a?.auth, "on");
  assert.equal(a?.tlsStarttls, true);
});

Deno.test("parseMsmtpConfig inherits from several parents, later ones winning", () => {
  const accounts = parseMsmtpConfig(
    [
      "account a",
      "host a.example",
      "port 25",
      "account b",
      "host b.example",
      "user bob",
      "account c : a, b",
      "from c@example.com",
    ].join("\n"),
  );
  const c = byName(accounts, "c");
  assert.equal(c.host, "b.example");
  assert.equal(c.port, 25);
  assert.equal(c.user, "bob");
  assert.equal(c.from, "c@example.com");
});

Deno.test("parseMsmtpConfig ignores logging commands and records unsupported ones on their account", () => {
  const accounts = parseMsmtpConfig(
    [
      "defaults",
      "logfile ~/.msmtp.log",
      "syslog LOG_MAIL",
      "tls_priorities NORMAL",
      "account pinned",
      "host h",
      "tls_fingerprint 00:11:22",
      "account plain",
      "host h",
      "auth gssapi",
      "account fine",
      "host h",
      "timeout 30",
      "dsn_notify failure,delay",
      "dsn_return headers",
      "domain %H",
      "protocol smtp",
    ].join("\n"),
  );
  assert.deepEqual(
    byName(accounts, "pinned").unsupported?.map((u) => [u.command, u.line]),
    [["tls_fingerprint", 7]],
  );
  assert.match(
    byName(accounts, "plain").unsupported?.[0]?.reason ?? "",
    /gssapi mechanism is not implemented/,
  );
  const fine = byName(accounts, "fine");
  assert.equal(fine.unsupported, undefined);
  assert.equal(fine.timeout, 30);
  assert.equal(fine.dsnNotify, "failure,delay");
  assert.equal(fine.dsnReturn, "hdrs");
  assert.equal(fine.domain, "%H");
});

Deno.test("parseMsmtpConfig accepts auth scram-sha-256 and scram-sha-1", () => {
  const accounts = parseMsmtpConfig(
    [
      "account a",
      "host h",
      "auth scram-sha-256",
      "account b",
      "host h",
      "auth SCRAM-SHA-1",
    ].join("\n"),
  );
  assert.equal(byName(accounts, "a").auth, "scram-sha-256");
  assert.equal(byName(accounts, "a").unsupported, undefined);
  assert.equal(byName(accounts, "b").auth, "scram-sha-1");
  assert.equal(byName(accounts, "b").unsupported, undefined);
});
