import assert from "node:assert/strict";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;

/** Runs cli.ts as a program with only the permissions `deno task compile` grants. */
async function run(
  args: string[],
  input = "",
  env: Record<string, string> = {},
) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-env",
      "--allow-read",
      "--allow-run=sh",
      "--allow-sys=hostname",
      CLI,
      ...args,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    clearEnv: true,
    env: { HOME: "/nonexistent", PATH: Deno.env.get("PATH") ?? "", ...env },
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input)).catch(() => {});
  await writer.close().catch(() => {});
  const out = await child.output();
  const decoder = new TextDecoder();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}

Deno.test("cli.ts runs as a program and exits with its status", async () => {
  const version = await run(["--version"]);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^sendmail \(@x\/sendmail\) /);
  const usage = await run(["-Z"], "Subject: x\n\n");
  assert.equal(usage.code, 64);
  assert.match(usage.stderr, /^sendmail: Unknown option -Z\n/);
  const config = await run(["-i", "b@example.com"], "Subject: x\n\n");
  assert.equal(config.code, 78);
  assert.match(config.stderr, /^sendmail: No configuration/);
});

Deno.test("cli.ts -P shows the settings from SENDMAIL_URL with the granted permissions", async () => {
  const pretend = await run(["-P"], "", {
    SENDMAIL_URL: "smtps://ada:s3cret@mail.example.com",
    USER: "ada",
  });
  assert.equal(pretend.code, 0, pretend.stderr);
  assert.match(
    pretend.stdout,
    /^settings from SENDMAIL_URL\nhost = mail.example.com\nport = 465\ntls = implicit\n/,
  );
  assert.match(pretend.stdout, /password = \*\n/);
  assert.doesNotMatch(pretend.stdout, /s3cret/);
});
