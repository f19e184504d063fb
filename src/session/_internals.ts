/**
 * What the session's own modules (`sendmail()`, the pool) may ask of an
 * `SmtpClient` beyond its public API. `SmtpClient` fills these in from a
 * static block; nothing here is exported by an entry point.
 *
 * @module
 */
import type { Mail } from "../mime/mail.ts";
import type { RawMessage } from "./raw_message.ts";
import type { SendOptions } from "./send_options.ts";
import type { SendResult } from "./send_result.ts";
import type { SmtpClient } from "./smtp_client.ts";

/**
 * How far a failed send got:
 * - `"queued"`: it never started (the client was closed or failed first);
 * - `"envelope"`: commands were sent, but no byte of the message data;
 * - `"data"`: part of the message data was sent;
 * - `"sent"`: the end of the data was sent (see `maybeDelivered`).
 */
export type SendPhase = "queued" | "envelope" | "data" | "sent";

/** The client's internals, for the session's own modules. */
export interface ClientInternals {
  /** Sends one message and QUIT right behind it (`sendmail()`). */
  sendAndQuit(
    client: SmtpClient,
    message: Mail | RawMessage,
    options?: SendOptions,
  ): Promise<SendResult>;
  /** Sends one message, telling `onPhase` each phase it reaches. */
  sendTracked(
    client: SmtpClient,
    message: Mail | RawMessage,
    options: SendOptions | undefined,
    onPhase: (phase: SendPhase) => void,
  ): Promise<SendResult>;
  /** Runs `listener` once, when the client can no longer send. */
  onClosed(client: SmtpClient, listener: () => void): void;
}

const unset = (): never => {
  throw new Error("SmtpClient is not loaded");
};

/** Filled in by `SmtpClient`'s static block. */
export const internals: ClientInternals = {
  sendAndQuit: unset,
  sendTracked: unset,
  onClosed: unset,
};
