import assert from "node:assert/strict";
import { sendmail } from "../../mod.ts";
import { parseReceived, traceHops } from "../../received.ts";
import { startTestServer } from "../../testing.ts";
import { RawClient } from "../_harness/raw_client.ts";

const RAW = {
  envelope: { from: "app@example.com", to: ["ada@example.net"] },
  raw: "Subject: hi\r\n\r\nbody\r\n",
};

/** The first header field of a message, unfolded out of its name. */
function receivedOf(text: string): string {
  const m = /^Received:((?:[^\r\n]|\r\n[ \t])*)\r\n/.exec(text);
  assert.ok(m, `no Received field first in ${JSON.stringify(text)}`);
  return m[1]!;
}

function queueId(transcript: readonly { text: string }[]): string {
  const line = transcript.findLast((l) => /queued as /.test(l.text));
  return /queued as (\S+)/.exec(line!.text)![1]!;
}

Deno.test("startTestServer stores the bytes as sent when received is off", async () => {
  await using server = await startTestServer({ tls: "none" });
  await sendmail(server.clientOptions, RAW);
  const message = await server.nextMessage();
  assert.equal(message.text, RAW.raw);
});

Deno.test("startTestServer with received: true prepends the field a real MTA would, over STARTTLS and AUTH", async () => {
  await using server = await startTestServer({
    received: true,
    serverName: "capture.test",
    auth: { users: { app: "s3cret" } },
  });
  const before = Math.floor(Date.now() / 1000) * 1000;
  await sendmail({
    ...server.clientOptions,
    clientName: "client.example",
    auth: { username: "app", password: "s3cret" },
  }, RAW);
  const message = await server.nextMessage();
  assert.ok(message.text.endsWith(`\r\n${RAW.raw}`));
  const value = receivedOf(message.text);
  const field = parseReceived(value);
  assert.ok(field.date !== undefined);
  assert.ok(
    field.date.getTime() >= before && field.date.getTime() <= Date.now(),
  );
  assert.match(field.tls?.version ?? "", /^TLSv1\.[23]$/);
  assert.match(field.tls?.cipher ?? "", /^[A-Z0-9_-]+$/);
  assert.deepEqual(field, {
    raw: value,
    from: { helo: "client.example", ip: "127.0.0.1" },
    by: { name: "capture.test" },
    with: "ESMTPSA",
    id: queueId(message.transcript),
    for: ["ada@example.net"],
    tls: field.tls,
    date: field.date,
  });
  // The message traces to one hop.
  const hops = traceHops(message.raw);
  assert.equal(hops.length, 1);
  assert.equal(hops[0]!.field.by?.name, "capture.test");
});

Deno.test("startTestServer with received: true names no recipient of several, and says SMTP after HELO", async () => {
  await using server = await startTestServer({ received: true, tls: "none" });
  await sendmail(server.clientOptions, {
    ...RAW,
    envelope: { ...RAW.envelope, to: ["ada@example.net", "grace@example.net"] },
  });
  const plain = parseReceived(receivedOf((await server.nextMessage()).text));
  assert.equal(plain.with, "ESMTP");
  assert.equal(plain.for, undefined);
  assert.equal(plain.tls, undefined);
  assert.deepEqual(plain.by, { name: "localhost" });

  using client = await RawClient.connect(server.port);
  await client.reply();
  await client.command("HELO old.example");
  await client.command("MAIL FROM:<a@example.com>");
  await client.command("RCPT TO:<b@example.com>");
  await client.command("DATA");
  await client.send("Subject: x\r\n\r\ny\r\n.\r\n");
  await client.reply();
  await client.command("QUIT");
  const old = parseReceived(receivedOf((await server.nextMessage()).text));
  assert.equal(old.with, "SMTP");
  assert.deepEqual(old.from, { helo: "old.example", ip: "127.0.0.1" });
  assert.deepEqual(old.for, ["b@example.com"]);
});

Deno.test("startTestServer with received: true stamps BDAT messages and leaves out a HELO name no field can hold", async () => {
  await using server = await startTestServer({ received: true, tls: "none" });
  using client = await RawClient.connect(server.port);
  await client.reply();
  await client.command("EHLO bad(name");
  await client.command("MAIL FROM:<a@example.com>");
  await client.command("RCPT TO:<b@example.com>");
  const body = "Subject: x\r\n\r\ny\r\n";
  await client.send(`BDAT ${body.length} LAST\r\n${body}`);
  assert.match((await client.reply())[0]!, /^250 /);
  await client.command("QUIT");
  const message = await server.nextMessage();
  assert.equal(message.transfer, "BDAT");
  assert.ok(message.text.endsWith(`\r\n${body}`));
  const field = parseReceived(receivedOf(message.text));
  assert.deepEqual(field.from, { ip: "127.0.0.1" });
  assert.equal(field.with, "ESMTP");
  assert.equal(field.id, queueId(message.transcript));
});

Deno.test("startTestServer refuses a received option that is not a boolean", async () => {
  await assert.rejects(
    startTestServer({ received: "yes" as unknown as boolean }),
    TypeError,
  );
});
