/**
 * A Deno Deploy-style notification endpoint: `POST /notify` with a JSON body
 * `{ "to": "...", "subject": "...", "text": "..." }` sends a mail through the
 * SMTP server named by `SMTP_URL` (e.g. `smtp://user:pass@smtp.example.com:587`)
 * and answers 202 with the Message-ID, 400 for bad input, 503 for a temporary
 * failure or when the send took too long (retry later) and 502 for a
 * permanent one.
 *
 * The pool is made once, at module level: one per isolate. An isolate serves
 * many requests, so after the first one a notification goes on a connection
 * already set up (TLS, EHLO and AUTH done): one round trip with a server that
 * offers CHUNKING, two without, instead of a whole session. On Cloudflare
 * Workers, where a socket cannot outlive its request, make the pool inside
 * the handler and close it before answering (see the README).
 *
 * Run: SMTP_URL=smtp://... NOTIFY_FROM=alerts@example.com \
 *   deno run --allow-net --allow-env examples/notify_handler.ts
 *
 * @module
 */
import { type MailTransport, SmtpError, SmtpPool } from "../mod.ts";

/** Options of {@linkcode createHandler}. */
export interface HandlerOptions {
  /** How long a send may take before the request answers 503, in ms. @default {10000} */
  timeout?: number;
}

/**
 * Builds the request handler.
 *
 * @param transport Where to send: the isolate's pool.
 * @param from The sender of every notification.
 * @param options The send deadline.
 * @returns A handler for `Deno.serve`.
 */
export function createHandler(
  transport: MailTransport,
  from: string,
  options: HandlerOptions = {},
): (request: Request) => Promise<Response> {
  const timeout = options.timeout ?? 10_000;
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
      // A deadline of its own: a send queued behind a slow one, or to a
      // server that stalls, gives up in time for the answer.
      const result = await transport.send({ from, to, subject, text }, {
        signal: AbortSignal.timeout(timeout),
      });
      return Response.json({ messageId: result.messageId }, { status: 202 });
    } catch (error) {
      if (error instanceof TypeError || error instanceof RangeError) {
        // A bad address or a header that could not be encoded: the caller's fault.
        return Response.json({ error: error.message }, { status: 400 });
      }
      if (error instanceof DOMException && error.name === "TimeoutError") {
        return Response.json(
          { error: `Not sent within ${timeout} ms`, temporary: true },
          { status: 503 },
        );
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
  // One pool per isolate, reused by every request it serves.
  const pool = new SmtpPool(Deno.env.get("SMTP_URL") ?? "");
  const from = Deno.env.get("NOTIFY_FROM") ?? "notifications@localhost";
  Deno.serve(createHandler(pool, from));
}
