import type { RawMessage } from "../raw_message.ts";
import type { SendOptions } from "../send_options.ts";
import type { SendResult } from "../send_result.ts";
import type { SmtpClientOptions } from "../smtp_client_options.ts";
import { CliError } from "./cli_error.ts";
import { ExitCode } from "./exit_code.ts";

/** The send step of the command: `sendmail()` of the core, or a stand-in in tests. */
export type SendFunction = (
  options: SmtpClientOptions,
  message: RawMessage,
  sendOptions?: SendOptions,
) => Promise<SendResult>;

/**
 * Sends with the module's `sendmail()` from `../sendmail.ts`, loaded when
 * first needed.
 */
export const defaultSend: SendFunction = async (
  options,
  message,
  sendOptions,
) => {
  // TODO(merge): replace with `import { sendmail } from "../sendmail.ts"` at
  // the top of this file once the core is merged; the specifier is kept out
  // of static analysis until then so that this branch type-checks.
  const specifier = new URL("../sendmail.ts", import.meta.url).href;
  let sendmail: SendFunction;
  try {
    ({ sendmail } = await import(specifier) as { sendmail: SendFunction });
  } catch (error) {
    throw new CliError(
      `Cannot load the SMTP client: ${(error as Error).message}`,
      ExitCode.SOFTWARE,
      { cause: error },
    );
  }
  return await sendmail(options, message, sendOptions);
};
