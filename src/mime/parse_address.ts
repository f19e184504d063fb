import { parseList } from "./_address.ts";

/** A parsed mailbox: the display name, if any, and the bare address. */
export interface ParsedAddress {
  /** The display name, RFC 2047 encoded words decoded. */
  name?: string;
  /**
   * The bare address (`local@domain`), normalised: needless quotes around
   * the local part removed, an internationalised domain as A-labels
   * (punycode). A non-ASCII local part is kept as it is (SMTPUTF8).
   */
  address: string;
}

/**
 * Parses one mailbox: `"Name" <a@b>`, `Name <a@b>`, `a@b` or the legacy
 * `a@b (Name)`. Encoded words in the name are decoded, the address is
 * validated and normalised.
 *
 * @param input The mailbox, as written in a header field.
 * @returns The display name and the bare address.
 * @throws {TypeError} If the input holds a control character (CR, LF, NUL …),
 * is not exactly one valid mailbox, or is a group.
 *
 * @example Parsing a mailbox with a display name
 * ```ts
 * import { parseAddress } from "@x/sendmail/mime";
 * import assert from "node:assert/strict";
 *
 * const mailbox = parseAddress('"Doe, Jane" <jane@bücher.example>');
 * assert.deepEqual(mailbox, { name: "Doe, Jane", address: "jane@xn--bcher-kva.example" });
 * ```
 */
export function parseAddress(input: string): ParsedAddress {
  const list = parseList(input);
  if (list.length !== 1 || list[0]!.group !== undefined) {
    throw new TypeError(
      `Cannot parse address ${
        JSON.stringify(input)
      }: expected one mailbox, got ${
        list.length === 1 ? "a group" : list.length
      }`,
    );
  }
  const { name, address } = list[0]!;
  return name === undefined ? { address } : { name, address };
}
