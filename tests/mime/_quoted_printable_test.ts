import assert from "node:assert/strict";
import { encodeQuotedPrintable } from "../../src/mime/_quoted_printable.ts";
import { prng, randomText } from "./_util.ts";

/** A plain RFC 2045 decoder, for the round trip. */
function decode(qp: string): string {
  const bytes: number[] = [];
  const body = qp.replace(/=\r\n/g, "");
  for (let i = 0; i < body.length; i++) {
    if (body[i] === "=") {
      bytes.push(parseInt(body.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(body.charCodeAt(i));
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

Deno.test("encodeQuotedPrintable escapes =, non-ASCII and whitespace before a line end", () => {
  assert.equal(encodeQuotedPrintable("a=b é"), "a=3Db =C3=A9");
  assert.equal(encodeQuotedPrintable("end \nnext\t"), "end=20\r\nnext=09");
});

Deno.test("encodeQuotedPrintable keeps lines within 76 characters and round-trips", () => {
  const random = prng(5);
  for (let n = 0; n < 300; n++) {
    const text = randomText(random, 2000).replace(/ {2}/g, "\n").replace(
      /\t/g,
      " ",
    );
    const qp = encodeQuotedPrintable(text);
    for (const line of qp.split("\r\n")) {
      assert.ok(line.length <= 76, line);
      assert.ok(!/[ \t]$/.test(line), `trailing whitespace: ${line}`);
      assert.match(line, /^[\x21-\x7e \t]*$/);
    }
    assert.equal(decode(qp), text.replace(/\n/g, "\r\n"));
  }
});
