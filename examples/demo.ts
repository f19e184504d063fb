/**
 * The demo behind `deno task demo`: starts the capture server from
 * `@x/sendmail/testing` on a free loopback port (STARTTLS with its built-in
 * test certificate, AUTH required), sends a composed mail with a text part,
 * an html part and an attachment through `sendmail()`, then prints the
 * client's transcript and what the server received.
 *
 * Run: deno task demo
 *
 * @module
 */
import { sendmail } from "../mod.ts";
import { startTestServer } from "../testing.ts";

const dim = (s: string) => `\x1b[2m${s}\x1b[0m`;
const bold = (s: string) => `\x1b[1m${s}\x1b[0m`;

await using server = await startTestServer({
  tls: "starttls",
  auth: { users: { demo: "demo-password" }, required: true },
});
console.log(
  bold(`Capture server listening on ${server.hostname}:${server.port}`) +
    dim(" (STARTTLS, AUTH required, test-only certificate)"),
);

console.log(bold("\nClient transcript"));
const result = await sendmail(
  {
    ...server.clientOptions, // hostname, port, tls: "starttls", caCerts
    auth: { username: "demo", password: "demo-password" },
    logger: ({ type, text }) => {
      const arrow = type === "client" ? "C:" : type === "server" ? "S:" : "  ";
      console.log(type === "info" ? dim(`   ${text}`) : `${arrow} ${text}`);
    },
  },
  {
    from: "Build Bot <builds@example.com>",
    to: ["Ada <ada@example.com>"],
    cc: "team@example.com",
    bcc: "audit@example.com",
    subject: "Build #1042 passed ✅",
    text:
      "Build #1042 of main passed in 3m 12s.\nThe coverage report is attached.\n",
    html:
      "<p>Build <b>#1042</b> of <code>main</code> passed in 3m 12s.</p><p>The coverage report is attached.</p>",
    attachments: [
      {
        filename: "coverage.csv",
        content: "file,lines,covered\nsrc/smtp_client.ts,812,790\n",
      },
    ],
  },
);

console.log(bold("\nResult"));
console.log(`accepted:  ${result.accepted.join(", ")}`);
console.log(`messageId: ${result.messageId}`);
console.log(`secure:    ${result.secure}`);
console.log(`reply:     ${result.reply.code} ${result.reply.text}`);

const message = await server.nextMessage();
console.log(bold("\nWhat the server received"));
console.log(`MAIL FROM: ${message.envelope.from}`);
console.log(`RCPT TO:   ${message.envelope.to.join(", ")}`);
console.log(`TLS:       ${message.secure}   AUTH user: ${message.authUser}`);
console.log(dim(`--- ${message.raw.length} octets ---`));
console.log(message.text.replaceAll("\r\n", "\n"));
