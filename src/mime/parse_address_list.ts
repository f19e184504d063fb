import { parseList } from "./_address.ts";
import type { ParsedAddress } from "./parse_address.ts";

/** A mailbox of an address list; members of a group carry its name. */
export interface ParsedListAddress extends ParsedAddress {
  /** The name of the group the mailbox was listed in, if any. */
  group?: string;
}

/**
 * Parses an RFC 5322 address list: mailboxes separated by commas, and
 * groups (`Team: a@b, c@d;`) whose members are returned in place, each with
 * the group's name. An empty group (`undisclosed-recipients:;`) yields no
 * mailbox.
 *
 * @param input The list, as written in a To, Cc or Reply-To field.
 * @returns The mailboxes, in order.
 * @throws {TypeError} If the input holds a control character (CR, LF, NUL …)
 * or a mailbox that is not valid.
 *
 * @example Parsing a list with a group
 * ```ts
 * import { parseAddressList } from "@x/sendmail/mime";
 * import assert from "node:assert/strict";
 *
 * const list = parseAddressList("Ada <ada@example.com>, Ops: bob@example.com;");
 * assert.deepEqual(list, [
 *   { name: "Ada", address: "ada@example.com" },
 *   { address: "bob@example.com", group: "Ops" },
 * ]);
 * ```
 */
export function parseAddressList(input: string): ParsedListAddress[] {
  return parseList(input).map(({ name, address, group }) => {
    const out: ParsedListAddress = { address };
    if (name !== undefined) out.name = name;
    if (group !== undefined) out.group = group;
    return out;
  });
}
