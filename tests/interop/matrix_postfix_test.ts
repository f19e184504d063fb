// The real-server matrix, Postfix row: one Postfix instance (smtpd with
// Dovecot SASL) and one Dovecot auth server, started once, with a listener
// per mode: plain with every extension, plain without CHUNKING, plain
// without PIPELINING and CHUNKING (and Postfix's reject_unauth_pipelining),
// submission (STARTTLS required, AUTH required) and smtps (implicit TLS,
// AUTH required). Each step proves what Postfix queued, byte for byte, and
// what its log shows was used (smtpd's per-session command counts and the
// SASL method). SCRAM is also run with an independent client, msmtp (GNU
// SASL), beside the library's own.

import assert from "node:assert/strict";
import {
  type AuthMechanism,
  sendmail,
  SmtpClient,
  type SmtpClientOptions,
  SmtpError,
} from "../../mod.ts";
import {
  interop,
  makeTestCerts,
  type Postfix,
  type PostfixMessage,
  startDovecot,
  startPostfix,
  type TestCerts,
} from "../_harness/mod.ts";
import {
  assertDelivered,
  bigMessage,
  type CellOutcome,
  commandOutput,
  eventually,
  matrixStep,
  rawMessage,
  runWithInput,
  TEST_MESSAGE,
  Transcript,
} from "./_matrix.ts";

/** Its password is stored in plaintext: every mechanism works. */
const JOE = { username: "joe", password: "s3cret pass" };
/** Stored as SCRAM-SHA-256 credentials: PLAIN, LOGIN, SCRAM-SHA-256 only. */
const SAM = { username: "sam", password: "scram-only pw" };
/** Stored as a crypt(3) hash: PLAIN and LOGIN only, though SCRAM is offered. */
const KIM = { username: "kim", password: "hashed pw" };

/** The mechanisms the library's client offers, tried in every TLS mode. */
const MECHANISMS: AuthMechanism[] = [
  "PLAIN",
  "LOGIN",
  "CRAM-MD5",
  "SCRAM-SHA-256",
  "SCRAM-SHA-1",
];

/** What smtpd logged for one session: its command counts and SASL method. */
interface Session {
  /** `ehlo=2 starttls=1 auth=1 mail=1 rcpt=1 bdat=3 quit=1 commands=…` as a map. */
  counts: Record<string, string>;
  /** `sasl_method=` of the message, if any. */
  saslMethod: string | undefined;
  /** The log lines of the session. */
  lines: string[];
}

/** Waits for the next session smtpd (of `service`) closes after `mark` log lines. */
async function session(
  postfix: Postfix,
  service: string,
  mark: number,
): Promise<Session> {
  const name = service === "smtp"
    ? "postfix/smtpd"
    : `postfix/${service}/smtpd`;
  return await eventually(() => {
    const lines = postfix.log.split("\n").slice(mark)
      .filter((line) => line.includes(` ${name}[`));
    const end = lines.find((line) => line.includes(": disconnect from "));
    if (!end) return undefined;
    const counts: Record<string, string> = {};
    for (const [, key, value] of end.matchAll(/ ([a-z]+)=(\S+)/g)) {
      counts[key!] = value!;
    }
    const saslMethod = lines.map((line) =>
      /sasl_method=([A-Z0-9-]+)/.exec(line)?.[1]
    ).find((method) => method !== undefined);
    return { counts, saslMethod, lines };
  }, `smtpd (${service}) to log the end of a session`);
}

/** What the log (and the client's transcript) shows was used. */
function used(s: Session, log?: Transcript): string[] {
  const out: string[] = [];
  if (s.counts.starttls) out.push("STARTTLS");
  if (s.saslMethod) out.push(`AUTH ${s.saslMethod}`);
  out.push(...log?.usedByClient ?? []);
  if (s.counts.bdat) out.push(`CHUNKING (BDAT ×${s.counts.bdat})`);
  if (s.counts.data) out.push("DATA");
  return out;
}

/** The one message queued since the last look, checked byte for byte. */
async function delivered(
  postfix: Postfix,
  sent: string,
  to = ["rcpt@example.com"],
): Promise<PostfixMessage> {
  const messages = await postfix.newMessages();
  assert.equal(
    messages.length,
    1,
    `one message queued: ${postfix.log.slice(-3000)}`,
  );
  const message = messages[0]!;
  assert.equal(message.sender, "sender@example.com");
  assert.deepEqual(message.recipients, to);
  // postcat -b starts with the blank line that ends the header section.
  assertDelivered(message.headers + message.body, sent, "\n");
  return message;
}

interface Setup {
  certs: TestCerts;
  postfix: Postfix;
}

function options(
  setup: Setup,
  service: string,
  extra: Partial<SmtpClientOptions> = {},
): SmtpClientOptions {
  const { postfix, certs } = setup;
  const port = service === "smtp" ? postfix.port : postfix.ports[service]!;
  const tls = service === "smtps"
    ? "implicit"
    : service === "submission"
    ? "starttls"
    : "none";
  return {
    hostname: "localhost",
    port,
    tls,
    caCerts: [certs.caCert],
    timeouts: { command: 20_000, dataEnd: 60_000 },
    ...extra,
  };
}

/** One send with SmtpClient: connect, send each message, quit. */
async function clientCell(
  setup: Setup,
  service: string,
  messages: string[],
  extra: Partial<SmtpClientOptions> = {},
  check: (s: Session, log: Transcript) => void = () => {},
): Promise<CellOutcome> {
  const { postfix } = setup;
  const mark = postfix.log.split("\n").length;
  const log = new Transcript();
  {
    await using client = await SmtpClient.connect(
      options(setup, service, { ...extra, logger: log.logger }),
    );
    for (const text of messages) {
      const result = await client.send(rawMessage(text));
      assert.deepEqual(result.accepted, ["rcpt@example.com"]);
      await delivered(postfix, text);
    }
    await client.quit();
  }
  const s = await session(postfix, service, mark);
  assert.equal(s.counts.mail, String(messages.length), s.lines.join("\n"));
  check(s, log);
  return { used: used(s, log), offered: log.ehlo };
}

Deno.test(interop({
  name:
    "SmtpClient and sendmail() deliver byte for byte to Postfix smtpd with Dovecot SASL in every mode",
  requires: ["postfix-smtpd", "dovecot", "openssl", "msmtp"],
  async fn(t) {
    const certs = await makeTestCerts();
    await using dovecot = await startDovecot({
      users: [
        JOE,
        { ...SAM, scheme: "SCRAM-SHA-256" },
        { ...KIM, scheme: "SHA512-CRYPT" },
      ],
    });
    await using postfix = await startPostfix({
      certs,
      sasl: dovecot.authSocket,
      services: [
        {
          name: "nochunking",
          settings: { smtpd_discard_ehlo_keywords: "chunking" },
        },
        {
          name: "strict",
          settings: {
            smtpd_discard_ehlo_keywords: "pipelining, chunking",
            // Refuses a client that sends commands ahead unasked.
            smtpd_data_restrictions: "reject_unauth_pipelining",
          },
        },
        { name: "submission", tls: "starttls", authRequired: true },
        { name: "smtps", tls: "implicit", authRequired: true },
      ],
    });
    const version = await commandOutput("postconf", [
      "-d",
      "-h",
      "mail_version",
    ]);
    const dovecotVersion =
      (await commandOutput("dovecot", ["--version"])).split(" ")[0];
    const server = `Postfix ${version} + Dovecot ${dovecotVersion}`;
    const setup: Setup = { certs, postfix };
    const big = bigMessage();

    await matrixStep(
      t,
      "SmtpClient pipelines and uses BDAT when Postfix offers PIPELINING and CHUNKING",
      {
        server,
        mode: "plain, PIPELINING + CHUNKING",
        mechanism: "none",
        client: "SmtpClient",
        payload: "test message, 5 MiB",
      },
      () =>
        clientCell(setup, "smtp", [TEST_MESSAGE, big], {}, (s, log) => {
          assert.ok(Number(s.counts.bdat) >= 2, "BDAT for both messages");
          assert.equal(s.counts.data, undefined);
          assert.ok(log.pipelined);
        }),
    );

    await matrixStep(
      t,
      "sendmail() delivers when Postfix offers PIPELINING and CHUNKING",
      {
        server,
        mode: "plain, PIPELINING + CHUNKING",
        mechanism: "none",
        client: "sendmail()",
        payload: "test message",
      },
      async () => {
        const mark = postfix.log.split("\n").length;
        const log = new Transcript();
        const result = await sendmail(
          options(setup, "smtp", { logger: log.logger }),
          rawMessage(TEST_MESSAGE),
        );
        assert.equal(result.reply.code, 250);
        await delivered(postfix, TEST_MESSAGE);
        const s = await session(postfix, "smtp", mark);
        assert.equal(s.counts.quit, "1");
        return { used: used(s, log) };
      },
    );

    await matrixStep(
      t,
      "SmtpClient pipelines DATA when Postfix offers PIPELINING but not CHUNKING",
      {
        server,
        mode: "plain, PIPELINING, no CHUNKING",
        mechanism: "none",
        client: "SmtpClient",
        payload: "test message, 5 MiB",
      },
      () =>
        clientCell(setup, "nochunking", [TEST_MESSAGE, big], {}, (s, log) => {
          assert.equal(s.counts.data, "2");
          assert.equal(s.counts.bdat, undefined);
          assert.ok(log.pipelined);
        }),
    );

    await matrixStep(
      t,
      "SmtpClient works in lock-step when Postfix offers neither PIPELINING nor CHUNKING",
      {
        server,
        mode: "plain, no PIPELINING, no CHUNKING",
        mechanism: "none",
        client: "SmtpClient",
        payload: "test message, 5 MiB",
      },
      () =>
        clientCell(setup, "strict", [TEST_MESSAGE, big], {}, (s, log) => {
          assert.equal(s.counts.data, "2");
          assert.ok(!log.pipelined, "nothing sent ahead of a reply");
        }),
    );

    await matrixStep(
      t,
      "sendmail() delivers when Postfix offers neither PIPELINING nor CHUNKING",
      {
        server,
        mode: "plain, no PIPELINING, no CHUNKING",
        mechanism: "none",
        client: "sendmail()",
        payload: "test message",
      },
      async () => {
        const mark = postfix.log.split("\n").length;
        const log = new Transcript();
        await sendmail(
          options(setup, "strict", { logger: log.logger }),
          rawMessage(TEST_MESSAGE),
        );
        await delivered(postfix, TEST_MESSAGE);
        const s = await session(postfix, "strict", mark);
        assert.ok(!log.pipelined, "nothing else sent ahead");
        // Postfix tolerates the QUIT sent behind the data although it did
        // not offer PIPELINING (issue 11 item 0; OpenSMTPD refuses it).
        const note = log.quitBehindData
          ? "QUIT sent behind the data unasked: Postfix tolerates it"
          : undefined;
        return { used: used(s, log), ...(note ? { note } : {}) };
      },
    );

    for (const service of ["submission", "smtps"] as const) {
      const mode = service === "submission"
        ? "STARTTLS (submission, AUTH required)"
        : "implicit TLS (smtps, AUTH required)";
      for (const mechanism of MECHANISMS) {
        const payloads = mechanism === "PLAIN" ? [TEST_MESSAGE, big] : [
          TEST_MESSAGE,
        ];
        await matrixStep(
          t,
          `SmtpClient authenticates with ${mechanism} and delivers when Postfix+Dovecot is on ${service}`,
          {
            server,
            mode,
            mechanism,
            client: "SmtpClient",
            payload: payloads.length > 1
              ? "test message, 5 MiB"
              : "test message",
          },
          () =>
            clientCell(
              setup,
              service,
              payloads,
              { auth: { ...JOE, mechanism } },
              (s) => {
                assert.equal(s.saslMethod, mechanism);
                assert.equal(s.counts.auth, "1");
                if (service === "submission") {
                  assert.equal(s.counts.starttls, "1");
                }
              },
            ),
        );
      }
    }

    await matrixStep(
      t,
      "SmtpClient chooses a mechanism itself when none is named and Postfix+Dovecot offers five",
      {
        server,
        mode: "STARTTLS (submission, AUTH required)",
        mechanism: "chosen by the client",
        client: "SmtpClient",
        payload: "test message",
      },
      () =>
        clientCell(
          setup,
          "submission",
          [TEST_MESSAGE],
          { auth: JOE },
          (s, log) => {
            // SCRAM is preferred to PLAIN when the server offers it.
            assert.equal(s.saslMethod, "SCRAM-SHA-256");
            assert.ok(
              log.sent.includes(`AUTH ${s.saslMethod} [redacted]`) ||
                log.sent.includes(`AUTH ${s.saslMethod}`),
              `the client sent AUTH ${s.saslMethod}`,
            );
          },
        ),
    );

    await matrixStep(
      t,
      "SmtpClient authenticates with SCRAM-SHA-256 when Dovecot stores only SCRAM credentials",
      {
        server,
        mode: "STARTTLS (submission, AUTH required)",
        mechanism: "SCRAM-SHA-256 (SCRAM-only account)",
        client: "SmtpClient",
        payload: "test message",
      },
      () =>
        clientCell(
          setup,
          "submission",
          [TEST_MESSAGE],
          { auth: SAM },
          (s) => assert.equal(s.saslMethod, "SCRAM-SHA-256"),
        ),
    );

    await matrixStep(
      t,
      "SmtpClient rejects with a permanent auth SmtpError when Dovecot keeps only SCRAM credentials and CRAM-MD5 is asked for",
      {
        server,
        mode: "STARTTLS (submission, AUTH required)",
        mechanism: "CRAM-MD5 (SCRAM-only account)",
        client: "SmtpClient",
        payload: "none (refused)",
      },
      async () => {
        const mark = postfix.log.split("\n").length;
        const error = await SmtpClient.connect(
          options(setup, "submission", {
            auth: { ...SAM, mechanism: "CRAM-MD5" },
          }),
        ).then(() => assert.fail("authenticated"), (e) => e);
        assert.ok(error instanceof SmtpError, String(error));
        assert.equal(error.kind, "auth");
        assert.equal(error.code, 535);
        assert.equal(error.temporary, false);
        const s = await session(postfix, "submission", mark);
        assert.equal(s.counts.auth, "0/1");
        assert.deepEqual(await postfix.newMessages(), []);
        return { used: ["STARTTLS", "AUTH CRAM-MD5 refused (535)"] };
      },
    );

    await matrixStep(
      t,
      "SmtpClient falls back to PLAIN when Dovecot offers SCRAM but keeps only a password hash",
      {
        server,
        mode: "STARTTLS (submission, AUTH required)",
        mechanism: "chosen by the client (hash-only account)",
        client: "SmtpClient",
        payload: "test message",
      },
      async () => {
        const cell = await clientCell(
          setup,
          "submission",
          [TEST_MESSAGE],
          { auth: KIM },
          (s, log) => {
            // SCRAM refused (Dovecot has no SCRAM credentials), then PLAIN.
            assert.equal(s.saslMethod, "PLAIN");
            assert.equal(s.counts.auth, "1/2", s.lines.join("\n"));
            assert.ok(
              log.sent.some((line) => line.startsWith("AUTH SCRAM-SHA-256")),
              log.sent.join("\n"),
            );
          },
        );
        const [first, ...rest] = cell.used;
        return {
          ...cell,
          used: [first!, "AUTH SCRAM-SHA-256 refused (535)", ...rest],
        };
      },
    );

    await matrixStep(
      t,
      "SmtpClient rejects with a permanent auth SmtpError, trying nothing else, when SCRAM-SHA-256 is named for a hash-only account",
      {
        server,
        mode: "STARTTLS (submission, AUTH required)",
        mechanism: "SCRAM-SHA-256 (hash-only account)",
        client: "SmtpClient",
        payload: "none (refused)",
      },
      async () => {
        const mark = postfix.log.split("\n").length;
        const error = await SmtpClient.connect(
          options(setup, "submission", {
            auth: { ...KIM, mechanism: "SCRAM-SHA-256" },
          }),
        ).then(() => assert.fail("authenticated"), (e) => e);
        assert.ok(error instanceof SmtpError, String(error));
        assert.equal(error.kind, "auth");
        assert.equal(error.code, 535);
        assert.equal(error.temporary, false);
        const s = await session(postfix, "submission", mark);
        assert.equal(s.counts.auth, "0/1");
        assert.deepEqual(await postfix.newMessages(), []);
        return { used: ["STARTTLS", "AUTH SCRAM-SHA-256 refused (535)"] };
      },
    );

    // SCRAM with an independent client too.
    const passwords = await Deno.makeTempDir({ prefix: "sendmail_msmtp_" });
    try {
      for (
        const [user, stored, mechanism] of [
          [JOE, "plaintext", "SCRAM-SHA-256"],
          [SAM, "SCRAM-SHA-256 credentials", "SCRAM-SHA-256"],
          [JOE, "plaintext", "SCRAM-SHA-1"],
        ] as const
      ) {
        await matrixStep(
          t,
          `msmtp authenticates with ${mechanism} when Dovecot stores the password as ${stored}`,
          {
            server,
            mode: "STARTTLS (submission, AUTH required)",
            mechanism: `${mechanism} (${stored})`,
            client: "msmtp (GNU SASL)",
            payload: "test message",
          },
          async () => {
            const file = `${passwords}/${user.username}`;
            await Deno.writeTextFile(file, user.password);
            const mark = postfix.log.split("\n").length;
            const { code, stderr } = await runWithInput("msmtp", [
              "--host=localhost",
              `--port=${postfix.ports.submission}`,
              "--tls=on",
              "--tls-starttls=on",
              `--tls-trust-file=${certs.caFile}`,
              `--auth=${mechanism.toLowerCase()}`,
              `--user=${user.username}`,
              `--passwordeval=cat ${file}`,
              "--from=sender@example.com",
              "rcpt@example.com",
            ], TEST_MESSAGE);
            assert.equal(code, 0, stderr);
            await delivered(postfix, TEST_MESSAGE);
            const s = await session(postfix, "submission", mark);
            assert.equal(s.saslMethod, mechanism);
            return { used: used(s) };
          },
        );
      }
    } finally {
      await Deno.remove(passwords, { recursive: true });
    }
  },
}));
