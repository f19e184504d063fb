/**
 * The sendmail command's queue on a real outbox file: `-odq`,
 * `--queue-on-failure`, `-q` and `--outbox`, in-process with a stand-in
 * send step, then as processes against smtp-sink.
 *
 * @module
 */
import assert from "node:assert/strict";
import { SmtpError } from "../../mod.ts";
import { interop, startSmtpSink } from "../_harness/mod.ts";
import { runCli, type RunOptions } from "./_cli_harness.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;
const URL_VAR = { SENDMAIL_URL: "smtp://127.0.0.1:2525?tls=none" };
const MESSAGE = "Subject: queued\n\nhello from the queue\n";

/** A state directory for one test, removed at the end. */
async function stateDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "sendmail_state_" });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}

function run(args: string[], state: string, options: RunOptions = {}) {
  return runCli(args, {
    vars: { HOME: "/home/ada", USER: "ada", XDG_STATE_HOME: state, ...URL_VAR },
    ...options,
  });
}

const temporary = () =>
  new SmtpError("Cannot send MAIL FROM: server replied 451", {
    reply: { code: 451, lines: ["4.3.0 later"], text: "4.3.0 later" },
    command: "MAIL",
  });

Deno.test("sendmail -odq stores the message and sends nothing; -q sends it", async () => {
  await using state = await stateDir();
  const queued = await run(["-odq", "-i", "ada@example.com"], state.path, {
    stdin: MESSAGE,
  });
  assert.equal(queued.status, 0, queued.stderr);
  assert.equal(queued.sent.length, 0);
  assert.equal(queued.stderr, "");
  await Deno.stat(`${state.path}/sendmail/outbox.sqlite3`);

  const listed = await run(["--outbox", "list"], state.path);
  assert.equal(listed.status, 0, listed.stderr);
  const lines = listed.stdout.trim().split("\n");
  assert.equal(lines.length, 2);
  const [id, entryState, attempts, , recipients] = lines[1]!.split("\t");
  assert.equal(entryState, "queued");
  assert.equal(attempts, "0");
  assert.equal(recipients, "ada@example.com");

  const delivered = await run(["-q", "-v"], state.path);
  assert.equal(delivered.status, 0, delivered.stderr);
  assert.match(delivered.stderr, /1 attempted, 1 sent/);
  assert.equal(delivered.sent.length, 1);
  assert.deepEqual(delivered.sent[0]!.envelope.to, ["ada@example.com"]);
  assert.match(delivered.sent[0]!.text, /^Subject: queued\r?$/m);
  assert.match(delivered.sent[0]!.text, /hello from the queue/);

  const shown = await run(["--outbox", "show", id!], state.path);
  assert.equal(shown.status, 0, shown.stderr);
  const entry = JSON.parse(shown.stdout);
  assert.equal(entry.state, "sent");
  assert.equal(entry.recipients[0].state, "accepted");
  // Nothing is due any more.
  assert.equal((await run(["-q"], state.path)).sent.length, 0);
});

Deno.test("sendmail --queue keeps the DSN flags for the queue run", async () => {
  await using state = await stateDir();
  await run(
    ["--queue", "-N", "failure", "-V", "env-1", "ada@example.com"],
    state.path,
  );
  const delivered = await run(["-q"], state.path);
  assert.deepEqual(delivered.sent[0]!.sendOptions?.dsn, {
    notify: ["failure"],
    envelopeId: "env-1",
  });
});

Deno.test("sendmail --queue-on-failure stores a message whose send failed for now and exits 0", async () => {
  await using state = await stateDir();
  const failed = await run(
    ["--queue-on-failure", "ada@example.com"],
    state.path,
    {
      stdin: MESSAGE,
      reply: () => {
        throw temporary();
      },
    },
  );
  assert.equal(failed.status, 0, failed.stderr);
  assert.equal(failed.sent.length, 1);
  const delivered = await run(["-q"], state.path);
  assert.equal(delivered.sent.length, 1);
  // The same bytes: what the failed attempt read is what is sent later.
  assert.equal(delivered.sent[0]!.text, failed.sent[0]!.text);
  // Without the flag the same failure exits 75.
  const plain = await run(["ada@example.com"], state.path, {
    reply: () => {
      throw temporary();
    },
  });
  assert.equal(plain.status, 75);
});

Deno.test("sendmail --queue-on-failure does not store a message refused permanently", async () => {
  await using state = await stateDir();
  const refused = await run(
    ["--queue-on-failure", "ada@example.com"],
    state.path,
    {
      reply: () => {
        throw new SmtpError("Cannot send RCPT TO: server replied 550", {
          reply: { code: 550, lines: ["no such user"], text: "no such user" },
          command: "RCPT",
        });
      },
    },
  );
  assert.equal(refused.status, 65);
  const listed = await run(["--outbox", "list"], state.path);
  assert.equal(listed.stdout.trim().split("\n").length, 1);
});

Deno.test("sendmail --queue-on-failure stores only the recipients refused for now", async () => {
  await using state = await stateDir();
  const partial = await run(
    ["--queue-on-failure", "ok@example.com", "busy@example.com"],
    state.path,
    {
      reply: (call) => ({
        accepted: ["ok@example.com"],
        rejected: [{
          recipient: "busy@example.com",
          reply: { code: 450, lines: ["4.2.1 busy"], text: "4.2.1 busy" },
        }],
        reply: { code: 250, lines: ["OK"], text: "OK" },
        envelope: call.envelope,
        secure: false,
      }),
    },
  );
  assert.equal(partial.status, 0, partial.stderr);
  assert.equal(partial.stderr, "");
  const delivered = await run(["-q"], state.path);
  assert.deepEqual(delivered.sent.map((c) => c.envelope.to), [[
    "busy@example.com",
  ]]);
});

Deno.test("sendmail --outbox cancel and retry change an entry; an unknown ID exits 64", async () => {
  await using state = await stateDir();
  const file = `${state.path}/elsewhere.sqlite3`;
  await run(["-odq", "--outbox-file", file, "ada@example.com"], state.path);
  const listed = await run(
    ["--outbox-file", file, "--outbox", "list"],
    state.path,
  );
  const id = listed.stdout.trim().split("\n")[1]!.split("\t")[0]!;
  const cancelled = await run(
    ["--outbox-file", file, "--outbox", "cancel", id],
    state.path,
  );
  assert.equal(cancelled.status, 0, cancelled.stderr);
  const again = await run(
    ["--outbox-file", file, "--outbox", "cancel", id],
    state.path,
  );
  assert.equal(again.status, 64);
  assert.match(again.stderr, /it is cancelled/);
  const unknown = await run([
    "--outbox-file",
    file,
    "--outbox",
    "retry",
    "nope",
  ], state.path);
  assert.equal(unknown.status, 64);
  assert.match(unknown.stderr, /No outbox entry "nope"/);
  assert.equal(
    (await run(["--outbox-file", file, "-q"], state.path)).sent.length,
    0,
  );
  // The default file was never created.
  await assert.rejects(
    Deno.stat(`${state.path}/sendmail`),
    Deno.errors.NotFound,
  );
});

Deno.test("sendmail -q with no outbox file does nothing and exits 0", async () => {
  await using state = await stateDir();
  const result = await run(["-q"], state.path);
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.sent.length, 0);
  await assert.rejects(
    Deno.stat(`${state.path}/sendmail`),
    Deno.errors.NotFound,
  );
  const listed = await run(["--outbox", "list"], state.path);
  assert.equal(listed.status, 0);
});

/** Runs the command as a process, with the message on standard input. */
async function sendmail(
  args: string[],
  env: Record<string, string>,
  input = "",
): Promise<{ code: number; stderr: string; stdout: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-kv", CLI, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { USER: "ada", SENDMAIL_URL: "", ...env },
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  const { code, stderr, stdout } = await child.output();
  const decoder = new TextDecoder();
  return {
    code,
    stderr: decoder.decode(stderr),
    stdout: decoder.decode(stdout),
  };
}

function closedPort(): number {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  return port;
}

Deno.test(interop({
  name: "sendmail -odq then -q delivers the message to smtp-sink once",
  requires: ["smtp-sink"],
  async fn() {
    await using sink = await startSmtpSink();
    await using state = await stateDir();
    const env = {
      XDG_STATE_HOME: state.path,
      SENDMAIL_URL: `smtp://127.0.0.1:${sink.port}?tls=none`,
    };
    const queued = await sendmail(
      ["-odq", "-i", "-f", "app@example.com", "ada@example.com"],
      env,
      MESSAGE,
    );
    assert.equal(queued.code, 0, queued.stderr);
    assert.equal(sink.stats().messages, 0);
    const run = await sendmail(["-q"], env);
    assert.equal(run.code, 0, run.stderr);
    await sink.waitForMessages(1);
    const [message, ...others] = await sink.messages();
    assert.equal(others.length, 0);
    assert.equal(message!.mailFrom, "app@example.com");
    assert.deepEqual(message!.rcptTo, ["ada@example.com"]);
    assert.match(message!.text, /hello from the queue/);
    // A second run has nothing to send.
    assert.equal((await sendmail(["-q"], env)).code, 0);
    assert.equal((await sink.messages()).length, 1);
    const listed = await sendmail(["--outbox", "list"], env);
    assert.match(listed.stdout, /\tsent\t1\t/);
  },
}));

Deno.test(interop({
  name:
    "sendmail --queue-on-failure exits 0 when the connection is refused, and the next -q delivers",
  requires: ["smtp-sink"],
  async fn() {
    await using state = await stateDir();
    const env = { XDG_STATE_HOME: state.path };
    const down = `smtp://127.0.0.1:${closedPort()}?tls=none`;
    const refused = await sendmail(
      [
        "--queue-on-failure",
        "--url",
        down,
        "-f",
        "app@example.com",
        "ada@example.com",
      ],
      env,
      MESSAGE,
    );
    assert.equal(refused.code, 0, refused.stderr);
    // Without the flag, the same run exits 75.
    const plain = await sendmail(
      ["--url", down, "-f", "app@example.com", "ada@example.com"],
      env,
      MESSAGE,
    );
    assert.equal(plain.code, 75, plain.stderr);
    await using sink = await startSmtpSink();
    const run = await sendmail(
      ["-q", "--url", `smtp://127.0.0.1:${sink.port}?tls=none`],
      env,
    );
    assert.equal(run.code, 0, run.stderr);
    await sink.waitForMessages(1);
    const [message] = await sink.messages();
    assert.deepEqual(message!.rcptTo, ["ada@example.com"]);
    assert.match(message!.text, /hello from the queue/);
  },
}));

Deno.test("sendmail -odq without Deno KV exits 78 and says to run with --unstable-kv", async () => {
  await using state = await stateDir();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-config", "-A", CLI, "-odq", "ada@example.com"],
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
    env: {
      XDG_STATE_HOME: state.path,
      SENDMAIL_URL: "smtp://127.0.0.1:2525?tls=none",
    },
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(MESSAGE));
  await writer.close();
  const { code, stderr } = await child.output();
  assert.equal(code, 78);
  assert.match(new TextDecoder().decode(stderr), /--unstable-kv/);
});
