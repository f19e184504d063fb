// The real-server matrix, Dovecot LMTP row: one Dovecot with LMTP on a free
// TCP port (STARTTLS offered) and on a unix socket, delivering into
// maildirs under its private directory. The client here is Python's
// smtplib.LMTP, driven command by command so that each accepted
// recipient's own reply after the data is read (smtplib's sendmail() reads
// only one): this proves the harness is a multi-recipient LMTP oracle —
// a refusal at RCPT time (unknown user), a refusal after the data (over
// quota), a delivery read back byte for byte — and then runs the library's
// own LMTP (`lmtp: true`) against it: DATA and BDAT, TCP, STARTTLS and the
// unix socket (`path`).

import assert from "node:assert/strict";
import { SmtpClient, type SmtpClientOptions, SmtpError } from "../../mod.ts";
import {
  type Dovecot,
  interop,
  makeTestCerts,
  PYTHON,
  startDovecot,
  type TestCerts,
} from "../_harness/mod.ts";
import {
  assertDelivered,
  bigMessage,
  commandOutput,
  matrixStep,
  rawMessage,
  runWithInput,
  TEST_MESSAGE,
  Transcript,
} from "./_matrix.ts";

/** Drives one LMTP transaction; prints the replies as JSON. */
const LMTP_CLIENT = String.raw`
import json, smtplib, ssl, sys
args = json.loads(sys.argv[1])
message = sys.stdin.buffer.read()
if args.get("path"):
    lmtp = smtplib.LMTP(args["path"])
else:
    lmtp = smtplib.LMTP(args["host"], args["port"])
out = {}
out["lhlo"] = lmtp.ehlo()[1].decode().split("\n")
if args.get("cafile"):
    context = ssl.create_default_context(cafile=args["cafile"])
    out["starttls"] = list(lmtp.starttls(context=context))
    out["starttls"][1] = out["starttls"][1].decode()
    out["lhlo_tls"] = lmtp.ehlo()[1].decode().split("\n")
lmtp.mail(args["from"])
accepted = []
out["rcpt"] = []
for rcpt in args["to"]:
    code, text = lmtp.rcpt(rcpt)
    out["rcpt"].append([rcpt, code, text.decode()])
    if code == 250:
        accepted.append(rcpt)
# smtplib's data() returns the first recipient's reply; LMTP sends one
# per accepted recipient (RFC 2033 §4.2): read the others.
code, text = lmtp.data(message)
out["data"] = [[accepted[0], code, text.decode()]]
for rcpt in accepted[1:]:
    code, text = lmtp.getreply()
    out["data"].append([rcpt, code, text.decode()])
lmtp.quit()
print(json.dumps(out))
`;

interface LmtpOutcome {
  lhlo: string[];
  lhlo_tls?: string[];
  starttls?: [number, string];
  rcpt: [string, number, string][];
  data: [string, number, string][];
}

async function lmtp(
  args: Record<string, unknown>,
  message: string,
): Promise<LmtpOutcome> {
  const { code, stdout, stderr } = await runWithInput(
    PYTHON,
    ["-c", LMTP_CLIENT, JSON.stringify(args)],
    message,
  );
  assert.equal(code, 0, stderr);
  return JSON.parse(stdout);
}

Deno.test(interop({
  name:
    "Dovecot LMTP answers each recipient after the data, over TCP, STARTTLS and a unix socket",
  requires: ["dovecot-lmtp", "python3", "openssl"],
  async fn(t) {
    const certs: TestCerts = await makeTestCerts();
    await using dovecot: Dovecot = await startDovecot({
      lmtp: true,
      certs,
      users: [
        { username: "joe", password: "s3cret pass" },
        { username: "ann", password: "pw", quota: "1K" },
      ],
    });
    const version =
      (await commandOutput("dovecot", ["--version"])).split(" ")[0];
    const server = `Dovecot ${version} LMTP`;
    const lmtpAddress = dovecot.lmtp!;
    let joe = 0;

    for (
      const [mode, args] of [
        ["TCP", { host: lmtpAddress.hostname, port: lmtpAddress.port }],
        ["TCP, STARTTLS", {
          host: "localhost",
          port: lmtpAddress.port,
          cafile: certs.caFile,
        }],
        ["unix socket", { path: lmtpAddress.path }],
      ] as const
    ) {
      await matrixStep(
        t,
        `Dovecot LMTP refuses the unknown and the over-quota recipient and delivers to the third over ${mode}`,
        {
          server,
          mode,
          mechanism: "none",
          client: "Python smtplib.LMTP",
          payload: "test message, 3 recipients",
        },
        async () => {
          const out = await lmtp(
            {
              ...args,
              from: "sender@example.com",
              to: ["joe", "nobody", "ann"],
            },
            TEST_MESSAGE,
          );
          const offered = out.lhlo_tls ?? out.lhlo;
          assert.ok(offered.includes("PIPELINING"));
          assert.ok(offered.includes("CHUNKING"));
          if ("cafile" in args) {
            assert.ok(out.lhlo.includes("STARTTLS"));
            assert.equal(out.starttls?.[0], 220);
          }
          // RCPT time: the unknown user; after the data: one reply each.
          assert.deepEqual(out.rcpt.map(([r, code]) => [r, code]), [
            ["joe", 250],
            ["nobody", 550],
            ["ann", 250],
          ]);
          assert.deepEqual(out.data.map(([r, code]) => [r, code]), [
            ["joe", 250],
            ["ann", 552],
          ]);
          assert.match(out.data[1]![2], /^5\.2\.2 <ann> Quota exceeded/);
          const messages = await dovecot.messages("joe");
          assert.equal(messages.length, joe + 1);
          joe = messages.length;
          assertDelivered(messages.at(-1)!.text, TEST_MESSAGE, "\n");
          assert.deepEqual(await dovecot.messages("ann"), []);
          return {
            used: [
              ...("cafile" in args ? ["STARTTLS"] : []),
              "LHLO",
              "DATA",
              "a reply per recipient (250, 552)",
            ],
            offered: offered.slice(1),
          };
        },
      );
    }
  },
}));

Deno.test(interop({
  name:
    "SmtpClient with lmtp delivers to Dovecot LMTP and reads each recipient's reply after the data",
  requires: ["dovecot-lmtp", "openssl"],
  async fn(t) {
    const certs: TestCerts = await makeTestCerts();
    await using dovecot: Dovecot = await startDovecot({
      lmtp: true,
      certs,
      users: [
        { username: "joe", password: "s3cret pass" },
        { username: "ann", password: "pw", quota: "1K" },
      ],
    });
    const version =
      (await commandOutput("dovecot", ["--version"])).split(" ")[0];
    const server = `Dovecot ${version} LMTP`;
    const address = dovecot.lmtp!;
    let joe = 0;
    const modes: [string, Partial<SmtpClientOptions>][] = [
      ["TCP", { hostname: address.hostname, port: address.port, tls: "none" }],
      ["TCP, STARTTLS", {
        hostname: "localhost",
        port: address.port,
        tls: "starttls",
        caCerts: [certs.caCert],
      }],
      ["unix socket", {
        hostname: "localhost",
        path: address.path!,
        tls: "none",
      }],
    ];
    const big = bigMessage();
    for (const [mode, options] of modes) {
      for (const chunking of [false, true]) {
        for (const payload of ["test message", "5 MiB"] as const) {
          const text = payload === "5 MiB" ? big : TEST_MESSAGE;
          await matrixStep(
            t,
            `SmtpClient (lmtp) gets one reply per recipient from Dovecot over ${mode} with ${
              chunking ? "BDAT" : "DATA"
            }, ${payload}`,
            {
              server,
              mode,
              mechanism: "none",
              client: "SmtpClient, lmtp: true",
              payload: `${payload}, 3 recipients`,
            },
            async () => {
              const log = new Transcript();
              await using client = await SmtpClient.connect({
                hostname: "localhost",
                ...options,
                lmtp: true,
                chunking,
                logger: log.logger,
                timeouts: { command: 20_000, dataEnd: 60_000 },
              } as SmtpClientOptions);
              const result = await client.send(
                rawMessage(text, [
                  "joe@example.com",
                  "nobody@example.com",
                  "ann@example.com",
                ]),
              );
              assert.deepEqual(result.accepted, ["joe@example.com"]);
              // RCPT time for the unknown user; after the data, over quota.
              assert.deepEqual(
                result.rejected.map((r) => [r.recipient, r.reply.code]),
                [["nobody@example.com", 550], ["ann@example.com", 552]],
              );
              assert.equal(result.secure, mode.includes("STARTTLS"));
              const messages = await dovecot.messages("joe");
              assert.equal(messages.length, joe + 1);
              joe = messages.length;
              assertDelivered(messages.at(-1)!.text, text, "\n");
              assert.deepEqual(await dovecot.messages("ann"), []);
              const used = chunking ? "BDAT" : "DATA";
              assert.ok(log.verbs.includes("LHLO"), log.verbs.join(" "));
              assert.ok(log.verbs.includes(used), log.verbs.join(" "));
              return {
                used: [
                  ...(mode.includes("STARTTLS") ? ["STARTTLS"] : []),
                  "LHLO",
                  used,
                  "a reply per recipient (250, 552)",
                ],
              };
            },
          );
        }
      }
    }
    await matrixStep(
      t,
      "SmtpClient (lmtp) rejects when Dovecot refuses every recipient after the data",
      {
        server,
        mode: "unix socket",
        mechanism: "none",
        client: "SmtpClient, lmtp: true",
        payload: "test message, over quota",
      },
      async () => {
        await using client = await SmtpClient.connect({
          hostname: "localhost",
          path: address.path!,
          tls: "none",
          lmtp: true,
        });
        await assert.rejects(
          client.send(rawMessage(TEST_MESSAGE, ["ann@example.com"])),
          (error) =>
            error instanceof SmtpError && error.code === 552 &&
            !error.temporary,
        );
        return { used: ["LHLO", "BDAT", "552 after the data"] };
      },
    );
  },
}));
