// The RFC 3454 tables, against Python's stringprep module: an independent
// derivation of the same tables from the Unicode 3.2 character database.

import assert from "node:assert/strict";
import {
  inTable,
  type RangeTable,
  TABLE_B_1,
  TABLE_C_1_2,
  TABLE_C_2_1,
  TABLE_C_2_2,
  TABLE_C_3,
  TABLE_C_4,
  TABLE_C_5,
  TABLE_C_6,
  TABLE_C_7,
  TABLE_C_8,
  TABLE_C_9,
  TABLE_D_1,
  TABLE_D_2,
} from "../../src/sasl/_stringprep.ts";
import { interop, PYTHON } from "../_harness/mod.ts";

const TABLES: Record<string, RangeTable> = {
  b1: TABLE_B_1,
  c12: TABLE_C_1_2,
  c21: TABLE_C_2_1,
  c22: TABLE_C_2_2,
  c3: TABLE_C_3,
  c4: TABLE_C_4,
  c5: TABLE_C_5,
  c6: TABLE_C_6,
  c7: TABLE_C_7,
  c8: TABLE_C_8,
  c9: TABLE_C_9,
  d1: TABLE_D_1,
  d2: TABLE_D_2,
};

/** Prints, per table, its ranges over the whole code space as JSON. */
const SCRIPT = `
import json, stringprep, sys
names = ${JSON.stringify(Object.keys(TABLES))}
tests = [getattr(stringprep, "in_table_" + name) for name in names]
ranges = [[] for _ in names]
for cp in range(0x110000):
    char = chr(cp)
    for i, test in enumerate(tests):
        if test(char):
            r = ranges[i]
            if r and r[-1] == cp - 1:
                r[-1] = cp
            else:
                r.extend((cp, cp))
json.dump(dict(zip(names, ranges)), sys.stdout)
`;

Deno.test(interop({
  name:
    "The stringprep tables equal Python's stringprep module over every code point",
  requires: ["python3"],
  async fn() {
    const output = await new Deno.Command(PYTHON, {
      args: ["-c", SCRIPT],
      stdin: "null",
      stderr: "inherit",
    }).output();
    assert.ok(output.success, "python3 failed");
    const expected: Record<string, number[]> = JSON.parse(
      new TextDecoder().decode(output.stdout),
    );
    for (const [name, table] of Object.entries(TABLES)) {
      assert.deepEqual([...table], expected[name], `table ${name}`);
    }
  },
}));

Deno.test("inTable() finds the first, last and inner code points of ranges", () => {
  const table = [0x41, 0x5a, 0x61, 0x61, 0x100, 0x10ffff];
  for (const cp of [0x41, 0x50, 0x5a, 0x61, 0x100, 0x10ffff]) {
    assert.ok(inTable(table, cp), cp.toString(16));
  }
  for (const cp of [0, 0x40, 0x5b, 0x60, 0x62, 0xff]) {
    assert.ok(!inTable(table, cp), cp.toString(16));
  }
  assert.ok(!inTable([], 0x41));
});

Deno.test("The stringprep tables are sorted and disjoint", () => {
  for (const [name, table] of Object.entries(TABLES)) {
    assert.equal(table.length % 2, 0, name);
    for (let i = 0; i < table.length; i += 2) {
      assert.ok(table[i]! <= table[i + 1]!, `${name} range ${i / 2}`);
      if (i > 0) assert.ok(table[i - 1]! + 1 < table[i]!, `${name} ${i / 2}`);
    }
  }
});
