import assert from "node:assert/strict";
import {
  hopsToDot,
  hopsToMermaid,
  hopsToSvg,
  hopsToTable,
  parseReceived,
  type ReceivedField,
  traceHops,
} from "../../received.ts";
import { interop } from "../_harness/mod.ts";
import { latin1, Random } from "../_harness/random.ts";
import { parseXml } from "./_checkers.ts";
import { CORPUS } from "./_corpus.ts";

const KEYS = new Set([
  "raw",
  "from",
  "by",
  "via",
  "with",
  "id",
  "for",
  "tls",
  "date",
]);
const PIECES = [
  "(",
  ")",
  "[",
  "]",
  "<",
  ">",
  ";",
  '"',
  "\\",
  " ",
  "\t",
  "\r\n",
  "\r\n\t",
  "\n",
  "\r",
  "from ",
  " by ",
  " with ",
  " id ",
  " for ",
  " via ",
  "HELO ",
  "helo=",
  "[IPv6:",
  "::",
  ":",
  ".",
  "@",
  ",",
  "=",
  "version=",
  "cipher=",
  "using TLSv1.3 with cipher ",
  "Mon, ",
  " 2 Mar 2026 ",
  "10:00:05",
  " +0000",
  " (UTC)",
  "99",
  "Feb 30",
  "25:61:61",
  "\x00",
  "\x1b",
  "\x7f",
  "\x85",
  "\u202e",
  "\ud800",
  "\udfff",
  "😀",
  "é",
  "\ufffe",
];

/** Checks what the parser promises for any input. */
function check(value: string): ReceivedField {
  let field: ReceivedField | undefined;
  try {
    field = parseReceived(value);
  } catch (error) {
    assert.fail(`parseReceived threw on ${JSON.stringify(value)}: ${error}`);
  }
  assert.equal(field.raw, value);
  for (const key of Object.keys(field)) assert.ok(KEYS.has(key), key);
  if ("date" in field) {
    assert.ok(field.date instanceof Date);
    assert.ok(!Number.isNaN(field.date.getTime()), JSON.stringify(value));
  }
  for (const part of [field.from, field.by, field.tls]) {
    if (part === undefined) continue;
    for (const v of Object.values(part)) {
      assert.equal(typeof v, "string");
      assert.notEqual(v, "", JSON.stringify([value, field]));
    }
  }
  for (const v of [field.via, field.with, field.id]) {
    if (v !== undefined) assert.ok(typeof v === "string" && v !== "");
  }
  if (field.for !== undefined) {
    assert.ok(
      field.for.length > 0 &&
        field.for.every((a) => typeof a === "string" && a !== ""),
    );
  }
  return field;
}

function mutate(random: Random, text: string): string {
  let out = text;
  const steps = 1 + random.int(6);
  for (let s = 0; s < steps; s++) {
    const at = random.int(out.length + 1);
    const end = Math.min(out.length, at + random.int(20));
    switch (random.int(7)) {
      case 0:
        out = out.slice(0, at) + random.pick(PIECES) + out.slice(at);
        break;
      case 1:
        out = out.slice(0, at) + out.slice(end);
        break;
      case 2:
        out = out.slice(0, end) + out.slice(at, end) + out.slice(end);
        break;
      case 3:
        out = out.slice(0, at) +
          random.pick(CORPUS).field.slice(random.int(60));
        break;
      case 4:
        out = out.slice(0, at) +
          random.pick(PIECES).repeat(1 + random.int(50)) + out.slice(at);
        break;
      case 5:
        out = out.slice(0, at) +
          String.fromCharCode(random.int(0x10000)) + out.slice(at);
        break;
      default:
        out = out.slice(0, at);
    }
  }
  return out;
}

Deno.test("parseReceived never throws and always keeps raw on 30,000 mutated corpus fields", () => {
  const random = new Random(0x5eceded);
  for (let i = 0; i < 30_000; i++) {
    check(mutate(random, random.pick(CORPUS).field));
  }
});

Deno.test("parseReceived never throws and always keeps raw on random bytes", () => {
  const random = new Random(0xb17e5);
  const decoder = new TextDecoder();
  for (let i = 0; i < 5_000; i++) {
    const bytes = Uint8Array.from(
      { length: random.int(random.chance(0.9) ? 200 : 5000) },
      () => random.int(256),
    );
    check(decoder.decode(bytes));
    check(
      String.fromCharCode(...latin1(decoder.decode(bytes)).subarray(0, 4000)),
    );
  }
});

Deno.test(interop({
  name:
    "every renderer draws mutated fields, and the SVG stays well-formed XML",
  requires: ["python3"],
  async fn() {
    const random = new Random(0xd1a6);
    const svgs: string[] = [];
    for (let i = 0; i < 300; i++) {
      const values = Array.from(
        { length: 1 + random.int(6) },
        () => mutate(random, random.pick(CORPUS).field),
      );
      const hops = traceHops(values);
      assert.equal(hops.length, values.length);
      hopsToTable(hops);
      hopsToDot(hops);
      hopsToMermaid(hops);
      svgs.push(hopsToSvg(hops));
    }
    for (const [i, result] of (await parseXml(svgs)).entries()) {
      assert.equal(result.error, undefined, `picture ${i}`);
    }
  },
}));
