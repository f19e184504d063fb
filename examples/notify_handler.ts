/**
 * A Deno Deploy-style notification endpoint: `POST /notify` with a JSON body
 * `{ "to": "...", "subject": "...", "text": "..." }` sends a mail through the
 * SMTP server named by `SMTP_URL` (e.g. `smtp://user:pass@smtp.example.com:587`)
 * and answers 202 with the Message-ID, 400 for bad input, 503 for a temporary
 * failure (retry later) and 502 for a permanent one.
 *
 * Run: SMTP_URL=smtp://... NOTIFY_FROM=alerts@example.com \
 *   deno run --allow-net --allow-env examples/notify_handler.ts
 *
 * @module
 */
import {
  parseSmtpUrl,
  sendmail,
  type SmtpClientOptions,
  SmtpError,
} from "../mod.ts";

/**
 * Builds the request handler.
 *
 * @param smtp Where to send.
 * @param from The sender of every notification.
 * @returns A handler for `Deno.serve`.
 */
export function createHandler(
  smtp: SmtpClientOptions,
  from: string,
): (request: Request) => Promise<Response> {
  return async (request) => {
    const url = new URL(request.url);
    if (request.method !== "POST" || url.pathname !== "/notify") {
      return Response.json({ error: "Not found" }, { status: 404 });
    }
    let body: { to?: unknown; subject?: unknown; text?: unknown };
    try {
      body = await request.json();
    } catch {
      return Response.json({ error: "Expected a JSON body" }, { status: 400 });
    }
    const { to, subject, text } = body;
    if (
      typeof to !== "string" || typeof subject !== "string" ||
      typeof text !== "string"
    ) {
      return Response.json(
        { error: "Expected { to, subject, text } as strings" },
        { status: 400 },
      );
    }
    try {
      const result = await sendmail(smtp, { from, to, subject, text }, {
        signal: request.signal,
      });
      return Response.json({ messageId: result.messageId }, { status: 202 });
    } catch (error) {
      if (error instanceof TypeError || error instanceof RangeError) {
        // A bad address or a header that could not be encoded: the caller's fault.
        return Response.json({ error: error.message }, { status: 400 });
      }
      if (error instanceof SmtpError) {
        return Response.json(
          { error: error.message, temporary: error.temporary },
          { status: error.temporary ? 503 : 502 },
        );
      }
      throw error;
    }
  };
}

if (import.meta.main) {
  const options = parseSmtpUrl(Deno.env.get("SMTP_URL") ?? "");
  const from = Deno.env.get("NOTIFY_FROM") ?? "notifications@localhost";
  Deno.serve(createHandler(options, from));
}
