// The real-server matrix, OpenSMTPD row: the strict server. OpenSMTPD 6.8
// (unpacked, run under private mounts) offers neither PIPELINING nor
// CHUNKING and refuses a command that arrives before the previous reply
// was sent; plaintext only (its TLS is broken on Debian 12, and without TLS
// it offers no AUTH). Each step proves what OpenSMTPD delivered into the
// test maildir, byte for byte, one copy per recipient, and that the client
// never sent ahead of a reply. sendmail() against it, the reproduction of
// issue 11 item 0, is in tests/faults/quit_after_data_test.ts.

import assert from "node:assert/strict";
import { SmtpClient, type SmtpClientOptions } from "../../mod.ts";
import { interop, type OpenSmtpd, startOpenSmtpd } from "../_harness/mod.ts";
import {
  assertDelivered,
  bigMessage,
  matrixStep,
  rawMessage,
  TEST_MESSAGE,
  Transcript,
} from "./_matrix.ts";

function options(
  smtpd: OpenSmtpd,
  extra: Partial<SmtpClientOptions> = {},
): SmtpClientOptions {
  return {
    hostname: smtpd.hostname,
    port: smtpd.port,
    tls: "none",
    timeouts: { command: 20_000, dataEnd: 60_000 },
    ...extra,
  };
}

Deno.test(interop({
  name:
    "SmtpClient delivers byte for byte to OpenSMTPD, which offers neither PIPELINING nor CHUNKING",
  requires: ["opensmtpd"],
  async fn(t) {
    await using smtpd = await startOpenSmtpd();
    const server = `OpenSMTPD ${
      /opensmtpd=(\S+)/.exec(smtpd.version)?.[1] ?? smtpd.version
    }`;
    let delivered = 0;

    await matrixStep(
      t,
      "SmtpClient works in lock-step and delivers when OpenSMTPD offers neither PIPELINING nor CHUNKING",
      {
        server,
        mode: "plain, no PIPELINING, no CHUNKING",
        mechanism: "none",
        client: "SmtpClient",
        payload: "test message, 5 MiB",
      },
      async () => {
        const log = new Transcript();
        const sent = [TEST_MESSAGE, bigMessage()];
        {
          await using client = await SmtpClient.connect(
            options(smtpd, { logger: log.logger }),
          );
          assert.equal(client.capabilities.pipelining, false);
          assert.equal(client.capabilities.chunking, false);
          for (const text of sent) {
            const result = await client.send(rawMessage(text));
            assert.equal(result.reply.code, 250);
          }
          await client.quit();
        }
        const messages = await smtpd.waitForMessages(delivered + sent.length);
        const fresh = messages.slice(delivered);
        delivered = messages.length;
        // Deliveries may finish in any order: match them by size.
        for (const text of sent) {
          const copy = fresh.find((m) =>
            m.text.length > text.length / 2 &&
            m.text.length < text.length * 2
          );
          assert.ok(copy, "a copy of each message");
          assertDelivered(copy.text, text, "\n");
          assert.match(copy.text, /^Delivered-To: rcpt@example\.com$/m);
        }
        assert.ok(!log.pipelined, "nothing sent ahead of a reply");
        assert.doesNotMatch(smtpd.log, /Pipelining not supported/);
        assert.match(
          smtpd.log,
          /smtp message msgid=\S+ size=\d+ nrcpt=1 proto=ESMTP/,
        );
        return { used: ["DATA"], offered: log.ehlo };
      },
    );

    await matrixStep(
      t,
      "SmtpClient delivers one copy per recipient when OpenSMTPD takes two",
      {
        server,
        mode: "plain, no PIPELINING, no CHUNKING",
        mechanism: "none",
        client: "SmtpClient",
        payload: "test message, 2 recipients",
      },
      async () => {
        const log = new Transcript();
        {
          await using client = await SmtpClient.connect(
            options(smtpd, { logger: log.logger }),
          );
          const result = await client.send(
            rawMessage(TEST_MESSAGE, ["a@example.com", "b@example.org"]),
          );
          assert.deepEqual(result.accepted, ["a@example.com", "b@example.org"]);
          await client.quit();
        }
        const messages = await smtpd.waitForMessages(delivered + 2);
        const fresh = messages.slice(delivered);
        delivered = messages.length;
        const to = fresh.map((m) => /^Delivered-To: (.*)$/m.exec(m.text)?.[1])
          .sort();
        assert.deepEqual(to, ["a@example.com", "b@example.org"]);
        for (const copy of fresh) {
          assertDelivered(copy.text, TEST_MESSAGE, "\n");
        }
        assert.ok(!log.pipelined);
        return { used: ["DATA"] };
      },
    );
  },
}));
