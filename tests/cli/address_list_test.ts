import assert from "node:assert/strict";
import { parseAddressList } from "../../src/cli/_address_list.ts";

Deno.test("parseAddressList returns bare addresses of mailboxes with and without names", () => {
  assert.deepEqual(parseAddressList("ada@example.com"), ["ada@example.com"]);
  assert.deepEqual(
    parseAddressList(
      '"Lovelace, Ada" <ada@example.com>, Bob <bob@example.com>',
    ),
    ["ada@example.com", "bob@example.com"],
  );
  assert.deepEqual(
    parseAddressList("=?UTF-8?B?w4lsaXNl?= <elise@example.com>"),
    [
      "elise@example.com",
    ],
  );
  assert.deepEqual(
    parseAddressList("  carol@example.com (Carol, from (work))  "),
    [
      "carol@example.com",
    ],
  );
});

Deno.test("parseAddressList understands groups, routes, quoted local parts and folding", () => {
  assert.deepEqual(parseAddressList("undisclosed-recipients:;"), []);
  assert.deepEqual(
    parseAddressList("Team: a@example.com, B <b@example.com>;, c@example.com"),
    ["a@example.com", "b@example.com", "c@example.com"],
  );
  assert.deepEqual(
    parseAddressList("<@relay.example,@r2.example:d@example.com>"),
    [
      "d@example.com",
    ],
  );
  assert.deepEqual(parseAddressList('"john doe"@example.com'), [
    '"john doe"@example.com',
  ]);
  assert.deepEqual(parseAddressList("a@example.com,\r\n\tb@example.com"), [
    "a@example.com",
    "b@example.com",
  ]);
  assert.deepEqual(parseAddressList("root"), ["root"]);
  assert.deepEqual(parseAddressList(" , ,"), []);
  assert.deepEqual(parseAddressList('"a,b" <x@[127.0.0.1]>'), [
    "x@[127.0.0.1]",
  ]);
});
