import assert from "node:assert/strict";
import { encodeWord } from "../../mime.ts";
import { decodeWords } from "../../src/mime/_encoded_words.ts";
import { prng, randomText } from "./_util.ts";

const WORD = /^=\?UTF-8\?([BQ])\?([^?\s]*)\?=$/;

Deno.test("encodeWord uses Q when Q is shorter", () => {
  assert.equal(encodeWord("Café au lait"), "=?UTF-8?Q?Caf=C3=A9_au_lait?=");
});

Deno.test("encodeWord uses B when B is shorter", () => {
  assert.equal(encodeWord("日本語"), "=?UTF-8?B?5pel5pys6Kqe?=");
});

Deno.test("encodeWord escapes every phrase special in Q words", () => {
  const word = encodeWord('é"(),.:;<>@[\\]?=_');
  const [, , text] = word.match(WORD)!;
  assert.match(text!, /^[A-Za-z0-9!*+\-/=_]*$/);
  assert.equal(decodeWords(word), 'é"(),.:;<>@[\\]?=_');
});

Deno.test("encodeWord splits long text into words of at most 75 characters", () => {
  const text = "Ünïcödé ".repeat(40);
  const words = encodeWord(text).split(" ");
  assert.ok(words.length > 1);
  for (const word of words) {
    assert.match(word, WORD);
    assert.ok(word.length <= 75, word);
  }
  assert.equal(decodeWords(encodeWord(text)), text);
});

Deno.test("encodeWord never splits a UTF-8 sequence across words", () => {
  const random = prng(7);
  for (let n = 0; n < 300; n++) {
    const text = randomText(random, 400);
    const encoded = encodeWord(text);
    const strict = new TextDecoder("utf-8", { fatal: true });
    for (const word of encoded.split(" ")) {
      assert.ok(word.length <= 75, word);
      const [, kind, payload] = word.match(WORD)!;
      const bytes = kind === "B"
        ? Uint8Array.fromBase64(payload!)
        : new Uint8Array(
          [...payload!.matchAll(/=([0-9A-F]{2})|_|./g)].map((m) =>
            m[1] ? parseInt(m[1], 16) : m[0] === "_" ? 32 : m[0].charCodeAt(0)
          ),
        );
      // Each word decodes alone: no code point was cut in two.
      strict.decode(bytes);
    }
    assert.equal(decodeWords(encoded), text);
  }
});

Deno.test("encodeWord encodes the empty string as one empty word", () => {
  assert.equal(encodeWord(""), "=?UTF-8?Q??=");
});
