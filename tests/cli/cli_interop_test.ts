/**
 * The sendmail command as callers run it: a separate process reading the
 * message on standard input, sending to Postfix's smtp-sink, which writes
 * each transaction it receives (envelope included) to a file; and
 * `git send-email --sendmail-cmd` delivering a patch through it.
 *
 * @module
 */
import assert from "node:assert/strict";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;
const required = Deno.env.get("SENDMAIL_INTEROP") === "required";

async function exists(path: string | URL): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

// The send step is the core's sendmail(); without it the command cannot send.
const haveCore = await exists(
  new URL("../../src/session/sendmail.ts", import.meta.url),
);
const haveSink = await exists("/usr/sbin/smtp-sink");
const haveGitEmail = new TextDecoder().decode(
  (await new Deno.Command("git", {
    args: ["send-email", "-h"],
    stdout: "piped",
    stderr: "piped",
  }).output().catch(() => undefined))?.stdout ?? new Uint8Array(),
).includes("--sendmail-cmd");
if (required && !(haveCore && haveSink && haveGitEmail)) {
  throw new Error(
    `Interop tests are required but cannot run: src/session/sendmail.ts ${haveCore}, smtp-sink ${haveSink}, git send-email ${haveGitEmail}`,
  );
}
// Without the core (not merged yet), smtp-sink or git-email, these tests are skipped.
const ignore = !haveCore || !haveSink;

/** A transaction smtp-sink received: its envelope and the message. */
interface Received {
  from: string;
  to: string[];
  message: string;
}

/** Starts smtp-sink on a free loopback port; `flags` script its faults. */
async function startSink(flags: string[] = []) {
  const dir = await Deno.makeTempDir({ prefix: "sink" });
  await Deno.chmod(dir, 0o777); // smtp-sink writes as "nobody"
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const asRoot = Deno.uid() === 0 ? ["-u", "nobody"] : [];
  const child = new Deno.Command("/usr/sbin/smtp-sink", {
    args: [...asRoot, ...flags, "-d", `${dir}/`, `127.0.0.1:${port}`, "10"],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (let i = 0; i < 100; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  return {
    port,
    url: `smtp://127.0.0.1:${port}?tls=none`,
    async received(): Promise<Received[]> {
      const out: Received[] = [];
      for await (const entry of Deno.readDir(dir)) {
        const text = await Deno.readTextFile(`${dir}/${entry.name}`);
        const [head = "", ...rest] = text.split(/\r?\nReceived: /);
        out.push({
          from: /^X-Mail-Args: <([^>]*)>/m.exec(head)?.[1] ?? "",
          to: [...head.matchAll(/^X-Rcpt-Args: <([^>]*)>/gm)].map((m) => m[1]!),
          // The message after smtp-sink's own Received field (smtp-sink
          // ends each dump with an extra line ending).
          message: rest.join("\nReceived: ")
            .replace(/^[^\n]*\n(\t[^\n]*\n)*/, "")
            .replace(/\r?\n$/, ""),
        });
      }
      return out;
    },
    async [Symbol.asyncDispose]() {
      child.kill("SIGTERM");
      await child.status;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Runs the command as a process, like a caller of /usr/sbin/sendmail. */
async function sendmail(
  args: string[],
  input: string,
  env: Record<string, string> = {},
): Promise<{ code: number; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
    env: { USER: "ada", ...env },
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  const { code, stderr } = await child.output();
  return { code, stderr: new TextDecoder().decode(stderr) };
}

Deno.test({
  name: "sendmail -t delivers to To, Cc and Bcc and the server never sees Bcc",
  ignore,
  async fn() {
    await using sink = await startSink();
    const { code, stderr } = await sendmail(
      ["-t", "-i", "-f", "ada@example.com", "-F", "Ada Lovelace"],
      "To: bob@example.com\nCc: Carol <carol@example.com>\nBcc: eve@example.com\nSubject: notes\n\n.dot line\nbody\n",
      { SENDMAIL_URL: sink.url },
    );
    assert.equal(code, 0, stderr);
    const [mail] = await sink.received();
    assert.equal(mail?.from, "ada@example.com");
    assert.deepEqual(mail?.to, [
      "bob@example.com",
      "carol@example.com",
      "eve@example.com",
    ]);
    assert.doesNotMatch(mail!.message, /eve@/);
    assert.match(mail!.message, /^From: Ada Lovelace <ada@example.com>$/m);
    assert.match(mail!.message, /^Date: /m);
    assert.match(mail!.message, /^Message-ID: <[^>]+@example.com>$/m);
    assert.match(mail!.message, /\r?\n\r?\n\.dot line\r?\nbody\r?\n$/);
  },
});

Deno.test({
  name:
    "sendmail delivers a message piped the way cron does, ending at a lone dot without -i",
  ignore,
  async fn() {
    await using sink = await startSink();
    const cron = await sendmail(
      ["-FCronDaemon", "-i", "-B8BITMIME", "-oem", "ops@example.com"],
      "From: root (Cron Daemon)\nTo: ops@example.com\nSubject: Cron <root@host> backup\n\nall done\n",
      { SENDMAIL_URL: sink.url },
    );
    assert.equal(cron.code, 0, cron.stderr);
    const dot = await sendmail(
      ["ops@example.com"],
      "Subject: dot\n\nkept\n.\nnot sent\n",
      {
        SENDMAIL_URL: sink.url,
      },
    );
    assert.equal(dot.code, 0, dot.stderr);
    const mails = await sink.received();
    assert.equal(mails.length, 2);
    const dotted = mails.find((m) => /Subject: dot/.test(m.message))!;
    assert.match(dotted.message, /kept\r?\n$/);
    assert.doesNotMatch(dotted.message, /not sent/);
    const fromCron = mails.find((m) => /backup/.test(m.message))!;
    assert.deepEqual(fromCron.to, ["ops@example.com"]);
    // "From: root (Cron Daemon)" is unqualified: $USER@hostname instead.
    assert.equal(fromCron.from, `ada@${Deno.hostname()}`);
  },
});

Deno.test({
  name:
    "sendmail exits 65 when the server refuses the recipient, 75 on a 4xx or a dropped connection",
  ignore,
  async fn() {
    const cases: [string[], number][] = [
      [["-f", "rcpt"], 65], // hard (5xx) rejection of RCPT
      [["-r", "mail"], 75], // soft (4xx) rejection of MAIL
      [["-q", "data"], 75], // disconnects after DATA
    ];
    for (const [flags, status] of cases) {
      await using sink = await startSink(flags);
      const { code, stderr } = await sendmail(
        ["-i", "bob@example.com"],
        "Subject: x\n\nx\n",
        {
          SENDMAIL_URL: sink.url,
        },
      );
      assert.equal(code, status, `${flags.join(" ")}: ${stderr}`);
      assert.match(stderr, /^sendmail: /);
      assert.equal((await sink.received()).length, 0);
    }
    // Nothing listens on the port any more: try again later.
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (probe.addr as Deno.NetAddr).port;
    probe.close();
    const refused = await sendmail(
      ["-i", "b@example.com"],
      "Subject: x\n\nx\n",
      {
        SENDMAIL_URL: `smtp://127.0.0.1:${port}?tls=none`,
      },
    );
    assert.equal(refused.code, 75, refused.stderr);
  },
});

Deno.test({
  name: "git send-email --sendmail-cmd delivers a patch through sendmail",
  ignore: ignore || !haveGitEmail,
  async fn() {
    await using sink = await startSink();
    const repo = await Deno.makeTempDir({ prefix: "repo" });
    try {
      const git = async (...args: string[]) => {
        const out = await new Deno.Command("git", {
          args,
          cwd: repo,
          stdin: "null",
          env: {
            GIT_AUTHOR_NAME: "Ada Lovelace",
            GIT_AUTHOR_EMAIL: "ada@example.com",
            GIT_COMMITTER_NAME: "Ada Lovelace",
            GIT_COMMITTER_EMAIL: "ada@example.com",
            SENDMAIL_URL: sink.url,
            HOME: repo,
          },
        }).output();
        const text = new TextDecoder().decode(out.stdout) +
          new TextDecoder().decode(out.stderr);
        assert.ok(out.success, `git ${args[0]}: ${text}`);
        return text;
      };
      await git("init", "-q");
      await Deno.writeTextFile(`${repo}/engine.txt`, "analytical\n.\n");
      await git("add", "engine.txt");
      await git("commit", "-q", "-m", "Add the engine");
      await git("format-patch", "-q", "-1", "-o", "out");
      await git(
        "send-email",
        `--sendmail-cmd=${Deno.execPath()} run -A ${CLI}`,
        "--to=Charles <charles@example.com>",
        "--cc=ops@example.com",
        "--from=Ada Lovelace <ada@example.com>",
        "--confirm=never",
        "--suppress-cc=all",
        "--no-validate",
        "--quiet",
        "out",
      );
      const [mail] = await sink.received();
      assert.ok(mail, "a message arrived");
      assert.equal(mail.from, "ada@example.com");
      assert.deepEqual(mail.to.toSorted(), [
        "charles@example.com",
        "ops@example.com",
      ]);
      assert.match(mail.message, /^Subject: \[PATCH\] Add the engine$/m);
      // The patch's lone "." line survives: git passes -i.
      assert.match(mail.message, /\r?\n\+analytical\r?\n\+\.\r?\n/);
    } finally {
      await Deno.remove(repo, { recursive: true });
    }
  },
});
