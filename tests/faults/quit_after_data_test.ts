// Issue 11 item 0, against the real server that produced it: sendmail()
// used to write QUIT right behind the end of the message data, although
// RFC 2920 allows that grouping only when the server offers PIPELINING.
// OpenSMTPD offers neither PIPELINING nor CHUNKING and, when the QUIT
// arrives before it has answered the final ".", refuses it with `500 5.5.1
// Invalid command: Pipelining not supported`: the message was not delivered
// and the error was permanent. A race: before the fix it failed 3 to 5 of
// these 6 sends here. sendmail() now pipelines QUIT only under PIPELINING
// (the scripted version: tests/session/pipelining_test.ts).

import assert from "node:assert/strict";
import { sendmail, SmtpError } from "../../mod.ts";
import { interop, startOpenSmtpd } from "../_harness/mod.ts";
import {
  assertDelivered,
  bigMessage,
  matrixStep,
  rawMessage,
  TEST_MESSAGE,
  Transcript,
} from "../interop/_matrix.ts";

Deno.test(interop({
  name:
    "sendmail() delivers every message when OpenSMTPD offers no PIPELINING (issue 11 item 0)",
  requires: ["opensmtpd"],
  async fn(t) {
    await using smtpd = await startOpenSmtpd();
    const server = `OpenSMTPD ${
      /opensmtpd=(\S+)/.exec(smtpd.version)?.[1] ?? smtpd.version
    }`;
    const big = bigMessage();
    await matrixStep(
      t,
      "sendmail() waits for the reply to the data before QUIT when OpenSMTPD offers no PIPELINING",
      {
        server,
        mode: "plain, no PIPELINING, no CHUNKING",
        mechanism: "none",
        client: "sendmail()",
        payload: "5 MiB and test message, 3 times each",
      },
      async () => {
        const sent: string[] = [];
        const failures: string[] = [];
        let quitBehindData = 0;
        for (let i = 0; i < 6; i++) {
          const text = i % 2 === 0 ? big : TEST_MESSAGE;
          const log = new Transcript();
          try {
            await sendmail(
              {
                hostname: smtpd.hostname,
                port: smtpd.port,
                tls: "none",
                logger: log.logger,
                timeouts: { command: 20_000, dataEnd: 60_000 },
              },
              rawMessage(text),
            );
            sent.push(text);
          } catch (error) {
            assert.ok(error instanceof SmtpError, String(error));
            failures.push(
              `${text === big ? "5 MiB" : "small"}: ${error.message}`,
            );
          }
          if (log.quitBehindData) quitBehindData++;
        }
        // One line for the table: how many failed, and the replies.
        const replies = [
          ...new Set(failures.map((f) => /replied (.*)$/.exec(f)?.[1] ?? f)),
        ];
        const bigFailures = failures.filter((f) => f.startsWith("5 MiB"));
        assert.deepEqual(
          failures,
          [],
          `${failures.length} of 6 sends refused (${bigFailures.length} of 3 of 5 MiB, ${
            failures.length - bigFailures.length
          } of 3 small) with ${
            replies.join(", ")
          }; QUIT went behind the data in ${quitBehindData} of 6; smtpd logged: ${
            smtpd.log.split("\n").filter((l) =>
              /bad-input|failed-command/.test(l)
            )
              .map((l) => l.replace(/^\S+ /, "")).join(" | ")
          }`,
        );
        assert.equal(quitBehindData, 0, "QUIT never goes with the data");
        const messages = await smtpd.waitForMessages(sent.length);
        for (const text of sent) {
          assert.ok(
            messages.some((m) => {
              try {
                assertDelivered(m.text, text, "\n");
                return true;
              } catch {
                return false;
              }
            }),
            "every message delivered",
          );
        }
        return { used: ["DATA"] };
      },
    );
  },
}));
