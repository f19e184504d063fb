/**
 * Sends one mail to the SMTP server named by `SMTP_URL`:
 * `smtp://user:pass@host:587` (STARTTLS, required), `smtps://…:465`
 * (implicit TLS), `?tls=opportunistic|none` for local relays.
 *
 * Run: SMTP_URL=smtp://user:pass@smtp.example.com:587 \
 *   deno run --allow-net --allow-env examples/smtp_url.ts to@example.com
 *
 * @module
 */
import { sendmail } from "../mod.ts";
import { parseSmtpUrl } from "../cli.ts";

const url = Deno.env.get("SMTP_URL");
const [to] = Deno.args;
if (!url || !to) {
  console.error(
    "Usage: SMTP_URL=smtp://… deno run -NE examples/smtp_url.ts <to>",
  );
  Deno.exit(64);
}
const { options, from } = parseSmtpUrl(url);
const result = await sendmail(options, {
  from: from ?? "sendmail-example@localhost",
  to,
  subject: "Hello from @x/sendmail",
  text: `Sent by examples/smtp_url.ts at ${new Date().toISOString()}.\n`,
});
console.log(`Sent ${result.messageId} to ${result.accepted.join(", ")}`);
