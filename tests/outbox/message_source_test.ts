import assert from "node:assert/strict";
import {
  findMessageId,
  MAX_RECIPIENTS,
  openMessage,
  tapMessageId,
} from "../../src/outbox/_message_source.ts";
import { streamOf } from "./_helpers.ts";

const encode = (text: string) => new TextEncoder().encode(text);

Deno.test("findMessageId reads the Message-ID field, folded or not, in any case", () => {
  assert.equal(
    findMessageId(
      encode("Subject: x\r\nMessage-ID: <a@b.example>\r\n\r\nbody"),
    ),
    "<a@b.example>",
  );
  assert.equal(
    findMessageId(
      encode("message-id:\r\n  <folded@b.example>\r\nTo: x\r\n\r\n"),
    ),
    "<folded@b.example>",
  );
  assert.equal(
    findMessageId(encode("Subject: x\n\nMessage-ID: <body@x>\n")),
    undefined,
  );
  assert.equal(
    findMessageId(encode("Message-ID: no brackets\r\n\r\n")),
    undefined,
  );
  assert.equal(findMessageId(encode("X-Message-ID: <x@y>\r\n\r\n")), undefined);
});

Deno.test("tapMessageId passes the bytes through and finds the Message-ID across chunks", async () => {
  const text = "From: a@b.example\r\nMessage-ID: <split@b.example>\r\n\r\n" +
    "x".repeat(100_000);
  let found: string | undefined = "unset";
  const out = tapMessageId(streamOf(encode(text), 7), (id) => found = id);
  assert.equal(await new Response(out).text(), text);
  assert.equal(found, "<split@b.example>");
});

Deno.test("openMessage composes a Mail now, with its Message-ID and envelope", async () => {
  const source = openMessage({
    from: "Ada <ada@example.com>",
    to: ["bob@example.com", "bob@example.com"],
    bcc: "carol@example.com",
    text: "hi",
  });
  assert.equal(source.from, "ada@example.com");
  assert.deepEqual(source.to, ["bob@example.com", "carol@example.com"]);
  const text = await new Response(source.readable).text();
  assert.ok(text.includes(`Message-ID: ${source.messageId}\r\n`));
  assert.ok(!text.includes("carol"));
});

Deno.test("openMessage refuses bad envelopes and too many recipients before reading anything", () => {
  assert.throws(() => openMessage(null as never), TypeError);
  assert.throws(
    () => openMessage({ envelope: { from: "a@b.example" }, raw: "x" } as never),
    TypeError,
  );
  assert.throws(
    () => openMessage({ envelope: { from: "a@b.example", to: [] }, raw: "x" }),
    /no recipient/,
  );
  assert.throws(
    () =>
      openMessage({
        envelope: { from: "a@b", to: ["<x@y.example>"] },
        raw: "x",
      }),
    TypeError,
  );
  assert.throws(
    () =>
      openMessage({ envelope: { from: "a@b", to: ["x@y"] }, raw: 42 as never }),
    TypeError,
  );
  const many = Array.from(
    { length: MAX_RECIPIENTS + 1 },
    (_, i) => `u${i}@x.example`,
  );
  assert.throws(
    () =>
      openMessage({ envelope: { from: "a@b.example", to: many }, raw: "x" }),
    RangeError,
  );
  // The null reverse-path is a valid sender.
  assert.equal(
    openMessage({ envelope: { from: "", to: ["x@y.example"] }, raw: "x" }).from,
    "",
  );
});

Deno.test("openMessage knows the size and Message-ID of a raw string or Uint8Array at once", () => {
  const raw = "Message-ID: <r@x.example>\r\n\r\nhi\r\n";
  const source = openMessage({
    envelope: { from: "a@x.example", to: ["b@x.example"] },
    raw,
  });
  assert.equal(source.size, encode(raw).length);
  assert.equal(source.messageId, "<r@x.example>");
  const blob = openMessage({
    envelope: { from: "a@x.example", to: ["b@x.example"] },
    raw: new Blob([raw]),
  });
  assert.equal(blob.size, encode(raw).length);
  assert.equal(blob.messageId, undefined);
});
