import type { RawMessage } from "../raw_message.ts";
import type { SendOptions } from "../send_options.ts";
import type { SendResult } from "../send_result.ts";
import { sendmail } from "../sendmail.ts";
import type { SmtpClientOptions } from "../smtp_client_options.ts";

/** The send step of the command: `sendmail()` of the core, or a stand-in in tests. */
export type SendFunction = (
  options: SmtpClientOptions,
  message: RawMessage,
  sendOptions?: SendOptions,
) => Promise<SendResult>;

/** Sends with the module's `sendmail()`. */
export const defaultSend: SendFunction = sendmail;
