/**
 * Sends one mail to the SMTP server named by `SMTP_URL`:
 * `smtp://user:pass@host:587` (STARTTLS, required), `smtps://…:465`
 * (implicit TLS), `?tls=opportunistic|none` for local relays. `SMTP_FROM`
 * names the sender.
 *
 * Run: SMTP_URL=smtp://user:pass@smtp.example.com:587 \
 *   deno run --allow-net --allow-env examples/smtp_url.ts to@example.com
 *
 * @module
 */
import { sendmail } from "../mod.ts";

const url = Deno.env.get("SMTP_URL");
const [to] = Deno.args;
if (!url || !to) {
  console.error(
    "Usage: SMTP_URL=smtp://… deno run -NE examples/smtp_url.ts <to>",
  );
  Deno.exit(64);
}
// sendmail() takes the URL itself, wherever it takes options.
const result = await sendmail(url, {
  from: Deno.env.get("SMTP_FROM") ?? "sendmail-example@localhost",
  to,
  subject: "Hello from @x/sendmail",
  text: `Sent by examples/smtp_url.ts at ${new Date().toISOString()}.\n`,
});
console.log(`Sent ${result.messageId} to ${result.accepted.join(", ")}`);
