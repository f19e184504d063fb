// The inbox command: options read, addresses printed, mail received, a
// clean stop on abort and on SIGINT, usage errors.

import assert from "node:assert/strict";
import { sendmail } from "../../../mod.ts";
import { inboxMain } from "../../../inbox.ts";

/** A stream that collects what is written, and tells when a line comes. */
function collector() {
  let text = "";
  let wake: (() => void) | undefined;
  const stream = new WritableStream<Uint8Array>({
    write(chunk) {
      text += new TextDecoder().decode(chunk);
      wake?.();
    },
  });
  return {
    stream,
    get text() {
      return text;
    },
    async until(pattern: RegExp): Promise<RegExpExecArray> {
      for (;;) {
        const match = pattern.exec(text);
        if (match) return match;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
}

Deno.test("inboxMain starts the inbox from options, prints its addresses and stops on abort", async () => {
  const stdout = collector();
  const stderr = collector();
  const controller = new AbortController();
  const status = inboxMain(
    [
      "--port",
      "0",
      "--smtp-port=0",
      "--tls",
      "none",
      "--auth",
      "app:s3cret",
      "--auth-required",
      "--max-messages",
      "7",
    ],
    {
      stdout: stdout.stream,
      stderr: stderr.stream,
      signal: controller.signal,
      resolveTxt: () => Promise.resolve([]),
    },
  );
  const web = (await stdout.until(/^Web {3}(\S+)$/m))[1]!;
  const [, hostname, port] = /^SMTP {2}(\S+):(\d+) \(no TLS; AUTH\)$/m.exec(
    stdout.text,
  )!;
  const info = await (await fetch(new URL("/api/info", web))).json();
  assert.deepEqual(info.smtp, { hostname, port: Number(port), tls: "none" });
  assert.equal(info.maxMessages, 7);
  await sendmail({
    hostname: hostname!,
    port: Number(port),
    tls: "none",
    auth: { username: "app", password: "s3cret" },
  }, {
    from: "app@example.com",
    to: "ada@example.org",
    subject: "CLI",
    text: "x",
  });
  const list = await (await fetch(new URL("/api/messages", web))).json();
  assert.deepEqual(list.messages.map((m: { subject: string }) => m.subject), [
    "CLI",
  ]);
  assert.equal(list.messages[0].authUser, "app");
  controller.abort();
  assert.equal(await status, 0);
  assert.equal(stderr.text, "");
  await assert.rejects(fetch(web));
});

Deno.test("inboxMain prints usage for --help, the CA for --ca, and exits 64 on a bad option", async () => {
  const out = collector();
  assert.equal(
    await inboxMain(["--help"], { stdout: out.stream, stderr: out.stream }),
    0,
  );
  assert.match(out.text, /^Usage: deno run -A jsr:@x\/sendmail\/inbox/);
  const ca = collector();
  assert.equal(
    await inboxMain(["--ca"], { stdout: ca.stream, stderr: ca.stream }),
    0,
  );
  assert.match(
    ca.text,
    /^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\n$/,
  );
  for (
    const [args, message] of [
      [["--bogus"], 'unknown option "--bogus"'],
      [["--port"], "--port needs a value"],
      [["--port", "http"], "--port needs a whole number"],
      [["--tls", "ssl"], '--tls is starttls, implicit or none, not "ssl"'],
      [["--auth", "nocolon"], "--auth needs USER:PASS"],
      [["--auth-required"], "--auth-required needs --auth"],
      [["--port", "70000"], "Cannot start the inbox: invalid port 70000"],
    ] as const
  ) {
    const err = collector();
    const status = await inboxMain(args, {
      stdout: new WritableStream(),
      stderr: err.stream,
    });
    assert.equal(status, 64, args.join(" "));
    assert.equal(err.text.split("\n")[0], `inbox: ${message}`);
  }
});

Deno.test("inboxMain exits 69 when a port is in use", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const err = collector();
  const status = await inboxMain(
    ["--port", "0", "--smtp-port", String(listener.addr.port)],
    { stdout: new WritableStream(), stderr: err.stream },
  );
  assert.equal(status, 69);
  assert.match(
    err.text,
    /^inbox: Cannot start the test server on 127\.0\.0\.1:\d+: /,
  );
});

Deno.test("deno run inbox.ts serves until SIGINT, then exits 0", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      new URL("../../../inbox.ts", import.meta.url).pathname,
      "--port",
      "0",
      "--smtp-port",
      "0",
    ],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/^Web {3}\S+$/m.test(text)) {
    const { done, value } = await reader.read();
    if (done) break;
    text += value;
  }
  const web = /^Web {3}(\S+)$/m.exec(text)![1]!;
  const page = await fetch(web);
  assert.equal(page.status, 200);
  await page.body?.cancel();
  child.kill("SIGINT");
  const [status, rest, stderr] = await Promise.all([
    child.status,
    (async () => {
      let more = "";
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return more;
        more += value;
      }
    })(),
    new Response(child.stderr).text(),
  ]);
  assert.equal(status.code, 0, stderr);
  assert.equal(rest, "");
});
