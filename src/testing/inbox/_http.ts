/**
 * The inbox's HTTP side: the page and its files, the JSON API, the
 * server-sent events that keep the page live, and the guards of a local
 * web tool (Host checked against DNS rebinding, Origin against cross-site
 * requests that change state).
 *
 * Routes:
 * - `GET /`, `/inbox.css`, `/inbox.js`: the page.
 * - `GET /api/info`: the capture server's address and the inbox's limits.
 * - `GET /api/messages?q=&to=&from=&subject=&limit=`: summaries, newest first.
 * - `DELETE /api/messages`: deletes every message.
 * - `GET /api/messages/:id`: the message view's data; `DELETE` deletes it.
 * - `GET /api/messages/:id/raw` (`?download=1`), `/html` (`?remote=1`),
 *   `/parts/:n` (`?inline=1`), `/hops.svg`.
 * - `GET /api/wait?to=&from=&subject=&q=&after=&timeout=`: the oldest
 *   matching message with an id above `after`, once there is one (408 on
 *   timeout).
 * - `GET /api/events`: server-sent events `message`, `delete`, `faults`.
 * - `GET /api/faults`, `POST /api/faults` (`{ command, reply, count }`),
 *   `DELETE /api/faults`, `DELETE /api/faults/:id`.
 *
 * @module
 */

import type { TxtResolver } from "../../dkim/verify_dkim.ts";
import type { TestServer } from "../start_test_server.ts";
import { ASSETS } from "./_assets.ts";
import {
  detailsOf,
  hopsPicture,
  htmlDocument,
  partResponse,
  rawResponse,
  UNTRUSTED_HEADERS,
} from "./_details.ts";
import { FAULT_COMMANDS, type Faults } from "./_faults.ts";
import type { Filter, Store, StoreEvent } from "./_store.ts";

/**
 * The page's policy. Scripts and styles only from the inbox itself; the
 * message body's sandboxed `srcdoc` frame inherits this policy and adds
 * its own, so remote images and styles are allowed here for the moment
 * the user asks for them there (the page itself only ever puts text into
 * its document).
 */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline' http: https:",
  "img-src 'self' data: http: https:",
  "font-src 'self' data: http: https:",
  "media-src 'self' data: http: https:",
  "connect-src 'self'",
  "frame-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const PAGE_HEADERS: Record<string, string> = {
  "content-security-policy": PAGE_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

/** What the handler serves. */
export interface HttpContext {
  store: Store;
  faults: Faults;
  smtp: TestServer;
  resolveTxt: TxtResolver;
  maxMessages: number;
  /** Whether the HTTP server listens on a loopback address only. */
  loopback: boolean;
  /** The event streams open, closed with the inbox. */
  streams: Set<ReadableStreamDefaultController<Uint8Array>>;
}

const encoder = new TextEncoder();
/** Events queued for a client that does not read, at most. */
const MAX_QUEUED_EVENTS = 1000;

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
    },
  });
}

function error(status: number, message: string): Response {
  return json({ error: message }, status);
}

/** A loopback name: `localhost` (and its subdomains), 127/8, `[::1]`. */
function isLoopbackHost(host: string): boolean {
  const name = host.replace(/:\d+$/, "").toLowerCase();
  return name === "localhost" || name.endsWith(".localhost") ||
    /^127(?:\.\d{1,3}){3}$/.test(name) || name === "[::1]";
}

function filterOf(params: URLSearchParams): Filter {
  const filter: Filter = {};
  for (const key of ["q", "to", "from", "subject"] as const) {
    const value = params.get(key);
    if (value) filter[key] = value;
  }
  return filter;
}

/** One server-sent event. */
function event(name: string, data: unknown): Uint8Array {
  return encoder.encode(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
}

/**
 * The event stream: `message` (a summary) for each new message, `delete`
 * (`{ ids }`), `faults` (the list) when it changes.
 */
function events(context: HttpContext): Response {
  let stop: (() => void) | undefined;
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  const end = () => {
    stop?.();
    if (controller) context.streams.delete(controller);
  };
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
      context.streams.add(c);
      c.enqueue(encoder.encode("retry: 1000\n\n"));
      stop = context.store.listen((change: StoreEvent) => {
        try {
          // A client that stopped reading is let go before its queue grows
          // without bound; an EventSource reconnects and reloads the list.
          if ((c.desiredSize ?? 0) < -MAX_QUEUED_EVENTS) {
            end();
            c.close();
            return;
          }
          c.enqueue(
            change.type === "message"
              ? event("message", change.summary)
              : event("delete", { ids: change.ids }),
          );
        } catch {
          end();
        }
      });
    },
    cancel() {
      end();
    },
  });
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
    },
  });
}

/** Sends an event to every open stream (the fault list). */
export function broadcast(
  context: Pick<HttpContext, "streams">,
  name: string,
  data: unknown,
): void {
  const bytes = event(name, data);
  for (const controller of context.streams) {
    try {
      if ((controller.desiredSize ?? 0) < -MAX_QUEUED_EVENTS) {
        context.streams.delete(controller);
        controller.close();
        continue;
      }
      controller.enqueue(bytes);
    } catch {
      context.streams.delete(controller);
    }
  }
}

function asset(name: string): Response {
  const file = ASSETS[name]!;
  return new Response(file.body, {
    headers: { ...PAGE_HEADERS, "content-type": file.type },
  });
}

/**
 * Handles one request.
 *
 * @param context The inbox.
 * @param request The request.
 * @returns The response.
 */
export async function handle(
  context: HttpContext,
  request: Request,
): Promise<Response> {
  const url = new URL(request.url);
  const method = request.method;
  // A page on another site that rebinds its name to 127.0.0.1 must not
  // read the mail: only loopback names are served on a loopback address.
  if (context.loopback && !isLoopbackHost(request.headers.get("host") ?? "")) {
    return error(421, "This inbox answers to localhost names only");
  }
  if (method !== "GET" && method !== "HEAD") {
    const origin = request.headers.get("origin");
    if (origin !== null && origin !== url.origin) {
      return error(403, "Cross-origin requests cannot change the inbox");
    }
  }
  const path = url.pathname;
  if (method === "GET" || method === "HEAD") {
    if (path === "/" || path === "/index.html") return asset("index.html");
    if (path === "/inbox.css") return asset("inbox.css");
    if (path === "/inbox.js") return asset("inbox.js");
    if (path === "/favicon.ico") return new Response(null, { status: 204 });
  }
  if (!path.startsWith("/api/")) return error(404, "Not found");
  const parts = path.slice("/api/".length).split("/");
  const [resource, id, sub, n] = parts;

  if (resource === "info" && parts.length === 1 && method === "GET") {
    return json({
      smtp: {
        hostname: context.smtp.hostname,
        port: context.smtp.port,
        tls: context.smtp.tls,
      },
      maxMessages: context.maxMessages,
      commands: FAULT_COMMANDS,
    });
  }

  if (resource === "events" && parts.length === 1 && method === "GET") {
    return events(context);
  }

  if (resource === "wait" && parts.length === 1 && method === "GET") {
    const after = Number(url.searchParams.get("after") ?? 0);
    const timeout = Number(url.searchParams.get("timeout") ?? 10_000);
    if (!Number.isSafeInteger(after) || after < 0) {
      return error(400, "after must be a message id");
    }
    if (!Number.isFinite(timeout) || timeout < 0 || timeout > 600_000) {
      return error(400, "timeout must be 0 to 600000 milliseconds");
    }
    const entry = await context.store.wait(
      filterOf(url.searchParams),
      after,
      timeout,
    );
    if (!entry) return error(408, `No matching message in ${timeout} ms`);
    return json(entry.summary);
  }

  if (resource === "messages") {
    if (parts.length === 1) {
      if (method === "GET") {
        const limit = Number(url.searchParams.get("limit") ?? Infinity);
        const all = context.store.list(filterOf(url.searchParams));
        return json({
          total: context.store.size,
          count: all.length,
          messages: all.slice(0, limit >= 0 ? limit : undefined).map((e) =>
            e.summary
          ),
        });
      }
      if (method === "DELETE") {
        const removed = context.store.delete();
        context.smtp.deleteMessages((m) => removed.has(m));
        return new Response(null, { status: 204 });
      }
      return error(405, "Method not allowed");
    }
    const entry = context.store.get(id ?? "");
    if (!entry) return error(404, `No message ${id}`);
    if (parts.length === 2) {
      if (method === "GET") {
        return json(await detailsOf(entry, context.resolveTxt));
      }
      if (method === "DELETE") {
        const removed = context.store.delete([entry.id]);
        context.smtp.deleteMessages((m) => removed.has(m));
        return new Response(null, { status: 204 });
      }
      return error(405, "Method not allowed");
    }
    if (method !== "GET") return error(405, "Method not allowed");
    if (sub === "raw" && parts.length === 3) {
      return rawResponse(entry, url.searchParams.get("download") === "1");
    }
    if (sub === "html" && parts.length === 3) {
      const doc = htmlDocument(entry, url.searchParams.get("remote") === "1");
      if (doc === undefined) return error(404, "The message has no HTML body");
      return new Response(doc, {
        headers: {
          ...UNTRUSTED_HEADERS,
          "content-type": "text/plain; charset=utf-8",
        },
      });
    }
    if (sub === "hops.svg" && parts.length === 3) {
      const svg = hopsPicture(entry);
      if (svg === undefined) return error(404, "No Received field");
      return new Response(svg, {
        headers: { ...UNTRUSTED_HEADERS, "content-type": "image/svg+xml" },
      });
    }
    if (sub === "parts" && parts.length === 4 && /^\d+$/.test(n ?? "")) {
      const part = entry.mime.parts[Number(n)];
      if (!part) return error(404, `No part ${n}`);
      return partResponse(entry, part, url.searchParams.get("inline") === "1");
    }
    return error(404, "Not found");
  }

  if (resource === "faults") {
    if (parts.length === 1 && method === "GET") {
      return json(context.faults.list());
    }
    if (parts.length === 1 && method === "POST") {
      if (
        !(request.headers.get("content-type") ?? "").startsWith(
          "application/json",
        )
      ) {
        return error(415, "Send the fault as application/json");
      }
      let body: Record<string, unknown>;
      try {
        body = await request.json();
      } catch {
        return error(400, "The body is not JSON");
      }
      if (body === null || typeof body !== "object") {
        return error(400, "The body must be an object");
      }
      try {
        return json(
          context.faults.add({
            command: body.command,
            reply: body.reply,
            count: body.count,
          }),
          201,
        );
      } catch (e) {
        return error(400, (e as Error).message);
      }
    }
    if (parts.length === 1 && method === "DELETE") {
      context.faults.remove();
      return new Response(null, { status: 204 });
    }
    if (parts.length === 2 && method === "DELETE" && /^\d+$/.test(id ?? "")) {
      return context.faults.remove(Number(id))
        ? new Response(null, { status: 204 })
        : error(404, `No fault ${id}`);
    }
    return error(404, "Not found");
  }
  return error(404, "Not found");
}
