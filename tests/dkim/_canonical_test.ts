// Canonicalization and the first pass, against a transcription of RFC 6376
// §3.4 that works on the whole message as a string, and split at every
// chunk boundary: the body hash and the header fields never depend on where
// the input is cut.

import assert from "node:assert/strict";
import {
  BodyHash,
  type Canon,
  canonicalField,
  type HeaderField,
  parseHeader,
  selectFields,
} from "../../src/dkim/_canonical.ts";
import { firstPass } from "../../src/dkim/_two_pass.ts";
import { toBase64 } from "../../src/protocol/_base64.ts";

const encoder = new TextEncoder();

/** RFC 6376 §3.4.3 / §3.4.4, literally, on a whole body. */
function referenceBody(body: string, canon: Canon): string {
  // The client sends CRLF for CRLF, bare CR and bare LF alike.
  let lines = body.replace(/\r\n|\r|\n/g, "\r\n").split("\r\n");
  if (canon === "relaxed") {
    // Reduce WSP runs to one SP; ignore WSP at the end of lines.
    lines = lines.map((l) => l.replace(/[ \t]+/g, " ").replace(/ $/, ""));
  }
  // Ignore empty lines at the end of the body.
  const text = lines.join("\r\n").replace(/(\r\n)+$/, "");
  if (text !== "") return text + "\r\n";
  return canon === "simple" ? "\r\n" : "";
}

/** The header and body of a whole message, the header fields unfolded as written. */
function referenceSplit(message: string): { header: string[]; body: string } {
  const normal = message.replace(/\r\n|\r|\n/g, "\r\n");
  const blank = normal.startsWith("\r\n") ? 0 : normal.indexOf("\r\n\r\n");
  const head = blank < 0 ? normal : normal.slice(0, blank);
  const header = head === "" ? [] : head.replace(/\r\n$/, "").split(
    /\r\n(?![ \t])/,
  );
  // The body starts after the blank line, in the original's terms: find
  // where the original's blank line ends by counting line ends.
  if (blank < 0) return { header, body: "" };
  const linesBefore = head === "" ? 0 : head.split("\r\n").length;
  let seen = 0;
  let i = 0;
  while (seen <= linesBefore && i < message.length) {
    const c = message[i]!;
    if (c === "\r" || c === "\n") {
      seen++;
      i += c === "\r" && message[i + 1] === "\n" ? 2 : 1;
    } else i++;
  }
  return { header, body: message.slice(i) };
}

async function sha256(text: string): Promise<string> {
  return toBase64(
    new Uint8Array(
      await crypto.subtle.digest("SHA-256", encoder.encode(text)),
    ),
  );
}

function bodyHash(chunks: Uint8Array[], canon: Canon, afterCr = false) {
  const hash = new BodyHash(canon, afterCr);
  for (const chunk of chunks) hash.update(chunk);
  return toBase64(hash.digest());
}

async function pass(chunks: Uint8Array[]) {
  const result = await firstPass(
    ReadableStream.from(chunks),
    new Set<Canon>(["simple", "relaxed"]),
    false,
    1 << 20,
  );
  return {
    fields: result.fields.map((f) => f.raw),
    simple: toBase64(result.bodyHashes.get("simple")!),
    relaxed: toBase64(result.bodyHashes.get("relaxed")!),
    size: result.size,
  };
}

Deno.test("BodyHash hashes the empty body as RFC 6376 says: relaxed the empty string, simple a CRLF", async () => {
  assert.equal(bodyHash([], "relaxed"), await sha256(""));
  assert.equal(
    bodyHash([], "relaxed"),
    "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
  );
  assert.equal(
    bodyHash([], "simple"),
    "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=",
  );
  // Only empty lines, or only white space (relaxed), is an empty body too.
  const blank = [encoder.encode("\r\n\r\n  \t\r\n")];
  assert.equal(bodyHash(blank, "relaxed"), await sha256(""));
  assert.equal(
    bodyHash([encoder.encode("\r\n\r\n")], "simple"),
    await sha256("\r\n"),
  );
});

Deno.test("BodyHash adds the missing final CRLF and drops trailing empty lines", async () => {
  for (const canon of ["simple", "relaxed"] as const) {
    const withEnd = bodyHash([encoder.encode("Hi.\r\n")], canon);
    assert.equal(bodyHash([encoder.encode("Hi.")], canon), withEnd);
    assert.equal(bodyHash([encoder.encode("Hi.\r\n\r\n\r\n")], canon), withEnd);
    assert.equal(withEnd, await sha256("Hi.\r\n"));
  }
});

Deno.test("BodyHash follows the RFC 6376 §3.4.5 example", async () => {
  const body = " C \r\nD \t E\r\n\r\n\r\n";
  assert.equal(
    bodyHash([encoder.encode(body)], "relaxed"),
    await sha256(" C\r\nD E\r\n"),
  );
  assert.equal(
    bodyHash([encoder.encode(body)], "simple"),
    await sha256(" C \r\nD \t E\r\n"),
  );
});

Deno.test("canonicalField follows the RFC 6376 §3.4.5 example", () => {
  assert.equal(canonicalField("A: X", "relaxed"), "a:X\r\n");
  assert.equal(canonicalField("B : Y\t\r\n\tZ  ", "relaxed"), "b:Y Z\r\n");
  assert.equal(
    canonicalField("B : Y\t\r\n\tZ  ", "simple"),
    "B : Y\t\r\n\tZ  \r\n",
  );
  assert.equal(
    canonicalField("Subject:\tno  space", "relaxed"),
    "subject:no space\r\n",
  );
});

Deno.test("selectFields takes instances from the bottom up and nothing for a name used up", () => {
  const fields: HeaderField[] = parseHeader(
    encoder.encode(
      "Received: 1\r\nTo: a\r\nReceived: 2\r\nFrom: f\r\nto: b\r\n",
    ),
  );
  assert.deepEqual(
    selectFields(fields, ["from", "from", "to", "TO", "to", "received"]).map((
      f,
    ) => f.raw),
    ["From: f", "to: b", "To: a", "Received: 2"],
  );
});

Deno.test("parseHeader joins continuation lines and keeps lines that are not fields", () => {
  const fields = parseHeader(
    encoder.encode(
      "Subject: a\r\n\tb\r\n c\nX-Y : z\rnot a field\r\nTo: t\r\n",
    ),
  );
  assert.deepEqual(fields, [
    { name: "subject", raw: "Subject: a\r\n\tb\r\n c" },
    { name: "x-y", raw: "X-Y : z" },
    { name: "", raw: "not a field" },
    { name: "to", raw: "To: t" },
  ]);
});

/** Messages that stress the state machines: line ends of every kind at the edges. */
const TRICKY = [
  "From: a@example.com\r\nSubject:  two  spaces \r\n\tfolded\r\n\r\n  lead\r\nmid  \t run\t\r\n\r\n \r\nend",
  "From: a@example.com\nTo: b\n\nbare LF\nbody\n\n\n",
  "From: a@example.com\rTo: b\r\rbare CR\rbody\r\r",
  "From: a@example.com\r\n\r\n\r\n",
  "From: a@example.com\r\n\r\n",
  "From: a@example.com\r\n\r",
  "From: a@example.com\r\n",
  "From: a@example.com",
  "\r\nno header\r\n",
  "\nno header, LF",
  "From: x\r\r\nmixed\r\n\r\r\n\n\r\n \t \r\nx\r",
  "From: x\r\n\r\n\t\r\n \r\n",
  "From: x\r\n\r\n--=_boundary\r\nContent-Type: text/plain\r\n\r\nx  y \r\n--=_boundary--\r\n",
];

Deno.test("firstPass matches the whole-message reference for tricky messages", async () => {
  for (const message of TRICKY) {
    const expected = referenceSplit(message);
    const result = await pass([encoder.encode(message)]);
    const context = JSON.stringify(message);
    assert.deepEqual(result.fields, expected.header, context);
    assert.equal(
      result.simple,
      await sha256(referenceBody(expected.body, "simple")),
      context,
    );
    assert.equal(
      result.relaxed,
      await sha256(referenceBody(expected.body, "relaxed")),
      context,
    );
    assert.equal(result.size, encoder.encode(message).length);
  }
});

Deno.test("firstPass gives the same fields and body hashes for a message split at every offset", async () => {
  for (const message of TRICKY) {
    const bytes = encoder.encode(message);
    const whole = await pass([bytes]);
    for (let at = 0; at <= bytes.length; at++) {
      const split = await pass([bytes.subarray(0, at), bytes.subarray(at)]);
      assert.deepEqual(
        split,
        whole,
        `${JSON.stringify(message)} split at ${at}`,
      );
    }
    // Two cuts around every line end: CR | LF, and the bytes beside them.
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] !== 13 && bytes[i] !== 10) continue;
      for (const a of [i - 1, i, i + 1]) {
        for (const b of [i + 1, i + 2]) {
          if (a < 0 || b > bytes.length || a >= b) continue;
          const cut = await pass([
            bytes.subarray(0, a),
            bytes.subarray(a, b),
            bytes.subarray(b),
          ]);
          assert.deepEqual(
            cut,
            whole,
            `${JSON.stringify(message)} cut at ${a}, ${b}`,
          );
        }
      }
    }
    // One byte at a time.
    const single = await pass([...bytes].map((b) => new Uint8Array([b])));
    assert.deepEqual(single, whole, `${JSON.stringify(message)} bytewise`);
  }
});

/** A small seeded PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = [
  "a",
  "bc",
  " ",
  "\t",
  "  ",
  "\r\n",
  "\n",
  "\r",
  ":",
  "X-H: v",
  "é",
  "\r\n ",
];

Deno.test("firstPass matches the reference on random messages in random chunks", async () => {
  const random = prng(6376);
  for (let n = 0; n < 400; n++) {
    let message = "From: r@example.com\r\n";
    const count = Math.floor(random() * 40);
    for (let i = 0; i < count; i++) {
      message += PIECES[Math.floor(random() * PIECES.length)];
    }
    const bytes = encoder.encode(message);
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < bytes.length;) {
      const size = 1 + Math.floor(random() * 6);
      chunks.push(bytes.subarray(at, at + size));
      at += size;
    }
    const expected = referenceSplit(message);
    const result = await pass(chunks);
    const context = `case ${n}: ${JSON.stringify(message)}`;
    // Header fields are latin1 strings of the bytes; the reference is UTF-16.
    assert.deepEqual(
      result.fields,
      expected.header.map((f) => String.fromCharCode(...encoder.encode(f))),
      context,
    );
    assert.equal(
      result.simple,
      await sha256(referenceBody(expected.body, "simple")),
      context,
    );
    assert.equal(
      result.relaxed,
      await sha256(referenceBody(expected.body, "relaxed")),
      context,
    );
  }
});

const LINES = [
  "Zm9vYmFyYmF6cXV4",
  "plain text line",
  "two  spaces",
  "trailing space ",
  "tab\there",
  " leading",
  "",
  " ",
  "\t",
  "=3D quoted",
  "bare\rcr",
  "bare\nlf",
];

Deno.test("firstPass matches the reference on random line-structured messages in random chunk sizes", async () => {
  const random = prng(8463);
  for (let n = 0; n < 300; n++) {
    let message = "From: r@example.com\r\n\r\n";
    const count = Math.floor(random() * 60);
    for (let i = 0; i < count; i++) {
      message += LINES[Math.floor(random() * LINES.length)]! +
        (random() < 0.9 ? "\r\n" : random() < 0.5 ? "\n" : "");
    }
    const bytes = encoder.encode(message);
    const chunks: Uint8Array[] = [];
    const max = [3, 20, 80, 400][n % 4]!;
    for (let at = 0; at < bytes.length;) {
      const size = 1 + Math.floor(random() * max);
      chunks.push(bytes.subarray(at, at + size));
      at += size;
    }
    const expected = referenceSplit(message);
    const result = await pass(chunks);
    const context = `case ${n}: ${JSON.stringify(message)}`;
    assert.equal(
      result.simple,
      await sha256(referenceBody(expected.body, "simple")),
      context,
    );
    assert.equal(
      result.relaxed,
      await sha256(referenceBody(expected.body, "relaxed")),
      context,
    );
  }
});

Deno.test("BodyHash gives the same hash for a large body in any chunk size", () => {
  const line = "Zm9vYmFy".repeat(9) + "QUJD\r\n";
  const body = encoder.encode(
    line.repeat(3000) + "tail  with   space \t\r\n\r\n",
  );
  for (const canon of ["simple", "relaxed"] as const) {
    const whole = bodyHash([body], canon);
    for (const size of [1, 77, 78, 79, 4096, 65535, 65536, 65537, 200_000]) {
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < body.length; i += size) {
        chunks.push(body.subarray(i, i + size));
      }
      assert.equal(
        bodyHash(chunks, canon),
        whole,
        `${canon} in chunks of ${size}`,
      );
    }
  }
});

Deno.test("firstPass refuses a header longer than the limit, cancelling the source", async () => {
  let cancelled: unknown;
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.enqueue(encoder.encode("X-Long: " + "x".repeat(100) + "\r\n"));
    },
    cancel(reason) {
      cancelled = reason;
    },
  });
  await assert.rejects(
    firstPass(source, new Set<Canon>(["relaxed"]), false, 1000),
    {
      name: "RangeError",
      message: /header is longer than maxBufferSize \(1000 octets\)/,
    },
  );
  assert.ok(cancelled instanceof RangeError);
});
