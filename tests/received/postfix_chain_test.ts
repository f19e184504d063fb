/**
 * A live trace: messages relayed through two real Postfix instances (the
 * second hop over STARTTLS), read back from the second's queue and traced.
 *
 * @module
 */
import assert from "node:assert/strict";
import { sendmail } from "../../mod.ts";
import { main } from "../../cli.ts";
import { type Hop, traceHops } from "../../received.ts";
import { interop } from "../_harness/mod.ts";
import { startPostfixChain } from "../_harness/postfix_chain.ts";

/** A date read from a field is the second it was written in, or later. */
function assertDated(hop: Hop, before: number, after: number): void {
  const time = hop.field.date?.getTime();
  assert.ok(time !== undefined, hop.field.raw);
  assert.ok(
    time >= Math.floor(before / 1000) * 1000 && time <= after,
    `${hop.field.date!.toISOString()} is not between the send and now`,
  );
}

Deno.test(interop({
  name:
    "traceHops follows a message through two Postfix relays, the second over STARTTLS",
  requires: ["postfix-smtpd", "openssl"],
  async fn() {
    await using chain = await startPostfixChain();
    const before = Date.now();
    await sendmail(
      {
        hostname: chain.first.hostname,
        port: chain.first.port,
        tls: "none",
        clientName: "client.example",
      },
      {
        from: "app@example.com",
        to: "ada@example.net",
        subject: "chain",
        text: "hi",
      },
    );
    const [message] = await chain.delivered(1);
    const after = Date.now();
    assert.deepEqual(message!.recipients, ["ada@example.net"]);
    const hops = traceHops(message!.headers);
    assert.equal(hops.length, 2, message!.headers);
    const [first, second] = hops as [Hop, Hop];

    assert.deepEqual(first.field.from, {
      helo: "client.example",
      name: "localhost",
      ip: "127.0.0.1",
    });
    assert.deepEqual(first.field.by, { name: "first.test" });
    assert.equal(first.field.with, "ESMTP");
    assert.equal(first.field.tls, undefined);
    assert.deepEqual(first.field.for, ["ada@example.net"]);
    // The id is the first instance's queue id: its log names it.
    assert.match(first.field.id ?? "", /^[0-9A-F]{6,}$/);
    assert.match(
      chain.first.log,
      new RegExp(`${first.field.id}: client=localhost\\[127\\.0\\.0\\.1\\]`),
    );

    assert.deepEqual(second.field.from, {
      helo: "first.test",
      name: "localhost",
      ip: "127.0.0.1",
    });
    assert.deepEqual(second.field.by, { name: "second.test" });
    assert.equal(second.field.with, "ESMTPS");
    assert.match(second.field.tls?.version ?? "", /^TLSv1\.[23]$/);
    assert.match(second.field.tls?.cipher ?? "", /^[A-Z0-9_-]+$/);
    // The second hop's id is the queue file the message is held in.
    assert.equal(second.field.id, message!.id);
    assert.equal(second.link, "linked");
    assert.equal(second.clockSkew, false);
    assert.ok(second.delayMs !== undefined && second.delayMs >= 0);
    for (const hop of hops) assertDated(hop, before, after);
  },
}));

Deno.test(interop({
  name:
    "traceHops follows the sendmail command's -oR stamp and two Postfix relays",
  requires: ["postfix-smtpd", "openssl"],
  async fn() {
    await using chain = await startPostfixChain({
      firstName: "relay.test",
      secondName: "mx.test",
    });
    const status = await main(
      [
        "-oR",
        "-i",
        "--url",
        `smtp://127.0.0.1:${chain.first.port}?tls=none`,
        "ada@example.net",
      ],
      {
        stdin: ReadableStream.from([
          new TextEncoder().encode("Subject: cron\n\nbackup done\n"),
        ]),
        stdout: new WritableStream(),
        stderr: new WritableStream(),
        env: (name) => ({ USER: "ada" } as Record<string, string>)[name],
        hostname: () => "workstation.test",
        readTextFile: () => Promise.reject(new Deno.errors.NotFound("none")),
      },
    );
    assert.equal(status, 0);
    const [message] = await chain.delivered(1);
    const hops = traceHops(message!.headers);
    assert.deepEqual(
      hops.map((
        hop,
      ) => [
        hop.field.from?.user ?? hop.field.from?.helo,
        hop.field.by?.name,
        hop.field.with,
        hop.link,
      ]),
      [
        ["ada@localhost", "workstation.test", undefined, "first"],
        ["localhost", "relay.test", "ESMTP", "broken"],
        ["relay.test", "mx.test", "ESMTPS", "linked"],
      ],
    );
  },
}));
