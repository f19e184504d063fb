/**
 * The transport an outbox builds for itself from server options or a URL,
 * and closes in its `close()`.
 *
 * NOTE: this should be `new SmtpPool(options)` (src/pool/smtp_pool.ts, the
 * DESIGN contract), which is not in this tree yet. Until it is, this is a
 * stand-in of the same shape: one `SmtpClient` per delivery pass (connected
 * on the first send, reconnected when the server drops it, concurrent sends
 * pipelined on it, QUIT when the last pass holding it ends). Switching is
 * the body of {@linkcode ownTransport}; `hold()` is then not needed (the
 * pool closes idle connections itself) and the options type widens to
 * `SmtpPoolOptions`.
 *
 * @module
 */
import { SmtpError } from "../protocol/smtp_error.ts";
import { resolveOptions } from "../session/_resolve_options.ts";
import type { Mail } from "../mime/mail.ts";
import type { MailTransport } from "../session/mail_transport.ts";
import type { RawMessage } from "../session/raw_message.ts";
import type { SendOptions } from "../session/send_options.ts";
import type { SendResult } from "../session/send_result.ts";
import { SmtpClient } from "../session/smtp_client.ts";
import type { SmtpClientOptions } from "../session/smtp_client_options.ts";
import { parseSmtpUrl } from "../session/parse_smtp_url.ts";

/** The options of `SmtpPoolOptions` beyond `SmtpClientOptions`. */
const POOL_OPTIONS: ReadonlySet<string> = new Set([
  "maxConnections",
  "maxMessagesPerConnection",
  "idleTimeout",
  "rateLimit",
]);

/** A transport the outbox owns. */
export interface OwnTransport extends MailTransport {
  /**
   * Keeps the connection for a delivery pass; the returned function ends
   * the hold (the connection is closed when no pass holds it).
   */
  hold?(): () => void;
}

/**
 * Builds the outbox's own transport.
 *
 * @param options Server options or an `smtp://` / `smtps://` URL.
 * @returns The transport.
 * @throws {TypeError | RangeError} Misused options.
 */
export function ownTransport(
  options: SmtpClientOptions | string | URL,
): OwnTransport {
  return new ClientTransport(options);
}

/** One `SmtpClient` per delivery pass (see the module note). */
class ClientTransport implements OwnTransport {
  readonly #options: SmtpClientOptions;
  #connecting: Promise<SmtpClient> | undefined;
  #holds = 0;
  #closed = false;
  readonly #quits = new Set<Promise<void>>();

  constructor(options: SmtpClientOptions | string | URL) {
    const given = typeof options === "string" || options instanceof URL
      ? parseSmtpUrl(options)
      : options;
    resolveOptions(given, POOL_OPTIONS);
    const client: Record<string, unknown> = { ...given };
    for (const key of POOL_OPTIONS) delete client[key];
    this.#options = client as unknown as SmtpClientOptions;
  }

  async send(
    message: Mail | RawMessage,
    options?: SendOptions,
  ): Promise<SendResult> {
    if (this.#closed) {
      throw new SmtpError("Cannot send: the outbox's transport is closed", {
        kind: "closed",
      });
    }
    const client = await this.#client();
    return await client.send(message, options);
  }

  hold(): () => void {
    this.#holds++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      if (--this.#holds === 0) this.#release();
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#release();
    await Promise.all(this.#quits);
  }

  async #client(): Promise<SmtpClient> {
    for (let tries = 0;; tries++) {
      const connecting = this.#connecting ??= SmtpClient.connect(
        this.#options,
      );
      let client: SmtpClient;
      try {
        client = await connecting;
      } catch (error) {
        if (this.#connecting === connecting) this.#connecting = undefined;
        throw error;
      }
      // A connection the server dropped (a 421, an idle timeout) is
      // replaced; the send fails if the new one is dropped at once too.
      if (!client.closed || tries > 0) return client;
      if (this.#connecting === connecting) this.#connecting = undefined;
    }
  }

  /** QUITs the current connection once its sends are over. */
  #release(): void {
    const connecting = this.#connecting;
    this.#connecting = undefined;
    if (!connecting) return;
    const quit = connecting.then((client) => client.quit(), () => {});
    this.#quits.add(quit);
    quit.finally(() => this.#quits.delete(quit));
  }
}
