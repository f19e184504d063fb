import type { Address } from "./mail.ts";
import { formatMailbox, toMailboxes } from "./_address.ts";

/**
 * Formats an address for a header field: `Name <local@domain>` or
 * `local@domain`. The display name is left as atoms when it can be, quoted
 * when it holds specials, and written as RFC 2047 encoded words when it is
 * not ASCII; an internationalised domain becomes A-labels (punycode).
 *
 * @param address A string (`"Name <a@b>"`, `"a@b"`) or `{ name?, address }`.
 * @returns The header form of the mailbox, on one line (a header field
 * folds it between words).
 * @throws {TypeError} If the address or name holds a control character
 * (CR, LF, NUL …), or the address is not exactly one valid mailbox.
 *
 * @example Quoting and encoding display names
 * ```ts
 * import { formatAddress } from "@x/sendmail/mime";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(
 *   formatAddress({ name: "Doe, Jane", address: "jane@example.com" }),
 *   '"Doe, Jane" <jane@example.com>',
 * );
 * assert.deepEqual(
 *   formatAddress({ name: "Zoë", address: "zoe@example.com" }),
 *   "=?UTF-8?Q?Zo=C3=AB?= <zoe@example.com>",
 * );
 * ```
 */
export function formatAddress(address: Address): string {
  const mailboxes = toMailboxes(address);
  if (mailboxes.length !== 1) {
    throw new TypeError(
      `Cannot format address ${
        JSON.stringify(address)
      }: expected one mailbox, got ${mailboxes.length}`,
    );
  }
  return formatMailbox(mailboxes[0]!);
}
