import type { RawMessage } from "../session/raw_message.ts";
import type { SendOptions } from "../session/send_options.ts";
import type { SendResult } from "../session/send_result.ts";
import { sendmail } from "../session/sendmail.ts";
import type { SmtpClientOptions } from "../session/smtp_client_options.ts";

/** The send step of the command: `sendmail()` of the core, or a stand-in in tests. */
export type SendFunction = (
  options: SmtpClientOptions,
  message: RawMessage,
  sendOptions?: SendOptions,
) => Promise<SendResult>;

/** Sends with the module's `sendmail()`. */
export const defaultSend: SendFunction = sendmail;
