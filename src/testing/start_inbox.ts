import type { TxtResolver } from "../dkim/verify_dkim.ts";
import { Faults } from "./inbox/_faults.ts";
import { broadcast, handle, type HttpContext } from "./inbox/_http.ts";
import { Store } from "./inbox/_store.ts";
import { startTestServer, type TestServer } from "./start_test_server.ts";
import type { TestServerOptions } from "./test_server_options.ts";

/** Options of {@linkcode startInbox}. */
export interface InboxOptions {
  /**
   * The capture server's options (see `startTestServer`): its port,
   * TLS mode, AUTH users, hooks … The inbox's defaults differ from
   * `startTestServer`'s in two: the port is 2525 (0 picks a free one),
   * and `received` is on, so each message shows its path.
   * @default {{ port: 2525, received: true }}
   */
  smtp?: TestServerOptions;
  /** The web page's port; 0 picks a free one. @default {8025} */
  port?: number;
  /**
   * The web page's address. The inbox shows every message it holds to
   * whoever reaches it: keep it on a loopback address unless you mean it.
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * The most messages kept: the oldest go when more arrive (the capture
   * server's `messages` keeps the same ones).
   * @default {500}
   */
  maxMessages?: number;
  /**
   * Looks up DKIM key records for the DKIM check of each message shown.
   * @default {`Deno.resolveDns(name, "TXT")`, 5 s per lookup}
   */
  resolveTxt?: TxtResolver;
}

/**
 * A running dev inbox; see {@linkcode startInbox}. Close it with
 * `close()`, or declare it with `await using`.
 */
export interface Inbox extends AsyncDisposable {
  /** The web page: `http://127.0.0.1:8025/`. */
  readonly url: string;
  /** The capture server the mail goes to (its port, clientOptions, messages). */
  readonly smtp: TestServer;
  /**
   * Stops both servers: closes the page's event streams, ends pending
   * waits, closes every SMTP connection.
   *
   * @returns Once everything is closed.
   * @throws {Error} The first error a capture-server hook threw.
   */
  close(): Promise<void>;
}

/** `Deno.resolveDns` as a DKIM key resolver: a missing name is no record. */
function denoResolveTxt(): TxtResolver {
  return async (name) => {
    const signal = AbortSignal.timeout(5000);
    try {
      return await Deno.resolveDns(name, "TXT", { signal });
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return [];
      throw error;
    }
  };
}

function checkPort(port: unknown, what: string): number {
  if (
    !Number.isInteger(port) || (port as number) < 0 || (port as number) > 65535
  ) {
    throw new RangeError(`Cannot start the inbox: invalid ${what} ${port}`);
  }
  return port as number;
}

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || /^127(?:\.\d{1,3}){3}$/.test(hostname) ||
    hostname === "::1" || hostname === "[::1]";
}

/**
 * Starts a dev inbox: the capture server of `startTestServer` (port 2525,
 * STARTTLS with the built-in test certificate, AUTH when you give users)
 * and a web page (http://127.0.0.1:8025/) that shows its mail live: the
 * list, newest first, with search; each message's HTML body in a
 * sandboxed frame that runs no script and loads nothing remote until
 * asked, its text, source, headers, MIME tree, attachments, inline
 * images, SMTP transcript, `Received:` path and DKIM result; fault
 * injection (the next N messages get a 4xx/5xx at a chosen command); and
 * a JSON API for tests (`GET /api/messages`, `/api/messages/:id`, `/raw`,
 * `/parts/:n`, `DELETE`, `GET /api/wait?to=…&timeout=…`).
 *
 * Memory stays bounded: the newest `maxMessages` are kept. Needs Deno
 * (`Deno.serve`).
 *
 * @param options The capture server's options, the page's address, the limit.
 * @returns The running inbox; close it (or `await using` it) when done.
 * @throws {TypeError} When an option is invalid.
 * @throws {RangeError} When a port or `maxMessages` is out of range.
 * @throws {Error} When a port cannot be listened on (in use).
 *
 * @example An inbox for a test, on free ports, waited on through its API
 * ```ts
 * import { sendmail } from "@x/sendmail";
 * import { startInbox } from "@x/sendmail/testing";
 * import assert from "node:assert/strict";
 *
 * await using inbox = await startInbox({ port: 0, smtp: { port: 0 } });
 * await sendmail(inbox.smtp.clientOptions, {
 *   from: "app@example.com",
 *   to: "ada@example.com",
 *   subject: "Welcome",
 *   html: "<p>Hello <b>Ada</b></p>",
 * });
 * const response = await fetch(
 *   new URL("/api/wait?to=ada@example.com&timeout=5000", inbox.url),
 * );
 * const message = await response.json();
 * assert.equal(message.subject, "Welcome");
 * console.log(`open ${inbox.url}#/messages/${message.id}`);
 * ```
 */
export async function startInbox(options: InboxOptions = {}): Promise<Inbox> {
  if (options === null || typeof options !== "object") {
    throw new TypeError("Cannot start the inbox: options must be an object");
  }
  if (typeof globalThis.Deno?.serve !== "function") {
    throw new TypeError("Cannot start the inbox: it needs Deno (Deno.serve)");
  }
  const port = checkPort(options.port ?? 8025, "port");
  const hostname = options.hostname ?? "127.0.0.1";
  if (typeof hostname !== "string" || hostname === "") {
    throw new TypeError("Cannot start the inbox: hostname must be a string");
  }
  const maxMessages = options.maxMessages ?? options.smtp?.maxMessages ?? 500;
  if (!Number.isSafeInteger(maxMessages) || maxMessages < 1) {
    throw new RangeError(
      `Cannot start the inbox: maxMessages must be a whole number from 1, not ${maxMessages}`,
    );
  }
  const resolveTxt = options.resolveTxt ?? denoResolveTxt();
  if (typeof resolveTxt !== "function") {
    throw new TypeError(
      "Cannot start the inbox: resolveTxt must be a function",
    );
  }
  const smtpOptions = options.smtp ?? {};
  const streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
  const store = new Store(maxMessages);
  const faults = new Faults(() =>
    broadcast({ streams }, "faults", faults.list())
  );
  const userOnMessage = smtpOptions.onMessage;
  const smtp = await startTestServer({
    port: 2525,
    received: true,
    ...smtpOptions,
    maxMessages,
    hooks: faults.hooks(smtpOptions.hooks),
    onMessage: (message) => {
      store.add(message);
      userOnMessage?.(message);
    },
  });

  const context: HttpContext = {
    store,
    faults,
    smtp,
    resolveTxt,
    maxMessages,
    loopback: isLoopback(hostname),
    streams,
  };
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: hostname.replace(/^\[|\]$/g, ""),
      port,
      onListen: () => {},
    }, (request) => handle(context, request));
  } catch (error) {
    await smtp.close();
    throw new Error(
      `Cannot start the inbox on ${hostname}:${port}: ${
        error instanceof Error ? error.message : String(error)
      }`,
      { cause: error },
    );
  }
  const address = server.addr;
  const host = address.hostname.includes(":")
    ? `[${address.hostname}]`
    : address.hostname;
  const url = `http://${host}:${address.port}/`;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      store.close();
      for (const controller of [...streams]) {
        try {
          controller.close();
        } catch {
          // already closed by its client
        }
      }
      streams.clear();
      await server.shutdown();
      await smtp.close();
    })();
    return closing;
  };
  return {
    url,
    smtp,
    close,
    [Symbol.asyncDispose]: close,
  };
}
