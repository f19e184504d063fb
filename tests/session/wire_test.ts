import assert from "node:assert/strict";
import { Wire } from "../../src/session/_wire.ts";
import * as cmd from "../../src/protocol/_command.ts";
import { SmtpError } from "../../src/protocol/smtp_error.ts";
import { type MemoryServerConnection, memoryTransport } from "../../testing.ts";

/** A Wire over an in-memory connection whose server side the test drives. */
async function wired(
  eager: boolean,
): Promise<
  { wire: Wire; server: MemoryServerConnection; done: () => Promise<void> }
> {
  const { promise, resolve } = Promise.withResolvers<MemoryServerConnection>();
  const ended = Promise.withResolvers<void>();
  const transport = memoryTransport(async (server) => {
    resolve(server);
    await ended.promise;
  });
  const conn = await transport.connect({
    hostname: "mx.test",
    port: 25,
    tls: eager ? "none" : "starttls",
  });
  const wire = new Wire(conn, eager);
  return {
    wire,
    server: await promise,
    done: async () => {
      await wire.close();
      ended.resolve();
      await transport.finished();
    },
  };
}

Deno.test("Wire hands pipelined replies to readers in the order they asked", async () => {
  const { wire, server, done } = await wired(true);
  await wire.send([cmd.simple("NOOP"), cmd.simple("RSET")], 1000);
  const first = wire.read(1000, "NOOP");
  const second = wire.read(1000, "RSET");
  assert.equal(await server.readLine(), "NOOP");
  assert.equal(await server.readLine(), "RSET");
  server.write("250 one\r\n250 two\r\n");
  assert.equal((await first).text, "one");
  assert.equal((await second).text, "two");
  await done();
});

Deno.test("Wire hands out replies received before the server closed, then the failure", async () => {
  const { wire, server, done } = await wired(true);
  await wire.send(
    [cmd.simple("NOOP"), cmd.simple("QUIT"), cmd.simple("RSET")],
    1000,
  );
  server.write("250 queued\r\n221 bye\r\n");
  server.close();
  // The read loop sees the end before anyone asked for the replies.
  await assert.rejects(wire.whenFailed, SmtpError);
  assert.equal((await wire.read(1000, "NOOP")).text, "queued");
  assert.equal((await wire.read(1000, "QUIT")).code, 221);
  await assert.rejects(
    wire.read(1000, "RSET"),
    (error) =>
      error instanceof SmtpError && error.kind === "connection" &&
      /closed the connection/.test(error.message),
  );
  await done();
});

Deno.test("Wire fails with the command's name when a 421 is read", async () => {
  const { wire, server, done } = await wired(true);
  await wire.send([cmd.simple("NOOP")], 1000);
  server.write("421 4.3.2 shutting down\r\n");
  await assert.rejects(wire.read(1000, "NOOP"), (error) => {
    assert.ok(error instanceof SmtpError);
    assert.equal(error.command, "NOOP");
    assert.equal(error.code, 421);
    assert.equal(error.temporary, true);
    return true;
  });
  assert.ok(wire.failed);
  await done();
});

Deno.test("Wire fails on a reply nobody asked for, before it can pair with the next command", async () => {
  const { wire, server, done } = await wired(true);
  server.write("250 stray\r\n");
  await assert.rejects(
    wire.whenFailed,
    (error) => error instanceof SmtpError && error.kind === "protocol",
  );
  await assert.rejects(wire.send([cmd.simple("NOOP")], 1000), SmtpError);
  await done();
});

Deno.test("Wire in lazy mode leaves bytes sent after a reply unread, for STARTTLS to refuse", async () => {
  const { wire, server, done } = await wired(false);
  await wire.send([cmd.simple("STARTTLS")], 1000);
  server.write("220 go ahead\r\n");
  assert.equal((await wire.read(1000, "STARTTLS")).code, 220);
  server.write("250 injected\r\n");
  await assert.rejects(
    wire.startTls({ hostname: "mx.test" }, 1000),
    (error) => error instanceof SmtpError && error.command === "STARTTLS",
  );
  await done();
});

Deno.test("Wire starts a reply's timeout when the replies before it are in", async () => {
  const { wire, server, done } = await wired(true);
  wire.expect("DATA");
  const slow = wire.read(1000, "DATA", { dataEnd: true });
  await wire.send([cmd.simple("NOOP")], 1000);
  // 40 ms is the NOOP's own budget, but it is only due after the DATA reply.
  const quick = wire.read(40, "NOOP");
  await new Promise((resolve) => setTimeout(resolve, 120));
  server.write("250 taken\r\n");
  assert.equal((await slow).text, "taken");
  await assert.rejects(
    quick,
    (error) => error instanceof SmtpError && error.kind === "timeout",
  );
  await done();
});

Deno.test("Wire marks a failure before the reply to the end of data as maybe delivered", async () => {
  const { wire, server, done } = await wired(true);
  await wire.send([cmd.simple("NOOP")], 1000);
  wire.expect("DATA");
  const noop = wire.read(1000, "NOOP");
  const final = wire.read(1000, "DATA", { dataEnd: true });
  server.write("250 ok\r\n");
  server.reset();
  assert.equal((await noop).code, 250);
  await assert.rejects(final, (error) => {
    assert.ok(error instanceof SmtpError);
    assert.equal(error.maybeDelivered, true);
    assert.equal(error.temporary, true);
    return true;
  });
  await done();
});

Deno.test("Wire.failAfter closes only once the replies due before the position are in", async () => {
  const { wire, server, done } = await wired(true);
  await wire.send([cmd.simple("NOOP")], 1000);
  const position = wire.promised;
  const first = wire.read(1000, "NOOP");
  await wire.send([cmd.simple("RSET")], 1000);
  const second = wire.read(1000, "RSET");
  wire.failAfter(position, new Error("aborted"));
  assert.equal(wire.failed, false);
  server.write("250 first\r\n");
  assert.equal((await first).text, "first");
  await assert.rejects(
    second,
    (error) => error instanceof SmtpError && error.kind === "closed",
  );
  await done();
});
