/**
 * A notification endpoint that never makes a request wait for SMTP:
 * `POST /notify` with a JSON body `{ "to": "...", "subject": "...",
 * "text": "..." }` stores the mail in a durable outbox on Deno KV and
 * answers 202 at once with the entry's id; `GET /notify/ID` tells how it
 * went. `listen()`, in the same process, delivers through the server named
 * by `SMTP_URL` with retries, so a relay that is down or a process that is
 * restarted loses nothing. An `Idempotency-Key` header makes a retried
 * request store its mail once.
 *
 * Run: SMTP_URL=smtp://user:pass@smtp.example.com:587 NOTIFY_FROM=alerts@example.com \
 *   deno run --allow-net --allow-env --unstable-kv examples/outbox_handler.ts
 *
 * On Deno Deploy (no KV queues, isolates that come and go), deliver from a
 * cron job instead of `listen()`:
 *
 * ```ts ignore
 * const outbox = await Outbox.open({ transport: Deno.env.get("SMTP_URL")! });
 * Deno.cron("outbox", "* * * * *", () => outbox.deliver());
 * Deno.serve(createHandler(outbox, "alerts@example.com"));
 * ```
 *
 * @module
 */
import { Outbox } from "../outbox.ts";

/**
 * Builds the request handler.
 *
 * @param outbox Where mails are stored.
 * @param from The sender of every notification.
 * @returns A handler for `Deno.serve`.
 */
export function createHandler(
  outbox: Outbox,
  from: string,
): (request: Request) => Promise<Response> {
  return async (request) => {
    const url = new URL(request.url);
    const status = /^\/notify\/([^/]+)$/.exec(url.pathname);
    if (request.method === "GET" && status) {
      const entry = await outbox.get(decodeURIComponent(status[1]!));
      if (!entry) return Response.json({ error: "Not found" }, { status: 404 });
      return Response.json({
        state: entry.state,
        attempts: entry.attempts,
        nextAttemptAt: entry.nextAttemptAt,
        lastError: entry.lastError?.message,
      });
    }
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
    const key = request.headers.get("Idempotency-Key");
    try {
      const entry = await outbox.enqueue(
        { from, to, subject, text },
        key ? { id: `notify:${key}` } : {},
      );
      return Response.json(
        { id: entry.id, messageId: entry.messageId },
        { status: 202 },
      );
    } catch (error) {
      if (error instanceof TypeError || error instanceof RangeError) {
        // A bad address, a header that cannot be encoded, a key too long.
        return Response.json({ error: error.message }, { status: 400 });
      }
      throw error;
    }
  };
}

if (import.meta.main) {
  const outbox = await Outbox.open({
    transport: Deno.env.get("SMTP_URL") ?? "",
  });
  const from = Deno.env.get("NOTIFY_FROM") ?? "notifications@localhost";
  outbox.listen();
  Deno.serve(createHandler(outbox, from));
}
