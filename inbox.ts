/**
 * The dev inbox as a command: an SMTP capture server (port 2525, STARTTLS
 * with a built-in test certificate) and a web page (http://127.0.0.1:8025/)
 * that shows its mail as it arrives: the HTML body in a sandboxed frame
 * that runs no script and loads nothing remote until asked, the text,
 * source, headers, MIME tree and attachments, the SMTP transcript, the
 * `Received:` path and the DKIM result; fault injection; a JSON API.
 *
 * ```sh
 * deno run -A jsr:@x/sendmail/inbox                 # SMTP 2525, web 8025
 * deno run -A jsr:@x/sendmail/inbox --tls none --auth app:secret
 * deno run -A jsr:@x/sendmail/inbox --ca > inbox-ca.pem   # the CA to trust
 * ```
 *
 * In a test, start one with `startInbox` (also exported by
 * `@x/sendmail/testing`).
 *
 * @example Sending to a running inbox
 * ```ts ignore
 * import { sendmail } from "@x/sendmail";
 *
 * await sendmail({ hostname: "127.0.0.1", port: 2525, tls: "none" }, {
 *   from: "app@example.com",
 *   to: "ada@example.com",
 *   subject: "Welcome",
 *   html: "<p>Look at me in http://127.0.0.1:8025/</p>",
 * });
 * ```
 *
 * @module
 */
import { inboxMain } from "./src/testing/inbox_main.ts";

export {
  type InboxCommandContext,
  inboxMain,
} from "./src/testing/inbox_main.ts";
export {
  type Inbox,
  type InboxOptions,
  startInbox,
} from "./src/testing/start_inbox.ts";

if (import.meta.main) {
  const controller = new AbortController();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(signal, () => controller.abort());
    } catch {
      // SIGTERM cannot be listened to on Windows
    }
  }
  Deno.exit(
    await inboxMain(Deno.args, {
      stdout: Deno.stdout.writable,
      stderr: Deno.stderr.writable,
      signal: controller.signal,
    }),
  );
}
