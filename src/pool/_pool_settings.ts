/**
 * The pool's own decisions, pure: its options checked with their defaults,
 * which failures a message is retried after, which replies mean "slow
 * down", and how long the pool pauses after them.
 *
 * @module
 */
import { SmtpError } from "../protocol/smtp_error.ts";
import type { Mail } from "../mime/mail.ts";
import { isRawMessage } from "../session/_outgoing_message.ts";
import type { SendPhase } from "../session/_internals.ts";
import type { RawMessage } from "../session/raw_message.ts";
import type { SmtpClientOptions } from "../session/smtp_client_options.ts";

/** The option names the pool adds to `SmtpClientOptions`. */
export const POOL_KEYS: ReadonlySet<string> = new Set([
  "maxConnections",
  "maxMessagesPerConnection",
  "idleTimeout",
  "rateLimit",
]);

/** The pool's options with their defaults applied. */
export interface PoolSettings {
  maxConnections: number;
  maxMessagesPerConnection: number;
  idleTimeout: number;
  rateLimit: { messages: number; per: number } | undefined;
}

/** What the pool is given: its own options beside the client's. */
export interface PoolOptionsInput {
  maxConnections?: unknown;
  maxMessagesPerConnection?: unknown;
  idleTimeout?: unknown;
  rateLimit?: unknown;
}

/**
 * Checks the pool's own options and applies the defaults (5 connections,
 * 100 messages per connection, 30 s idle, no rate limit).
 *
 * @param options The pool options.
 * @returns The settings.
 * @throws {TypeError} A value of the wrong type.
 * @throws {RangeError} A count that is not an integer ≥ 1, a negative
 * `idleTimeout`, `rateLimit.messages` < 1 or `rateLimit.per` ≤ 0.
 */
export function resolvePoolSettings(options: PoolOptionsInput): PoolSettings {
  const maxConnections = count(options.maxConnections, "maxConnections", 5);
  const maxMessagesPerConnection = count(
    options.maxMessagesPerConnection,
    "maxMessagesPerConnection",
    100,
  );
  const idleTimeout = options.idleTimeout ?? 30_000;
  if (typeof idleTimeout !== "number" || Number.isNaN(idleTimeout)) {
    throw new TypeError("Cannot use idleTimeout: expected a number of ms");
  }
  if (idleTimeout < 0 || idleTimeout > 2 ** 31 - 1) {
    throw new RangeError(
      `Cannot use idleTimeout ${idleTimeout}: expected 0 to ${2 ** 31 - 1} ms`,
    );
  }
  return {
    maxConnections,
    maxMessagesPerConnection,
    idleTimeout,
    rateLimit: rate(options.rateLimit),
  };
}

function count(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number") {
    throw new TypeError(`Cannot use ${name}: expected an integer`);
  }
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(
      `Cannot use ${name} ${value}: expected an integer ≥ 1`,
    );
  }
  return value;
}

function rate(value: unknown): PoolSettings["rateLimit"] {
  if (value === undefined) return undefined;
  if (typeof value !== "object" || value === null) {
    throw new TypeError(
      "Cannot use rateLimit: expected { messages, per } (per in ms)",
    );
  }
  for (const key of Object.keys(value)) {
    if (key !== "messages" && key !== "per") {
      throw new TypeError(
        `Cannot use rateLimit: unknown option ${JSON.stringify(key)}`,
      );
    }
  }
  const { messages, per } = value as { messages?: unknown; per?: unknown };
  if (typeof messages !== "number" || typeof per !== "number") {
    throw new TypeError(
      "Cannot use rateLimit: expected { messages, per } as numbers",
    );
  }
  if (!Number.isInteger(messages) || messages < 1) {
    throw new RangeError(
      `Cannot use rateLimit.messages ${messages}: expected an integer ≥ 1`,
    );
  }
  if (!(per > 0) || per > 2 ** 31 - 1) {
    throw new RangeError(
      `Cannot use rateLimit.per ${per}: expected more than 0 ms (at most ${
        2 ** 31 - 1
      })`,
    );
  }
  return { messages, per };
}

/**
 * Splits the pool's options from the client's, which every connection of
 * the pool is opened with.
 *
 * @param options Everything the pool was given.
 * @returns The client's options.
 */
export function clientOptionsOf(
  options: SmtpClientOptions & PoolOptionsInput,
): SmtpClientOptions {
  const client: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (!POOL_KEYS.has(key)) client[key] = value;
  }
  return client as unknown as SmtpClientOptions;
}

/**
 * Whether a message can be handed to `send()` again: everything but a
 * stream, which the first attempt may have read.
 *
 * @param message The message.
 * @returns `true` when a retry reads the same content.
 */
export function replayable(message: Mail | RawMessage): boolean {
  if (isRawMessage(message)) return !(message.raw instanceof ReadableStream);
  if (typeof message !== "object" || message === null) return false;
  return (message.attachments ?? []).every((attachment) =>
    !(attachment?.content instanceof ReadableStream)
  );
}

/**
 * Whether a failed send may go again on a new connection: the connection is
 * gone, and the server cannot have taken the message. That is when none of
 * its data was written (`phase` "queued" or "envelope"), or when the server
 * answered its MAIL with 421 (then it read the rest as nothing). Never after
 * an abort, never when the server may have it (`maybeDelivered`).
 *
 * @param error Why the send failed.
 * @param phase How far it got.
 * @param connectionLost Whether its connection can no longer send.
 * @returns Whether to retry.
 */
export function retryable(
  error: unknown,
  phase: SendPhase,
  connectionLost: boolean,
): boolean {
  if (!(error instanceof SmtpError) || error.maybeDelivered) return false;
  if (!connectionLost) return false;
  if (phase === "queued" || phase === "envelope") return true;
  return error.command === "MAIL" && error.reply?.code === 421;
}

const THROTTLE_CODES: ReadonlySet<number> = new Set([421, 451, 454]);
const THROTTLE_TEXT = /too many|rate limit|throttl|slow down|try again later/i;

/**
 * Whether a reply asks the client to slow down: 421, 451 or 454 with an
 * enhanced code of class 4.7 (policy: "4.7.0 Too many messages", Gmail's
 * 4.7.28, Microsoft's 4.7.500 "server busy"), or without an enhanced code
 * but saying so in words ("421 Too many connections").
 *
 * @param reply The code, enhanced code and text of a reply.
 * @returns Whether the pool should slow down.
 */
export function isThrottling(
  reply: { code: number; enhancedCode?: string; text?: string } | undefined,
): boolean {
  if (!reply || !THROTTLE_CODES.has(reply.code)) return false;
  if (reply.enhancedCode !== undefined) {
    return reply.enhancedCode.startsWith("4.7.");
  }
  return THROTTLE_TEXT.test(reply.text ?? "");
}

/** The first pause after a throttling reply, in ms; it doubles after each. */
export const THROTTLE_PAUSE = 1_000;
/** The longest pause. */
export const THROTTLE_PAUSE_MAX = 60_000;

/**
 * How long the pool starts no message after its `strikes`-th throttling
 * reply in a row (a message delivered resets the count).
 *
 * @param strikes Throttling replies since the last delivery, from 1.
 * @returns The pause in ms: 1 s, 2 s, 4 s … at most 60 s.
 */
export function throttlePause(strikes: number): number {
  return Math.min(
    THROTTLE_PAUSE_MAX,
    THROTTLE_PAUSE * 2 ** Math.min(Math.max(strikes - 1, 0), 16),
  );
}
