// The real-server matrix, Haraka row: Haraka (npm, run by Node) with
// STARTTLS, implicit TLS on a second port, AUTH PLAIN LOGIN CRAM-MD5
// (auth/flat_file), PIPELINING and no CHUNKING, configured with
// data_line_length=1000; and a second Haraka left at its default, 992, to
// show that the default wraps a legal 998-octet line. Each step proves what
// Haraka queued, byte for byte, and what its log shows was used (its
// per-session `disconnect` line: tls=, pipe=). Also recorded: Haraka's
// answer to a QUIT pipelined right behind the end of DATA (issue 11 item 0).

import assert from "node:assert/strict";
import {
  type AuthMechanism,
  sendmail,
  SmtpClient,
  type SmtpClientOptions,
  SmtpError,
} from "../../mod.ts";
import { RawClient } from "../_harness/raw_client.ts";
import {
  type Haraka,
  type HarakaMessage,
  interop,
  makeTestCerts,
  startHaraka,
  type TestCerts,
} from "../_harness/mod.ts";
import {
  assertDelivered,
  bigMessage,
  type CellOutcome,
  eventually,
  matrixStep,
  rawMessage,
  TEST_MESSAGE,
  Transcript,
} from "./_matrix.ts";

const JOE = { username: "joe", password: "s3cret pass" };
const MECHANISMS: AuthMechanism[] = ["PLAIN", "LOGIN", "CRAM-MD5"];

/** Messages queued since the last look. */
class Queue {
  readonly #haraka: Haraka;
  #seen = 0;

  constructor(haraka: Haraka) {
    this.#haraka = haraka;
  }

  async take(): Promise<HarakaMessage[]> {
    const all = await this.#haraka.messages();
    const fresh = all.slice(this.#seen);
    this.#seen = all.length;
    return fresh;
  }
}

/** Haraka's `disconnect` line for the next session closed after `mark`. */
async function disconnect(haraka: Haraka, mark: number): Promise<string> {
  return await eventually(
    () =>
      haraka.log.split("\n").slice(mark).find((line) =>
        /\[core\] disconnect ip=/.test(line)
      ),
    "Haraka to log the end of the session",
  );
}

function check(message: HarakaMessage, sent: string): void {
  assert.equal(message.mailFrom, "sender@example.com");
  assert.deepEqual(message.rcptTo, ["rcpt@example.com"]);
  assert.equal(message.lineWrapped, false);
  // Haraka adds Authentication-Results (RFC 8601) for an authenticated
  // session, on top like the trace fields.
  assertDelivered(message.text, sent, "\r\n", [
    "Received",
    "Authentication-Results",
  ]);
}

Deno.test(interop({
  name:
    "SmtpClient and sendmail() deliver byte for byte to Haraka in every mode",
  requires: ["haraka", "openssl"],
  async fn(t) {
    const certs: TestCerts = await makeTestCerts();
    const [haraka, stock] = await Promise.all([
      startHaraka({ certs, users: [JOE] }),
      startHaraka({ dataLineLength: 992 }),
    ]);
    await using _haraka = haraka;
    await using _stock = stock;
    const server = `Haraka ${haraka.version}`;
    const queue = new Queue(haraka);
    const big = bigMessage();

    function options(
      tls: "none" | "starttls" | "implicit",
      extra: Partial<SmtpClientOptions> = {},
    ): SmtpClientOptions {
      return {
        hostname: "localhost",
        port: tls === "implicit" ? haraka.implicitPort! : haraka.port,
        tls,
        caCerts: [certs.caCert],
        timeouts: { command: 20_000, dataEnd: 60_000 },
        ...extra,
      };
    }

    async function clientCell(
      tls: "none" | "starttls" | "implicit",
      messages: string[],
      extra: Partial<SmtpClientOptions> = {},
      expect: (message: HarakaMessage) => void = () => {},
    ): Promise<CellOutcome> {
      const mark = haraka.log.split("\n").length;
      const log = new Transcript();
      {
        await using client = await SmtpClient.connect(
          options(tls, { ...extra, logger: log.logger }),
        );
        assert.equal(client.capabilities.chunking, false);
        for (const text of messages) {
          await client.send(rawMessage(text));
          const fresh = await queue.take();
          assert.equal(fresh.length, 1);
          check(fresh[0]!, text);
          expect(fresh[0]!);
        }
        await client.quit();
      }
      // Haraka's pipe= flag only tells whether a command arrived while it
      // was busy with the one before: the transcript shows pipelining.
      const end = await disconnect(haraka, mark);
      assert.match(end, new RegExp(` tls=${tls === "none" ? "N" : "Y"} `));
      assert.ok(log.pipelined);
      const used: string[] = [];
      if (tls === "starttls") used.push("STARTTLS");
      if (extra.auth) {
        used.push(`AUTH ${(extra.auth as { mechanism: string }).mechanism}`);
      }
      used.push("PIPELINING", "DATA");
      return { used, offered: log.ehlo };
    }

    await matrixStep(
      t,
      "SmtpClient pipelines DATA when Haraka offers PIPELINING and no CHUNKING",
      {
        server,
        mode: "plain, PIPELINING, no CHUNKING",
        mechanism: "none",
        client: "SmtpClient",
        payload: "test message, 5 MiB",
      },
      () => clientCell("none", [TEST_MESSAGE, big]),
    );

    for (const tls of ["starttls", "implicit"] as const) {
      for (const mechanism of MECHANISMS) {
        const payloads = mechanism === "PLAIN"
          ? [TEST_MESSAGE, big]
          : [TEST_MESSAGE];
        await matrixStep(
          t,
          `SmtpClient authenticates with ${mechanism} and delivers when Haraka is on ${
            tls === "starttls" ? "STARTTLS" : "implicit TLS"
          }`,
          {
            server,
            mode: tls === "starttls" ? "STARTTLS" : "implicit TLS",
            mechanism,
            client: "SmtpClient",
            payload: payloads.length > 1
              ? "test message, 5 MiB"
              : "test message",
          },
          () =>
            clientCell(
              tls,
              payloads,
              { auth: { ...JOE, mechanism } },
              (message) => {
                assert.equal(message.tls, true);
                assert.equal(message.authUser, "joe");
                assert.equal(message.authMethod, mechanism);
              },
            ),
        );
      }
    }

    await matrixStep(
      t,
      "SmtpClient rejects with a permanent auth SmtpError when Haraka refuses the password",
      {
        server,
        mode: "STARTTLS",
        mechanism: "PLAIN (wrong password)",
        client: "SmtpClient",
        payload: "none (refused)",
      },
      async () => {
        const error = await SmtpClient.connect(
          options("starttls", {
            auth: { username: "joe", password: "wrong", mechanism: "PLAIN" },
          }),
        ).then(() => assert.fail("authenticated"), (e) => e);
        assert.ok(error instanceof SmtpError, String(error));
        assert.equal(error.kind, "auth");
        assert.equal(error.code, 535);
        assert.equal(error.temporary, false);
        assert.deepEqual(await queue.take(), []);
        return { used: ["STARTTLS", "AUTH PLAIN refused (535)"] };
      },
    );

    await matrixStep(
      t,
      "sendmail() delivers when Haraka answers the QUIT behind the data with 503",
      {
        server,
        mode: "plain, PIPELINING, no CHUNKING",
        mechanism: "none",
        client: "sendmail()",
        payload: "test message",
      },
      async () => {
        const log = new Transcript();
        const result = await sendmail(
          options("none", { logger: log.logger }),
          rawMessage(TEST_MESSAGE),
        );
        assert.equal(result.reply.code, 250);
        const [message, ...more] = await queue.take();
        assert.equal(more.length, 0);
        check(message!, TEST_MESSAGE);
        assert.ok(log.quitBehindData);
        // Haraka refuses whatever came with the end of DATA (its defence
        // against SMTP smuggling), after the message's own 250.
        const [last, quit] = log.replies.slice(-2);
        assert.match(last!, /^250 Message Queued/);
        assert.match(quit!, /^503 .*pipelined after end of DATA/);
        return {
          used: ["PIPELINING", "QUIT behind the data", "DATA"],
          note: `QUIT answered "${quit}"`,
        };
      },
    );

    await matrixStep(
      t,
      "Haraka answers a QUIT written in the same segment as the end of DATA with 503, then takes a QUIT",
      {
        server,
        mode: "plain, PIPELINING, no CHUNKING",
        mechanism: "none",
        client: "raw socket",
        payload: "small message",
      },
      async () => {
        using raw = await RawClient.connect(haraka.port);
        assert.match((await raw.reply())[0]!, /^220 /);
        const ehlo = await raw.command("EHLO raw.example");
        assert.ok(ehlo.some((line) => /^250[- ]PIPELINING$/.test(line)));
        await raw.send(
          "MAIL FROM:<sender@example.com>\r\nRCPT TO:<rcpt@example.com>\r\nDATA\r\n",
        );
        assert.match((await raw.reply())[0]!, /^250 /);
        assert.match((await raw.reply())[0]!, /^250 /);
        assert.match((await raw.reply())[0]!, /^354 /);
        await raw.send("Subject: raw\r\n\r\nbody\r\n.\r\nQUIT\r\n");
        const data = (await raw.reply())[0]!;
        const quit = (await raw.reply())[0]!;
        assert.match(data, /^250 /);
        assert.match(quit, /^503 /);
        // The session goes on: a QUIT on its own is answered.
        const again = (await raw.command("QUIT"))[0]!;
        assert.match(again, /^221 /);
        const [message] = await queue.take();
        assert.equal(
          message?.text.endsWith("Subject: raw\r\n\r\nbody\r\n"),
          true,
        );
        return { used: ["PIPELINING", "DATA"], note: `"${quit}"` };
      },
    );

    await matrixStep(
      t,
      "Haraka wraps the 998-octet line when left at its default data_line_length of 992",
      {
        server,
        mode: "plain, data_line_length=992 (default)",
        mechanism: "none",
        client: "SmtpClient",
        payload: "test message",
      },
      async () => {
        {
          await using client = await SmtpClient.connect({
            hostname: stock.hostname,
            port: stock.port,
            tls: "none",
          });
          await client.send(rawMessage(TEST_MESSAGE));
          await client.quit();
        }
        const [message, ...more] = await stock.messages();
        assert.equal(more.length, 0);
        assert.equal(message!.lineWrapped, true);
        const line = TEST_MESSAGE.split("\r\n").find((l) => l.length === 998)!;
        assert.ok(!message!.text.includes(line), "the long line is not intact");
        assert.ok(
          message!.text.includes(
            `${line.slice(0, 990)}\r\n ${line.slice(990)}`,
          ),
          "split after 990 octets, the rest as a folded line",
        );
        return {
          used: ["PIPELINING", "DATA"],
          note:
            "998-octet line split after 990 octets: use data_line_length=1000",
        };
      },
    );
  },
}));
