/**
 * Sends one message to each address of a list through an `SmtpPool`, at most
 * `BULK_RATE` messages in any second (or minute, or hour), and prints its
 * progress. The pool spreads the sends over a few connections, pipelines
 * them on each, and holds the rate across all of them: no burst ever goes
 * over it, which is what providers' sending limits count.
 *
 * Run: SMTP_URL=smtp://user:pass@smtp.example.com:587 BULK_FROM=news@example.com \
 *   BULK_RATE=10/s deno run --allow-net --allow-env --allow-read \
 *   examples/bulk.ts recipients.txt
 *
 * `recipients.txt` holds one address per line (blank lines and lines starting
 * with `#` are skipped). `BULK_RATE` is `N/s`, `N/min` or `N/h` (default
 * `10/s`); `BULK_CONNECTIONS` the most connections (default 3);
 * `BULK_SUBJECT` the subject. Progress goes to stderr, the summary to
 * stdout; the exit status is 1 when a message failed.
 *
 * @module
 */
import {
  type Mail,
  type MailTransport,
  parseSmtpUrl,
  SmtpError,
  SmtpPool,
} from "../mod.ts";

/** Where a bulk send stands. */
export interface BulkProgress {
  /** Messages accepted by the server so far. */
  sent: number;
  /** Messages that failed so far. */
  failed: number;
  /** Messages in all. */
  total: number;
}

/** A message that could not be sent. */
export interface BulkFailure {
  /** Its recipient. */
  recipient: string;
  /** Why. */
  error: unknown;
}

/**
 * Sends `compose(recipient)` to each recipient through `transport`, at most
 * `window` sends queued at once (so a list of millions does not sit in
 * memory as pending sends), telling `onProgress` after each.
 *
 * @param transport An `SmtpPool`, typically.
 * @param recipients The addresses.
 * @param compose The message for one address.
 * @param onProgress Called after each message is settled.
 * @param window The most sends given to the transport and not settled.
 * @returns The failures, in the list's order.
 */
export async function sendBulk(
  transport: MailTransport,
  recipients: readonly string[],
  compose: (recipient: string) => Mail,
  onProgress: (progress: BulkProgress) => void = () => {},
  window = 1000,
): Promise<BulkFailure[]> {
  const progress: BulkProgress = {
    sent: 0,
    failed: 0,
    total: recipients.length,
  };
  const failures: { index: number; failure: BulkFailure }[] = [];
  let next = 0;
  const worker = async () => {
    while (next < recipients.length) {
      const index = next++;
      const recipient = recipients[index]!;
      try {
        await transport.send(compose(recipient));
        progress.sent++;
      } catch (error) {
        progress.failed++;
        failures.push({ index, failure: { recipient, error } });
      }
      onProgress({ ...progress });
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(window, recipients.length) }, worker),
  );
  return failures.sort((a, b) => a.index - b.index).map((f) => f.failure);
}

/**
 * Reads `BULK_RATE`: `"10/s"`, `"600/min"`, `"5000/h"`.
 *
 * @param text The value.
 * @returns The pool's `rateLimit`.
 * @throws {TypeError} When it is not of that form.
 */
export function parseRate(text: string): { messages: number; per: number } {
  const match = /^\s*(\d+)\s*\/\s*(s|sec|min|h)\s*$/.exec(text);
  if (!match) {
    throw new TypeError(
      `Cannot read BULK_RATE ${
        JSON.stringify(text)
      }: expected N/s, N/min or N/h`,
    );
  }
  const per = { s: 1000, sec: 1000, min: 60_000, h: 3_600_000 }[match[2]!]!;
  return { messages: Number(match[1]), per };
}

/**
 * Reads a recipient list: one address a line, blanks and `#` comments
 * skipped.
 *
 * @param text The file's content.
 * @returns The addresses.
 */
export function parseRecipients(text: string): string[] {
  return text.split(/\r?\n/).map((line) => line.trim()).filter((line) =>
    line !== "" && !line.startsWith("#")
  );
}

if (import.meta.main) {
  const url = Deno.env.get("SMTP_URL");
  const [file] = Deno.args;
  if (!url || !file) {
    console.error(
      "Usage: SMTP_URL=smtp://… BULK_FROM=… deno run -NER examples/bulk.ts <recipients.txt>",
    );
    Deno.exit(64);
  }
  const recipients = parseRecipients(await Deno.readTextFile(file));
  const from = Deno.env.get("BULK_FROM") ?? "bulk-example@localhost";
  const subject = Deno.env.get("BULK_SUBJECT") ?? "News from @x/sendmail";
  const rateLimit = parseRate(Deno.env.get("BULK_RATE") ?? "10/s");
  await using pool = new SmtpPool({
    ...parseSmtpUrl(url),
    maxConnections: Number(Deno.env.get("BULK_CONNECTIONS") ?? 3),
    rateLimit,
  });
  const started = performance.now();
  let shown = 0;
  const failures = await sendBulk(
    pool,
    recipients,
    (to) => ({
      from,
      to,
      subject,
      text: `Hello ${to},\n\nthis is one of ${recipients.length} messages.\n`,
    }),
    (progress) => {
      const now = performance.now();
      const done = progress.sent + progress.failed;
      // At most four lines a second, and the last one.
      if (now - shown < 250 && done < progress.total) return;
      shown = now;
      const seconds = (now - started) / 1000;
      console.error(
        `${done}/${progress.total} (${progress.failed} failed), ${
          (done / seconds).toFixed(1)
        } msg/s`,
      );
    },
  );
  for (const { recipient, error } of failures) {
    const reason = error instanceof SmtpError || error instanceof TypeError
      ? error.message
      : String(error);
    console.error(`failed ${recipient}: ${reason}`);
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `Sent ${
      recipients.length - failures.length
    } of ${recipients.length} in ${seconds} s`,
  );
  if (failures.length > 0) Deno.exitCode = 1;
}
