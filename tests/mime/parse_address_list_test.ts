import assert from "node:assert/strict";
import { parseAddressList } from "../../mime.ts";

Deno.test("parseAddressList reads mailboxes separated by commas", () => {
  assert.deepEqual(
    parseAddressList(
      '"Doe, Jane" <jane@example.com>, bob@example.com ,Ada <ada@example.com>',
    ),
    [
      { name: "Doe, Jane", address: "jane@example.com" },
      { address: "bob@example.com" },
      { name: "Ada", address: "ada@example.com" },
    ],
  );
});

Deno.test("parseAddressList returns group members with the group name", () => {
  assert.deepEqual(
    parseAddressList("Ops: a@example.com, B <b@example.com>; c@example.com"),
    [
      { address: "a@example.com", group: "Ops" },
      { name: "B", address: "b@example.com", group: "Ops" },
      { address: "c@example.com" },
    ],
  );
});

Deno.test("parseAddressList returns nothing for an empty group or an empty list", () => {
  assert.deepEqual(parseAddressList("undisclosed-recipients:;"), []);
  assert.deepEqual(parseAddressList(""), []);
  assert.deepEqual(parseAddressList(" , ,"), []);
});

Deno.test("parseAddressList ignores commas inside quotes, comments and brackets", () => {
  assert.deepEqual(
    parseAddressList('"a, b" <a@example.com> (x, y), <"c,d"@example.com>'),
    [
      { name: "a, b", address: "a@example.com" },
      { address: '"c,d"@example.com' },
    ],
  );
});

Deno.test("parseAddressList throws TypeError on a line break or a bad member", () => {
  assert.throws(
    () => parseAddressList("a@example.com,\r\nb@example.com"),
    TypeError,
  );
  assert.throws(() => parseAddressList("a@example.com, nonsense"), TypeError);
  assert.throws(() => parseAddressList("a@example.com;"), TypeError);
});
