/**
 * Message composition: a streaming RFC 5322 / MIME composer, address
 * parsing and formatting, and RFC 2047 encoded words.
 *
 * `composeMessage` turns a {@linkcode Mail} into a message stream and its
 * envelope; `sendmail()` and `SmtpClient.send()` use it for every `Mail`,
 * and it can be used alone to write `.eml` files or to check what would be
 * sent.
 *
 * @example Composing a message and printing it
 * ```ts
 * import { composeMessage } from "@x/sendmail/mime";
 *
 * const message = composeMessage({
 *   from: "Ada Lovelace <ada@example.com>",
 *   to: ["grace@example.org", { name: "Zoë", address: "zoe@bücher.example" }],
 *   subject: "Notes on the engine",
 *   text: "The draft is attached.",
 *   attachments: [{ filename: "notes.txt", content: "Note G" }],
 * });
 * console.log(message.envelope.to); // ["grace@example.org", "zoe@xn--bcher-kva.example"]
 * console.log(await new Response(message.readable).text());
 * ```
 *
 * @module
 */
export type {
  Address,
  Attachment,
  Mail,
  MailHeaders,
} from "./src/mime/mail.ts";
export {
  type ComposedMessage,
  composeMessage,
} from "./src/mime/compose_message.ts";
export { parseAddress, type ParsedAddress } from "./src/mime/parse_address.ts";
export {
  parseAddressList,
  type ParsedListAddress,
} from "./src/mime/parse_address_list.ts";
export { formatAddress } from "./src/mime/format_address.ts";
export { encodeWord } from "./src/mime/encode_word.ts";
